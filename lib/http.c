/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small HTTP/1.1 client over sockets: one request per connection, or
 * a kept-alive connection per struct bf_http_conn.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "lockfile.h"
#include "banned.h"

#define HTTP_MAX_HEADER	(64 * 1024)

/* The request's per read/write timeout; 0 means 30 s. */
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
	if (strncmp(s, "http://", 7) != 0)
		return bf_err_set(e, BF_EUSAGE, "'%s': only http://HOST:PORT "
		    "URLs are supported", s);
	h = s + 7;
	slash = strchr(h, '/');
	if (slash == NULL)
		slash = h + strlen(h);
	colon = memchr(h, ':', (size_t)(slash - h));
	hl = (size_t)((colon ? colon : slash) - h);
	if (hl == 0 || hl >= sizeof(u->host))
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
		memcpy(u->port, "80", 3);
	pl = strlen(slash);
	while (pl > 0 && slash[pl - 1] == '/')
		pl--;
	if (pl >= sizeof(u->prefix))
		return bf_err_set(e, BF_EUSAGE, "'%s': path too long", s);
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

static int
wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd pfd = { fd, ev, 0 };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return 0;
}

static int
dial(const struct bf_url *u, int timeout_ms, struct bf_err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, gai, soerr;
	socklen_t sl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(u->host, u->port, &hints, &res)) != 0)
		return bf_err_set(e, EHOSTUNREACH, "cannot resolve '%s': %s",
		    u->host, gai_strerror(gai));
	rc = -ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS &&
		    (rc = wait_fd(fd, POLLOUT, timeout_ms)) == 0) {
			sl = sizeof(soerr);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			rc = -(soerr ? soerr : errno);
		} else if (errno != EINPROGRESS)
			rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = -rc;
		return bf_err_errno(e, "cannot connect to %s:%s", u->host,
		    u->port);
	}
	/*
	 * A request goes out as a header and then a body: on a kept-alive
	 * connection, where the peer delays its ACKs, Nagle's algorithm
	 * would hold the body back for up to 40 ms.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
	    sizeof(int));
	return fd;
}

static int
send_all(int fd, const void *p, size_t n, int timeout_ms)
{
	const char *c = p;
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if ((rc = wait_fd(fd, POLLOUT, timeout_ms)) < 0)
					return rc;
				continue;
			}
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads some bytes into `b`; returns the count, 0 at EOF, or -errno. */
static ssize_t
recv_some(int fd, struct bf_buf *b, int timeout_ms)
{
	ssize_t r;
	int rc;

	if (bf_buf_grow(b, 65536) < 0)
		return -ENOMEM;
	for (;;) {
		r = recv(fd, b->buf + b->len, 65536, 0);
		if (r >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((rc = wait_fd(fd, POLLIN, timeout_ms)) < 0)
				return rc;
			continue;
		}
		return -errno;
	}
	bf_buf_setlen(b, b->len + (size_t)r);
	return r;
}

static int
deliver(const struct bf_http_req *rq, struct bf_http_resp *resp,
    const char *p, size_t n)
{
	int rc;

	resp->body_bytes += n;
	if (rq->out_fd >= 0) {
		if ((rc = bf_write_full(rq->out_fd, p, n)) < 0)
			return rc;
		return 0;
	}
	bf_buf_add(&resp->body, p, n);
	return bf_buf_error(&resp->body);
}

static const char *
find_header(const char *hdr, const char *name)
{
	const char *l = strstr(hdr, "\r\n");
	size_t nl = strlen(name);

	while (l != NULL && l[2] != '\r' && l[2] != '\0') {
		l += 2;
		if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			l += nl + 1;
			while (*l == ' ' || *l == '\t')
				l++;
			return l;
		}
		l = strstr(l, "\r\n");
	}
	return NULL;
}

/*
 * One request and its response on `fd`, which stays open.  With `keep`
 * the request asks for a persistent connection, and *reusable says
 * whether the response left the connection fit for the next request:
 * HTTP/1.1, no "Connection: close", a body delimited by Content-Length
 * (or none) and nothing after it.  *early says the connection broke
 * before a byte of the response came back: on a kept-alive connection
 * that is the server having closed it while idle, and the request may
 * go again on a new one.
 */
static int
exchange(const struct bf_url *u, const struct bf_http_req *rq,
    struct bf_http_resp *resp, int fd, int keep, int *reusable, int *early,
    struct bf_err *e)
{
	struct bf_buf hdr = BF_BUF_INIT, in = BF_BUF_INIT;
	int rc, tmo = timeout_of(rq);
	int chunked = 0, http11, i;
	long long clen = -1, body_len = (long long)rq->body_len;
	struct stat st;
	const char *v, *eoh;
	size_t hlen, pos;
	ssize_t r;
	char fbuf[65536];

	*reusable = 0;
	*early = 0;
	resp->status = 0;
	resp->body_bytes = 0;
	bf_buf_reset(&resp->body);
	if (rq->body_fd >= 0) {
		if (fstat(rq->body_fd, &st) < 0)
			return bf_err_errno(e, "cannot stat the request body");
		if (lseek(rq->body_fd, 0, SEEK_SET) < 0)
			return bf_err_errno(e, "cannot rewind the request body");
		body_len = (long long)st.st_size;
	}
	bf_buf_addf(&hdr, "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "User-Agent: binfarm/" PACKAGE_VERSION "\r\n%s",
	    rq->method, u->prefix, rq->path, u->host, u->port,
	    keep ? "" : "Connection: close\r\n");
	if (rq->bearer != NULL)
		bf_buf_addf(&hdr, "Authorization: Bearer %s\r\n", rq->bearer);
	if (rq->content_type != NULL)
		bf_buf_addf(&hdr, "Content-Type: %s\r\n", rq->content_type);
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++)
		bf_buf_addf(&hdr, "%s\r\n", rq->headers[i]);
	if (body_len > 0 || strcmp(rq->method, "GET") != 0)
		bf_buf_addf(&hdr, "Content-Length: %lld\r\n", body_len);
	bf_buf_adds(&hdr, "\r\n");
	if ((rc = bf_buf_error(&hdr)) < 0)
		goto out;
	/* A failure from here until the first response byte is "early". */
	*early = 1;
	if ((rc = send_all(fd, hdr.buf, hdr.len, tmo)) < 0)
		goto neterr;
	if (rq->body_fd >= 0) {
		while ((r = read(rq->body_fd, fbuf, sizeof(fbuf))) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				rc = bf_err_errno(e, "cannot read the request body");
				*early = 0;	/* ours, not the connection's */
				goto out;
			}
			if ((rc = send_all(fd, fbuf, (size_t)r, tmo)) < 0)
				goto neterr;
		}
	} else if (rq->body_len > 0 &&
	    (rc = send_all(fd, rq->body, rq->body_len, tmo)) < 0)
		goto neterr;

	/* Status line and headers. */
	while ((eoh = strstr(in.buf, "\r\n\r\n")) == NULL) {
		if (in.len > HTTP_MAX_HEADER) {
			rc = bf_err_set(e, BF_EFORMAT, "%s:%s: response header "
			    "too long", u->host, u->port);
			goto out;
		}
		if ((r = recv_some(fd, &in, tmo)) < 0) {
			rc = (int)r;
			goto neterr;
		}
		if (r == 0) {
			rc = bf_err_set(e, ECONNRESET, "%s:%s: connection "
			    "closed before a response", u->host, u->port);
			goto out;
		}
		*early = 0;
	}
	hlen = (size_t)(eoh - in.buf) + 4;
	if (strncmp(in.buf, "HTTP/1.", 7) != 0 || in.len < 12 ||
	    (resp->status = atoi(in.buf + 9)) < 100 || resp->status > 599) {
		rc = bf_err_set(e, BF_EFORMAT, "%s:%s: not an HTTP response",
		    u->host, u->port);
		goto out;
	}
	http11 = strncmp(in.buf, "HTTP/1.1", 8) == 0;
	in.buf[hlen - 2] = '\0';
	if ((v = find_header(in.buf, "Connection")) != NULL &&
	    strncasecmp(v, "close", 5) == 0)
		http11 = 0;
	if ((v = find_header(in.buf, "Content-Length")) != NULL)
		clen = strtoll(v, NULL, 10);
	if ((v = find_header(in.buf, "Transfer-Encoding")) != NULL &&
	    strncasecmp(v, "chunked", 7) == 0)
		chunked = 1;
	pos = hlen;
	if (strcmp(rq->method, "HEAD") == 0 || resp->status == 204 ||
	    resp->status == 304) {
		*reusable = keep && http11 && in.len == hlen;
		goto done;
	}

	if (!chunked) {
		for (;;) {
			size_t have = in.len - pos;

			if (clen >= 0 && (long long)have > clen - (long long)resp->body_bytes)
				have = (size_t)(clen - (long long)resp->body_bytes);
			if (have > 0 && (rc = deliver(rq, resp, in.buf + pos,
			    have)) < 0)
				goto out;
			if (clen >= 0 && (long long)resp->body_bytes >= clen) {
				*reusable = keep && http11 &&
				    in.len - pos == have;
				bf_buf_reset(&in);
				break;
			}
			bf_buf_reset(&in);
			pos = 0;
			if ((r = recv_some(fd, &in, tmo)) < 0) {
				rc = (int)r;
				goto neterr;
			}
			if (r == 0) {
				if (clen >= 0) {
					rc = bf_err_set(e, ECONNRESET, "%s:%s: "
					    "response body cut short", u->host,
					    u->port);
					goto out;
				}
				break;
			}
		}
		goto done;
	}
	/* Chunked. */
	for (;;) {
		char *nl, *end;
		unsigned long long csz;

		while ((nl = strstr(in.buf + pos, "\r\n")) == NULL) {
			if ((r = recv_some(fd, &in, tmo)) <= 0) {
				rc = r < 0 ? (int)r : bf_err_set(e, ECONNRESET,
				    "%s:%s: chunked body cut short", u->host,
				    u->port);
				if (r < 0)
					goto neterr;
				goto out;
			}
		}
		csz = strtoull(in.buf + pos, &end, 16);
		if (end == in.buf + pos) {
			rc = bf_err_set(e, BF_EFORMAT, "%s:%s: bad chunk size",
			    u->host, u->port);
			goto out;
		}
		pos = (size_t)(nl - in.buf) + 2;
		if (csz == 0)
			break;
		while (in.len - pos < csz + 2) {
			if ((r = recv_some(fd, &in, tmo)) <= 0) {
				rc = r < 0 ? (int)r : bf_err_set(e, ECONNRESET,
				    "%s:%s: chunked body cut short", u->host,
				    u->port);
				if (r < 0)
					goto neterr;
				goto out;
			}
		}
		if ((rc = deliver(rq, resp, in.buf + pos, (size_t)csz)) < 0)
			goto out;
		pos += (size_t)csz + 2;
		if (pos > 65536) {
			memmove(in.buf, in.buf + pos, in.len - pos);
			bf_buf_setlen(&in, in.len - pos);
			pos = 0;
		}
	}
done:
	rc = bf_buf_error(&resp->body);
	goto out;
neterr:
	errno = -rc;
	rc = bf_err_errno(e, "%s:%s", u->host, u->port);
out:
	if (rc < 0)
		*reusable = 0;
	bf_buf_release(&hdr);
	bf_buf_release(&in);
	return rc;
}

void
bf_http_conn_close(struct bf_http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
bf_http_request(const struct bf_url *u, const struct bf_http_req *rq,
    struct bf_http_resp *resp, struct bf_err *e)
{
	struct bf_http_conn *c = rq->conn;
	struct bf_err first = BF_ERR_INIT;
	int fd, rc, reusable, early;

	if (c != NULL && c->fd >= 0 && (strcmp(c->host, u->host) != 0 ||
	    strcmp(c->port, u->port) != 0))
		bf_http_conn_close(c);	/* the builder moved */
	if (c != NULL && c->fd >= 0) {
		fd = c->fd;
		c->fd = -1;
		rc = exchange(u, rq, resp, fd, 1, &reusable, &early, &first);
		if (rc == 0 || !early) {
			if (reusable)
				c->fd = fd;
			else
				close(fd);
			if (rc < 0 && e != NULL)
				*e = first;
			return rc;
		}
		/* Closed by the server while idle: once more, on a new one. */
		close(fd);
	}
	if ((fd = dial(u, timeout_of(rq), e)) < 0)
		return fd;
	rc = exchange(u, rq, resp, fd, c != NULL, &reusable, &early, e);
	if (c != NULL && reusable) {
		c->fd = fd;
		memcpy(c->host, u->host, sizeof(c->host));
		memcpy(c->port, u->port, sizeof(c->port));
	} else
		close(fd);
	return rc;
}
