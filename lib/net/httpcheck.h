/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_HTTPCHECK_H
#define BF_HTTPCHECK_H

/*
 * Request framing checks shared by binfarm-binhost and binfarm-builder
 * (both serve with libmicrohttpd).  A proxy or CDN in front of a daemon
 * and the daemon itself must agree where one request ends and the next
 * begins, or a client can hide a second request inside the first
 * ("request smuggling").  libmicrohttpd 0.9.75 reads a request with both
 * Transfer-Encoding and Content-Length as chunked and keeps the
 * connection open, takes the first of two different Content-Length
 * headers, waits for ever on a body whose last transfer coding is not
 * chunked, and answers HTTP/1.1 without Host.  What it already refuses
 * (a Content-Length that is not a number, "5, 5" lists) is left to it.
 *
 * Refused, with 400 and the connection closed (RFC 9112):
 *   - Transfer-Encoding together with Content-Length (6.3, item 3);
 *   - Transfer-Encoding whose last coding is not "chunked", or with
 *     "chunked" more than once (6.3, item 4; 7.1);
 *   - Transfer-Encoding in an HTTP/1.0 request (6.1);
 *   - two Content-Length headers with different values (6.3, item 5);
 *   - HTTP/1.1 without Host, more than one Host, or a Host that is not
 *     a host[:port] (3.2);
 *   - whitespace or another non-token character in a field name (5.1:
 *     "Content-Length : 5" is a body to a lenient proxy and none here).
 * Transfer codings other than chunked before a final chunked are 501
 * (6.1: not understood), the connection closed as well.
 */

struct MHD_Connection;

/*
 * Checks the head of the request on `c` (call on the access handler's
 * first call for the request, when the headers are in).  Returns 0 if
 * its framing is unambiguous, else the status to answer (400 or 501)
 * with *why set to a static one-line reason.
 */
int	bf_httpcheck(struct MHD_Connection *c, const char *version,
	    const char **why);

/*
 * Queues the answer to a request bf_httpcheck() refused: `status`,
 * "Connection: close" (libmicrohttpd then closes the connection once it
 * is sent, reading nothing more from it), and "<status> <why>\n" as a
 * text/plain body.  Returns libmicrohttpd's result (MHD_YES or MHD_NO)
 * as an int, for the access handler to return.
 */
int	bf_httpcheck_refuse(struct MHD_Connection *c, int status,
	    const char *why);

#endif
