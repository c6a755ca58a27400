/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm rebuild: asks the builder to plan a hw-profile and queue its
 * builds; with --wait, waits until that rebuild (or rebuild ID) ends.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "farm.h"
#include "base/banned.h"

static const char rebuild_usage[] = "--profile P [--commit [REPO=]C] "
    "[--wait [--timeout SECONDS]] | --wait ID [--timeout SECONDS] "
    "[--builder URL --token T | -s STATEDIR]";

static const char rebuild_help[] =
    "Plans the hw-profile at the pinned commit (or --commit) and queues its\n"
    "builds.\n"
    "\n"
    "  --profile P       the profile, as the builder's config names it\n"
    "  --commit C        a commit or ref of the first repository, or REPO=C\n"
    "  --wait            then wait until the rebuild ends, a line on\n"
    "                    standard error each time its progress changes\n"
    "  --wait ID         wait for rebuild ID, already started\n"
    "  --timeout SECONDS stop waiting after SECONDS (the rebuild goes on)\n";

static const char rebuild_exit_help[] =
    "\n"
    "Exit status: 0 queued (with --wait: the rebuild published its\n"
    "snapshot), 1 the builder refused it (with --wait: it failed, was\n"
    "cancelled or refused, or there is no rebuild ID), 2 usage, or the\n"
    "builder could not be reached, 3 --timeout passed first.\n";

/* How often --wait asks, in milliseconds. */
#define WAIT_POLL_MS	500

struct wait_opts {
	long long	 id;		/* the rebuild */
	long long	 timeout;	/* seconds; 0: none */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line of progress: the state and the jobs' counts. */
static void
progress_line(json_t *r, json_t *n, struct bf_buf *out)
{
	bf_buf_reset(out);
	bf_buf_addf(out, "rebuild %lld of %s: %s, %lld/%lld jobs done (%lld "
	    "reused), %lld running, %lld failed, %lld blocked, %lld cancelled",
	    ji(r, "id"), js(r, "profile"), js(r, "state"), ji(n, "done") +
	    ji(n, "reused"), ji(n, "total"), ji(n, "reused"), ji(n, "running"),
	    ji(n, "failed"), ji(n, "blocked"), ji(n, "cancelled"));
}

/* The end of a rebuild: what it means, said; -1 while it is open. */
static int
ended(struct bf_cli *cli, json_t *r)
{
	const char *state = js(r, "state");

	if (strcmp(state, "running") == 0 || strcmp(state, "publishing") == 0)
		return -1;
	if (strcmp(state, "complete") == 0) {
		printf("rebuild %lld of %s: complete, snapshot %s\n",
		    ji(r, "id"), js(r, "profile"), js(r, "snapshot"));
		return fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
	}
	printf("rebuild %lld of %s: %s\n", ji(r, "id"), js(r, "profile"),
	    state);
	fflush(stdout);
	cli_error(cli, "rebuild %lld of %s %s%s%s", ji(r, "id"),
	    js(r, "profile"), strcmp(state, "error") == 0 ? "was refused" :
	    strcmp(state, "cancelled") == 0 ? "was cancelled" : state,
	    json_object_get(r, "error") ? ": " : "", js(r, "error"));
	return BF_EXIT_FAIL;
}

/*
 * Asks for rebuild w->id every WAIT_POLL_MS until it ends or the
 * timeout passes, printing a line each time its progress changes.
 */
static int
wait_rebuild(struct bf_cli *cli, struct farm *f, const struct wait_opts *w)
{
	struct bf_buf path = BF_BUF_INIT, line = BF_BUF_INIT, last = BF_BUF_INIT;
	long long deadline = w->timeout > 0 ? now_ms() + w->timeout * 1000 : 0;
	json_t *out = NULL, *r;
	int st, ret;

	bf_buf_addf(&path, "/v1/rebuild?id=%lld", w->id);
	for (;;) {
		json_decref(out);
		if ((st = farm_call(cli, f, "GET", path.buf, NULL, &out,
		    NULL)) != 200) {
			ret = st == 404 ? (cli_error(cli, "no rebuild %lld",
			    w->id), BF_EXIT_FAIL) : farm_fail(cli, st, out);
			break;
		}
		if (!json_is_object(r = json_object_get(out, "rebuild"))) {
			cli_error(cli, "the builder's answer names no rebuild");
			ret = BF_EXIT_ERROR;
			break;
		}
		progress_line(r, json_object_get(out, "jobs"), &line);
		if (strcmp(line.buf, last.buf) != 0) {
			cli_info(cli, "%s", line.buf);
			bf_buf_reset(&last);
			bf_buf_add(&last, line.buf, line.len);
		}
		if ((ret = ended(cli, r)) >= 0)
			break;
		if (deadline > 0 && now_ms() >= deadline) {
			cli_error(cli, "rebuild %lld of %s is still %s after %lld "
			    "s; it goes on", w->id, js(r, "profile"),
			    js(r, "state"), w->timeout);
			ret = BF_EXIT_TIMEOUT;
			break;
		}
		usleep(WAIT_POLL_MS * 1000);
	}
	json_decref(out);
	bf_buf_release(&path);
	bf_buf_release(&line);
	bf_buf_release(&last);
	return ret;
}

/* POST /v1/rebuild; its id into *id. */
static int
start_rebuild(struct bf_cli *cli, struct farm *f, const char *profile,
    const char *commit, long long *id)
{
	const char *user = getenv("USER");
	json_t *body, *out = NULL, *t;
	size_t i;
	int st, ret;

	body = json_pack("{s:s, s:s}", "profile", profile, "by",
	    user ? user : "engineer");
	if (commit != NULL)
		json_object_set_new(body, "commit", json_string(commit));
	st = farm_call(cli, f, "POST", "/v1/rebuild", body, &out, NULL);
	json_decref(body);
	if (st != 200) {
		ret = farm_fail(cli, st, out);
		goto out;
	}
	*id = ji(out, "rebuild");
	printf("rebuild %lld of %s: %lld packages, %lld to build, %lld already "
	    "built\n", *id, profile, ji(out, "jobs"), ji(out, "to_build"),
	    ji(out, "reused"));
	json_array_foreach(json_object_get(out, "trees"), i, t)
		printf("  tree %s at %s (%s %s)\n", js(t, "name"), js(t, "commit"),
		    js(t, "uri"), js(t, "ref"));
	ret = fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
out:
	json_decref(out);
	return ret;
}

int
cmd_rebuild(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		FARM_CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ "commit", required_argument, NULL, 'c' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct wait_opts w = { 0, 0 };
	struct farm_opts o;
	const char *profile = NULL, *commit = NULL, *timeout = NULL;
	struct farm f;
	int c, wait = 0, ret;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (farm_opt(&o, c, optarg))
			continue;
		switch (c) {
		case 'p': profile = optarg; break;
		case 'c': commit = optarg; break;
		case 'w': wait = 1; break;
		case 't': timeout = optarg; break;
		case 'h':
			ret = cli_help(cli, rebuild_usage, rebuild_help);
			fputs(farm_conn_help, stdout);
			fputs(rebuild_exit_help, stdout);
			return ret;
		default:
			return cli_usage(cli, rebuild_usage);
		}
	}
	/* --wait ID: an operand, and no profile to start. */
	if (wait && profile == NULL && optind + 1 == argc) {
		if (commit != NULL)
			return cli_usage(cli, rebuild_usage);
		if (cli_parse_ll(cli, "--wait", argv[optind++], 1,
		    (long long)1 << 53, &w.id) < 0)
			return BF_EXIT_ERROR;
	}
	if ((w.id == 0 && profile == NULL) || optind != argc ||
	    (timeout != NULL && !wait))
		return cli_usage(cli, rebuild_usage);
	if (timeout != NULL && cli_parse_ll(cli, "--timeout", timeout, 1,
	    100L * 365 * 86400, &w.timeout) < 0)
		return BF_EXIT_ERROR;
	if (farm_open(cli, &f, &o) < 0)
		return BF_EXIT_ERROR;
	ret = BF_EXIT_OK;
	if (profile != NULL)
		ret = start_rebuild(cli, &f, profile, commit, &w.id);
	if (ret == BF_EXIT_OK && wait)
		ret = wait_rebuild(cli, &f, &w);
	farm_close(&f);
	return ret;
}
