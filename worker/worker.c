/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm-worker: registers with the builder, heartbeats, leases jobs,
 * runs a build driver, packs and uploads the result.  See
 * binfarm-worker(8).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/log.h"
#include "root.h"
#include "worker.h"
#include "base/banned.h"

/* Set by the signal handler: finish the job at hand, then exit. */
static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* A heartbeat; the job at hand (0: none) is abandoned if the builder
 * took its lease back. */
static void
heartbeat(struct wk *w, struct bf_http_conn *conn, long long job,
    const char *lease)
{
	json_t *body, *out = NULL, *ab, *v;
	struct bf_err e = BF_ERR_INIT;
	size_t i;
	int status = 0;

	body = json_pack("{s:s, s:[]}", "name", w->name, "jobs");
	if (job > 0)
		json_array_append_new(json_object_get(body, "jobs"),
		    json_pack("{s:I, s:s}", "job", (json_int_t)job, "lease",
		    lease));
	if (wk_call(w, conn, "POST", "/v1/workers/heartbeat", body, &out,
	    &status, &e) == 0 && status == 200) {
		ab = json_object_get(out, "abandon");
		json_array_foreach(ab, i, v) {
			if (json_integer_value(v) != job)
				continue;
			log_warnx("job %lld: the builder took the lease back "
			    "(cancelled or expired); abandoning it", job);
			pthread_mutex_lock(&w->mu);
			if (w->cur.job == job)
				w->cur.abandoned = 1;
			if (w->child > 0)
				kill(-w->child, SIGTERM);
			pthread_mutex_unlock(&w->mu);
		}
	} else if (job > 0) {
		log_warnx("heartbeat failed: %s", bf_err_msg(&e, -EIO));
		wk_refresh_url(w);
	}
	json_decref(body);
	json_decref(out);
}

/* The heartbeat thread: the build log as it grows, and a heartbeat
 * every hb_interval seconds, on a connection of its own. */
static void *
heartbeat_main(void *arg)
{
	struct wk *w = arg;
	struct bf_http_conn conn = BF_HTTP_CONN_INIT;
	time_t last = 0;

	while (!quit) {
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		struct wk_cur cur;

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&w->mu);
		cur = w->cur;
		pthread_mutex_unlock(&w->mu);
		if (cur.job > 0) {
			wk_send_log(w, &conn, cur.job, cur.lease, cur.logfd,
			    &cur.logsent);
			pthread_mutex_lock(&w->mu);
			if (w->cur.job == cur.job)
				w->cur.logsent = cur.logsent;
			pthread_mutex_unlock(&w->mu);
		}
		if (time(NULL) - last >= w->hb_interval) {
			last = time(NULL);
			heartbeat(w, &conn, cur.job, cur.lease);
		}
	}
	bf_http_conn_close(&conn);
	return NULL;
}

static void
backoff_sleep(int *delay, const char *what, const struct bf_err *e)
{
	log_warnx("%s: %s; retrying in %d s", what, bf_err_msg(e, -EIO),
	    *delay);
	sleep((unsigned)*delay);
	*delay = *delay >= 30 ? 60 : *delay * 2;
}

static int
do_register(struct wk *w)
{
	json_t *body = json_pack("{s:s, s:O, s:i}", "name", w->name, "tags",
	    w->tags, "slots", 1), *out = NULL;
	int delay = 1, status, rc;

	while (!quit) {
		struct bf_err e = BF_ERR_INIT;

		status = 0;
		rc = wk_call(w, &w->conn, "POST", "/v1/workers/register", body,
		    &out, &status, &e);
		if (rc == 0 && status == 200) {
			json_int_t lt = json_integer_value(json_object_get(out,
			    "lease_timeout"));

			w->hb_interval = lt >= 3 ? (int)lt / 3 : 1;
			json_decref(out);
			json_decref(body);
			log_info("registered as %s with %s:%s (driver %s)",
			    w->name, w->url.host, w->url.port, w->driver);
			return 0;
		}
		json_decref(out);
		out = NULL;
		if (rc == 0 && (status == 401 || status == 403)) {
			log_warnx("the builder refused this worker: %s",
			    e.msg);
			json_decref(body);
			return -1;
		}
		if (rc == -BF_ECRYPTO || rc == -BF_EFORMAT) {
			/* A wrong CA or scheme: retrying will not mend it. */
			log_warnx("cannot register with the builder: %s", e.msg);
			json_decref(body);
			return -1;
		}
		backoff_sleep(&delay, "cannot register with the builder", &e);
		wk_refresh_url(w);
	}
	json_decref(body);
	return -1;
}

static int
rm_rf(const char *dir)
{
	struct bf_buf c = BF_BUF_INIT;
	int rc;

	bf_buf_adds(&c, "rm -rf '");
	bf_buf_adds(&c, dir);
	bf_buf_adds(&c, "'");
	rc = system(c.buf);
	bf_buf_release(&c);
	return rc;
}

/* A fresh job directory and its build.log; the job becomes the one at
 * hand.  Returns the log's descriptor. */
static int
job_start(struct wk *w, json_t *job, struct bf_buf *dir)
{
	struct bf_buf p = BF_BUF_INIT;
	long long id = json_integer_value(json_object_get(job, "job"));
	const char *lease = json_string_value(json_object_get(job, "lease"));
	int logfd;

	bf_buf_addf(dir, "%s/jobs/%lld", w->workdir, id);
	rm_rf(dir->buf);
	bf_buf_addf(&p, "%s/jobs", w->workdir);
	mkdir(p.buf, 0755);
	mkdir(dir->buf, 0755);
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/build.log", dir->buf);
	logfd = open(p.buf, O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0644);
	bf_buf_release(&p);
	dprintf(logfd, "binfarm-worker %s: building %s (job %lld) with the "
	    "%s driver in %s\n", w->name, job_str(job, "cpv"), id, w->driver,
	    dir->buf);
	pthread_mutex_lock(&w->mu);
	w->cur.job = id;
	snprintf(w->cur.lease, sizeof(w->cur.lease), "%s", lease ? lease : "");
	w->cur.abandoned = 0;
	w->cur.logfd = logfd;
	w->cur.logsent = 0;
	pthread_mutex_unlock(&w->mu);
	return logfd;
}

/* Sends the rest of the log from the main thread. */
static void
job_flush_log(struct wk *w)
{
	pthread_mutex_lock(&w->mu);
	wk_send_log(w, &w->conn, w->cur.job, w->cur.lease, w->cur.logfd,
	    &w->cur.logsent);
	pthread_mutex_unlock(&w->mu);
}

/* Tells the builder the build failed. */
static void
job_fail(struct wk *w, json_t *job, const char *msg)
{
	struct bf_buf p = BF_BUF_INIT;
	long long id = json_integer_value(json_object_get(job, "job"));
	json_t *body = json_pack("{s:s, s:s, s:s}", "name", w->name,
	    "lease", job_str(job, "lease"), "error", msg);
	int status;

	dprintf(w->cur.logfd, "binfarm-worker: build failed: %s\n", msg);
	job_flush_log(w);
	bf_buf_addf(&p, "/v1/jobs/%lld/fail", id);
	wk_call(w, &w->conn, "POST", p.buf, body, NULL, &status, NULL);
	json_decref(body);
	bf_buf_release(&p);
	log_warnx("job %lld (%s) failed: %s", id, job_str(job, "cpv"), msg);
}

static void
run_job(struct wk *w, json_t *job)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf dir = BF_BUF_INIT;
	long long id = json_integer_value(json_object_get(job, "job"));
	const char *cpv = json_string_value(json_object_get(job, "cpv"));
	int logfd, rc, abandoned;

	logfd = job_start(w, job, &dir);
	log_info("job %lld: building %s", id, cpv);
	rc = build_job(w, job, dir.buf, logfd, &e);
	pthread_mutex_lock(&w->mu);
	abandoned = w->cur.abandoned;
	pthread_mutex_unlock(&w->mu);
	if (abandoned)
		goto done;
	if (rc == 0) {
		dprintf(logfd, "binfarm-worker: build finished; packing and "
		    "uploading\n");
		job_flush_log(w);
		rc = upload_job(w, job, dir.buf, logfd, &e);
	} else
		job_fail(w, job, bf_err_msg(&e, rc));
	if (rc == 0)
		log_info("job %lld (%s) uploaded", id, cpv);
	else
		log_warnx("job %lld (%s): %s", id, cpv, bf_err_msg(&e, rc));
done:
	pthread_mutex_lock(&w->mu);
	w->cur.job = 0;
	w->cur.logfd = -1;
	pthread_mutex_unlock(&w->mu);
	close(logfd);
	if (!w->keep && rc == 0)
		rm_rf(dir.buf);
	bf_buf_release(&dir);
}

/* Waits a little longer each time the builder has nothing to do. */
static void
idle_sleep(long *poll_ms)
{
	struct timespec ts = { *poll_ms / 1000, (*poll_ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	if (*poll_ms < 2000)
		*poll_ms += 200;
}

/* Leases jobs and runs them until told to stop, --max-jobs or
 * --idle-exit; 0, or 1 if the builder refused this worker. */
static int
worker_main(struct wk *w)
{
	pthread_t hb;
	time_t idle_since = time(NULL);
	int done = 0, delay = 1;
	long poll_ms = 200;

	if (strcmp(w->driver, "ebuild") == 0)
		ebuild_clean_roots(w);
	if (do_register(w) < 0) {
		bf_http_conn_close(&w->conn);	/* its curl handle */
		return 1;
	}
	pthread_create(&hb, NULL, heartbeat_main, w);
	while (!quit && (w->max_jobs <= 0 || done < w->max_jobs)) {
		struct bf_err e = BF_ERR_INIT;
		/* The noop driver installs no dependencies: skip the list. */
		json_t *body = json_pack("{s:s, s:b}", "name", w->name, "deps",
		    strcmp(w->driver, "noop") != 0), *job = NULL;
		int status = 0, rc;

		rc = wk_call(w, &w->conn, "POST", "/v1/jobs/lease", body, &job,
		    &status, &e);
		json_decref(body);
		if (rc < 0 || status >= 500 || status == 429) {
			/* 429: this address is under a penalty (auth-failures). */
			backoff_sleep(&delay, status == 429 ? "the builder "
			    "refuses this address for now" : "the builder is "
			    "away", &e);
			wk_refresh_url(w);
			continue;
		}
		if (status == 401 || status == 403) {
			log_warnx("the builder refused this worker: %s", e.msg);
			json_decref(job);
			break;
		}
		delay = 1;
		if (status == 200 && job != NULL) {
			run_job(w, job);
			json_decref(job);
			done++;
			idle_since = time(NULL);
			poll_ms = 200;
			continue;
		}
		json_decref(job);
		if (w->idle_exit > 0 && time(NULL) - idle_since >= w->idle_exit) {
			log_info("idle for %d s; exiting", w->idle_exit);
			break;
		}
		idle_sleep(&poll_ms);
	}
	quit = 1;
	pthread_join(hb, NULL);
	bf_http_conn_close(&w->conn);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: binfarm-worker [-s STATEDIR | --builder URL --token TOKEN]\n"
	    "       [--cacert FILE]\n"
	    "       [--name NAME] [--tags TAG,...] [--driver sandbox|ebuild|noop]\n"
	    "       [--workdir DIR] [--profiles DIR] [-j N] [--max-jobs N]\n"
	    "       [--idle-exit SECONDS] [--keep]\n"
	    "       [--base-root [PROFILE=]DIR] [--layer [PROFILE=]DIR]\n"
	    "       [--distfiles DIR] [--keep-checkouts N]\n\n"
	    "Drivers: 'sandbox' is SCAFFOLDING for machines without Portage: it\n"
	    "runs a documented subset of ebuild phases in bash (bf-sandbox.sh).\n"
	    "'ebuild' is the production path: real Portage (emerge and ebuild)\n"
	    "in a disposable root per job, an overlay over --base-root (and\n"
	    "--layer) in its own namespaces; see binfarm-worker(8).\n"
	    "'noop' packs an empty package, for benchmarks.\n");
}

/* What the options say before it is resolved into a struct wk. */
struct wk_opts {
	const char	*url;		/* --builder, BINFARM_BUILDER */
	const char	*statedir;	/* -s */
	const char	*tags;		/* --tags */
	const char	*workdir;	/* --workdir */
	char		*cacert;	/* --cacert, BINFARM_CACERT */
	char		*token;		/* --token, BINFARM_WORKER_TOKEN */
	char		*urlbuf;	/* url, read from the state directory */
	int		 n;		/* -j */
};

/* --base-root and --layer: DIR or PROFILE=DIR, DIR absolute. */
static int
root_arg_ok(const char *s)
{
	const char *eq = strchr(s, '=');

	if (s[0] == '/')
		return 1;
	return eq != NULL && eq > s && eq[1] == '/' &&
	    memchr(s, '/', (size_t)(eq - s)) == NULL;
}

/* One option of a struct wk; 0, or the exit status. */
static int
wk_option(struct wk *w, int c, char *arg)
{
	char *end;
	long v;

	switch (c) {
	case 'B':
	case 'L':
		if (!root_arg_ok(arg)) {
			fprintf(stderr, "binfarm-worker: --%s %s: not "
			    "[PROFILE=]DIR with an absolute DIR\n",
			    c == 'B' ? "base-root" : "layer", arg);
			return 2;
		}
		bf_strv_push(c == 'B' ? &w->base_roots : &w->layers, arg);
		break;
	case 'K':
		v = strtol(arg, &end, 10);
		if (end == arg || *end != '\0' || v < 0 || v > 100000) {
			fprintf(stderr, "binfarm-worker: --keep-checkouts "
			    "%s: not a number of checkouts\n", arg);
			return 2;
		}
		w->keep_checkouts = (int)v;
		break;
	case 'n': w->name = strdup(arg); break;
	case 'D': w->driver = arg; break;
	case 'p': w->profiles = arg; break;
	case 'm': w->max_jobs = atoi(arg); break;
	case 'i': w->idle_exit = atoi(arg); break;
	case 'k': w->keep = 1; break;
	case 'F': w->distfiles = arg; break;
	default:
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The command line and the environment; -1 to go on, else the exit
 * status. */
static int
parse_options(int argc, char **argv, struct wk_opts *o, struct wk *w)
{
	static const struct option longopts[] = {
		{ "builder", required_argument, NULL, 'b' },
		{ "token", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'n' },
		{ "tags", required_argument, NULL, 'g' },
		{ "driver", required_argument, NULL, 'D' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "profiles", required_argument, NULL, 'p' },
		{ "max-jobs", required_argument, NULL, 'm' },
		{ "idle-exit", required_argument, NULL, 'i' },
		{ "keep", no_argument, NULL, 'k' },
		{ "base-root", required_argument, NULL, 'B' },
		{ "layer", required_argument, NULL, 'L' },
		{ "distfiles", required_argument, NULL, 'F' },
		{ "keep-checkouts", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	o->url = getenv("BINFARM_BUILDER");
	o->workdir = "binfarm-worker";
	o->n = 1;
	if (getenv("BINFARM_WORKER_TOKEN") != NULL)
		o->token = strdup(getenv("BINFARM_WORKER_TOKEN"));
	/* Never into a build driver's environment (the ebuild driver
	 * inherits the worker's). */
	unsetenv("BINFARM_WORKER_TOKEN");
	unsetenv("BINFARM_TOKEN");
	if (getenv("BINFARM_CACERT") != NULL)
		o->cacert = strdup(getenv("BINFARM_CACERT"));
	while ((c = getopt_long(argc, argv, "s:j:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->statedir = optarg; break;
		case 'b': o->url = optarg; break;
		case 'T':
			free(o->token);
			o->token = strdup(optarg);
			/* Nor in /proc/PID/cmdline, which builds can read. */
			memset(optarg, 'x', strlen(optarg));
			break;
		case 'C':
			free(o->cacert);
			o->cacert = strdup(optarg);
			break;
		case 'g': o->tags = optarg; break;
		case 'w': o->workdir = optarg; break;
		case 'j': o->n = atoi(optarg); break;
		case 'd': break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if ((rc = wk_option(w, c, optarg)) != 0)
				return rc;
		}
	}
	log_init(1, getenv("BINFARM_DEBUG") != NULL, "binfarm-worker");
	log_stamp(1);
	if (optind != argc || o->n < 1 || o->n > 256 ||
	    (strcmp(w->driver, "sandbox") && strcmp(w->driver, "ebuild") &&
	    strcmp(w->driver, "noop"))) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* A base root or layer must be a canonical directory (root.h). */
static int
check_roots(struct wk *w)
{
	size_t i;

	for (i = 0; i < w->base_roots.n + w->layers.n; i++) {
		int isb = i < w->base_roots.n;
		const char *a = isb ? w->base_roots.v[i] :
		    w->layers.v[i - w->base_roots.n];
		const char *dir = a[0] == '/' ? a : strchr(a, '=') + 1;
		struct bf_err re = BF_ERR_INIT;

		if (root_layer_ok(dir, &re) < 0) {
			fprintf(stderr, "binfarm-worker: --%s %s: %s\n",
			    isb ? "base-root" : "layer", a, re.msg);
			bf_err_clear(&re);
			return -1;
		}
	}
	return 0;
}

static char *
host_name(void)
{
	char host[256];

	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return strdup(host);
}

struct tokfind {
	const char	*name;
	char		*token;
};

/* builder.conf's [worker NAME] token, for a worker on the builder's host. */
static int
find_token(void *arg, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct tokfind *tf = arg;

	(void)file;
	(void)line;
	(void)e;
	if (strncmp(section, "worker ", 7) == 0 &&
	    strcmp(section + 7, tf->name) == 0 && strcmp(key, "token") == 0 &&
	    value != NULL && tf->token == NULL)
		tf->token = strdup(value);
	return 0;
}

/* -s STATEDIR: the builder's generated state gives its URL, the token
 * and its CA. */
static int
read_statedir(struct wk_opts *o, struct wk *w)
{
	struct bf_buf p = BF_BUF_INIT, t = BF_BUF_INIT;
	int rc = 0;

	bf_buf_addf(&p, "%s/builder.url", o->statedir);
	if (o->url == NULL)
		o->url = o->urlbuf = bf_conf_read_line(p.buf);
	if (w->name == NULL)
		w->name = host_name();
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/builder.conf", o->statedir);
	if (o->token == NULL && bf_conf_read_file(p.buf, &t, NULL) == 0) {
		struct tokfind tf = { w->name, NULL };

		bf_conf_parse_ini(p.buf, t.buf, t.len, find_token, &tf, NULL);
		if ((o->token = tf.token) == NULL) {
			fprintf(stderr, "binfarm-worker: %s has no [worker %s] "
			    "with a token\n", p.buf, w->name);
			rc = -1;
			goto out;
		}
	}
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/tls/ca.pem", o->statedir);
	if (o->cacert == NULL && access(p.buf, R_OK) == 0)
		o->cacert = strdup(p.buf);
out:
	bf_buf_release(&p);
	bf_buf_release(&t);
	return rc;
}

/* The builder: its URL, the token, its CA. */
static int
setup_builder(struct wk_opts *o, struct wk *w)
{
	struct bf_err e = BF_ERR_INIT;

	w->statedir = o->statedir;
	if (o->statedir != NULL && read_statedir(o, w) < 0)
		return -1;
	if (o->url == NULL || o->token == NULL) {
		fprintf(stderr, "binfarm-worker: no builder: give -s STATEDIR, "
		    "or --builder URL and --token (or BINFARM_BUILDER and "
		    "BINFARM_WORKER_TOKEN)\n");
		return -1;
	}
	if (bf_url_parse(&w->url, o->url, &e) < 0) {
		fprintf(stderr, "binfarm-worker: %s\n", e.msg);
		return -1;
	}
	w->token = o->token;
	w->url.cacert = o->cacert;
	if (o->cacert != NULL && access(o->cacert, R_OK) < 0) {
		fprintf(stderr, "binfarm-worker: --cacert '%s': %s\n",
		    o->cacert, strerror(errno));
		return -1;
	}
	if (bf_http_global_init(&e) < 0) {
		fprintf(stderr, "binfarm-worker: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* --tags a,b,c as a JSON array. */
static json_t *
tag_list(const char *tags)
{
	json_t *a = json_array();
	struct bf_strv sv = BF_STRV_INIT;
	char *t, *q;
	size_t k;

	if (tags == NULL || (t = strdup(tags)) == NULL)
		return a;
	for (q = t; *q; q++)
		if (*q == ',')
			*q = ' ';
	bf_strv_split(&sv, t);
	for (k = 0; k < sv.n; k++)
		json_array_append_new(a, json_string(sv.v[k]));
	bf_strv_release(&sv);
	free(t);
	return a;
}

/* This worker: its builder, name, tags, work directory, drivers and
 * signals. */
static int
setup(struct wk_opts *o, struct wk *w)
{
	struct sigaction sa;
	char rp[PATH_MAX];

	if (check_roots(w) < 0 || setup_builder(o, w) < 0)
		return -1;
	w->tags = tag_list(o->tags);
	if (w->name == NULL)
		w->name = host_name();
	mkdir(o->workdir, 0755);
	if (realpath(o->workdir, rp) == NULL) {
		fprintf(stderr, "binfarm-worker: %s: %s\n", o->workdir,
		    strerror(errno));
		return -1;
	}
	w->workdir = strdup(rp);
	w->ebuild_driver = access(BF_EBUILD_INST, R_OK) == 0 ?
	    BF_EBUILD_INST : BF_EBUILD_SRC;
	if ((w->sandbox = getenv("BINFARM_SANDBOX")) == NULL)
		w->sandbox = access(BF_SANDBOX_INST, R_OK) == 0 ?
		    BF_SANDBOX_INST : BF_SANDBOX_SRC;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

/* -j N: N local workers, one process each, NAME-1 ... NAME-N; 0 if all
 * of them exited 0. */
static int
run_workers(struct wk *w, int n)
{
	pid_t *kids;
	int i, ret = 0;

	if ((kids = calloc((size_t)n, sizeof(*kids))) == NULL) {
		fprintf(stderr, "binfarm-worker: out of memory\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == 0) {
			struct bf_buf nm = BF_BUF_INIT, wd = BF_BUF_INIT;

			bf_buf_addf(&nm, "%s-%d", w->name, i + 1);
			bf_buf_addf(&wd, "%s/%d", w->workdir, i + 1);
			mkdir(wd.buf, 0755);
			free(w->name);
			free(w->workdir);
			w->name = bf_buf_detach(&nm, NULL);
			w->workdir = bf_buf_detach(&wd, NULL);
			_exit(worker_main(w));
		}
	}
	for (i = 0; i < n; i++) {
		int st;

		while (waitpid(kids[i], &st, 0) < 0) {
			if (errno != EINTR)
				break;
			if (quit) {
				int k;

				for (k = 0; k < n; k++)
					kill(kids[k], SIGTERM);
			}
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			ret = 1;
	}
	free(kids);
	return ret;
}

int
main(int argc, char **argv)
{
	struct wk w;
	struct wk_opts o;
	int ret;

	memset(&w, 0, sizeof(w));
	memset(&o, 0, sizeof(o));
	w.driver = "sandbox";
	w.keep_checkouts = 4;
	w.hb_interval = 5;
	w.cur.logfd = -1;
	pthread_mutex_init(&w.mu, NULL);
	if ((ret = parse_options(argc, argv, &o, &w)) >= 0)
		goto out;
	ret = 2;
	if (setup(&o, &w) < 0)
		goto out;
	ret = o.n == 1 ? worker_main(&w) : run_workers(&w, o.n);
out:
	if (o.token != NULL)
		explicit_bzero(o.token, strlen(o.token));
	free(o.token);
	free(o.cacert);
	free(o.urlbuf);
	free(w.name);
	free(w.workdir);
	json_decref(w.tags);
	bf_strv_release(&w.base_roots);
	bf_strv_release(&w.layers);
	pthread_mutex_destroy(&w.mu);
	return ret;
}
