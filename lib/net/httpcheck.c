/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Request framing checks; see httpcheck.h for what and why.  The
 * headers are walked once with MHD_get_connection_values_n(), which
 * gives every field line separately (lookups return only the first).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "net/httpcheck.h"
#include "base/banned.h"

struct scan {
	unsigned	 n_host, n_cl, n_te;
	const char	*cl;		/* the first Content-Length */
	size_t		 cl_len;
	int		 cl_differs;
	int		 bad_name;
	int		 bad_host;
	unsigned	 te_chunked;	/* how many times chunked is named */
	int		 te_last_chunked;	/* ... and whether it came last */
	int		 te_other;	/* a coding other than chunked */
};

/* RFC 9110 5.6.2 tchar. */
static int
is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* uri-host [":" port] (RFC 3986), possibly empty; loosely: its characters. */
static int
host_ok(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9'))
			continue;
		if (strchr("-._~!$&'()*+,;=:[]%", ch) == NULL || ch == '\0')
			return 0;
	}
	return 1;
}

/* The codings of one Transfer-Encoding field line, comma-separated. */
static void
scan_te(struct scan *s, const char *v, size_t n)
{
	const char *p = v, *end = v + n, *q, *t;
	size_t len;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			break;
		q = p;
		while (q < end && *q != ',')
			q++;
		/* The coding's name, without parameters or spaces. */
		t = p;
		while (t < q && *t != ';' && *t != ' ' && *t != '\t')
			t++;
		len = (size_t)(t - p);
		if (len == 7 && strncasecmp(p, "chunked", 7) == 0) {
			s->te_chunked++;
			s->te_last_chunked = 1;
		} else {
			s->te_last_chunked = 0;
			s->te_other = 1;
		}
		p = q;
	}
}

static enum MHD_Result
scan_cb(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct scan *s = cls;
	size_t i;

	(void)kind;
	if (key_size == 0)
		s->bad_name = 1;
	for (i = 0; i < key_size; i++)
		if (!is_tchar((unsigned char)key[i]))
			s->bad_name = 1;
	if (value == NULL)
		value_size = 0;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		s->n_host++;
		if (!host_ok(value != NULL ? value : "", value_size))
			s->bad_host = 1;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (s->n_cl++ == 0) {
			s->cl = value;
			s->cl_len = value_size;
		} else if (value_size != s->cl_len || (value_size > 0 &&
		    memcmp(value, s->cl, value_size) != 0))
			s->cl_differs = 1;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		s->n_te++;
		scan_te(s, value != NULL ? value : "", value_size);
	}
	return MHD_YES;
}

int
bf_httpcheck(struct MHD_Connection *c, const char *version, const char **why)
{
	struct scan s;
	/* HTTP/1.1, and any later 1.x libmicrohttpd takes as 1.1. */
	int http11 = version != NULL && strncmp(version, "HTTP/1.", 7) == 0 &&
	    strcmp(version, "HTTP/1.0") != 0;

	memset(&s, 0, sizeof(s));
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_cb, &s);
	if (s.bad_name) {
		*why = "malformed header field name";
		return 400;
	}
	if (s.n_te > 0 && s.n_cl > 0) {
		*why = "both Transfer-Encoding and Content-Length";
		return 400;
	}
	if (s.cl_differs) {
		*why = "conflicting Content-Length headers";
		return 400;
	}
	if (s.n_te > 0 && !http11) {
		*why = "Transfer-Encoding in an HTTP/1.0 request";
		return 400;
	}
	if (s.n_te > 0 && (!s.te_last_chunked || s.te_chunked != 1)) {
		*why = "Transfer-Encoding does not end in one chunked";
		return 400;
	}
	if (s.n_te > 0 && s.te_other) {
		*why = "unsupported transfer coding";
		return 501;
	}
	if (http11 && s.n_host == 0) {
		*why = "HTTP/1.1 request without Host";
		return 400;
	}
	if (s.n_host > 1) {
		*why = "more than one Host header";
		return 400;
	}
	if (s.bad_host) {
		*why = "malformed Host header";
		return 400;
	}
	return 0;
}

int
bf_httpcheck_refuse(struct MHD_Connection *c, int status, const char *why)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char body[160];
	int n;

	n = snprintf(body, sizeof(body), "%d %s\n", status, why);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)strlen(body);
	resp = MHD_create_response_from_buffer((size_t)n, body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
	    "close") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;	/* without it, drop the connection */
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}
