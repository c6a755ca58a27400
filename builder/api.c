/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The builder's HTTP API (libmicrohttpd, JSON bodies, TLS when
 * tls-cert and tls-key are set).  Every call but /healthz carries
 * "Authorization: Bearer TOKEN": a worker's own token ([worker NAME])
 * for the calls workers make, which then act as that worker whatever
 * name the request claims; the engineer token for the calls people
 * make.  Neither opens the other's calls.  GET /metrics takes the
 * engineer token or the metrics-token, which opens nothing else.  The
 * release console's pages under /console/ (console.c) authenticate by
 * their own session cookie instead.  See binfarm-builder(8).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "builder.h"
#include "console.h"
#include "net/httpcheck.h"
#include "base/banned.h"

#define MAX_JSON_BODY	(1 << 20)
#define MAX_LOG_CHUNK	(16 << 20)
#define TOO_BIG_SLACK	(8ULL << 20)	/* read past a limit, for a 413 */

/* AUTH_CONSOLE: a /console/ page, which console.c authenticates. */
enum auth {
	AUTH_NONE, AUTH_WORKER, AUTH_ENGINEER, AUTH_METRICS, AUTH_CONSOLE
};

/*
 * Every open connection, for the request-head deadline: a connection
 * that has not sent a whole request head `request-timeout` seconds after
 * it opened (or after its previous request) is shut down by the
 * watchdog thread, however slowly it trickles bytes; MHD's own timeout
 * only closes connections that send nothing at all.
 */
struct hconn {
	struct hconn	*prev, *next;
	int		 fd;
	long long	 deadline;	/* ms; 0 while a request is handled */
};

struct api_state {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct hconn	 list;		/* circular, list.next: oldest */
	pthread_t	 watchdog;
	int		 running;
	int		 stop;
	char		*cert_pem;
	char		*key_pem;
	unsigned long long closed;	/* by the deadline */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
set_deadline(struct builder *b, struct MHD_Connection *c, int on)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct hconn *h = ci != NULL ? ci->socket_context : NULL;

	if (h == NULL)
		return;
	pthread_mutex_lock(&b->api->mu);
	h->deadline = on ? now_ms() + 1000LL * b->cfg.request_timeout : 0;
	pthread_mutex_unlock(&b->api->mu);
}

static void
notify_conn_cb(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct builder *b = cls;
	struct api_state *a = b->api;
	struct hconn *h = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((h = calloc(1, sizeof(*h))) == NULL)
			return;
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		h->fd = ci != NULL ? ci->connect_fd : -1;
		pthread_mutex_lock(&a->mu);
		h->deadline = now_ms() + 1000LL * b->cfg.request_timeout;
		h->prev = a->list.prev;
		h->next = &a->list;
		a->list.prev->next = h;
		a->list.prev = h;
		pthread_mutex_unlock(&a->mu);
		*socket_context = h;
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED comes before MHD closes the fd. */
	if (h == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pthread_mutex_unlock(&a->mu);
	free(h);
	*socket_context = NULL;
}

static void *
watchdog_main(void *arg)
{
	struct builder *b = arg;
	struct api_state *a = b->api;
	struct timespec ts;
	struct hconn *h;
	long long now;
	unsigned n;

	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		now = now_ms();
		n = 0;
		for (h = a->list.next; h != &a->list; h = h->next)
			if (h->deadline != 0 && now > h->deadline &&
			    h->fd >= 0) {
				/* Wakes the connection's thread: it closes. */
				shutdown(h->fd, SHUT_RDWR);
				h->deadline = 0;
				n++;
			}
		if (n > 0) {
			a->closed += n;
			log_warnx("closed %u connection%s that sent no complete "
			    "request head within %d s (request-timeout)", n,
			    n == 1 ? "" : "s", b->cfg.request_timeout);
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

struct req {
	enum auth	 who;
	unsigned long long received;	/* request body bytes */
	const struct bcfg_worker *worker;	/* AUTH_WORKER: whose token */
	struct bf_buf	 body;
	struct ingest	*ingest;
	int		 too_big;
	int		 status;	/* an error found while receiving */
	unsigned	 retry;		/* 429: the penalty's seconds left */
	struct bf_err	 err;
};

/*
 * Who presents the request's bearer token; *w: the worker's section.
 * An Authorization header that proves nothing counts against the
 * client's address (auth_penalty_fail()).
 */
static enum auth
authenticate(struct builder *b, struct MHD_Connection *c,
    const struct bcfg_worker **w)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	int eng, met;

	*w = NULL;
	if (h == NULL)
		return AUTH_NONE;
	if (strncmp(h, "Bearer ", 7) != 0) {
		auth_penalty_fail(b, c, "wrong tokens");
		return AUTH_NONE;
	}
	h += 7;
	/* Every comparison always runs, each in constant time. */
	*w = bcfg_worker_by_token(&b->cfg, h);
	eng = bcfg_token_eq(h, b->cfg.engineer_token);
	met = b->cfg.metrics_token != NULL &&
	    bcfg_token_eq(h, b->cfg.metrics_token);
	if (*w != NULL)
		return AUTH_WORKER;
	if (!eng && !met)
		auth_penalty_fail(b, c, "wrong tokens");
	return eng ? AUTH_ENGINEER : met ? AUTH_METRICS : AUTH_NONE;
}

/* `s` for a log line: itself if printable ASCII, else a placeholder. */
static const char *
printable(const char *s)
{
	const char *p;

	if (s == NULL)
		return "(none)";
	for (p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return "(unprintable)";
	return p - s > 64 ? "(too long)" : s;
}

/*
 * The name a worker's request acts under: its token's worker (or the
 * NAME-N it claims, for binfarm-worker -j), or NULL after logging a
 * claim its token does not allow.
 */
static const char *
worker_name(struct builder *b, const struct bcfg_worker *w,
    const char *claimed, const char *what)
{
	if (claimed == NULL || *claimed == '\0')
		return w->name;
	if (workers_name_ok(&b->cfg, w, claimed))
		return claimed;
	log_warnx("refused %s: the token of worker %s claims to be '%s'",
	    what, w->name, printable(claimed));
	return NULL;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n;

	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	n = strlen(s);
	r = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result
send_err(struct MHD_Connection *c, const struct bf_err *e, int rc)
{
	unsigned st = 500;

	switch (-rc) {
	case BF_ENOTFOUND:
		st = 404;
		break;
	case BF_ECONFLICT:
		st = 409;
		break;
	case BF_EUSAGE:
	case BF_ECONFIG:
		st = 400;
		break;
	case BF_EGIT:
		st = 422;
		break;
	default:
		break;
	}
	return send_error(c, st, bf_err_msg(e, rc));
}

/* "/v1/jobs/123/log" -> 123 and "log"; -1 if not that shape. */
static long long
job_path(const char *url, const char **rest)
{
	char *end;
	long long id;

	if (strncmp(url, "/v1/jobs/", 9) != 0)
		return -1;
	id = strtoll(url + 9, &end, 10);
	if (end == url + 9 || id <= 0)
		return -1;
	if (*end == '\0') {
		*rest = "";
		return id;
	}
	if (*end != '/')
		return -1;
	*rest = end + 1;
	return id;
}

/*
 * A lease as the worker reads it: the job's plan entry with the
 * rebuild's env and trees, the attempt, the lease and its timeout, and
 * (when asked) the packages it is built after.
 */
static json_t *
lease_json(const struct lease *l, int timeout, int with_deps)
{
	json_t *j = json_loads(l->spec, 0, NULL), *deps;
	size_t i;

	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	json_object_set_new(j, "env", json_loads(l->env, 0, NULL));
	json_object_set_new(j, "trees", json_loads(l->trees, 0, NULL));
	json_object_set_new(j, "attempt", json_integer(l->attempt));
	json_object_set_new(j, "rebuild", json_integer(l->rebuild));
	json_object_set_new(j, "profile", json_string(l->profile));
	if (with_deps) {
		deps = json_array();
		for (i = 0; i < l->ndeps; i++)
			json_array_append_new(deps, json_pack("{s:I, s:s}",
			    "job", (json_int_t)l->deps[i].job, "cpv",
			    l->deps[i].cpv));
		json_object_set_new(j, "deps", deps);
	}
	json_object_set_new(j, "job", json_integer(l->job));
	json_object_set_new(j, "build_id", json_integer(l->job));
	json_object_set_new(j, "lease", json_string(l->token));
	json_object_set_new(j, "lease_timeout", json_integer(timeout));
	return j;
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
log_path(struct builder *b, long long job, struct bf_buf *p)
{
	bf_buf_addf(p, "%s/logs/%lld.log", b->cfg.state, job);
}

int
api_send_log(struct builder *b, struct MHD_Connection *c, long long job)
{
	const char *off = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "offset");
	struct bf_buf p = BF_BUF_INIT;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat st;
	long long o = off ? strtoll(off, NULL, 10) : 0;
	json_t *j;
	char num[32];
	int fd;

	pthread_mutex_lock(&b->mu);
	j = api_job_json(b, job);
	pthread_mutex_unlock(&b->mu);
	if (j == NULL)
		return send_error(c, 404, "no such job");
	log_path(b, job, &p);
	fd = open(p.buf, O_RDONLY | O_CLOEXEC);
	bf_buf_release(&p);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		st.st_size = 0;
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	} else {
		if (o < 0 || o > (long long)st.st_size)
			o = st.st_size;
		r = MHD_create_response_from_fd_at_offset64(
		    (uint64_t)(st.st_size - o), fd, (uint64_t)o);
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	snprintf(num, sizeof(num), "%lld", (long long)st.st_size);
	MHD_add_response_header(r, "X-Binfarm-Log-Size", num);
	MHD_add_response_header(r, "X-Binfarm-Job-State",
	    jstr(j, "state"));
	MHD_add_response_header(r, "X-Binfarm-Cpv", jstr(j, "cpv"));
	json_decref(j);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
get_package(struct builder *b, struct MHD_Connection *c, long long job)
{
	struct bf_buf p = BF_BUF_INIT;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat st;
	json_t *j;
	int fd;

	pthread_mutex_lock(&b->mu);
	j = api_job_json(b, job);
	pthread_mutex_unlock(&b->mu);
	if (j == NULL || jstr(j, "path") == NULL ||
	    job_state_parse(jstr(j, "state")) != JOB_DONE) {
		json_decref(j);
		return send_error(c, 404, "job has no built package");
	}
	bf_buf_addf(&p, "%s/pkgdir/%s/%s", b->cfg.state, jstr(j, "profile"),
	    jstr(j, "path"));
	json_decref(j);
	fd = open(p.buf, O_RDONLY | O_CLOEXEC);
	bf_buf_release(&p);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return send_error(c, 500, "package file missing");
	}
	r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/x-tar");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
append_log(struct builder *b, struct MHD_Connection *c, long long job,
    const char *w, const struct bf_buf *body)
{
	const char *l = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Binfarm-Lease");
	struct bf_buf p = BF_BUF_INIT;
	int ok, fd;

	pthread_mutex_lock(&b->mu);
	ok = sched_job_leased(b, job, w ? w : "", l ? l : "") > 0;
	pthread_mutex_unlock(&b->mu);
	if (!ok)
		return send_error(c, 409, "job is not leased to this worker");
	log_path(b, job, &p);
	fd = open(p.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	bf_buf_release(&p);
	if (fd < 0 || write(fd, body->buf, body->len) != (ssize_t)body->len) {
		if (fd >= 0)
			close(fd);
		return send_error(c, 500, "cannot write the log");
	}
	close(fd);
	return send_json(c, 200, json_pack("{s:b}", "ok", 1));
}

/* One request: its method, URL, JSON body and the builder. */
struct call {
	struct builder	*b;
	struct MHD_Connection *c;
	const char	*url;
	struct req	*rq;
	json_t		*in;
	int		 get, post;
	const char	*method;
	const char	*name;	/* a worker's call: the name it acts as */
	long long	 job;	/* /v1/jobs/N[/rest]: N, else -1 */
	const char	*rest;
};

/* 403: worker `name` asks for a tag its section does not allow. */
static enum MHD_Result
refuse_tags(struct call *k, const char *name, const char *bad)
{
	struct bf_buf m = BF_BUF_INIT;
	enum MHD_Result ret;

	log_warnx("refused to register worker %s: it is not configured for "
	    "'%s'", name, printable(bad));
	bf_buf_addf(&m, "worker %s is not configured for '%s': builder.conf's "
	    "[worker %s] sets the profiles and tags it may build", name, bad,
	    k->rq->worker->name);
	ret = send_error(k->c, 403, m.buf);
	bf_buf_release(&m);
	return ret;
}

/* POST /v1/workers/register: the tags builder.conf allows it. */
static enum MHD_Result
api_register(struct call *k, const char *name)
{
	struct bf_strv declared = BF_STRV_INIT, allowed = BF_STRV_INIT;
	json_t *tags = json_object_get(k->in, "tags");
	json_int_t slots = json_integer_value(json_object_get(k->in, "slots"));
	const char *bad = NULL;
	enum MHD_Result ret;
	int rc, not_string;

	if (tags != NULL && !json_is_array(tags))
		return send_error(k->c, 400, "register's tags must be a list");
	if ((rc = api_farm_tags(k->in, &declared, &not_string)) == 0 &&
	    (rc = workers_allowed(k->rq->worker, &declared, &allowed,
	    &bad)) == 0 && not_string) {
		/* The strings before it were allowed. */
		rc = -1;
		bad = "(not a string)";
	}
	if (rc == -1)
		ret = refuse_tags(k, name, bad);
	else if (rc < 0)
		ret = send_error(k->c, 500, "out of memory");
	else {
		pthread_mutex_lock(&k->b->mu);
		rc = workers_register(k->b, name, &allowed,
		    slots > 0 && slots < 1024 ? (int)slots : 1);
		pthread_mutex_unlock(&k->b->mu);
		log_info("worker %s registered", name);
		ret = send_json(k->c, rc == 0 ? 200 : 500,
		    api_farm_registered(name, k->b->cfg.lease_timeout,
		    &allowed));
	}
	bf_strv_release(&declared);
	bf_strv_release(&allowed);
	return ret;
}

/* POST /v1/workers/heartbeat: the leases it holds; those to abandon. */
static enum MHD_Result
api_heartbeat(struct call *k, const char *name)
{
	struct hb_job *jobs = NULL;
	long long *abandon = NULL;
	size_t njobs = 0, nabandon = 0;
	json_t *out = NULL;

	if (api_farm_heartbeat_jobs(k->in, &jobs, &njobs) == 0) {
		pthread_mutex_lock(&k->b->mu);
		if (workers_heartbeat(k->b, name, jobs, njobs, &abandon,
		    &nabandon) == 0)
			out = api_farm_heartbeat_reply(abandon, nabandon,
			    k->b->cfg.lease_timeout);
		pthread_mutex_unlock(&k->b->mu);
	}
	free(jobs);
	free(abandon);
	return out != NULL ? send_json(k->c, 200, out) : send_error(k->c,
	    500, "out of memory");
}

/*
 * POST /v1/jobs/lease: the next job, or 204.  Tags registered before
 * builder.conf changed (or by an older builder, which took them from
 * the worker) must still be allowed.  "deps": false comes from drivers
 * that install none.
 */
static enum MHD_Result
api_lease(struct call *k, const char *name)
{
	struct builder *b = k->b;
	json_t *wd = json_object_get(k->in, "deps"), *out = NULL;
	struct bf_strv reg = BF_STRV_INIT, ok = BF_STRV_INIT;
	struct bf_buf m = BF_BUF_INIT;
	struct MHD_Response *r;
	const char *bad = NULL;
	struct bf_strv may = BF_STRV_INIT;
	struct lease l;
	enum MHD_Result ret;

	pthread_mutex_lock(&b->mu);
	if (workers_get_tags(b, name, &reg) > 0 &&
	    workers_allowed(k->rq->worker, &reg, &ok, &bad) == -1) {
		pthread_mutex_unlock(&b->mu);
		bf_buf_addf(&m, "worker %s is registered for '%s', which its "
		    "[worker %s] section does not allow; register again", name,
		    bad ? bad : "?", k->rq->worker->name);
		bf_strv_release(&reg);
		bf_strv_release(&ok);
		ret = send_error(k->c, 403, m.buf);
		bf_buf_release(&m);
		return ret;
	}
	if (workers_profiles(b, &reg, &may) == 0 &&
	    sched_lease(b, name, &may, !json_is_false(wd), &l) > 0) {
		out = lease_json(&l, b->cfg.lease_timeout, !json_is_false(wd));
		lease_release(&l);
	}
	bf_strv_release(&reg);
	bf_strv_release(&ok);
	pthread_mutex_unlock(&b->mu);
	bf_strv_release(&may);
	if (out != NULL)
		return send_json(k->c, 200, out);
	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(k->c, 204, r);
	MHD_destroy_response(r);
	return ret;
}

/* POST /v1/jobs/N/fail from the worker holding the lease. */
static enum MHD_Result
api_fail(struct call *k, const char *name, long long job)
{
	const char *why = jstr(k->in, "error");
	struct bf_buf w = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&w, "build failed on %s: %s", name, why ? why :
	    "no reason given");
	pthread_mutex_lock(&k->b->mu);
	rc = sched_fail(k->b, job, name, jstr(k->in, "lease"), w.buf, 1);
	pthread_mutex_unlock(&k->b->mu);
	bf_buf_release(&w);
	return rc == 0 ? send_json(k->c, 200, json_pack("{s:b}", "ok", 1)) :
	    send_error(k->c, 409, "job is not leased to this worker");
}

/* /v1/jobs/N[/...] for engineers. */
static enum MHD_Result
api_job(struct call *k, long long job, const char *rest)
{
	struct bf_err e = BF_ERR_INIT;
	json_t *out = NULL;
	int rc;

	if (k->get && *rest == '\0') {
		pthread_mutex_lock(&k->b->mu);
		out = api_job_json(k->b, job);
		pthread_mutex_unlock(&k->b->mu);
		return out ? send_json(k->c, 200, out) : send_error(k->c, 404,
		    "no such job");
	}
	if (k->get && strcmp(rest, "log") == 0)
		return (enum MHD_Result)api_send_log(k->b, k->c, job);
	if (k->get && strcmp(rest, "package") == 0)
		return get_package(k->b, k->c, job);
	if (!k->post || (strcmp(rest, "retry") != 0 &&
	    strcmp(rest, "cancel") != 0))
		return send_error(k->c, 404, "no such endpoint");
	pthread_mutex_lock(&k->b->mu);
	rc = rest[0] == 'r' ? sched_retry(k->b, job, &e) :
	    sched_cancel(k->b, job, &e);
	out = rc == 0 ? api_job_json(k->b, job) : NULL;
	pthread_mutex_unlock(&k->b->mu);
	return rc < 0 ? send_err(k->c, &e, rc) : send_json(k->c, 200, out);
}

/* GET /v1/jobs?cpv=CAT/PF[&profile=P] */
static enum MHD_Result
api_lookup(struct call *k)
{
	const char *cpv = MHD_lookup_connection_value(k->c,
	    MHD_GET_ARGUMENT_KIND, "cpv");
	const char *p = MHD_lookup_connection_value(k->c,
	    MHD_GET_ARGUMENT_KIND, "profile");
	json_t *out;
	long long job;

	if (cpv == NULL)
		return send_error(k->c, 400, "give ?cpv=CAT/PF");
	pthread_mutex_lock(&k->b->mu);
	job = sched_lookup(k->b, cpv, p);
	out = job > 0 ? api_job_json(k->b, job) : NULL;
	pthread_mutex_unlock(&k->b->mu);
	return out ? send_json(k->c, 200, out) : send_error(k->c, 404,
	    "no job builds that package");
}

/* GET /v1/rebuild?id=N: a rebuild, its state and its jobs' counts. */
static enum MHD_Result
api_rebuild_get(struct call *k)
{
	const char *s = MHD_lookup_connection_value(k->c,
	    MHD_GET_ARGUMENT_KIND, "id");
	char *end;
	long long id;
	json_t *out;

	if (s == NULL || *s < '1' || *s > '9' ||
	    (id = strtoll(s, &end, 10)) <= 0 || *end != '\0')
		return send_error(k->c, 400, "give ?id=N, a rebuild's number");
	pthread_mutex_lock(&k->b->mu);
	out = api_rebuild_get_json(k->b, id);
	pthread_mutex_unlock(&k->b->mu);
	return out ? send_json(k->c, 200, out) : send_error(k->c, 404,
	    "no such rebuild");
}

/* POST /v1/rebuild and /v1/rebuild/cancel. */
static enum MHD_Result
api_rebuild(struct call *k, int cancel)
{
	const char *p = jstr(k->in, "profile"), *by = jstr(k->in, "by");
	struct bf_err e = BF_ERR_INIT;
	struct rebuild_started rs = { 0, 0, 0, NULL };
	json_t *out;
	int rc;

	if (!cancel && p == NULL)
		return send_error(k->c, 400, "rebuild needs a profile");
	pthread_mutex_lock(&k->b->mu);
	if (cancel)
		rc = sched_cancel_rebuild(k->b, p ? p : "", &e);
	else
		rc = sched_rebuild(k->b, p, jstr(k->in, "commit"), by ? by :
		    "engineer", &rs, &e);
	pthread_mutex_unlock(&k->b->mu);
	if (rc < 0)
		return send_err(k->c, &e, rc);
	out = cancel ? json_pack("{s:i}", "cancelled", rc) :
	    api_rebuild_json(p, &rs);
	rebuild_started_release(&rs);
	return send_json(k->c, 200, out);
}

/*
 * The routes, as OpenBSD httpd's tables: a method (NULL: any), and
 * either a path or (path NULL) a /v1/jobs/N call with `rest` after N
 * (NULL: any); one handler each.
 */
struct route {
	const char	*method;
	const char	*path;
	const char	*rest;
	enum MHD_Result	(*fn)(struct call *);
};

static enum MHD_Result
route_register(struct call *k)
{
	return api_register(k, k->name);
}

static enum MHD_Result
route_heartbeat(struct call *k)
{
	return api_heartbeat(k, k->name);
}

static enum MHD_Result
route_lease(struct call *k)
{
	return api_lease(k, k->name);
}

static enum MHD_Result
route_log_append(struct call *k)
{
	return append_log(k->b, k->c, k->job, k->name, &k->rq->body);
}

static enum MHD_Result
route_fail(struct call *k)
{
	return api_fail(k, k->name, k->job);
}

static enum MHD_Result
route_package(struct call *k)
{
	return get_package(k->b, k->c, k->job);
}

static enum MHD_Result
route_status(struct call *k)
{
	json_t *out;

	pthread_mutex_lock(&k->b->mu);
	out = api_status_json(k->b);
	pthread_mutex_unlock(&k->b->mu);
	return send_json(k->c, 200, out);
}

/* GET /metrics: Prometheus' text format (metrics.c). */
static enum MHD_Result
route_metrics(struct call *k)
{
	struct bf_buf out = BF_BUF_INIT;
	struct MHD_Response *r;
	struct metrics m;
	enum MHD_Result ret;
	size_t n;
	char *s;
	int rc;

	pthread_mutex_lock(&k->b->mu);
	rc = metrics_collect(k->b, &m);
	pthread_mutex_unlock(&k->b->mu);
	if (rc < 0)
		return send_error(k->c, 500, "cannot read the metrics from "
		    "the database");
	metrics_render(&m, &out);
	metrics_release(&m);
	if ((s = bf_buf_detach(&out, &n)) == NULL)
		return send_error(k->c, 500, "out of memory");
	r = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(k->c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
route_rebuild(struct call *k)
{
	return api_rebuild(k, 0);
}

static enum MHD_Result
route_rebuild_cancel(struct call *k)
{
	return api_rebuild(k, 1);
}

static enum MHD_Result
route_job(struct call *k)
{
	return api_job(k, k->job, k->rest);
}

/* The calls a worker's token may make, as the worker k->name. */
static const struct route worker_routes[] = {
	{ "POST", "/v1/workers/register", NULL, route_register },
	{ "POST", "/v1/workers/heartbeat", NULL, route_heartbeat },
	{ "POST", "/v1/jobs/lease", NULL, route_lease },
	{ "POST", NULL, "log", route_log_append },
	{ "POST", NULL, "fail", route_fail },
	{ "GET", NULL, "package", route_package },
};

/* The calls the engineer token may make. */
static const struct route engineer_routes[] = {
	{ "GET", "/v1/status", NULL, route_status },
	{ "GET", "/metrics", NULL, route_metrics },
	{ "POST", "/v1/rebuild", NULL, route_rebuild },
	{ "GET", "/v1/rebuild", NULL, api_rebuild_get },
	{ "POST", "/v1/rebuild/cancel", NULL, route_rebuild_cancel },
	{ "GET", "/v1/jobs", NULL, api_lookup },
	{ NULL, NULL, NULL, route_job },	/* GET, log, package, retry... */
};

/* The one call the metrics-token may make. */
static const struct route metrics_routes[] = {
	{ "GET", "/metrics", NULL, route_metrics },
};

static const struct route *
route_find(const struct route *t, size_t n, const struct call *k)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].method != NULL && strcmp(t[i].method, k->method) != 0)
			continue;
		if (t[i].path != NULL ? strcmp(t[i].path, k->url) == 0 :
		    k->job > 0 && (t[i].rest == NULL ||
		    strcmp(t[i].rest, k->rest) == 0))
			return &t[i];
	}
	return NULL;
}

/* A worker's call: the builder's name for it, not the one it claims. */
static enum MHD_Result
worker_call(struct call *k)
{
	const struct route *r;
	struct bf_buf m = BF_BUF_INIT;
	enum MHD_Result ret;

	k->name = worker_name(k->b, k->rq->worker, k->job > 0 &&
	    strcmp(k->rest, "log") == 0 ? MHD_lookup_connection_value(k->c,
	    MHD_HEADER_KIND, "X-Binfarm-Worker") : jstr(k->in, "name"),
	    k->url);
	if (k->name == NULL) {
		bf_buf_addf(&m, "this token is worker %s's: it cannot act as "
		    "another worker", k->rq->worker->name);
		ret = send_error(k->c, 403, m.buf);
		bf_buf_release(&m);
		return ret;
	}
	if ((r = route_find(worker_routes, sizeof(worker_routes) /
	    sizeof(worker_routes[0]), k)) != NULL)
		return r->fn(k);
	return send_error(k->c, strncmp(k->url, "/v1/", 4) == 0 ? 403 : 404,
	    "not a worker call");
}

/* The metrics-token's call; it opens nothing else. */
static enum MHD_Result
metrics_call(struct call *k)
{
	const struct route *r;

	if ((r = route_find(metrics_routes, sizeof(metrics_routes) /
	    sizeof(metrics_routes[0]), k)) != NULL)
		return r->fn(k);
	log_warnx("refused %s %s: the metrics-token only reads /metrics",
	    k->method, printable(k->url));
	return send_error(k->c, 403, "the metrics-token only reads /metrics");
}

static enum MHD_Result
engineer_call(struct call *k)
{
	const struct route *r;
	int workerish;

	if ((r = route_find(engineer_routes, sizeof(engineer_routes) /
	    sizeof(engineer_routes[0]), k)) != NULL)
		return r->fn(k);
	workerish = strncmp(k->url, "/v1/workers", 11) == 0 ||
	    strcmp(k->url, "/v1/jobs/lease") == 0;
	return send_error(k->c, workerish ? 403 : 404, workerish ?
	    "not an engineer call" : "no such endpoint");
}

/* A whole request, its body received: routed by who asks. */
static enum MHD_Result
handle(struct builder *b, struct MHD_Connection *c, const char *method,
    const char *url, struct req *rq)
{
	struct call k;
	enum MHD_Result ret;

	memset(&k, 0, sizeof(k));
	k.b = b;
	k.c = c;
	k.url = url;
	k.rq = rq;
	k.method = method;
	k.post = strcmp(method, "POST") == 0;
	k.get = strcmp(method, "GET") == 0;
	k.rest = "";
	k.job = job_path(url, &k.rest);
	if (rq->who == AUTH_CONSOLE)
		return (enum MHD_Result)console_handle(b, c, method, url,
		    rq->body.buf, rq->body.len);
	/* A log upload is text; every other body is JSON. */
	if (k.post && rq->body.len > 0 && !(k.job > 0 &&
	    strcmp(k.rest, "log") == 0) && (k.in = json_loadb(rq->body.buf,
	    rq->body.len, 0, NULL)) == NULL)
		return send_error(c, 400, "the request body is not JSON");
	if (k.in == NULL)
		k.in = json_object();
	if (rq->who == AUTH_WORKER)
		ret = worker_call(&k);
	else if (rq->who == AUTH_METRICS)
		ret = metrics_call(&k);
	else
		ret = engineer_call(&k);
	json_decref(k.in);
	return ret;
}

static enum MHD_Result
send_too_big(struct builder *b, struct MHD_Connection *c, int upload)
{
	struct bf_buf m = BF_BUF_INIT;
	enum MHD_Result ret;

	if (upload)
		bf_buf_addf(&m, "upload larger than max-upload-size (%lld "
		    "bytes)", b->cfg.max_upload_size);
	else
		bf_buf_addf(&m, "request body larger than %d bytes",
		    MAX_LOG_CHUNK);
	ret = send_error(c, 413, m.buf);
	bf_buf_release(&m);
	return ret;
}

/* Who asks, for a log line. */
static const char *
who_name(const struct req *rq)
{
	return rq->who == AUTH_WORKER ? rq->worker->name :
	    rq->who == AUTH_ENGINEER ? "an engineer" :
	    rq->who == AUTH_METRICS ? "the metrics-token" :
	    rq->who == AUTH_CONSOLE ? "a console client" :
	    "an unauthenticated client";
}

/* No token or a wrong one: logged; answered 401 once the body is read. */
static enum MHD_Result
refuse_unauthenticated(struct MHD_Connection *c, const char *method,
    const char *url, struct req *rq)
{
	char ip[64];

	log_warnx("refused %s %s from %s: %s", method, url,
	    auth_client_str(c, ip, sizeof(ip)),
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION) ? "wrong token" : "no token");
	rq->status = 401;
	return MHD_YES;
}

/* PUT /v1/jobs/N/package: a worker's upload starts streaming (ingest.c). */
static enum MHD_Result
upload_begin(struct builder *b, struct MHD_Connection *c, const char *url,
    struct req *rq)
{
	const char *rest, *name;
	long long job;
	int status;

	if (rq->who != AUTH_WORKER || (job = job_path(url, &rest)) <= 0 ||
	    strcmp(rest, "package") != 0) {
		rq->status = rq->who != AUTH_WORKER ? 403 : 404;
		return MHD_YES;
	}
	if ((name = worker_name(b, rq->worker, MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "X-Binfarm-Worker"), "an upload")) == NULL) {
		rq->status = 403;
		bf_err_set(&rq->err, EPERM, "this token is worker %s's: it "
		    "cannot act as another worker", rq->worker->name);
		return MHD_YES;
	}
	pthread_mutex_lock(&b->mu);
	if (ingest_start(b, &rq->ingest, job, name,
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Binfarm-Lease"),
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Binfarm-Checksum"), &status, &rq->err) < 0) {
		rq->status = status;
		log_warnx("upload refused: %s", bf_err_msg(&rq->err, -EIO));
		job_log(b, job, "upload refused: %s", bf_err_msg(&rq->err,
		    -EIO));
	}
	pthread_mutex_unlock(&b->mu);
	return MHD_YES;
}

/*
 * A request's head is in: its framing checked, who asks, a body too
 * large refused before a byte of it, an upload started.
 */
static enum MHD_Result
request_begin(struct builder *b, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, void **con_cls)
{
	const char *why, *cl;
	struct req *rq;
	int bad, put = strcmp(method, "PUT") == 0;

	/* Ambiguous framing (request smuggling): 400 and close. */
	if ((bad = bf_httpcheck(c, version, &why)) != 0)
		return (enum MHD_Result)bf_httpcheck_refuse(c, bad, why);
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return MHD_NO;
	bf_buf_init(&rq->body);
	*con_cls = rq;
	set_deadline(b, c, 0);	/* the head is in */
	if (strcmp(url, "/healthz") == 0)
		return MHD_YES;
	/* The console's pages: its session cookie, not a bearer token. */
	if (strcmp(url, "/console") == 0 || strncmp(url, "/console/", 9) == 0)
		rq->who = AUTH_CONSOLE;
	else if ((rq->retry = auth_penalty_left(b, c)) > 0) {
		/* Nothing it presents is looked at: answered once read. */
		rq->status = 429;
		return MHD_YES;
	} else
		rq->who = authenticate(b, c, &rq->worker);
	if ((cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH)) != NULL &&
	    strtoull(cl, NULL, 10) > (unsigned long long)
	    (put ? b->cfg.max_upload_size : MAX_LOG_CHUNK)) {
		/* Before a byte of the body, whoever asks. */
		log_warnx("refused %s %s from %s: Content-Length %s is over "
		    "the limit", method, printable(url), who_name(rq),
		    printable(cl));
		return send_too_big(b, c, put);
	}
	/* A worker's token does not read /metrics: as a wrong one. */
	if (rq->who == AUTH_WORKER && strcmp(url, "/metrics") == 0)
		rq->who = AUTH_NONE;
	if (rq->who == AUTH_NONE)
		return refuse_unauthenticated(c, method, url, rq);
	if (put)
		return upload_begin(b, c, url, rq);
	return MHD_YES;
}

/* A piece of the body: into the upload, or the buffer; none past a limit. */
static enum MHD_Result
request_body(struct builder *b, struct req *rq, const char *method,
    const char *url, const char *data, size_t *size)
{
	unsigned long long limit;

	rq->received += *size;
	limit = (unsigned long long)(strcmp(method, "PUT") == 0 ?
	    b->cfg.max_upload_size : MAX_LOG_CHUNK);
	if (rq->received > limit && rq->status != 413) {
		/*
		 * A chunked body past the limit (or one longer than its
		 * Content-Length said): nothing more is written, and what
		 * was is removed (ingest_free() unlinks it).  libmicrohttpd
		 * cannot answer before the body has been read: the rest is
		 * read and dropped, and the answer is 413; a body going on
		 * for more than TOO_BIG_SLACK past the limit loses its
		 * connection.
		 */
		log_warnx("refused %s %s from %s: body over %llu bytes",
		    method, printable(url), who_name(rq), limit);
		ingest_free(rq->ingest);
		rq->ingest = NULL;
		rq->status = 413;
	}
	if (rq->status == 413) {
		*size = 0;
		return rq->received > limit + TOO_BIG_SLACK ? MHD_NO : MHD_YES;
	}
	if (rq->status == 0 && rq->ingest != NULL) {
		if (ingest_data(rq->ingest, data, *size, &rq->err) < 0)
			rq->status = 500;
	} else if (rq->status == 0)
		bf_buf_add(&rq->body, data, *size);
	*size = 0;
	return MHD_YES;
}

static enum MHD_Result
send_unauthorized(struct MHD_Connection *c)
{
	static const char body[] = "{\"error\":\"missing or wrong bearer "
	    "token\"}";
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	    "Bearer realm=\"binfarm-builder\"");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(c, 401, r);
	MHD_destroy_response(r);
	return ret;
}

/* 429: the client's address is refused for `left` more seconds. */
static enum MHD_Result
send_penalised(struct MHD_Connection *c, unsigned left)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char body[256], ra[16];
	int n;

	n = snprintf(body, sizeof(body), "{\"error\":\"too many wrong "
	    "credentials from this address: every request from it is "
	    "refused for %u more s (auth-failures)\"}", left);
	snprintf(ra, sizeof(ra), "%u", left);
	r = MHD_create_response_from_buffer((size_t)n, body,
	    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(c, 429, r);
	MHD_destroy_response(r);
	return ret;
}

/* The whole request is in: the answer. */
static enum MHD_Result
request_end(struct builder *b, struct MHD_Connection *c, const char *url,
    const char *method, struct req *rq)
{
	int status;

	if (strcmp(url, "/healthz") == 0)
		return send_json(c, 200, json_pack("{s:s}", "status", "ok"));
	if (rq->status == 401)
		return send_unauthorized(c);
	if (rq->status == 429)
		return send_penalised(c, rq->retry);
	if (rq->status == 413)
		return send_too_big(b, c, strcmp(method, "PUT") == 0);
	if (rq->status != 0)
		return send_error(c, (unsigned)rq->status,
		    rq->err.code ? rq->err.msg : "refused");
	if (rq->ingest != NULL) {
		if (ingest_finish(b, rq->ingest, &status, &rq->err) < 0)
			return send_error(c, (unsigned)status, rq->err.msg);
		return send_json(c, 200, json_pack("{s:b}", "ok", 1));
	}
	if (strcmp(method, "POST") == 0 && rq->body.len > MAX_JSON_BODY &&
	    strstr(url, "/log") == NULL)
		return send_error(c, 413, "request body too large");
	return handle(b, c, method, url, rq);
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct builder *b = cls;
	struct req *rq = *con_cls;

	if (rq == NULL)
		return request_begin(b, c, url, method, version, con_cls);
	if (*upload_data_size > 0)
		return request_body(b, rq, method, url, upload_data,
		    upload_data_size);
	return request_end(b, c, url, method, rq);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)toe;
	if (rq == NULL)
		return;
	set_deadline(cls, c, 1);	/* for the next request's head */
	ingest_free(rq->ingest);
	bf_buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static void
api_state_free(struct api_state *a)
{
	if (a == NULL)
		return;
	free(a->cert_pem);
	if (a->key_pem != NULL) {
		explicit_bzero(a->key_pem, strlen(a->key_pem));
		free(a->key_pem);
	}
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

static int
read_pem(const char *path, const char *key, char **out, struct bf_err *e)
{
	struct bf_buf pem = BF_BUF_INIT;
	int rc;

	if ((rc = bf_conf_read_file(path, &pem, e)) < 0) {
		bf_err_prefix(e, "[builder] %s", key);
		bf_buf_release(&pem);
		return rc;
	}
	if ((*out = bf_buf_detach(&pem, NULL)) == NULL)
		return bf_err_nomem(e);
	return 0;
}

/*
 * What the API needs that a user the builder drops to may not read (the
 * TLS key): called before privsep_drop(); api_start() calls it when it
 * was not.
 */
int
api_init(struct builder *b, struct bf_err *e)
{
	struct api_state *a;
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return bf_err_nomem(e);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->list.next = a->list.prev = &a->list;
	if (b->cfg.tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			rc = bf_err_set(e, BF_ECONFIG, "tls-cert: this "
			    "libmicrohttpd has no TLS support");
			goto fail;
		}
		if ((rc = read_pem(b->cfg.tls_cert, "tls-cert", &a->cert_pem,
		    e)) < 0 || (rc = read_pem(b->cfg.tls_key, "tls-key",
		    &a->key_pem, e)) < 0)
			goto fail;
	}
	if (b->console == NULL && (b->console = console_new()) == NULL) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	if ((rc = bf_penalty_init(&b->penalty, (unsigned)b->cfg.auth_failures,
	    (unsigned)b->cfg.auth_penalty, b->cfg.auth_exempt,
	    b->cfg.nauth_exempt, e)) < 0)
		goto fail;
	b->api = a;
	return 0;
fail:
	api_state_free(a);
	return rc;
}

int
api_start(struct builder *b, struct bf_err *e)
{
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *di;
	struct MHD_OptionItem opts[16];
	struct api_state *a;
	char host[256];
	const char *colon = strrchr(b->cfg.listen, ':');
	size_t hl = (size_t)(colon - b->cfg.listen), n = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	int rc;

	if (b->api == NULL && (rc = api_init(b, e)) < 0)
		return rc;
	if (b->started == 0)
		b->started = now_s();
	a = b->api;
	if (a->cert_pem != NULL)
		flags |= MHD_USE_TLS;
	if (hl >= sizeof(host)) {
		rc = bf_err_set(e, BF_ECONFIG, "bad listen '%s'",
		    b->cfg.listen);
		goto fail;
	}
	memcpy(host, b->cfg.listen, hl);
	host[hl] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, strcmp(host, "*") == 0 ? "0.0.0.0" : host,
	    &sin.sin_addr) != 1) {
		rc = bf_err_set(e, BF_ECONFIG, "listen: '%s' is not an IPv4 "
		    "address", host);
		goto fail;
	}
#define OPT(o, v, p) do { opts[n].option = (o); \
	opts[n].value = (intptr_t)(v); opts[n].ptr_value = (p); n++; } while (0)
	OPT(MHD_OPTION_SOCK_ADDR, 0, &sin);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, completed_cb, b);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, notify_conn_cb, b);
	/* Both limits apply at accept(), before any token is read. */
	OPT(MHD_OPTION_CONNECTION_LIMIT, b->cfg.max_connections, NULL);
	if (b->cfg.max_connections_per_ip > 0)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    b->cfg.max_connections_per_ip, NULL);
	/* Idle: no byte at all; the head deadline is the watchdog's. */
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL);
	if (a->cert_pem != NULL) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, a->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, a->key_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	b->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, b,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (b->mhd == NULL) {
		rc = bf_err_set(e, EADDRINUSE, "cannot listen on %s%s",
		    b->cfg.listen, a->cert_pem != NULL ? " (or libmicrohttpd "
		    "refused the TLS certificate and key)" : "");
		goto fail;
	}
	if (pthread_create(&a->watchdog, NULL, watchdog_main, b) == 0)
		a->running = 1;
	di = MHD_get_daemon_info(b->mhd, MHD_DAEMON_INFO_BIND_PORT);
	b->port = di ? di->port : atoi(colon + 1);
	return 0;
fail:
	b->api = NULL;
	api_state_free(a);
	console_free(b->console);
	b->console = NULL;
	bf_penalty_free(&b->penalty);
	return rc;
}

void
api_stop(struct builder *b)
{
	struct api_state *a = b->api;

	if (b->mhd != NULL)
		MHD_stop_daemon(b->mhd);
	b->mhd = NULL;
	if (a == NULL)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->watchdog, NULL);
	}
	b->api = NULL;
	api_state_free(a);
	console_free(b->console);
	b->console = NULL;
	bf_penalty_free(&b->penalty);
}
