/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm log: prints a job's build log and follows it while the job
 * is open.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "farm.h"
#include "base/banned.h"

int
cmd_log(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		FARM_CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ "follow", no_argument, NULL, 'f' },
		{ "no-follow", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "[--profile P] [--no-follow] JOB|CPV";
	struct farm_opts o;
	const char *profile = NULL;
	struct farm f;
	long long id, off = 0;
	int c, follow = 1, ret = BF_EXIT_ERROR;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:f", longopts, NULL)) != -1) {
		if (farm_opt(&o, c, optarg))
			continue;
		switch (c) {
		case 'p': profile = optarg; break;
		case 'f': follow = 1; break;
		case 'n': follow = 0; break;
		case 'h':
			return cli_help(cli, usage, "Prints a job's build log and, "
			    "while the job is open, follows it.\n");
		default:
			return cli_usage(cli, usage);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, &o) < 0)
		return BF_EXIT_ERROR;
	if ((id = farm_find_job(cli, &f, argv[optind], profile)) < 0) {
		if (id == FARM_NO_JOB)
			ret = BF_EXIT_FAIL;
		goto out;
	}
	for (;;) {
		struct bf_http_req rq = BF_HTTP_REQ_INIT;
		struct bf_http_resp resp;
		struct bf_buf p = BF_BUF_INIT;
		json_t *j = NULL;
		const char *s;
		int open;

		bf_buf_addf(&p, "/v1/jobs/%lld/log?offset=%lld", id, off);
		bf_http_resp_init(&resp);
		rq.path = p.buf;
		rq.bearer = f.token;
		if (bf_http_request(&f.url, &rq, &resp, NULL) < 0 ||
		    resp.status != 200) {
			cli_error(cli, resp.status == 404 ? "no job %lld" :
			    "cannot read the log of job %lld", id);
			/* No such job is a refusal, as retry and cancel say. */
			if (resp.status == 404)
				ret = BF_EXIT_FAIL;
			bf_http_resp_release(&resp);
			bf_buf_release(&p);
			break;
		}
		fwrite(resp.body.buf, 1, resp.body.len, stdout);
		fflush(stdout);
		off += (long long)resp.body.len;
		bf_http_resp_release(&resp);
		bf_buf_reset(&p);
		bf_buf_addf(&p, "/v1/jobs/%lld", id);
		farm_call(cli, &f, "GET", p.buf, NULL, &j, NULL);
		bf_buf_release(&p);
		s = js(j, "state");
		open = strcmp(s, "running") == 0 || strcmp(s, "ready") == 0 ||
		    strcmp(s, "waiting") == 0;
		if (!follow || !open) {
			if (!open)
				fprintf(stderr, "binfarm log: job %lld (%s) is "
				    "%s%s%s\n", id, js(j, "cpv"), s,
				    json_object_get(j, "error") ? ": " : "",
				    js(j, "error"));
			ret = strcmp(s, "failed") == 0 ? BF_EXIT_FAIL :
			    BF_EXIT_OK;
			json_decref(j);
			break;
		}
		json_decref(j);
		usleep(500000);
	}
out:
	farm_close(&f);
	return ret;
}
