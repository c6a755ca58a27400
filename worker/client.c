/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The builder's API as the worker calls it: JSON requests, the build log
 * sent as it grows, and the builder's URL re-read from its state
 * directory when the builder moved (-s).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/log.h"
#include "worker.h"
#include "base/banned.h"

int
wk_call(struct wk *w, struct bf_http_conn *conn, const char *method,
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

void
wk_send_log(struct wk *w, struct bf_http_conn *conn, long long job,
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

void
wk_refresh_url(struct wk *w)
{
	struct bf_buf p = BF_BUF_INIT;
	struct bf_url u;
	char *s;

	if (w->statedir == NULL)
		return;
	bf_buf_addf(&p, "%s/builder.url", w->statedir);
	if ((s = bf_conf_read_line(p.buf)) != NULL &&
	    bf_url_parse(&u, s, NULL) == 0 &&
	    (strcmp(u.host, w->url.host) || strcmp(u.port, w->url.port))) {
		log_info("the builder is now at %s", s);
		pthread_mutex_lock(&w->mu);
		u.cacert = w->url.cacert;
		w->url = u;
		pthread_mutex_unlock(&w->mu);
	}
	free(s);
	bf_buf_release(&p);
}
