/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP client: libcurl's easy interface, one easy handle per
 * kept-alive connection.  This is the only file that includes curl.h.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/http.h"
#include "base/lockfile.h"
#include "base/banned.h"

/* The request's connect and stall timeout; 0 means 30 s. */
static int
timeout_of(const struct bf_http_req *rq)
{
	return rq->timeout_ms > 0 ? rq->timeout_ms : 30000;
}

int
bf_url_parse(struct bf_url *u, const char *s, struct bf_err *e)
{
	const char *h, *p, *slash, *colon;
	size_t hl, pl;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0) {
		h = s + 8;
		u->tls = 1;
	} else
		return bf_err_set(e, BF_EUSAGE, "'%s': only http://HOST:PORT "
		    "and https://HOST:PORT URLs are supported", s);
	slash = strchr(h, '/');
	if (slash == NULL)
		slash = h + strlen(h);
	colon = memchr(h, ':', (size_t)(slash - h));
	hl = (size_t)((colon ? colon : slash) - h);
	if (hl == 0 || hl >= sizeof(u->host) ||
	    strcspn(h, "@?#[] \t\r\n") < hl)
		return bf_err_set(e, BF_EUSAGE, "'%s': bad host", s);
	memcpy(u->host, h, hl);
	if (colon != NULL) {
		p = colon + 1;
		pl = (size_t)(slash - p);
		if (pl == 0 || pl >= sizeof(u->port) ||
		    strspn(p, "0123456789") < pl)
			return bf_err_set(e, BF_EUSAGE, "'%s': bad port", s);
		memcpy(u->port, p, pl);
	} else
		memcpy(u->port, u->tls ? "443" : "80", u->tls ? 4 : 3);
	pl = strlen(slash);
	while (pl > 0 && slash[pl - 1] == '/')
		pl--;
	if (pl >= sizeof(u->prefix) || strcspn(slash, "?# \t\r\n") < pl)
		return bf_err_set(e, BF_EUSAGE, "'%s': bad path", s);
	memcpy(u->prefix, slash, pl);
	return 0;
}

void
bf_http_resp_init(struct bf_http_resp *r)
{
	r->status = 0;
	bf_buf_init(&r->body);
	r->body_bytes = 0;
}

void
bf_http_resp_release(struct bf_http_resp *r)
{
	bf_buf_release(&r->body);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;	/* written once, under global_once */

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
bf_http_global_init(struct bf_err *e)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return bf_err_set(e, BF_EUSAGE, "cannot initialise libcurl: %s",
		    curl_easy_strerror(global_rc));
	return 0;
}

void
bf_http_conn_close(struct bf_http_conn *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

/* One request's state, for curl's callbacks. */
struct xfer {
	const struct bf_http_req *rq;
	struct bf_http_resp	*resp;
	long long		 pos;	/* of the request body */
	long long		 len;
	int			 err;	/* -errno from a callback */
	int			 reading; /* err is the request body's */
};

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	int rc;

	n *= size;
	x->resp->body_bytes += n;
	if (x->rq->out_fd >= 0)
		rc = bf_write_full(x->rq->out_fd, p, n);
	else {
		bf_buf_add(&x->resp->body, p, n);
		rc = bf_buf_error(&x->resp->body);
	}
	if (rc < 0) {
		x->err = rc;
		return 0;
	}
	return n;
}

static size_t
read_cb(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	ssize_t r;

	n *= size;
	if ((long long)n > x->len - x->pos)
		n = (size_t)(x->len - x->pos);
	if (n == 0)
		return 0;
	if (x->rq->body_fd < 0) {
		memcpy(p, (const char *)x->rq->body + x->pos, n);
		x->pos += (long long)n;
		return n;
	}
	if ((r = bf_pread_full(x->rq->body_fd, p, n, (off_t)x->pos)) <= 0) {
		x->err = r < 0 ? -errno : -EIO;
		x->reading = 1;
		return CURL_READFUNC_ABORT;
	}
	x->pos += r;
	return (size_t)r;
}

/* Rewinds the request body when curl sends it again on a new connection. */
static int
seek_cb(void *arg, curl_off_t off, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || off < 0 || off > x->len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->pos = off;
	return CURL_SEEKFUNC_OK;
}

/* Turns curl's `cc` into -errno or -BF_E* with a message saying what to do. */
static int
curl_error(const struct bf_url *u, const struct xfer *x, CURLcode cc,
    const char *why, struct bf_err *e)
{
	const char *w = why[0] ? why : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_WRITE_ERROR:
	case CURLE_READ_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		if (x->err < 0) {
			errno = -x->err;
			return bf_err_errno(e, x->reading ? "cannot read the "
			    "request body" : "cannot store the response from "
			    "%s:%s", u->host, u->port);
		}
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		return bf_err_set(e, EHOSTUNREACH, "cannot resolve '%s': %s",
		    u->host, w);
	case CURLE_COULDNT_CONNECT:
		return bf_err_set(e, ECONNREFUSED, "cannot connect to %s:%s: %s",
		    u->host, u->port, w);
	case CURLE_OPERATION_TIMEDOUT:
		return bf_err_set(e, ETIMEDOUT, "%s:%s: %s", u->host, u->port,
		    w);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return bf_err_set(e, BF_ECRYPTO, "TLS: cannot verify the "
		    "certificate of %s:%s%s%s: %s", u->host, u->port,
		    u->cacert ? " against " : "", u->cacert ? u->cacert : "", w);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		return bf_err_set(e, BF_ECRYPTO, "TLS with %s:%s failed: %s "
		    "(does it speak TLS? use http:// if it does not)",
		    u->host, u->port, w);
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
		if (!u->tls)
			return bf_err_set(e, BF_EFORMAT, "%s:%s: no HTTP "
			    "response (%s); if it speaks TLS, use an https:// "
			    "URL", u->host, u->port, w);
		return bf_err_set(e, cc == CURLE_GOT_NOTHING ? ECONNRESET :
		    BF_EFORMAT, "%s:%s: connection closed before a response: "
		    "%s", u->host, u->port, w);
	case CURLE_RECV_ERROR:
		if (!u->tls && x->resp->body_bytes == 0)
			return bf_err_set(e, ECONNRESET, "%s:%s: connection "
			    "broken before a response: %s; if it speaks TLS, "
			    "use an https:// URL", u->host, u->port, w);
		/* FALLTHROUGH */
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
		return bf_err_set(e, ECONNRESET, "%s:%s: connection broken: %s",
		    u->host, u->port, w);
	default:
		break;
	}
	return bf_err_set(e, EIO, "%s:%s: %s", u->host, u->port, w);
}

int
bf_http_request(const struct bf_url *u, const struct bf_http_req *rq,
    struct bf_http_resp *resp, struct bf_err *e)
{
	struct bf_http_conn *c = rq->conn;
	struct curl_slist *hl = NULL, *n;
	struct bf_buf url = BF_BUF_INIT, h = BF_BUF_INIT;
	struct xfer x;
	char why[CURL_ERROR_SIZE];
	CURL *cu;
	CURLcode cc;
	long status = 0, tmo = timeout_of(rq);
	int rc, i, get = strcmp(rq->method, "GET") == 0,
	    head = strcmp(rq->method, "HEAD") == 0;
	off_t end;

	if ((rc = bf_http_global_init(e)) < 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.rq = rq;
	x.resp = resp;
	x.len = (long long)rq->body_len;
	resp->status = 0;
	resp->body_bytes = 0;
	bf_buf_reset(&resp->body);
	if (rq->body_fd >= 0) {
		if ((end = lseek(rq->body_fd, 0, SEEK_END)) < 0)
			return bf_err_errno(e, "cannot size the request body");
		x.len = (long long)end;
	}
	if (c != NULL && c->curl != NULL) {
		cu = c->curl;
		curl_easy_reset(cu);	/* keeps its open connection */
	} else if ((cu = curl_easy_init()) == NULL)
		return bf_err_set(e, ENOMEM, "cannot create a curl handle");
	if (c != NULL)
		c->curl = cu;

	bf_buf_addf(&url, "%s://%s:%s%s%s", u->tls ? "https" : "http",
	    u->host, u->port, u->prefix, rq->path);
	if (rq->bearer != NULL) {
		bf_buf_addf(&h, "Authorization: Bearer %s", rq->bearer);
		if ((rc = bf_buf_error(&h)) < 0)
			goto out;
		if ((n = curl_slist_append(hl, h.buf)) == NULL)
			goto oom;
		hl = n;
	}
	if (rq->content_type != NULL) {
		bf_buf_reset(&h);
		bf_buf_addf(&h, "Content-Type: %s", rq->content_type);
		if ((rc = bf_buf_error(&h)) < 0)
			goto out;
		if ((n = curl_slist_append(hl, h.buf)) == NULL)
			goto oom;
		hl = n;
	}
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		if ((n = curl_slist_append(hl, rq->headers[i])) == NULL)
			goto oom;
		hl = n;
	}
	/*
	 * curl's "Expect: 100-continue" (for bodies over 1 MiB) costs a
	 * round trip: worth it only for a file, which the server may
	 * refuse (413) before a byte of it is sent.
	 */
	if (rq->body_fd < 0) {
		if ((n = curl_slist_append(hl, "Expect:")) == NULL)
			goto oom;
		hl = n;
	}
	if ((rc = bf_buf_error(&url)) < 0)
		goto out;

	why[0] = '\0';
	curl_easy_setopt(cu, CURLOPT_URL, url.buf);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_PROXY, "");
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, why);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, "binfarm/" PACKAGE_VERSION);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, tmo);
	/* A stall: less than a byte a second for the whole timeout. */
	curl_easy_setopt(cu, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(cu, CURLOPT_LOW_SPEED_TIME, tmo >= 2000 ?
	    tmo / 1000 : 1L);
	curl_easy_setopt(cu, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(cu, CURLOPT_FORBID_REUSE, c == NULL ? 1L : 0L);
	curl_easy_setopt(cu, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(cu, CURLOPT_SSL_VERIFYHOST, 2L);
	if (u->cacert != NULL) {
		/* Only this CA: not also every public one. */
		curl_easy_setopt(cu, CURLOPT_CAINFO, u->cacert);
		curl_easy_setopt(cu, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &x);
	if (head)
		curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
	else if (get && x.len == 0)
		curl_easy_setopt(cu, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(cu, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)x.len);
		curl_easy_setopt(cu, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(cu, CURLOPT_READDATA, &x);
		curl_easy_setopt(cu, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(cu, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, rq->method);
	}
	if ((cc = curl_easy_perform(cu)) != CURLE_OK) {
		rc = curl_error(u, &x, cc, why, e);
		goto out;
	}
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
	if (status < 100 || status > 599) {
		rc = bf_err_set(e, BF_EFORMAT, "%s:%s: not an HTTP response",
		    u->host, u->port);
		goto out;
	}
	resp->status = (int)status;
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	/* The handle keeps pointers to these: drop them before freeing. */
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hl);
	bf_buf_release(&url);
	bf_buf_release(&h);
	if (c == NULL)
		curl_easy_cleanup(cu);
	return rc;
}
