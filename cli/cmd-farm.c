/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm rebuild, status, log, retry, cancel: the engineers' side of
 * binfarm-builder's API.  The builder is found from --builder URL and
 * --token TOKEN, or BINFARM_BUILDER and BINFARM_TOKEN, or the builder's
 * state directory (-s DIR or BINFARM_BUILDER_STATE: builder.url and the
 * engineer-token of builder.conf).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "cli.h"
#include "base/conf.h"
#include "base/err.h"
#include "net/http.h"
#include "base/banned.h"

struct farm {
	struct bf_url	 url;
	char		*token;
	char		*urlbuf;
	char		*cacert;
};

static const char conn_help[] =
    "  --builder URL   the builder (or BINFARM_BUILDER)\n"
    "  --token TOKEN   the engineer token (or BINFARM_TOKEN)\n"
    "  --cacert FILE   the CA that signed an https:// builder's certificate\n"
    "                  (or BINFARM_CACERT; default: the system's CAs)\n"
    "  -s STATEDIR     read both from the builder's state directory\n"
    "                  and its CA, tls/ca.pem (or BINFARM_BUILDER_STATE)\n";

static char *
read_trim(const char *path)
{
	struct bf_buf b = BF_BUF_INIT;

	if (bf_conf_read_file(path, &b, NULL) < 0) {
		bf_buf_release(&b);
		return NULL;
	}
	bf_buf_rtrim(&b);
	return bf_buf_detach(&b, NULL);
}

static void farm_close(struct farm *f);

static int
farm_open(struct bf_cli *cli, struct farm *f, const char *url,
    const char *token, const char *cacert, const char *state)
{
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
			url = f->urlbuf = read_trim(p.buf);
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

static void
farm_close(struct farm *f)
{
	free(f->token);
	free(f->urlbuf);
	free(f->cacert);
	memset(f, 0, sizeof(*f));
}

/* Returns the HTTP status, or -1 after printing why there was none. */
static int
farm_call(struct bf_cli *cli, struct farm *f, const char *method,
    const char *path, json_t *body, json_t **out, struct bf_buf *raw,
    long long *logsize, char *state, size_t statesz)
{
	struct bf_http_req rq = BF_HTTP_REQ_INIT;
	struct bf_http_resp resp;
	struct bf_err e = BF_ERR_INIT;
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc;

	(void)logsize;
	(void)state;
	(void)statesz;
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

static const char *
js(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static long long
ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int
http_fail(struct bf_cli *cli, int status, json_t *out)
{
	if (status < 0)
		return BF_EXIT_ERROR;
	cli_error(cli, "%s (HTTP %d)", json_string_value(json_object_get(out,
	    "error")) ? js(out, "error") : "request failed", status);
	return status == 401 || status == 403 ? BF_EXIT_ERROR : BF_EXIT_FAIL;
}

#define CONN_OPTS \
	{ "builder", required_argument, NULL, 'B' }, \
	{ "token", required_argument, NULL, 'T' }, \
	{ "cacert", required_argument, NULL, 'A' }, \
	{ "help", no_argument, NULL, 'h' }

int
cmd_rebuild(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ "commit", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "--profile P [--commit [REPO=]C] "
	    "[--builder URL --token T | -s STATEDIR]";
	const char *url = NULL, *token = NULL, *cacert = NULL, *state = NULL,
	    *profile = NULL,
	    *commit = NULL, *user = getenv("USER");
	struct farm f;
	json_t *body, *out = NULL, *t;
	size_t i;
	int c, st, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': url = optarg; break;
		case 'T': token = optarg; break;
		case 'A': cacert = optarg; break;
		case 's': state = optarg; break;
		case 'p': profile = optarg; break;
		case 'c': commit = optarg; break;
		case 'h':
			ret = cli_help(cli, usage, "Plans the hw-profile at "
			    "the pinned commit (or --commit) and queues its "
			    "builds.\n\n  --profile P     the profile, as the "
			    "builder's config names it\n  --commit C      a "
			    "commit or ref of the first repository, or "
			    "REPO=C\n");
			fputs(conn_help, stdout);
			return ret;
		default:
			return cli_usage(cli, usage);
		}
	}
	if (profile == NULL || optind != argc)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, url, token, cacert, state) < 0)
		return BF_EXIT_ERROR;
	body = json_pack("{s:s, s:s}", "profile", profile, "by",
	    user ? user : "engineer");
	if (commit != NULL)
		json_object_set_new(body, "commit", json_string(commit));
	st = farm_call(cli, &f, "POST", "/v1/rebuild", body, &out, NULL, NULL,
	    NULL, 0);
	json_decref(body);
	if (st != 200) {
		ret = http_fail(cli, st, out);
		goto out;
	}
	printf("rebuild %lld of %s: %lld packages, %lld to build, %lld already "
	    "built\n", ji(out, "rebuild"), profile, ji(out, "jobs"),
	    ji(out, "to_build"), ji(out, "reused"));
	json_array_foreach(json_object_get(out, "trees"), i, t)
		printf("  tree %s at %s (%s %s)\n", js(t, "name"), js(t, "commit"),
		    js(t, "uri"), js(t, "ref"));
	ret = BF_EXIT_OK;
out:
	json_decref(out);
	farm_close(&f);
	return ret;
}

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

int
cmd_status(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CONN_OPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "[--json] [--builder URL --token T | -s "
	    "STATEDIR]";
	const char *url = NULL, *token = NULL, *cacert = NULL, *state = NULL;
	struct bf_buf raw = BF_BUF_INIT;
	struct farm f;
	json_t *out = NULL;
	int c, st, json = 0, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': url = optarg; break;
		case 'T': token = optarg; break;
		case 'A': cacert = optarg; break;
		case 's': state = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			return cli_help(cli, usage, "Shows per-profile progress, "
			    "running jobs, the queue, problems and workers.\n");
		default:
			return cli_usage(cli, usage);
		}
	}
	if (optind != argc)
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, url, token, cacert, state) < 0)
		return BF_EXIT_ERROR;
	st = farm_call(cli, &f, "GET", "/v1/status", NULL, &out, &raw, NULL,
	    NULL, 0);
	if (st != 200)
		ret = http_fail(cli, st, out);
	else {
		if (json)
			printf("%s\n", raw.buf);
		else
			print_status(out, isatty(1));
		ret = BF_EXIT_OK;
	}
	json_decref(out);
	bf_buf_release(&raw);
	farm_close(&f);
	return ret;
}

/* JOB id or CPV -> job id; -1 after an error. */
static long long
find_job(struct bf_cli *cli, struct farm *f, const char *what,
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
	st = farm_call(cli, f, "GET", p.buf, NULL, &out, NULL, NULL, NULL, 0);
	id = st == 200 ? ji(out, "job") : -1;
	if (st != 200 && st > 0)
		cli_error(cli, "%s: %s", what, js(out, "error"));
	json_decref(out);
	bf_buf_release(&p);
	return id;
}

int
cmd_log(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ "follow", no_argument, NULL, 'f' },
		{ "no-follow", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "[--profile P] [--no-follow] JOB|CPV";
	const char *url = NULL, *token = NULL, *cacert = NULL, *state = NULL,
	    *profile = NULL;
	struct farm f;
	long long id, off = 0;
	int c, follow = 1, ret = BF_EXIT_ERROR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:f", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': url = optarg; break;
		case 'T': token = optarg; break;
		case 'A': cacert = optarg; break;
		case 's': state = optarg; break;
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
	if (farm_open(cli, &f, url, token, cacert, state) < 0)
		return BF_EXIT_ERROR;
	if ((id = find_job(cli, &f, argv[optind], profile)) < 0)
		goto out;
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
			cli_error(cli, "cannot read the log of job %lld", id);
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
		farm_call(cli, &f, "GET", p.buf, NULL, &j, NULL, NULL, NULL, 0);
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

static int
job_action(struct bf_cli *cli, int argc, char **argv, const char *action)
{
	static const struct option longopts[] = {
		CONN_OPTS,
		{ "profile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *token = NULL, *cacert = NULL, *state = NULL,
	    *profile = NULL;
	const char *usage = strcmp(action, "cancel") == 0 ?
	    "JOB|CPV... | --profile P (the whole running rebuild)" :
	    "[--profile P] JOB|CPV...";
	struct bf_buf p = BF_BUF_INIT;
	struct farm f;
	json_t *out = NULL, *body;
	long long id;
	int c, st, i, ret = BF_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': url = optarg; break;
		case 'T': token = optarg; break;
		case 'A': cacert = optarg; break;
		case 's': state = optarg; break;
		case 'p': profile = optarg; break;
		case 'h':
			return cli_help(cli, usage, strcmp(action, "cancel") ?
			    "Retries failed or cancelled jobs; their blocked "
			    "dependents are queued again.\n" : "Cancels jobs "
			    "(their dependents are blocked) or a rebuild.\n");
		default:
			return cli_usage(cli, usage);
		}
	}
	if (optind == argc && !(profile && strcmp(action, "cancel") == 0))
		return cli_usage(cli, usage);
	if (farm_open(cli, &f, url, token, cacert, state) < 0)
		return BF_EXIT_ERROR;
	if (optind == argc) {
		body = json_pack("{s:s}", "profile", profile);
		st = farm_call(cli, &f, "POST", "/v1/rebuild/cancel", body, &out,
		    NULL, NULL, NULL, 0);
		json_decref(body);
		if (st == 200)
			printf("cancelled rebuild %lld of %s\n",
			    ji(out, "cancelled"), profile);
		else
			ret = http_fail(cli, st, out);
		json_decref(out);
		farm_close(&f);
		return ret;
	}
	for (i = optind; i < argc; i++) {
		if ((id = find_job(cli, &f, argv[i], profile)) < 0) {
			ret = BF_EXIT_FAIL;
			continue;
		}
		bf_buf_reset(&p);
		bf_buf_addf(&p, "/v1/jobs/%lld/%s", id, action);
		st = farm_call(cli, &f, "POST", p.buf, NULL, &out, NULL, NULL,
		    NULL, 0);
		if (st == 200)
			printf("job %lld %s: %s\n", id, js(out, "cpv"),
			    js(out, "state"));
		else
			ret = http_fail(cli, st, out);
		json_decref(out);
		out = NULL;
	}
	bf_buf_release(&p);
	farm_close(&f);
	return ret;
}

int
cmd_retry(struct bf_cli *cli, int argc, char **argv)
{
	return job_action(cli, argc, argv, "retry");
}

int
cmd_cancel(struct bf_cli *cli, int argc, char **argv)
{
	return job_action(cli, argc, argv, "cancel");
}
