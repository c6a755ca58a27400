/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_HTTP_H
#define BF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct bf_err;

/*
 * The HTTP/1.1 client of binfarm-worker and of the engineer commands
 * talking to binfarm-builder's API: libcurl, over http:// or https://
 * (the server's certificate checked against the system's CAs, or a CA
 * file of the caller's).  One request per connection, or, with a struct
 * bf_http_conn, one kept-alive connection for a caller's successive
 * requests (one CURL easy handle, reused; a request that finds its
 * connection closed by the server goes once more on a new one, as curl
 * does); bodies from memory or from a file descriptor.  Proxy variables
 * (http_proxy, ...) are ignored: the builder is reached directly.
 *
 * libcurl wants curl_global_init() once per process before any thread
 * uses it: bf_http_request() calls it through pthread_once(), the only
 * process-wide state this module has; a program may call
 * bf_http_global_init() in main() before it starts threads.
 */

struct bf_url {
	int	 tls;		/* https:// */
	char	 host[256];
	char	 port[8];
	char	 prefix[256];	/* path prefix without trailing '/', or "" */
	/*
	 * CA file (PEM) that must have signed an https:// server's
	 * certificate, or NULL: the system's CAs.  Borrowed; set it after
	 * bf_url_parse(), which clears it.
	 */
	const char *cacert;
};

/*
 * Parses "http://HOST[:PORT][/PREFIX]" or "https://..." (port 80 or 443
 * by default); -BF_EUSAGE on anything else.
 */
int	bf_url_parse(struct bf_url *u, const char *s, struct bf_err *e);

/* Calls curl_global_init() unless done already; 0 or -BF_EUSAGE. */
int	bf_http_global_init(struct bf_err *e);

/*
 * A persistent connection, owned by one thread at a time: a CURL easy
 * handle (NULL until the first request), which keeps the connection
 * open between requests.  It follows the URL when it changes.
 */
struct bf_http_conn {
	void	*curl;
};

#define BF_HTTP_CONN_INIT { NULL }

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
	int		  timeout_ms;	/* connect, and longest stall; 0: 30 s */
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
 * -ETIMEDOUT, -ECONNRESET, ...) when the server could not be reached or
 * the connection broke, -BF_ECRYPTO when TLS failed (the server's
 * certificate could not be verified, or the server does not speak TLS),
 * -BF_EFORMAT on a malformed response (a TLS server asked for http://).
 */
int	bf_http_request(const struct bf_url *u, const struct bf_http_req *rq,
	    struct bf_http_resp *resp, struct bf_err *e);

#endif
