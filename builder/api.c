/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The builder's HTTP API (libmicrohttpd, JSON bodies).  Every call but
 * /healthz carries "Authorization: Bearer TOKEN": the worker token for
 * the calls workers make, the engineer token for the calls people make;
 * GET /v1/status and the logs accept either.  See binfarm-builder(8).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "err.h"
#include "builder.h"
#include "httpcheck.h"
#include "banned.h"

#define MAX_JSON_BODY	(1 << 20)
#define MAX_LOG_CHUNK	(16 << 20)

enum auth { AUTH_NONE, AUTH_WORKER, AUTH_ENGINEER };

struct req {
	struct bf_buf	 body;
	struct ingest	*ingest;
	int		 too_big;
	int		 status;	/* an error found while receiving */
	struct bf_err	 err;
};

static int
tok_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static enum auth
authenticate(struct builder *b, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return AUTH_NONE;
	h += 7;
	if (tok_eq(h, b->cfg.worker_token))
		return AUTH_WORKER;
	if (tok_eq(h, b->cfg.engineer_token))
		return AUTH_ENGINEER;
	return AUTH_NONE;
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

static enum MHD_Result
get_log(struct builder *b, struct MHD_Connection *c, long long job)
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
	j = sched_job_json(b, job);
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
	j = sched_job_json(b, job);
	pthread_mutex_unlock(&b->mu);
	if (j == NULL || jstr(j, "path") == NULL ||
	    strcmp(jstr(j, "state"), JS_DONE) != 0) {
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
    const struct bf_buf *body)
{
	const char *w = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Binfarm-Worker");
	const char *l = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Binfarm-Lease");
	struct bf_buf p = BF_BUF_INIT;
	sqlite3_stmt *st;
	int ok = 0, fd;

	pthread_mutex_lock(&b->mu);
	st = db_prep(b, "SELECT 1 FROM jobs WHERE id=? AND state='running' AND "
	    "worker=? AND lease=?");
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_text(st, 2, w ? w : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, l ? l : "", -1, SQLITE_TRANSIENT);
	ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
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

static enum MHD_Result
handle(struct builder *b, struct MHD_Connection *c, const char *method,
    const char *url, struct req *rq, enum auth who)
{
	struct bf_err e = BF_ERR_INIT;
	const char *rest = NULL;
	json_t *in = NULL, *out = NULL;
	long long job;
	int rc, post = strcmp(method, "POST") == 0;
	int get = strcmp(method, "GET") == 0;
	enum MHD_Result ret;

	if (post && rq->body.len > 0 && (job = job_path(url, &rest)) > 0 &&
	    strcmp(rest, "log") == 0)
		in = NULL;
	else if (post && rq->body.len > 0 &&
	    (in = json_loadb(rq->body.buf, rq->body.len, 0, NULL)) == NULL)
		return send_error(c, 400, "the request body is not JSON");
	if (in == NULL)
		in = json_object();

	if (get && strcmp(url, "/v1/status") == 0) {
		pthread_mutex_lock(&b->mu);
		out = sched_status(b);
		pthread_mutex_unlock(&b->mu);
		ret = send_json(c, 200, out);
		goto out;
	}
	if (who == AUTH_WORKER) {
		const char *name = jstr(in, "name");

		if (post && strcmp(url, "/v1/workers/register") == 0) {
			json_t *tags = json_object_get(in, "tags");
			json_int_t slots = json_integer_value(
			    json_object_get(in, "slots"));

			if (name == NULL || *name == '\0' || !json_is_array(tags)) {
				ret = send_error(c, 400, "register needs a name "
				    "and a list of tags");
				goto out;
			}
			pthread_mutex_lock(&b->mu);
			rc = workers_register(b, name, tags,
			    slots > 0 ? (int)slots : 1);
			pthread_mutex_unlock(&b->mu);
			log_info("worker %s registered", name);
			ret = send_json(c, rc == 0 ? 200 : 500, json_pack(
			    "{s:s, s:i}", "name", name, "lease_timeout",
			    b->cfg.lease_timeout));
			goto out;
		}
		if (post && strcmp(url, "/v1/workers/heartbeat") == 0) {
			if (name == NULL) {
				ret = send_error(c, 400, "heartbeat needs a name");
				goto out;
			}
			pthread_mutex_lock(&b->mu);
			out = workers_heartbeat(b, name,
			    json_object_get(in, "jobs"));
			pthread_mutex_unlock(&b->mu);
			ret = send_json(c, 200, out);
			goto out;
		}
		if (post && strcmp(url, "/v1/jobs/lease") == 0) {
			/* "deps": false, from drivers that install none. */
			json_t *wd = json_object_get(in, "deps");

			if (name == NULL) {
				ret = send_error(c, 400, "lease needs a name");
				goto out;
			}
			pthread_mutex_lock(&b->mu);
			out = sched_lease(b, name, !json_is_false(wd));
			pthread_mutex_unlock(&b->mu);
			if (out == NULL) {
				struct MHD_Response *r =
				    MHD_create_response_from_buffer(0, NULL,
				    MHD_RESPMEM_PERSISTENT);

				ret = MHD_queue_response(c, 204, r);
				MHD_destroy_response(r);
				goto out;
			}
			ret = send_json(c, 200, out);
			goto out;
		}
		if ((job = job_path(url, &rest)) > 0) {
			if (post && strcmp(rest, "log") == 0) {
				ret = append_log(b, c, job, &rq->body);
				goto out;
			}
			if (post && strcmp(rest, "fail") == 0) {
				const char *why = jstr(in, "error");
				struct bf_buf w = BF_BUF_INIT;

				bf_buf_addf(&w, "build failed on %s: %s",
				    name ? name : "?", why ? why : "no reason given");
				pthread_mutex_lock(&b->mu);
				rc = sched_fail(b, job, name, jstr(in, "lease"),
				    w.buf, 1);
				pthread_mutex_unlock(&b->mu);
				bf_buf_release(&w);
				ret = rc == 0 ? send_json(c, 200, json_pack(
				    "{s:b}", "ok", 1)) : send_error(c, 409,
				    "job is not leased to this worker");
				goto out;
			}
			if (get && strcmp(rest, "package") == 0) {
				ret = get_package(b, c, job);
				goto out;
			}
		}
		ret = send_error(c, strncmp(url, "/v1/", 4) == 0 ? 403 : 404,
		    "not a worker call");
		goto out;
	}

	/* Engineers. */
	if (post && strcmp(url, "/v1/rebuild") == 0) {
		const char *p = jstr(in, "profile"), *by = jstr(in, "by");

		if (p == NULL) {
			ret = send_error(c, 400, "rebuild needs a profile");
			goto out;
		}
		pthread_mutex_lock(&b->mu);
		rc = sched_rebuild(b, p, jstr(in, "commit"), by ? by :
		    "engineer", &out, &e);
		pthread_mutex_unlock(&b->mu);
		ret = rc < 0 ? send_err(c, &e, rc) : send_json(c, 200, out);
		goto out;
	}
	if (post && strcmp(url, "/v1/rebuild/cancel") == 0) {
		const char *p = jstr(in, "profile");

		pthread_mutex_lock(&b->mu);
		rc = sched_cancel_rebuild(b, p ? p : "", &e);
		pthread_mutex_unlock(&b->mu);
		ret = rc < 0 ? send_err(c, &e, rc) : send_json(c, 200,
		    json_pack("{s:i}", "cancelled", rc));
		goto out;
	}
	if (get && strcmp(url, "/v1/jobs") == 0) {
		const char *cpv = MHD_lookup_connection_value(c,
		    MHD_GET_ARGUMENT_KIND, "cpv");
		const char *p = MHD_lookup_connection_value(c,
		    MHD_GET_ARGUMENT_KIND, "profile");

		if (cpv == NULL) {
			ret = send_error(c, 400, "give ?cpv=CAT/PF");
			goto out;
		}
		pthread_mutex_lock(&b->mu);
		job = sched_lookup(b, cpv, p);
		out = job > 0 ? sched_job_json(b, job) : NULL;
		pthread_mutex_unlock(&b->mu);
		ret = out ? send_json(c, 200, out) : send_error(c, 404,
		    "no job builds that package");
		goto out;
	}
	if ((job = job_path(url, &rest)) > 0) {
		if (get && *rest == '\0') {
			pthread_mutex_lock(&b->mu);
			out = sched_job_json(b, job);
			pthread_mutex_unlock(&b->mu);
			ret = out ? send_json(c, 200, out) : send_error(c, 404,
			    "no such job");
			goto out;
		}
		if (get && strcmp(rest, "log") == 0) {
			ret = get_log(b, c, job);
			goto out;
		}
		if (get && strcmp(rest, "package") == 0) {
			ret = get_package(b, c, job);
			goto out;
		}
		if (post && (strcmp(rest, "retry") == 0 ||
		    strcmp(rest, "cancel") == 0)) {
			pthread_mutex_lock(&b->mu);
			rc = rest[0] == 'r' ? sched_retry(b, job, &e) :
			    sched_cancel(b, job, &e);
			out = rc == 0 ? sched_job_json(b, job) : NULL;
			pthread_mutex_unlock(&b->mu);
			ret = rc < 0 ? send_err(c, &e, rc) : send_json(c, 200,
			    out);
			goto out;
		}
	}
	ret = send_error(c, strncmp(url, "/v1/workers", 11) == 0 ||
	    strcmp(url, "/v1/jobs/lease") == 0 ? 403 : 404,
	    strncmp(url, "/v1/workers", 11) == 0 ||
	    strcmp(url, "/v1/jobs/lease") == 0 ? "not an engineer call" :
	    "no such endpoint");
out:
	json_decref(in);
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct builder *b = cls;
	struct req *rq = *con_cls;
	enum auth who;
	const char *rest;
	long long job;
	int put = strcmp(method, "PUT") == 0, status;

	if (rq == NULL) {
		/* Ambiguous framing (request smuggling): 400 and close. */
		const char *why;
		int bad = bf_httpcheck(c, version, &why);

		if (bad != 0)
			return (enum MHD_Result)bf_httpcheck_refuse(c, bad, why);
	}
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		bf_buf_init(&rq->body);
		*con_cls = rq;
		if (strcmp(url, "/healthz") == 0)
			return MHD_YES;
		who = authenticate(b, c);
		if (who == AUTH_NONE) {
			const char *ip = "?";
			const union MHD_ConnectionInfo *ci =
			    MHD_get_connection_info(c,
			    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
			char ab[64];

			if (ci != NULL && ci->client_addr->sa_family == AF_INET)
				ip = inet_ntop(AF_INET, &((const struct
				    sockaddr_in *)(const void *)ci->client_addr)->
				    sin_addr, ab, sizeof(ab));
			log_warnx("refused %s %s from %s: %s", method, url,
			    ip ? ip : "?", MHD_lookup_connection_value(c,
			    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) ?
			    "wrong token" : "no token");
			rq->status = 401;
			return MHD_YES;
		}
		if (put) {
			if (who != AUTH_WORKER ||
			    (job = job_path(url, &rest)) <= 0 ||
			    strcmp(rest, "package") != 0) {
				rq->status = who != AUTH_WORKER ? 403 : 404;
				return MHD_YES;
			}
			pthread_mutex_lock(&b->mu);
			if (ingest_start(b, &rq->ingest, job,
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    "X-Binfarm-Worker") ? MHD_lookup_connection_value(c,
			    MHD_HEADER_KIND, "X-Binfarm-Worker") : "",
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    "X-Binfarm-Lease"), MHD_lookup_connection_value(c,
			    MHD_HEADER_KIND, "X-Binfarm-Checksum"), &status,
			    &rq->err) < 0) {
				rq->status = status;
				log_warnx("upload refused: %s",
				    bf_err_msg(&rq->err, -EIO));
				job_log(b, job, "upload refused: %s",
				    bf_err_msg(&rq->err, -EIO));
			}
			pthread_mutex_unlock(&b->mu);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->status == 0 && rq->ingest != NULL) {
			if (ingest_data(rq->ingest, upload_data,
			    *upload_data_size, &rq->err) < 0)
				rq->status = 500;
		} else if (rq->status == 0) {
			if (rq->body.len + *upload_data_size > MAX_LOG_CHUNK)
				rq->status = 413;
			else
				bf_buf_add(&rq->body, upload_data,
				    *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/healthz") == 0)
		return send_json(c, 200, json_pack("{s:s}", "status", "ok"));
	if (rq->status == 401) {
		struct MHD_Response *r;
		enum MHD_Result ret;
		r = MHD_create_response_from_buffer(strlen("{\"error\":"
		    "\"missing or wrong bearer token\"}"),
		    (void *)"{\"error\":\"missing or wrong bearer token\"}",
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"binfarm-builder\"");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
		ret = MHD_queue_response(c, 401, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (rq->status == 413)
		return send_error(c, 413, "request body too large");
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
	return handle(b, c, method, url, rq, authenticate(b, c));
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	ingest_free(rq->ingest);
	bf_buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

int
api_start(struct builder *b, struct bf_err *e)
{
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *di;
	char host[256];
	const char *colon = strrchr(b->cfg.listen, ':');
	size_t hl = (size_t)(colon - b->cfg.listen);

	if (hl >= sizeof(host))
		return bf_err_set(e, BF_ECONFIG, "bad listen '%s'",
		    b->cfg.listen);
	memcpy(host, b->cfg.listen, hl);
	host[hl] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, strcmp(host, "*") == 0 ? "0.0.0.0" : host,
	    &sin.sin_addr) != 1)
		return bf_err_set(e, BF_ECONFIG, "listen: '%s' is not an IPv4 "
		    "address", host);
	b->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    access_cb, b, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, b,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
	if (b->mhd == NULL)
		return bf_err_set(e, EADDRINUSE, "cannot listen on %s",
		    b->cfg.listen);
	di = MHD_get_daemon_info(b->mhd, MHD_DAEMON_INFO_BIND_PORT);
	b->port = di ? di->port : atoi(colon + 1);
	return 0;
}

void
api_stop(struct builder *b)
{
	if (b->mhd != NULL)
		MHD_stop_daemon(b->mhd);
	b->mhd = NULL;
}
