/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of binfarm-builder's API that the farm commands share
 * (farm.h): finding the builder, calling it, naming a job.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "farm.h"
#include "base/banned.h"

const char farm_conn_help[] =
    "  --builder URL   the builder (or BINFARM_BUILDER)\n"
    "  --token TOKEN   the engineer token (or BINFARM_TOKEN)\n"
    "  --cacert FILE   the CA that signed an https:// builder's certificate\n"
    "                  (or BINFARM_CACERT; default: the system's CAs)\n"
    "  -s STATEDIR     read both from the builder's state directory\n"
    "                  and its CA, tls/ca.pem (or BINFARM_BUILDER_STATE)\n";

int
farm_opt(struct farm_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'B': o->url = arg; break;
	case 'T': o->token = arg; break;
	case 'A': o->cacert = arg; break;
	case 's': o->state = arg; break;
	default: return 0;
	}
	return 1;
}

int
farm_open(struct bf_cli *cli, struct farm *f, const struct farm_opts *o)
{
	const char *url = o->url, *token = o->token, *cacert = o->cacert,
	    *state = o->state;
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf p = BF_BUF_INIT, t = BF_BUF_INIT;
	char *s, *l;

	memset(f, 0, sizeof(*f));
	if (url == NULL)
		url = getenv("BINFARM_BUILDER");
	if (token == NULL)
		token = getenv("BINFARM_TOKEN");
	if (state == NULL)
		state = getenv("BINFARM_BUILDER_STATE");
	if (cacert == NULL)
		cacert = getenv("BINFARM_CACERT");
	if (cacert != NULL)
		f->cacert = strdup(cacert);
	if (state != NULL) {
		bf_buf_addf(&p, "%s/tls/ca.pem", state);
		if (f->cacert == NULL && access(p.buf, R_OK) == 0)
			f->cacert = strdup(p.buf);
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/builder.url", state);
		if (url == NULL)
			url = f->urlbuf = bf_conf_read_line(p.buf);
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/builder.conf", state);
		if (token == NULL && bf_conf_read_file(p.buf, &t, NULL) == 0 &&
		    (s = strstr(t.buf, "\nengineer-token")) != NULL &&
		    (s = strchr(s, '=')) != NULL) {
			for (s++; *s == ' '; s++)
				;
			if ((l = strchr(s, '\n')) != NULL)
				*l = '\0';
			f->token = strdup(s);
		}
	}
	if (token != NULL && f->token == NULL)
		f->token = strdup(token);
	bf_buf_release(&p);
	bf_buf_release(&t);
	if (url == NULL || f->token == NULL) {
		cli_error(cli, "which builder? give --builder URL and --token, "
		    "or -s STATEDIR");
		farm_close(f);
		return -1;
	}
	if (bf_url_parse(&f->url, url, &e) < 0) {
		cli_error(cli, "%s", e.msg);
		farm_close(f);
		return -1;
	}
	if (f->cacert != NULL && access(f->cacert, R_OK) < 0) {
		cli_error(cli, "--cacert '%s': %s", f->cacert, strerror(errno));
		farm_close(f);
		return -1;
	}
	f->url.cacert = f->cacert;
	return 0;
}

void
farm_close(struct farm *f)
{
	free(f->token);
	free(f->urlbuf);
	free(f->cacert);
	memset(f, 0, sizeof(*f));
}

int
farm_call(struct bf_cli *cli, struct farm *f, const char *method,
    const char *path, json_t *body, json_t **out, struct bf_buf *raw)
{
	struct bf_http_req rq = BF_HTTP_REQ_INIT;
	struct bf_http_resp resp;
	struct bf_err e = BF_ERR_INIT;
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc;

	if (out)
		*out = NULL;
	bf_http_resp_init(&resp);
	rq.method = method;
	rq.path = path;
	rq.bearer = f->token;
	rq.content_type = s ? "application/json" : NULL;
	rq.body = s;
	rq.body_len = s ? strlen(s) : 0;
	rq.timeout_ms = 600000;
	rc = bf_http_request(&f->url, &rq, &resp, &e);
	free(s);
	if (rc < 0) {
		cli_error(cli, "cannot reach the builder: %s", bf_err_msg(&e, rc));
		bf_http_resp_release(&resp);
		return -1;
	}
	if (raw != NULL)
		bf_buf_add(raw, resp.body.buf, resp.body.len);
	if (out != NULL && resp.body.len)
		*out = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
	rc = resp.status;
	bf_http_resp_release(&resp);
	return rc;
}

int
farm_fail(struct bf_cli *cli, int status, json_t *out)
{
	if (status < 0)
		return BF_EXIT_ERROR;
	cli_error(cli, "%s (HTTP %d)", json_string_value(json_object_get(out,
	    "error")) ? js(out, "error") : "request failed", status);
	return status == 401 || status == 403 || status == 429 ? BF_EXIT_ERROR :
	    BF_EXIT_FAIL;
}

long long
farm_find_job(struct bf_cli *cli, struct farm *f, const char *what,
    const char *profile)
{
	struct bf_buf p = BF_BUF_INIT;
	json_t *out = NULL;
	char *end;
	long long id = strtoll(what, &end, 10);
	int st;

	if (*end == '\0' && id > 0)
		return id;
	bf_buf_addf(&p, "/v1/jobs?cpv=%s", what);
	if (profile)
		bf_buf_addf(&p, "&profile=%s", profile);
	st = farm_call(cli, f, "GET", p.buf, NULL, &out, NULL);
	id = st == 200 ? ji(out, "job") : st > 0 ? FARM_NO_JOB : -1;
	if (st != 200 && st > 0)
		cli_error(cli, "%s: %s", what, js(out, "error"));
	json_decref(out);
	bf_buf_release(&p);
	return id;
}

int
farm_job_opts(struct bf_cli *cli, int argc, char **argv, const char *usage,
    const char *help, struct farm_opts *o, const char **profile)
{
	static const struct option longopts[] = {
		FARM_CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	*profile = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (farm_opt(o, c, optarg))
			continue;
		switch (c) {
		case 'p': *profile = optarg; break;
		case 'h': return cli_help(cli, usage, help);
		default: return cli_usage(cli, usage);
		}
	}
	return -1;
}

int
farm_job_action(struct bf_cli *cli, struct farm *f, int n, char **jobs,
    const char *profile, const char *action)
{
	struct bf_buf p = BF_BUF_INIT;
	json_t *out = NULL;
	long long id;
	int st, i, ret = BF_EXIT_OK;

	for (i = 0; i < n; i++) {
		if ((id = farm_find_job(cli, f, jobs[i], profile)) < 0) {
			ret = BF_EXIT_FAIL;
			continue;
		}
		bf_buf_reset(&p);
		bf_buf_addf(&p, "/v1/jobs/%lld/%s", id, action);
		st = farm_call(cli, f, "POST", p.buf, NULL, &out, NULL);
		if (st == 200)
			printf("job %lld %s: %s\n", id, js(out, "cpv"),
			    js(out, "state"));
		else
			ret = farm_fail(cli, st, out);
		json_decref(out);
		out = NULL;
	}
	bf_buf_release(&p);
	return ret;
}
