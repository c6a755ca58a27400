/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CLI_FARM_H
#define BF_CLI_FARM_H

#include <getopt.h>

#include <jansson.h>

#include "cli.h"
#include "net/http.h"

struct bf_buf;

/*
 * The client side of binfarm-builder's API, shared by the farm commands
 * (cmd-rebuild.c, cmd-status.c, cmd-log.c, cmd-retry.c, cmd-cancel.c).
 * The builder is found from --builder URL and --token TOKEN, or
 * BINFARM_BUILDER and BINFARM_TOKEN, or the builder's state directory
 * (-s DIR or BINFARM_BUILDER_STATE: builder.url and the engineer-token
 * of builder.conf).
 */
struct farm {
	struct bf_url	 url;
	char		*token;
	char		*urlbuf;
	char		*cacert;
};

/* Where the builder is, as the options say (NULL: not given). */
struct farm_opts {
	const char	*url;		/* --builder */
	const char	*token;		/* --token */
	const char	*cacert;	/* --cacert */
	const char	*state;		/* -s */
};

/* The long options of farm_opts (with getopt's "s:" for -s). */
#define FARM_CONN_OPTS \
	{ "builder", required_argument, NULL, 'B' }, \
	{ "token", required_argument, NULL, 'T' }, \
	{ "cacert", required_argument, NULL, 'A' }, \
	{ "help", no_argument, NULL, 'h' }

/* Their --help text. */
extern const char farm_conn_help[];

/* Takes option c ('B', 'T', 'A' or 's') into `o`; 0 if it is not one. */
int	farm_opt(struct farm_opts *o, int c, const char *arg);
/* Finds the builder; -1 after printing why not. */
int	farm_open(struct bf_cli *cli, struct farm *f, const struct farm_opts *o);
void	farm_close(struct farm *f);
/*
 * A request with an optional JSON body; *out the JSON answer, `raw` (if
 * not NULL) gets its bytes.  Returns the HTTP status, or -1 after
 * printing why there was none.
 */
int	farm_call(struct bf_cli *cli, struct farm *f, const char *method,
	    const char *path, json_t *body, json_t **out, struct bf_buf *raw);
/* Prints the builder's error; the exit status it means. */
int	farm_fail(struct bf_cli *cli, int status, json_t *out);
/*
 * JOB id or CPV (of --profile P, if given) -> job id; FARM_NO_JOB when
 * the builder has no job of that CPV, or -1 when there was no answer
 * (each after printing why).
 */
#define FARM_NO_JOB	(-2LL)
long long farm_find_job(struct bf_cli *cli, struct farm *f, const char *what,
	    const char *profile);
/*
 * The options of retry and cancel (farm_opts and --profile P); -1 to go
 * on (optind is the first JOB|CPV), else the exit status.
 */
int	farm_job_opts(struct bf_cli *cli, int argc, char **argv,
	    const char *usage, const char *help, struct farm_opts *o,
	    const char **profile);
/* POSTs /v1/jobs/ID/ACTION for each JOB|CPV; prints each job's state. */
int	farm_job_action(struct bf_cli *cli, struct farm *f, int n,
	    char **jobs, const char *profile, const char *action);

/* The string member `k` of `o`, or "". */
static inline const char *
js(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

/* The integer member `k` of `o`, or 0. */
static inline long long
ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

#endif
