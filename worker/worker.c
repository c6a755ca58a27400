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

volatile pid_t w_child;
static volatile sig_atomic_t quit;

/* The job being built, shared with the heartbeat thread. */
static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;
static long long cur_job;
static char cur_lease[64];
static int cur_abandoned;
static int cur_logfd = -1;
static off_t cur_logsent;
static int hb_interval = 5;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

int
w_call(struct worker *w, struct bf_http_conn *conn, const char *method,
    const char *path, json_t *body, json_t **out, int *status,
    struct bf_err *e)
{
	struct bf_http_req rq = BF_HTTP_REQ_INIT;
	struct bf_http_resp resp;
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc;

	if (out)
		*out = NULL;
	bf_http_resp_init(&resp);
	rq.method = method;
	rq.path = path;
	rq.bearer = w->token;
	rq.content_type = body ? "application/json" : NULL;
	rq.body = s;
	rq.body_len = s ? strlen(s) : 0;
	rq.conn = conn;
	rc = bf_http_request(&w->url, &rq, &resp, e);
	free(s);
	if (rc == 0) {
		*status = resp.status;
		if (out && resp.body.len)
			*out = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
		if (resp.status >= 400) {
			json_t *j = json_loadb(resp.body.buf, resp.body.len, 0,
			    NULL);
			const char *m = json_string_value(json_object_get(j,
			    "error"));

			bf_err_set(e, EIO, "HTTP %d: %s", resp.status,
			    m ? m : resp.body.buf);
			json_decref(j);
		}
	}
	bf_http_resp_release(&resp);
	return rc;
}

/* Sends the log written since the last call. */
static void
send_log(struct worker *w, struct bf_http_conn *conn, long long job,
    const char *lease, int fd, off_t *sent)
{
	struct bf_http_req rq = BF_HTTP_REQ_INIT;
	struct bf_http_resp resp;
	struct bf_buf h1 = BF_BUF_INIT, h2 = BF_BUF_INIT, p = BF_BUF_INIT,
	    data = BF_BUF_INIT;
	const char *hdrs[3];
	struct stat st;
	ssize_t r;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= *sent)
		return;
	if (bf_buf_grow(&data, (size_t)(st.st_size - *sent)) < 0)
		return;
	r = pread(fd, data.buf, (size_t)(st.st_size - *sent), *sent);
	if (r <= 0)
		goto out;
	bf_buf_setlen(&data, (size_t)r);
	bf_http_resp_init(&resp);
	bf_buf_addf(&h1, "X-Binfarm-Worker: %s", w->name);
	bf_buf_addf(&h2, "X-Binfarm-Lease: %s", lease);
	hdrs[0] = h1.buf;
	hdrs[1] = h2.buf;
	hdrs[2] = NULL;
	bf_buf_addf(&p, "/v1/jobs/%lld/log", job);
	rq.method = "POST";
	rq.path = p.buf;
	rq.bearer = w->token;
	rq.content_type = "text/plain";
	rq.headers = hdrs;
	rq.body = data.buf;
	rq.body_len = data.len;
	rq.conn = conn;
	if (bf_http_request(&w->url, &rq, &resp, NULL) == 0 &&
	    resp.status == 200)
		*sent += r;
	bf_http_resp_release(&resp);
out:
	bf_buf_release(&h1);
	bf_buf_release(&h2);
	bf_buf_release(&p);
	bf_buf_release(&data);
}

static void *
heartbeat_main(void *arg)
{
	struct worker *w = arg;
	struct bf_http_conn conn = BF_HTTP_CONN_INIT;
	struct bf_buf p = BF_BUF_INIT;
	time_t last = 0;

	(void)p;
	while (!quit) {
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		long long job;
		char lease[64];
		int logfd;
		off_t sent;

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&cur_mu);
		job = cur_job;
		memcpy(lease, cur_lease, sizeof(lease));
		logfd = cur_logfd;
		sent = cur_logsent;
		pthread_mutex_unlock(&cur_mu);
		if (job > 0) {
			send_log(w, &conn, job, lease, logfd, &sent);
			pthread_mutex_lock(&cur_mu);
			if (cur_job == job)
				cur_logsent = sent;
			pthread_mutex_unlock(&cur_mu);
		}
		if (time(NULL) - last >= hb_interval) {
			json_t *body, *out = NULL, *ab, *v;
			struct bf_err e = BF_ERR_INIT;
			size_t i;
			int status = 0;

			last = time(NULL);
			body = json_pack("{s:s, s:[]}", "name", w->name, "jobs");
			if (job > 0)
				json_array_append_new(json_object_get(body,
				    "jobs"), json_pack("{s:I, s:s}", "job",
				    (json_int_t)job, "lease", lease));
			if (w_call(w, &conn, "POST", "/v1/workers/heartbeat", body,
			    &out, &status, &e) == 0 && status == 200) {
				ab = json_object_get(out, "abandon");
				json_array_foreach(ab, i, v) {
					if (json_integer_value(v) != job)
						continue;
					log_warnx("job %lld: the builder took "
					    "the lease back (cancelled or "
					    "expired); abandoning it", job);
					pthread_mutex_lock(&cur_mu);
					if (cur_job == job)
						cur_abandoned = 1;
					pthread_mutex_unlock(&cur_mu);
					if (w_child > 0)
						kill(-w_child, SIGTERM);
				}
			} else if (job > 0) {
				log_warnx("heartbeat failed: %s",
				    bf_err_msg(&e, -EIO));
				w_refresh_url(w);
			}
			json_decref(body);
			json_decref(out);
		}
	}
	bf_http_conn_close(&conn);
	bf_buf_release(&p);
	return NULL;
}

static char *read_trim(const char *path);

void
w_refresh_url(struct worker *w)
{
	struct bf_buf p = BF_BUF_INIT;
	struct bf_url u;
	char *s;

	if (w->statedir == NULL)
		return;
	bf_buf_addf(&p, "%s/builder.url", w->statedir);
	if ((s = read_trim(p.buf)) != NULL && bf_url_parse(&u, s, NULL) == 0 &&
	    (strcmp(u.host, w->url.host) || strcmp(u.port, w->url.port))) {
		log_info("the builder is now at %s", s);
		pthread_mutex_lock(&cur_mu);
		u.cacert = w->url.cacert;
		w->url = u;
		pthread_mutex_unlock(&cur_mu);
	}
	free(s);
	bf_buf_release(&p);
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
do_register(struct worker *w)
{
	json_t *body = json_pack("{s:s, s:O, s:i}", "name", w->name, "tags",
	    w->tags, "slots", 1), *out = NULL;
	int delay = 1, status, rc;

	while (!quit) {
		struct bf_err e = BF_ERR_INIT;

		status = 0;
		rc = w_call(w, &w->conn, "POST", "/v1/workers/register", body,
		    &out, &status, &e);
		if (rc == 0 && status == 200) {
			json_int_t lt = json_integer_value(json_object_get(out,
			    "lease_timeout"));

			hb_interval = lt >= 3 ? (int)lt / 3 : 1;
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
		w_refresh_url(w);
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

static void
run_job(struct worker *w, json_t *job)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf dir = BF_BUF_INIT, logp = BF_BUF_INIT, p = BF_BUF_INIT;
	long long id = json_integer_value(json_object_get(job, "job"));
	const char *lease = json_string_value(json_object_get(job, "lease"));
	const char *cpv = json_string_value(json_object_get(job, "cpv"));
	int logfd, rc, status, abandoned;

	bf_buf_addf(&dir, "%s/jobs/%lld", w->workdir, id);
	rm_rf(dir.buf);
	bf_buf_addf(&p, "%s/jobs", w->workdir);
	mkdir(p.buf, 0755);
	mkdir(dir.buf, 0755);
	bf_buf_addf(&logp, "%s/build.log", dir.buf);
	logfd = open(logp.buf, O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0644);
	dprintf(logfd, "binfarm-worker %s: building %s (job %lld) with the "
	    "%s driver in %s\n", w->name, cpv, id, w->driver, dir.buf);
	pthread_mutex_lock(&cur_mu);
	cur_job = id;
	snprintf(cur_lease, sizeof(cur_lease), "%s", lease ? lease : "");
	cur_abandoned = 0;
	cur_logfd = logfd;
	cur_logsent = 0;
	pthread_mutex_unlock(&cur_mu);
	log_info("job %lld: building %s", id, cpv);

	rc = build_job(w, job, dir.buf, logfd, &e);
	pthread_mutex_lock(&cur_mu);
	abandoned = cur_abandoned;
	pthread_mutex_unlock(&cur_mu);
	if (abandoned)
		goto done;
	if (rc == 0) {
		dprintf(logfd, "binfarm-worker: build finished; packing and "
		    "uploading\n");
		pthread_mutex_lock(&cur_mu);
		send_log(w, &w->conn, id, cur_lease, logfd, &cur_logsent);
		pthread_mutex_unlock(&cur_mu);
		rc = upload_job(w, job, dir.buf, logfd, &e);
	}
	else {
		json_t *body = json_pack("{s:s, s:s, s:s}", "name", w->name,
		    "lease", lease ? lease : "", "error", bf_err_msg(&e, rc));

		dprintf(logfd, "binfarm-worker: build failed: %s\n",
		    bf_err_msg(&e, rc));
		pthread_mutex_lock(&cur_mu);
		send_log(w, &w->conn, id, cur_lease, logfd, &cur_logsent);
		pthread_mutex_unlock(&cur_mu);
		bf_buf_reset(&p);
		bf_buf_addf(&p, "/v1/jobs/%lld/fail", id);
		w_call(w, &w->conn, "POST", p.buf, body, NULL, &status, NULL);
		json_decref(body);
		log_warnx("job %lld (%s) failed: %s", id, cpv,
		    bf_err_msg(&e, rc));
	}
	if (rc == 0)
		log_info("job %lld (%s) uploaded", id, cpv);
	else if (!abandoned)
		log_warnx("job %lld (%s): %s", id, cpv, bf_err_msg(&e, rc));
done:
	pthread_mutex_lock(&cur_mu);
	cur_job = 0;
	cur_logfd = -1;
	pthread_mutex_unlock(&cur_mu);
	close(logfd);
	if (!w->keep && rc == 0)
		rm_rf(dir.buf);
	bf_buf_release(&dir);
	bf_buf_release(&logp);
	bf_buf_release(&p);
}

static int
worker_main(struct worker *w, int max_jobs, int idle_exit)
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
	while (!quit && (max_jobs <= 0 || done < max_jobs)) {
		struct bf_err e = BF_ERR_INIT;
		/* The noop driver installs no dependencies: skip the list. */
		json_t *body = json_pack("{s:s, s:b}", "name", w->name, "deps",
		    strcmp(w->driver, "noop") != 0), *job = NULL;
		int status = 0, rc;

		rc = w_call(w, &w->conn, "POST", "/v1/jobs/lease", body, &job,
		    &status, &e);
		json_decref(body);
		if (rc < 0 || status >= 500) {
			backoff_sleep(&delay, "the builder is away", &e);
			w_refresh_url(w);
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
		if (idle_exit > 0 && time(NULL) - idle_since >= idle_exit) {
			log_info("idle for %d s; exiting", idle_exit);
			break;
		}
		{
			struct timespec ts = { poll_ms / 1000,
			    (poll_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
			if (poll_ms < 2000)
				poll_ms += 200;
		}
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

int
main(int argc, char **argv)
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
	struct worker w;
	struct bf_err e = BF_ERR_INIT;
	struct sigaction sa;
	const char *url = getenv("BINFARM_BUILDER"), *statedir = NULL;
	const char *tags = NULL, *workdir = "binfarm-worker";
	char *cacert = NULL;
	char *token = NULL, *urlbuf = NULL, host[256], rp[PATH_MAX];
	int c, n = 1, max_jobs = 0, idle_exit = 0, i, ret = 2, rc;
	pid_t *kids = NULL;
	size_t li;

	memset(&w, 0, sizeof(w));
	w.driver = "sandbox";
	w.keep_checkouts = 4;
	if (getenv("BINFARM_WORKER_TOKEN") != NULL)
		token = strdup(getenv("BINFARM_WORKER_TOKEN"));
	/* Never into a build driver's environment (the ebuild driver
	 * inherits the worker's). */
	unsetenv("BINFARM_WORKER_TOKEN");
	unsetenv("BINFARM_TOKEN");
	if (getenv("BINFARM_CACERT") != NULL)
		cacert = strdup(getenv("BINFARM_CACERT"));
	while ((c = getopt_long(argc, argv, "s:j:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			statedir = optarg;
			break;
		case 'b':
			url = optarg;
			break;
		case 'T':
			free(token);
			token = strdup(optarg);
			/* Nor in /proc/PID/cmdline, which builds can read. */
			memset(optarg, 'x', strlen(optarg));
			break;
		case 'C':
			free(cacert);
			cacert = strdup(optarg);
			break;
		case 'n':
			w.name = strdup(optarg);
			break;
		case 'g':
			tags = optarg;
			break;
		case 'D':
			w.driver = optarg;
			break;
		case 'w':
			workdir = optarg;
			break;
		case 'p':
			w.profiles = optarg;
			break;
		case 'j':
			n = atoi(optarg);
			break;
		case 'm':
			max_jobs = atoi(optarg);
			break;
		case 'i':
			idle_exit = atoi(optarg);
			break;
		case 'k':
			w.keep = 1;
			break;
		case 'B':
		case 'L':
			if (!root_arg_ok(optarg)) {
				fprintf(stderr, "binfarm-worker: --%s %s: not "
				    "[PROFILE=]DIR with an absolute DIR\n",
				    c == 'B' ? "base-root" : "layer", optarg);
				return 2;
			}
			bf_strv_push(c == 'B' ? &w.base_roots : &w.layers,
			    optarg);
			break;
		case 'F':
			w.distfiles = optarg;
			break;
		case 'K': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0' || v < 0 ||
			    v > 100000) {
				fprintf(stderr, "binfarm-worker: --keep-checkouts "
				    "%s: not a number of checkouts\n", optarg);
				return 2;
			}
			w.keep_checkouts = (int)v;
			break;
		}
		case 'd':
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_init(1, getenv("BINFARM_DEBUG") != NULL, "binfarm-worker");
	log_stamp(1);
	if (optind != argc || n < 1 || n > 256 ||
	    (strcmp(w.driver, "sandbox") && strcmp(w.driver, "ebuild") &&
	    strcmp(w.driver, "noop"))) {
		usage(stderr);
		return 2;
	}
	/* A base root or layer must be a canonical directory (root.h). */
	for (li = 0; li < w.base_roots.n + w.layers.n; li++) {
		int isb = li < w.base_roots.n;
		const char *a = isb ? w.base_roots.v[li] :
		    w.layers.v[li - w.base_roots.n];
		const char *dir = a[0] == '/' ? a : strchr(a, '=') + 1;
		struct bf_err re = BF_ERR_INIT;

		if (root_layer_ok(dir, &re) < 0) {
			fprintf(stderr, "binfarm-worker: --%s %s: %s\n",
			    isb ? "base-root" : "layer", a, re.msg);
			bf_err_clear(&re);
			goto out;
		}
	}
	w.statedir = statedir;
	if (statedir != NULL) {
		/* The builder's generated state: its URL and the token. */
		struct bf_buf p = BF_BUF_INIT, t = BF_BUF_INIT;

		bf_buf_addf(&p, "%s/builder.url", statedir);
		if (url == NULL)
			url = urlbuf = read_trim(p.buf);
		if (w.name == NULL) {
			gethostname(host, sizeof(host));
			host[sizeof(host) - 1] = '\0';
			w.name = strdup(host);
		}
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/builder.conf", statedir);
		if (token == NULL && bf_conf_read_file(p.buf, &t, NULL) == 0) {
			struct tokfind tf = { w.name, NULL };

			bf_conf_parse_ini(p.buf, t.buf, t.len, find_token, &tf,
			    NULL);
			if ((token = tf.token) == NULL) {
				fprintf(stderr, "binfarm-worker: %s has no "
				    "[worker %s] with a token\n", p.buf, w.name);
				bf_buf_release(&p);
				bf_buf_release(&t);
				goto out;
			}
		}
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/tls/ca.pem", statedir);
		if (cacert == NULL && access(p.buf, R_OK) == 0)
			cacert = strdup(p.buf);
		bf_buf_release(&p);
		bf_buf_release(&t);
	}
	if (url == NULL || token == NULL) {
		fprintf(stderr, "binfarm-worker: no builder: give -s STATEDIR, "
		    "or --builder URL and --token (or BINFARM_BUILDER and "
		    "BINFARM_WORKER_TOKEN)\n");
		goto out;
	}
	if (bf_url_parse(&w.url, url, &e) < 0) {
		fprintf(stderr, "binfarm-worker: %s\n", e.msg);
		goto out;
	}
	w.token = token;
	w.url.cacert = cacert;
	if (cacert != NULL && access(cacert, R_OK) < 0) {
		fprintf(stderr, "binfarm-worker: --cacert '%s': %s\n", cacert,
		    strerror(errno));
		goto out;
	}
	if ((rc = bf_http_global_init(&e)) < 0) {
		fprintf(stderr, "binfarm-worker: %s\n", e.msg);
		goto out;
	}
	w.tags = json_array();
	if (tags != NULL) {
		struct bf_strv sv = BF_STRV_INIT;
		char *t = strdup(tags), *q;
		size_t k;

		for (q = t; *q; q++)
			if (*q == ',')
				*q = ' ';
		bf_strv_split(&sv, t);
		for (k = 0; k < sv.n; k++)
			json_array_append_new(w.tags, json_string(sv.v[k]));
		bf_strv_release(&sv);
		free(t);
	}
	if (w.name == NULL) {
		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = '\0';
		w.name = strdup(host);
	}
	mkdir(workdir, 0755);
	if (realpath(workdir, rp) == NULL) {
		fprintf(stderr, "binfarm-worker: %s: %s\n", workdir,
		    strerror(errno));
		goto out;
	}
	w.workdir = strdup(rp);
	w.ebuild_driver = access(BF_EBUILD_INST, R_OK) == 0 ?
	    BF_EBUILD_INST : BF_EBUILD_SRC;
	if ((w.sandbox = getenv("BINFARM_SANDBOX")) == NULL)
		w.sandbox = access(BF_SANDBOX_INST, R_OK) == 0 ?
		    BF_SANDBOX_INST : BF_SANDBOX_SRC;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (n == 1) {
		ret = worker_main(&w, max_jobs, idle_exit);
		goto out;
	}
	/* N local workers: one process each, NAME-1 ... NAME-N. */
	kids = calloc((size_t)n, sizeof(*kids));
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == 0) {
			struct bf_buf nm = BF_BUF_INIT, wd = BF_BUF_INIT;

			bf_buf_addf(&nm, "%s-%d", w.name, i + 1);
			bf_buf_addf(&wd, "%s/%d", w.workdir, i + 1);
			mkdir(wd.buf, 0755);
			free(w.name);
			free(w.workdir);
			w.name = bf_buf_detach(&nm, NULL);
			w.workdir = bf_buf_detach(&wd, NULL);
			_exit(worker_main(&w, max_jobs, idle_exit));
		}
	}
	ret = 0;
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
out:
	free(kids);
	if (token != NULL)
		explicit_bzero(token, strlen(token));
	free(token);
	free(cacert);
	free(urlbuf);
	free(w.name);
	free(w.workdir);
	json_decref(w.tags);
	bf_strv_release(&w.base_roots);
	bf_strv_release(&w.layers);
	return ret;
}
