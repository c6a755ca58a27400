/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_HTTP_H
#define BF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct bf_err;

/*
 * A small HTTP/1.1 client over plain TCP sockets, for binfarm-worker and
 * the engineer commands talking to binfarm-builder's API.  One request
 * per connection ("Connection: close"), or, with a struct bf_http_conn,
 * one kept-alive connection for a caller's successive requests (a
 * request that finds it closed by the server goes once more on a new
 * connection, as browsers and curl do); bodies from memory or from a
 * file descriptor; responses with Content-Length, chunked encoding or
 * read to end of stream.  No TLS: put the builder behind a TLS proxy or
 * an SSH tunnel when workers are not on a trusted network.
 *
 * libcurl would do all this and more, but it is not one of the project's
 * libraries, and the API needs only this much.
 */

struct bf_url {
	char	host[256];
	char	port[8];
	char	prefix[256];	/* path prefix without trailing '/', or "" */
};

/* Parses "http://HOST[:PORT][/PREFIX]"; -BF_EUSAGE on anything else. */
int	bf_url_parse(struct bf_url *u, const char *s, struct bf_err *e);

/*
 * A persistent connection, owned by one thread at a time.  fd -1 until
 * a response leaves it open; bf_http_request() reconnects when the URL's
 * host or port changes.
 */
struct bf_http_conn {
	int	fd;
	char	host[256];
	char	port[8];
};

#define BF_HTTP_CONN_INIT { -1, "", "" }

void	bf_http_conn_close(struct bf_http_conn *c);

struct bf_http_req {
	const char	 *method;	/* "GET", "POST", "PUT" */
	const char	 *path;		/* "/v1/status", appended to the prefix */
	const char	 *bearer;	/* token, or NULL */
	const char	 *content_type;	/* or NULL */
	const char	**headers;	/* extra "Name: value", NULL-terminated */
	const void	 *body;		/* body from memory, or ... */
	size_t		  body_len;
	int		  body_fd;	/* ... from this fd when >= 0 */
	int		  out_fd;	/* response body to this fd when >= 0 */
	int		  timeout_ms;	/* per read/write; 0: 30 s */
	struct bf_http_conn *conn;	/* keep-alive connection, or NULL */
};

#define BF_HTTP_REQ_INIT { "GET", "/", NULL, NULL, NULL, NULL, 0, -1, -1, 0, NULL }

struct bf_http_resp {
	int		 status;
	struct bf_buf	 body;		/* unless out_fd was given */
	uint64_t	 body_bytes;
};

void	bf_http_resp_init(struct bf_http_resp *r);
void	bf_http_resp_release(struct bf_http_resp *r);

/*
 * Sends the request and reads the whole response.  Returns 0 when a
 * response was read (whatever its status), -errno (-ECONNREFUSED,
 * -ETIMEDOUT, ...) when the server could not be reached or the
 * connection broke, -BF_EFORMAT on a malformed response.
 */
int	bf_http_request(const struct bf_url *u, const struct bf_http_req *rq,
	    struct bf_http_resp *resp, struct bf_err *e);

#endif
