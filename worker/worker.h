/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_WORKER_H
#define BF_WORKER_H

#include <jansson.h>

#include "base/conf.h"
#include "net/http.h"

struct bf_err;

struct worker {
	struct bf_url	 url;
	char		*token;
	char		*name;
	json_t		*tags;
	const char	*driver;	/* "sandbox", "ebuild", "noop" */
	char		*workdir;	/* absolute */
	const char	*profiles;	/* ebuild driver: profile directories */
	const char	*sandbox;	/* the sandbox script */
	int		 keep;		/* keep build directories */
	const char	*statedir;	/* -s: re-read builder.url on failure */
	struct bf_http_conn conn;	/* the main thread's kept-alive connection */
	/* ebuild driver (driver-ebuild.c, root.c) */
	struct bf_strv	 base_roots;	/* --base-root [PROFILE=]DIR */
	struct bf_strv	 layers;	/* --layer [PROFILE=]DIR */
	const char	*distfiles;	/* --distfiles DIR */
	int		 keep_checkouts;	/* --keep-checkouts N (0: all) */
	const char	*ebuild_driver;	/* bf-ebuild.sh */
};

/* With -s, re-reads the builder's URL (it changes when it restarts on an
 * ephemeral port). */
void	w_refresh_url(struct worker *w);

/* worker.c: the driver's process group, killed when the job is abandoned. */
#include <sys/types.h>
extern volatile pid_t w_child;

/* worker.c */
int	w_call(struct worker *w, struct bf_http_conn *conn, const char *method,
	    const char *path,
	    json_t *body, json_t **out, int *status, struct bf_err *e);

/* build.c: prepares the job directory and runs the driver; 0 on success. */
/* build.c's helpers, shared with the ebuild driver (driver-ebuild.c). */
/* The string member `k` of `o`, or "" (never NULL). */
const char *job_str(json_t *o, const char *k);
/* Appends `s` quoted for sh(1): '...' with ' written '\''. */
void	sh_quote(struct bf_buf *b, const char *s);
/* Writes `text` to `path` (created or truncated, 0644). */
int	write_text(const char *path, const char *text, struct bf_err *e);

int	build_job(struct worker *w, json_t *job, const char *jobdir,
	    int logfd, struct bf_err *e);

/* driver-ebuild.c: runs the ebuild driver in a build root; 0 on success. */
struct bf_cpv;
int	ebuild_job(struct worker *w, json_t *job, const char *jobdir,
	    const struct bf_cpv *cpv, int logfd, struct bf_err *e);
/* Removes the build roots a killed worker left in its work directory. */
void	ebuild_clean_roots(struct worker *w);

/* upload.c */
int	upload_job(struct worker *w, json_t *job, const char *jobdir,
	    int logfd, struct bf_err *e);

#endif
