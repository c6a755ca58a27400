/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm status: the build farm's queue, jobs and workers.
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

static void
bar(long long done, long long total, int tty)
{
	int w = 30, i, fill = total > 0 ? (int)(done * w / total) : w;

	if (!tty)
		return;
	printf("  [");
	for (i = 0; i < w; i++)
		putchar(i < fill ? '#' : '.');
	printf("] %3lld%%\n", total > 0 ? done * 100 / total : 100);
}

static void
print_status(json_t *s, int tty)
{
	json_t *p, *j, *r, *n;
	size_t i, k;
	long long now = (long long)time(NULL);

	json_array_foreach(json_object_get(s, "profiles"), i, p) {
		r = json_object_get(p, "rebuild");
		n = json_object_get(p, "jobs");
		if (r == NULL) {
			printf("profile %s: never built\n", js(p, "profile"));
			continue;
		}
		printf("profile %s: rebuild %lld %s", js(p, "profile"),
		    ji(r, "id"), js(r, "state"));
		json_array_foreach(json_object_get(r, "trees"), k, j)
			printf("%s%s@%.12s", k ? ", " : " (", js(j, "name"),
			    js(j, "commit"));
		printf("%s\n", json_array_size(json_object_get(r, "trees")) ?
		    ")" : "");
		if (json_object_get(r, "error"))
			printf("  %s\n", js(r, "error"));
		if (n != NULL) {
			long long done = ji(n, "done") + ji(n, "reused");

			bar(done, ji(n, "total"), tty);
			printf("  %lld/%lld done (%lld reused), %lld running, "
			    "%lld ready, %lld waiting, %lld failed, %lld "
			    "blocked, %lld cancelled\n", done, ji(n, "total"),
			    ji(n, "reused"), ji(n, "running"), ji(n, "ready"),
			    ji(n, "waiting"), ji(n, "failed"), ji(n, "blocked"),
			    ji(n, "cancelled"));
		}
		printf("  testing: %s\n", json_object_get(p, "testing") ?
		    js(p, "testing") : "(none)");
	}
	if (json_array_size(json_object_get(s, "running")))
		printf("running:\n");
	json_array_foreach(json_object_get(s, "running"), i, j)
		printf("  job %lld %s [%s] on %s, attempt %lld, %lld s\n",
		    ji(j, "job"), js(j, "cpv"), js(j, "profile"), js(j, "worker"),
		    ji(j, "attempts") + 1, now - ji(j, "started"));
	printf("queue: %lld ready\n", ji(s, "queued"));
	json_array_foreach(json_object_get(s, "queue"), i, j)
		printf("  job %lld %s [%s]\n", ji(j, "job"), js(j, "cpv"),
		    js(j, "profile"));
	if (json_array_size(json_object_get(s, "problems")))
		printf("problems:\n");
	json_array_foreach(json_object_get(s, "problems"), i, j)
		printf("  job %lld %s [%s] %s after %lld attempts: %s\n",
		    ji(j, "job"), js(j, "cpv"), js(j, "profile"),
		    strcmp(js(j, "state"), "failed") == 0 ? "FAILED" :
		    "retrying", ji(j, "attempts"), js(j, "error"));
	json_array_foreach(json_object_get(s, "refused"), i, j)
		printf("refused rebuild of %s: %s\n", js(j, "profile"),
		    js(j, "error"));
	printf("workers:\n");
	json_array_foreach(json_object_get(s, "workers"), i, j) {
		json_t *m;

		printf("  %s %s, %lld running, last seen %lld s ago, may build:",
		    js(j, "name"), json_is_true(json_object_get(j, "alive")) ?
		    "alive" : "GONE", ji(j, "running"), now - ji(j, "last_seen"));
		if (json_array_size(json_object_get(j, "may_build")) == 0)
			printf(" nothing (tags:");
		json_array_foreach(json_object_get(j, "may_build"), k, m)
			printf(" %s", json_string_value(m));
		if (json_array_size(json_object_get(j, "may_build")) == 0)
			json_array_foreach(json_object_get(j, "tags"), k, m)
				printf(" %s", json_string_value(m));
		printf("%s\n", json_array_size(json_object_get(j,
		    "may_build")) ? "" : ")");
	}
}

/*
 * BF_EXIT_FAIL when the latest rebuild of a profile failed or was
 * refused (what status shows), naming each on standard error.
 */
static int
status_code(struct bf_cli *cli, json_t *s)
{
	const char *state;
	json_t *p, *r;
	size_t i;
	int ret = BF_EXIT_OK;

	json_array_foreach(json_object_get(s, "profiles"), i, p) {
		if ((r = json_object_get(p, "rebuild")) == NULL)
			continue;
		state = js(r, "state");
		if (strcmp(state, "failed") != 0 && strcmp(state, "error") != 0)
			continue;
		cli_error(cli, "rebuild %lld of %s %s", ji(r, "id"),
		    js(p, "profile"), strcmp(state, "error") == 0 ?
		    "was refused" : "failed");
		ret = BF_EXIT_FAIL;
	}
	return ret;
}

int
cmd_status(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		FARM_CONN_OPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "[--json] [--builder URL --token T | -s "
	    "STATEDIR]";
	struct farm_opts o;
	struct bf_buf raw = BF_BUF_INIT;
	struct farm f;
	json_t *out = NULL;
	int c, st, json = 0, ret;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (farm_opt(&o, c, optarg))
			continue;
		switch (c) {
		case 'j': json = 1; break;
		case 'h':
			return cli_help(cli, usage, "Shows per-profile progress, "
			    "running jobs, the queue, problems and workers.\n\n"
			    "  --json          the builder's status as JSON\n\n"
			    "Exit status: 0 done, 1 the latest rebuild of a "
			    "profile failed or was\nrefused (or the builder "
			    "refused the request), 2 usage, or the builder\n"
			    "could not be reached.\n");
		default:
			return cli_usage(cli, usage);
		}
	}
	if (optind != argc)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, &o) < 0)
		return BF_EXIT_ERROR;
	st = farm_call(cli, &f, "GET", "/v1/status", NULL, &out, &raw);
	if (st != 200)
		ret = farm_fail(cli, st, out);
	else {
		if (json)
			printf("%s\n", raw.buf);
		else
			print_status(out, isatty(1));
		ret = fflush(stdout) == 0 ? status_code(cli, out) :
		    BF_EXIT_ERROR;
	}
	json_decref(out);
	bf_buf_release(&raw);
	farm_close(&f);
	return ret;
}
