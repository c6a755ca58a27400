/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP side of binfarm-binhost: the only user of microhttpd.h.
 *
 * libmicrohttpd runs a pool of threads, each with its own epoll set;
 * sendfile() moves file bodies, so a slow client costs a socket and a
 * file descriptor, never a thread.  Each request gets a struct req from
 * the URI callback, is answered on the second call of the access
 * handler (GET and HEAD have no body; see access_cb), and is logged and
 * counted in the completion callback.  304 answers are shared
 * responses from a small cache (struct bh_r304_cache), since they are
 * the same for every client of an index.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "binhost.h"
#include "base/buf.h"
#include "base/err.h"
#include "net/httpcheck.h"
#include "base/log.h"
#include "base/banned.h"

struct fl;

struct req {
	struct timespec	 t0;
	char		*uri;		/* raw request target, for the log */
	const char	*method;	/* static string */
	const char	*version;
	char		 addr[INET6_ADDRSTRLEN];
	char		*user;
	char		*referer;
	char		*agent;
	int		 status;
	int		 seen;		/* the access handler ran once */
	uint64_t	 bytes;
	struct bh_series *series;
	int		 node1;		/* a node's package file: its record + 1 */
	char		*node_file;	/* ... and the file beneath the root */
};

static const char *
reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static char *
dupstr(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	free(r->uri);
	free(r->user);
	free(r->referer);
	free(r->agent);
	free(r->node_file);
	free(r);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The struct bh_conn of `con`, or NULL (none could be allocated). */
static struct bh_conn *
conn_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* The request on `con` is in: the deadline stops until it is answered. */
static void
conn_busy(struct MHD_Connection *con)
{
	struct bh_conn *c = conn_of(con);

	if (c != NULL)
		__atomic_store_n(&c->busy, 1, __ATOMIC_RELEASE);
}

/* Puts a new connection on the deadline's list; NULL without memory. */
static struct bh_conn *
conn_track(struct bh_conns *cs, int fd)
{
	struct bh_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	c->since = now_ms();
	pthread_mutex_lock(&cs->mu);
	c->next = cs->head;
	if (cs->head != NULL)
		cs->head->prev = c;
	cs->head = c;
	cs->n++;
	pthread_mutex_unlock(&cs->mu);
	return c;
}

/* Before the fd is closed or given away: the reaper must not see it. */
static void
conn_untrack(struct bh_conns *cs, struct bh_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cs->n--;
	pthread_mutex_unlock(&cs->mu);
	free(c);
}

static void fl_release(struct fl *fl, const struct sockaddr *sa);

/* MHD_OPTION_NOTIFY_CONNECTION: a connection opens or closes. */
static void
notify_cb(void *cls, struct MHD_Connection *con, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct bh_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* Without memory: no deadline, only the idle timeout. */
		ci = MHD_get_connection_info(con,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL)
			*socket_context = conn_track(&s->conns, ci->connect_fd);
		return;
	}
	conn_untrack(&s->conns, *socket_context);
	*socket_context = NULL;
	if (s->floop != NULL) {
		/* The file loop accepted it and counted it: uncount it. */
		ci = MHD_get_connection_info(con,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		fl_release(s->floop, ci != NULL ? ci->client_addr : NULL);
	}
}

/*
 * Whether the request on c is overdue: 1, or 0.  The reaper runs beside
 * the threads that answer c, so busy and since are read again after the
 * look at the socket's queue: a request answered in between (its head
 * read or peeked past, its answer sent, since moved on) left the queue
 * as empty as silence does.  The writers set since before they clear
 * busy, and busy before they take a head.
 *
 * Bytes the client sent still wait unread in the socket: the delay is
 * ours (threads stalled on a cold page cache, a stopped or starved
 * process, a wave of connections being accepted), not the client's.  A
 * trickling client gets nothing from it: whatever we read of it leaves
 * the queue empty.  Bounded all the same, at 3 deadlines.
 *
 * Left open: libmicrohttpd reads a head before its access handler marks
 * the connection busy; a stall of the reaper's length between the two
 * would still cut that request.
 */
static int
conn_overdue(const struct bh_conns *cs, struct bh_conn *c, int64_t now)
{
	int64_t since, age;
	int unread = 0;

	if (c->reaped || __atomic_load_n(&c->busy, __ATOMIC_ACQUIRE))
		return 0;
	since = __atomic_load_n(&c->since, __ATOMIC_ACQUIRE);
	if ((age = now - since) < cs->limit_ms)
		return 0;
	if (age < 3 * cs->limit_ms && ioctl(c->fd, FIONREAD, &unread) == 0 &&
	    unread > __atomic_load_n(&c->answered, __ATOMIC_ACQUIRE))
		return 0;
	return !__atomic_load_n(&c->busy, __ATOMIC_ACQUIRE) &&
	    __atomic_load_n(&c->since, __ATOMIC_ACQUIRE) == since;
}

/*
 * The reaper: once a second, shuts down the socket of every connection
 * whose request is overdue; libmicrohttpd's thread then sees the
 * connection end and closes it as its own.
 */
static void *
reaper_main(void *arg)
{
	struct bh_server *s = arg;
	struct bh_conns *cs = &s->conns;
	struct bh_conn *c;
	struct timespec ts;
	int64_t now;
	unsigned n;

	pthread_mutex_lock(&cs->mu);
	while (!cs->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&cs->cv, &cs->mu, &ts);
		if (cs->stop)
			break;
		now = now_ms();
		n = 0;
		for (c = cs->head; c != NULL; c = c->next) {
			if (!conn_overdue(cs, c, now))
				continue;
			shutdown(c->fd, SHUT_RDWR);
			c->reaped = 1;
			n++;
		}
		if (n > 0) {
			__atomic_add_fetch(&s->metrics.request_timeouts, n,
			    __ATOMIC_RELAXED);
			/* Not under the lock: connections come and go. */
			pthread_mutex_unlock(&cs->mu);
			log_debug("request-timeout: closed %u connection(s) "
			    "that sent no whole request in %lld s", n,
			    (long long)(cs->limit_ms / 1000));
			pthread_mutex_lock(&cs->mu);
		}
	}
	pthread_mutex_unlock(&cs->mu);
	return NULL;
}

static int
conns_start(struct bh_server *s)
{
	struct bh_conns *cs = &s->conns;
	pthread_condattr_t ca;

	memset(cs, 0, sizeof(*cs));
	cs->limit_ms = (int64_t)s->conf->request_timeout * 1000;
	if (pthread_mutex_init(&cs->mu, NULL) != 0)
		return -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&cs->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&cs->mu);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_create(&cs->reaper, NULL, reaper_main, s) != 0) {
		pthread_cond_destroy(&cs->cv);
		pthread_mutex_destroy(&cs->mu);
		return -1;
	}
	cs->running = 1;
	return 0;
}

/* After libmicrohttpd has stopped: every connection is gone. */
static void
conns_stop(struct bh_server *s)
{
	struct bh_conns *cs = &s->conns;

	if (!cs->running)
		return;
	pthread_mutex_lock(&cs->mu);
	cs->stop = 1;
	pthread_cond_signal(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
	pthread_join(cs->reaper, NULL);
	pthread_cond_destroy(&cs->cv);
	pthread_mutex_destroy(&cs->mu);
	cs->running = 0;
}

/* MHD_OPTION_URI_LOG_CALLBACK: once per request, before the headers. */
static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci;
	struct req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	if (((struct bh_server *)cls)->access_fd < 0)
		return r;	/* what follows is for the access log only */
	/* Bounded: the log line must stay one write(). */
	r->uri = strndup(uri, 4096);
	ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	bf_addr_str(ci != NULL ? ci->client_addr : NULL, r->addr,
	    sizeof(r->addr));
	return r;
}

/* Keep the raw path: serve.c decodes it, once and strictly. */
static size_t
unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

/* Appends `s` to the log line as nginx does: \xHH for what would break it. */
static void
log_str(struct bf_buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0') {
		bf_buf_addch(b, '-');
		return;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			bf_buf_addf(b, "\\x%02X", *p);
		else
			bf_buf_addch(b, *p);
	}
}

static void
access_log(struct bh_server *s, const struct req *r)
{
	struct bf_buf b = BF_BUF_INIT;
	char tbuf[64];
	struct tm tm;
	time_t now = time(NULL);
	ssize_t w;

	localtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%d/%b/%Y:%H:%M:%S %z", &tm);
	/* host ident user [time] "request" status bytes "referer" "agent" */
	bf_buf_addf(&b, "%s - ", r->addr);
	log_str(&b, r->user);
	bf_buf_addf(&b, " [%s] \"%s ", tbuf, r->method != NULL ? r->method : "-");
	log_str(&b, r->uri);
	bf_buf_addf(&b, " %s\" %d %" PRIu64 " \"", r->version != NULL ?
	    r->version : "-", r->status, r->bytes);
	log_str(&b, r->referer);
	bf_buf_adds(&b, "\" \"");
	log_str(&b, r->agent);
	bf_buf_adds(&b, "\"\n");
	if (bf_buf_error(&b) == 0) {
		/* One write(2) per line: O_APPEND keeps lines whole. */
		w = write(__atomic_load_n(&s->access_fd, __ATOMIC_RELAXED),
		    b.buf, b.len);
		(void)w;
	}
	bf_buf_release(&b);
}

static void
completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct bh_server *s = cls;
	struct req *r = *con_cls;
	struct bh_conn *c = conn_of(con);
	struct timespec t1;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (c != NULL) {
		/* The next request's deadline runs from here. */
		__atomic_store_n(&c->since, (int64_t)t1.tv_sec * 1000 +
		    t1.tv_nsec / 1000000, __ATOMIC_RELAXED);
		__atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
	}
	if (r == NULL)
		return;
	*con_cls = NULL;
	if (r->status != 0) {
		ns = (uint64_t)(t1.tv_sec - r->t0.tv_sec) * 1000000000ULL +
		    (uint64_t)(t1.tv_nsec - r->t0.tv_nsec);
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			r->bytes = 0;
		bh_metrics_count(r->series != NULL ? r->series :
		    &s->metrics.other, r->status, r->bytes, ns);
		if (r->node1 > 0 && r->status == 200 && r->bytes > 0)
			bh_fleet_sent(&s->fleet, r->node1 - 1, r->node_file,
			    r->bytes);
		if (s->access_fd >= 0)
			access_log(s, r);
	}
	req_free(r);
}

/* Builds an RFC 7231 IMF-fixdate. */
static void
http_date(time_t t, char *buf, size_t n)
{
	struct tm tm;
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};

	gmtime_r(&t, &tm);
	snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Parses the three HTTP-date forms; -1 if none matches. */
static time_t
parse_http_date(const char *s)
{
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT",	/* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT",	/* RFC 850 */
		"%a %b %e %H:%M:%S %Y",		/* asctime */
	};
	struct tm tm;
	const char *end;
	size_t i;

	if (s == NULL || strlen(s) > 64)
		return -1;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end != NULL && *end == '\0')
			return timegm(&tm);
	}
	return -1;
}

/* Does the If-None-Match list `inm` hold `etag` (weak comparison)? */
static int
etag_match(const char *inm, const char *etag)
{
	const char *p = inm, *q;
	size_t n = strlen(etag);

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		q = p;
		while (*q != '\0' && *q != ',')
			q++;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if ((size_t)(q - p) == n && memcmp(p, etag, n) == 0)
			return 1;
		p = q;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/* Parses a decimal, saturating at UINT64_MAX; NULL if no digit. */
static const char *
parse_u64(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	const char *start = p;

	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
		p++;
	}
	*v = x;
	return p == start ? NULL : p;
}

enum { RANGE_NONE, RANGE_ONE, RANGE_UNSAT };

/*
 * A single "bytes=first-last", "bytes=first-" or "bytes=-suffix".  A
 * malformed header, an inverted range and a list of several ranges are
 * answered with the whole file, as RFC 9110 allows.
 */
static int
parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	uint64_t a, b;
	const char *p;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0)
		return RANGE_NONE;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (strchr(p, ',') != NULL)
		return RANGE_NONE;
	if (*p == '-') {
		if ((p = parse_u64(p + 1, &b)) == NULL)
			return RANGE_NONE;
		while (*p == ' ')
			p++;
		if (*p != '\0')
			return RANGE_NONE;
		if (b == 0 || size == 0)
			return RANGE_UNSAT;
		if (b > size)
			b = size;
		*off = size - b;
		*len = b;
		return RANGE_ONE;
	}
	if ((p = parse_u64(p, &a)) == NULL || *p != '-')
		return RANGE_NONE;
	p++;
	if (*p >= '0' && *p <= '9') {
		if ((p = parse_u64(p, &b)) == NULL)
			return RANGE_NONE;
		if (b < a)
			return RANGE_NONE;
	} else
		b = UINT64_MAX;
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSAT;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return RANGE_ONE;
}

static enum MHD_Result
queue(struct req *r, struct MHD_Connection *con, int status,
    struct MHD_Response *resp, uint64_t bytes)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	r->status = status;
	r->bytes = bytes;
	ret = MHD_queue_response(con, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const struct sockaddr *
client_sa(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL ? ci->client_addr : NULL;
}

/* A wrong credential from con's address (auth-failures). */
static void
penalty_fail(struct bh_server *s, struct MHD_Connection *con,
    const char *what)
{
	const struct sockaddr *sa = client_sa(con);
	char a[INET6_ADDRSTRLEN + 4];

	if (bf_penalty_fail(&s->penalty, sa, time(NULL)))
		log_warnx("auth-failures: %lld %s from %s within %d s: every "
		    "request from it with credentials is refused for %lld s",
		    s->conf->auth_failures, what, bf_penalty_source(sa, a,
		    sizeof(a)), BF_PENALTY_WINDOW, s->conf->auth_penalty);
}

/* 429: con's address is under a penalty for `left` more seconds. */
static enum MHD_Result
penalised(struct req *r, struct MHD_Connection *con, unsigned left,
    int is_head)
{
	static const char body[] = "429 Too Many Requests: too many wrong "
	    "credentials from this address\n";
	struct MHD_Response *resp;
	char ra[16];

	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	snprintf(ra, sizeof(ra), "%u", left);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	return queue(r, con, 429, resp, is_head ? 0 : sizeof(body) - 1);
}

static enum MHD_Result
queue_error(struct req *r, struct MHD_Connection *con, int status,
    int is_head)
{
	struct MHD_Response *resp;
	char body[64];
	size_t n;

	n = (size_t)snprintf(body, sizeof(body), "%d %s\n", status,
	    reason(status));
	resp = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == 503)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	return queue(r, con, status, resp, is_head ? 0 : n);
}

/* The three validator headers of t, as strings. */
struct validators {
	char		 etag[96];
	char		 lm[64];
	char		 cc[96];
};

static void
make_validators(struct bh_server *s, const struct bh_target *t,
    struct validators *v)
{
	snprintf(v->etag, sizeof(v->etag), "\"%llx-%llx-%llx\"",
	    (unsigned long long)t->st.st_ino,
	    (unsigned long long)t->st.st_size,
	    (unsigned long long)t->lm * 1000000000ULL +
	    (unsigned long long)t->st.st_mtim.tv_nsec);
	http_date(t->lm, v->lm, sizeof(v->lm));
	if (t->immutable)
		snprintf(v->cc, sizeof(v->cc), "public, max-age=%lld, immutable",
		    s->conf->file_max_age);
	else
		snprintf(v->cc, sizeof(v->cc), "public, max-age=%lld",
		    s->conf->index_max_age);
}

static int
r304_match(const struct bh_r304 *e, const struct bh_target *t)
{
	return e->resp != NULL && e->ino == t->st.st_ino &&
	    e->size == t->st.st_size && e->lm == t->lm &&
	    e->nsec == t->st.st_mtim.tv_nsec && e->immutable == t->immutable;
}

/*
 * The validators of t from the 304 cache, or made and cached with a new
 * 304 response.  Returns the entry with c->mu held (the caller queues
 * its response and unlocks), or NULL unlocked when a response could not
 * be made (v is filled in either way).
 */
static struct bh_r304 *
r304_get(struct bh_server *s, const struct bh_target *t, struct validators *v)
{
	struct bh_r304_cache *c = &s->r304;
	struct bh_r304 *e, *victim;
	struct MHD_Response *resp;
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < BH_R304_MAX; i++) {
		e = &c->v[i];
		if (r304_match(e, t)) {
			e->used = ++c->clock;
			memcpy(v->etag, e->etag, sizeof(v->etag));
			memcpy(v->lm, e->lm_str, sizeof(v->lm));
			memcpy(v->cc, e->cc, sizeof(v->cc));
			return e;
		}
	}
	pthread_mutex_unlock(&c->mu);

	/* Made outside the lock; another thread may store the same. */
	make_validators(s, t, v);
	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, v->etag) !=
	    MHD_YES || MHD_add_response_header(resp,
	    MHD_HTTP_HEADER_LAST_MODIFIED, v->lm) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    v->cc) != MHD_YES) {
		MHD_destroy_response(resp);
		return NULL;
	}
	pthread_mutex_lock(&c->mu);
	/* A free slot, else the least recently used. */
	victim = &c->v[0];
	for (i = 0; i < BH_R304_MAX; i++) {
		e = &c->v[i];
		if (e->resp == NULL) {
			victim = e;
			break;
		}
		if (e->used < victim->used)
			victim = e;
	}
	/* Connections it is queued on hold their own references. */
	if (victim->resp != NULL)
		MHD_destroy_response(victim->resp);
	victim->resp = resp;
	victim->used = ++c->clock;
	victim->ino = t->st.st_ino;
	victim->size = t->st.st_size;
	victim->lm = t->lm;
	victim->nsec = t->st.st_mtim.tv_nsec;
	victim->immutable = t->immutable;
	memcpy(victim->etag, v->etag, sizeof(v->etag));
	memcpy(victim->lm_str, v->lm, sizeof(v->lm));
	memcpy(victim->cc, v->cc, sizeof(v->cc));
	return victim;
}

static void
r304_init(struct bh_r304_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
}

static void
r304_release(struct bh_r304_cache *c)
{
	size_t i;

	for (i = 0; i < BH_R304_MAX; i++)
		if (c->v[i].resp != NULL)
			MHD_destroy_response(c->v[i].resp);
	pthread_mutex_destroy(&c->mu);
	memset(c, 0, sizeof(*c));
}

/* Is the request's If-Modified-Since not earlier than lm? */
static int
not_modified_since(const char *ims, time_t lm, const char *lm_str)
{
	time_t since;

	/* What a client sends back is most often our own string. */
	if (strcmp(ims, lm_str) == 0)
		return 1;
	return (since = parse_http_date(ims)) != -1 && lm <= since;
}

static enum MHD_Result
serve_file(struct bh_server *s, struct req *r, struct MHD_Connection *con,
    struct bh_target *t, int is_head)
{
	struct MHD_Response *resp;
	struct bh_r304 *e;
	struct validators v;
	char cr[96];
	const char *inm, *ims, *range, *ifr;
	uint64_t size, off = 0, len;
	int status = 200, rk = RANGE_NONE, fd, rc;
	enum MHD_Result ret;

	if (t->index >= 0 && t->kind != BH_NODE)
		t->lm = bh_metrics_index_lm(r->series, t->index, t->snap_id,
		    t->lm);

	/* RFC 9110 13.2.2: If-None-Match first, then If-Modified-Since. */
	inm = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	ims = inm != NULL ? NULL : MHD_lookup_connection_value(con,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	if (inm != NULL || ims != NULL) {
		/* e, if not NULL, comes with the cache's lock held. */
		e = r304_get(s, t, &v);
		if ((inm != NULL && etag_match(inm, v.etag)) ||
		    (ims != NULL && not_modified_since(ims, t->lm, v.lm))) {
			if (t->fd >= 0)
				close(t->fd);
			t->fd = -1;
			if (e == NULL)
				return MHD_NO;
			r->status = 304;
			r->bytes = 0;
			ret = MHD_queue_response(con, MHD_HTTP_NOT_MODIFIED,
			    e->resp);
			pthread_mutex_unlock(&s->r304.mu);
			return ret;
		}
		if (e != NULL)
			pthread_mutex_unlock(&s->r304.mu);
	} else
		make_validators(s, t, &v);

	if (t->lazy) {
		/*
		 * The body is wanted: open the snapshot this request
		 * resolved to, and take the validators from the file.
		 */
		if ((rc = bh_target_open(s, t)) != 200)
			return queue_error(r, con, rc, is_head);
		t->lm = bh_metrics_index_lm(r->series, t->index, t->snap_id,
		    t->lm);
		make_validators(s, t, &v);
	}
	fd = t->fd;
	size = (uint64_t)t->st.st_size;
	len = size;

	range = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE);
	ifr = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_RANGE);
	if (range != NULL && (ifr == NULL || strcmp(ifr, v.etag) == 0 ||
	    strcmp(ifr, v.lm) == 0))
		rk = parse_range(range, size, &off, &len);
	if (rk == RANGE_UNSAT) {
		close(fd);
		t->fd = -1;
		resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return MHD_NO;
		snprintf(cr, sizeof(cr), "bytes */%llu",
		    (unsigned long long)size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES,
		    "bytes");
		return queue(r, con, 416, resp, 0);
	}
	if (rk == RANGE_ONE) {
		status = 206;
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
		    (unsigned long long)off, (unsigned long long)(off + len - 1),
		    (unsigned long long)size);
	}
	/* The response owns fd from here: MHD closes it. */
	resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
	t->fd = -1;
	if (resp == NULL) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, t->ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, v.lm);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, v.etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, v.cc);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (status == 206)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	return queue(r, con, status, resp, is_head ? 0 : len);
}

static enum MHD_Result
serve_text(struct req *r, struct MHD_Connection *con, struct bf_buf *body,
    const char *ctype, int is_head)
{
	struct MHD_Response *resp;
	size_t len = body->len;
	char *p;

	if (bf_buf_error(body) < 0 || (p = bf_buf_detach(body, &len)) == NULL)
		return queue_error(r, con, 503, is_head);
	resp = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(p);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return queue(r, con, 200, resp, is_head ? 0 : len);
}

static enum MHD_Result
auth_fail(const char *realm, struct req *r, struct MHD_Connection *con,
    int is_head)
{
	static const char body[] = "401 Unauthorized\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	r->status = 401;
	r->bytes = is_head ? 0 : sizeof(body) - 1;
	ret = MHD_queue_basic_auth_fail_response(con, realm, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A node URL's request: the node is the log's user; its files are counted. */
static void
node_req(struct req *r, const struct bh_target *t)
{
	free(r->user);
	r->user = strdup(t->node_name);
	if (t->index < 0 && t->immutable) {	/* a package file */
		r->node1 = t->node + 1;
		r->node_file = strdup(t->rel);
	}
}

static enum MHD_Result
count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	(*(unsigned *)cls)++;
	return MHD_YES;
}

/*
 * A raw NUL byte in the request target ("GET /a\0/../b HTTP/1.1"):
 * libmicrohttpd 0.9.75 keeps the request line in one buffer, cuts the
 * target at the space before the version and hands us a C string, so
 * the target was cut short by a NUL exactly when, with no query string,
 * the version does not start right after the string we got.
 */
static int
nul_in_target(struct MHD_Connection *con, const char *url,
    const char *version)
{
	uintptr_t after = (uintptr_t)url + strlen(url) + 1;
	uintptr_t v = (uintptr_t)version;
	unsigned nargs = 0;

	if (v < after || v - after > 65536)
		return 0;	/* not laid out as expected: no opinion */
	MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, count_arg,
	    &nargs);
	return nargs == 0 && v != after;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct bh_server *s = cls;
	struct req *r = *con_cls;
	struct bh_target t;
	struct bf_buf body = BF_BUF_INIT;
	char *user = NULL, *pass = NULL;
	const char *authz;
	unsigned left;
	int is_head, is_get, status, ok;
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;		/* out of memory in uri_cb */
	if (r->status != 0) {
		/* A request body after our answer: discard it. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	/*
	 * libmicrohttpd 0.9.75 closes the connection after a response
	 * queued on the first call (it has not read a body yet), so
	 * answer on the second: keep-alive matters to a fleet.
	 */
	is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (!r->seen) {
		const char *why;

		r->seen = 1;
		/*
		 * Framing a proxy in front could read otherwise (request
		 * smuggling): 400 and close, before any body is read.
		 */
		if ((status = bf_httpcheck(con, version, &why)) != 0) {
			r->method = is_get ? (method[0] == 'G' ? "GET" :
			    "HEAD") : "-";
			r->version = strcmp(version, "HTTP/1.1") == 0 ?
			    "HTTP/1.1" : strcmp(version, "HTTP/1.0") == 0 ?
			    "HTTP/1.0" : "-";
			r->status = status;
			r->bytes = strlen(why) + 5;
			r->series = &s->metrics.other;
			conn_busy(con);
			return (enum MHD_Result)bf_httpcheck_refuse(con, status,
			    why);
		}
		if (is_get)
			return MHD_YES;
		/* Other methods: refuse now, before reading any body. */
	} else if (*upload_data_size != 0) {
		*upload_data_size = 0;	/* a body on a GET: ignore it */
		return MHD_YES;
	}
	/* The whole request is in, in time: it is answered now. */
	conn_busy(con);
	r->method = strcmp(method, "GET") == 0 ? "GET" :
	    strcmp(method, "HEAD") == 0 ? "HEAD" : "-";
	r->version = strcmp(version, "HTTP/1.1") == 0 ? "HTTP/1.1" :
	    strcmp(version, "HTTP/1.0") == 0 ? "HTTP/1.0" : "-";
	if (s->access_fd >= 0) {
		r->referer = dupstr(MHD_lookup_connection_value(con,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_REFERER));
		r->agent = dupstr(MHD_lookup_connection_value(con,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT));
	}
	r->series = &s->metrics.other;
	is_head = r->method[0] == 'H';
	if (r->method[0] == '-')
		return queue_error(r, con, 405, 0);
	/*
	 * No version: HTTP/0.9, or a request line cut short by a NUL byte
	 * ("GET /a\0/../b HTTP/1.1" reaches us as "/a" with no version).
	 */
	if (r->version[0] == '-' || nul_in_target(con, url, version))
		return queue_error(r, con, 400, is_head);

	/*
	 * An address under a penalty for wrong credentials: whatever it
	 * presents is not looked at.  Without credentials, as anyone.
	 */
	authz = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (authz != NULL && (left = bf_penalty_check(&s->penalty,
	    client_sa(con), time(NULL))) > 0)
		return penalised(r, con, left, is_head);
	status = bh_resolve(s, url, authz, &t);
	if (t.deny) {
		if (authz != NULL)
			penalty_fail(s, con, "wrong node credentials");
		return auth_fail(BH_NODE_REALM, r, con, is_head);
	}
	if (t.node >= 0)
		node_req(r, &t);
	if (t.series != NULL)
		r->series = t.series;
	else if (t.channel[0] != '\0')
		r->series = bh_metrics_series(&s->metrics, t.channel,
		    t.profile);

	/*
	 * Basic auth on everything but /healthz, checked after resolving
	 * so the metrics know the channel, and before any answer that
	 * would tell an anonymous client whether a path exists.
	 */
	if (s->auth_on && t.kind != BH_NODE &&
	    !(status == 200 && t.kind == BH_HEALTHZ)) {
		user = MHD_basic_auth_get_username_password(con, &pass);
		ok = bh_auth_check(&s->auth, user, pass);
		if (user != NULL && ok)
			r->user = strdup(user);
		if (pass != NULL) {
			explicit_bzero(pass, strlen(pass));
			MHD_free(pass);
		}
		if (user != NULL)
			MHD_free(user);
		if (!ok) {
			if (t.fd >= 0)
				close(t.fd);
			if (authz != NULL)
				penalty_fail(s, con, "wrong credentials");
			return auth_fail(s->auth.realm, r, con, is_head);
		}
	}
	if (status != 200)
		return queue_error(r, con, status, is_head);
	switch (t.kind) {
	case BH_HEALTHZ:
		bf_buf_adds(&body, "ok\n");
		return serve_text(r, con, &body, "text/plain; charset=utf-8",
		    is_head);
	case BH_METRICS:
		bh_metrics_render(&s->metrics, &body, bh_http_connections(s));
		bh_chan_cache_render(&s->chans, &body);
		bh_fleet_render(&s->fleet, &body);
		bh_metrics_render_penalty(&s->penalty, &body);
		ret = serve_text(r, con, &body,
		    "text/plain; version=0.0.4; charset=utf-8", is_head);
		bf_buf_release(&body);
		return ret;
	default:
		return serve_file(s, r, con, &t, is_head);
	}
}

/*
 * The file loop: plain-HTTP GET and HEAD of the files we serve, outside
 * libmicrohttpd.
 *
 * libmicrohttpd 0.9.75 sends a file response as a head alone, then the
 * body in sendfile() steps of at most 128 KiB with a poll in between,
 * corking and uncorking the socket around them: per package file of
 * 128-500 KB 13 system calls and three or four packets, each with its
 * wake-up of the client, where nginx needs 9 calls and one push.  No
 * option changes that.  So these threads accept the connections
 * themselves and answer the requests that are nothing but a GET or
 * HEAD of an index or package file the way nginx does: the head with
 * MSG_MORE, then one sendfile() for as much of the body as the socket
 * takes.  Anything else is handed, untouched, to libmicrohttpd.
 *
 * A request is read with MSG_PEEK first; only once it is known to be
 * ours (a whole head in the socket, of the plain form below, naming a
 * file that opens) is it taken.  Where the kernel has SO_PEEK_OFF for
 * TCP (Linux 6.9), taking it costs no system call: the peek offset has
 * moved past it, the next peek sees the next request, and the heads
 * answered stay in the socket until FL_ANSWERED_MAX bytes of them, a
 * hand-over or a close drain them with one recv().  Elsewhere each head
 * is read out with a second recv().  Otherwise the connection, with the
 * request still unread in its socket, goes to libmicrohttpd with
 * MHD_add_connection() for the rest of its life, and is checked and
 * answered there as before: the framing checks (lib/httpcheck.c),
 * errors, conditional and range requests, /metrics, a head that came in
 * pieces.  The plain form is a strict subset of what those checks let
 * through: "GET" or "HEAD", an origin-form target of visible ASCII
 * without a query, HTTP/1.1, field names of token characters, values of
 * visible ASCII, space and tab, exactly one Host of host characters,
 * no Content-Length, Transfer-Encoding, Expect, Range, If-*, Upgrade
 * or Connection other than keep-alive or close.
 *
 * The limits hold for both halves: every connection is counted against
 * max-connections and max-connections-per-ip when it is accepted (here)
 * and released when it closes (here, or in notify_cb); every one is on
 * the request deadline's list; a connection on which nothing moves for
 * connection-timeout seconds is closed.  Not used with TLS or Basic
 * auth: libmicrohttpd does all then.
 */

#define FL_BUF		8192	/* a request head, as libmicrohttpd's pool */
#define FL_ANSWERED_MAX	(FL_BUF / 2)	/* answered heads left unread */
#define FL_EVENTS	64

struct fl_ipcount {
	struct fl_ipcount *next;
	unsigned char	 a[16];
	unsigned	 n;
};

#define FL_IPBUCKETS	1024

struct fconn {
	struct fconn	*prev, *next;	/* the thread's connections */
	int		 fd;
	int		 file;		/* the body's fd, or -1 */
	int		 fent;		/* file's entry in th->fc, or -1 */
	uint64_t	 off, left;	/* body still to send */
	size_t		 hlen, hsent;	/* response head */
	int		 sending;
	int		 keep;		/* keep-alive after this response */
	int		 rd_pending;	/* readable while sending */
	size_t		 more;		/* bytes after the head just taken */
	size_t		 answered;	/* heads taken, left in the socket */
	int		 peekoff;	/* SO_PEEK_OFF is on */
	int64_t		 active;	/* monotonic ms of the last progress */
	struct bh_conn	*bc;		/* on the request deadline's list */
	struct sockaddr_storage addr;
	socklen_t	 alen;
	struct req	 r;		/* the request being answered */
	struct bh_series *series;
	char		 head[1024];
};

struct fl_thread {
	pthread_t	 th;
	int		 ep;
	int		 evfd;		/* wakes the thread to stop */
	int		 started;
	struct fl	*fl;
	struct fconn	*head;
	unsigned	 nconn;		/* connections it holds or is given */
	pthread_mutex_t	 inmu;
	struct fconn	*inbox;		/* accepted by another thread for it */
	int64_t		 scanned;
	int64_t		 lpause;	/* out of fds: accept again from then */
	time_t		 date_t;
	char		 date[64];
	struct bh_fcache fc;		/* open package files */
	char		 buf[FL_BUF + 1];
};

struct fl {
	struct bh_server *s;
	int		 lfd;
	int		 quiesced;
	int		 stop;
	unsigned	 total;		/* all open connections, both halves */
	unsigned	 max_total;
	unsigned	 max_per_ip;
	int		 no_peekoff;	/* the kernel has no SO_PEEK_OFF for TCP */
	int64_t		 timeout_ms;	/* connection-timeout */
	pthread_mutex_t	 ipmu;
	struct fl_ipcount *ip[FL_IPBUCKETS];
	size_t		 nthreads;
	struct fl_thread *t;
};

static char fl_listen_tag, fl_wake_tag;

/* The address as 16 bytes (IPv4 mapped), or -1 for another family. */
static int
fl_ipkey(const struct sockaddr *sa, unsigned char k[16])
{
	memset(k, 0, 16);
	if (sa->sa_family == AF_INET) {
		k[10] = k[11] = 0xff;
		memcpy(k + 12, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(k, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return 0;
	}
	return -1;
}

static unsigned
fl_iphash(const unsigned char k[16])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for (i = 0; i < 16; i++) {
		h ^= k[i];
		h *= 0x100000001b3ULL;
	}
	return (unsigned)(h % FL_IPBUCKETS);
}

/* Counts a connection from sa; 0, or -1 when over the limits. */
static int
fl_admit(struct fl *fl, const struct sockaddr *sa)
{
	struct fl_ipcount *c, **pp;
	unsigned char k[16];

	if (__atomic_add_fetch(&fl->total, 1, __ATOMIC_RELAXED) >
	    fl->max_total) {
		__atomic_sub_fetch(&fl->total, 1, __ATOMIC_RELAXED);
		return -1;
	}
	if (fl->max_per_ip == 0 || fl_ipkey(sa, k) < 0)
		return 0;
	pthread_mutex_lock(&fl->ipmu);
	pp = &fl->ip[fl_iphash(k)];
	for (c = *pp; c != NULL; c = c->next)
		if (memcmp(c->a, k, 16) == 0)
			break;
	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		memcpy(c->a, k, 16);
		c->next = *pp;
		*pp = c;
	}
	if (c == NULL || c->n >= fl->max_per_ip) {
		pthread_mutex_unlock(&fl->ipmu);
		__atomic_sub_fetch(&fl->total, 1, __ATOMIC_RELAXED);
		return -1;
	}
	c->n++;
	pthread_mutex_unlock(&fl->ipmu);
	return 0;
}

/* A connection admitted by fl_admit() is closed, by either half. */
static void
fl_release(struct fl *fl, const struct sockaddr *sa)
{
	struct fl_ipcount *c, **pp;
	unsigned char k[16];

	__atomic_sub_fetch(&fl->total, 1, __ATOMIC_RELAXED);
	if (fl->max_per_ip == 0 || sa == NULL || fl_ipkey(sa, k) < 0)
		return;
	pthread_mutex_lock(&fl->ipmu);
	for (pp = &fl->ip[fl_iphash(k)]; (c = *pp) != NULL; pp = &c->next) {
		if (memcmp(c->a, k, 16) != 0)
			continue;
		if (--c->n == 0) {
			*pp = c->next;
			free(c);
		}
		break;
	}
	pthread_mutex_unlock(&fl->ipmu);
}

static void
fl_text_free(struct req *r)
{
	free(r->uri);
	free(r->referer);
	free(r->agent);
	free(r->user);
	free(r->node_file);
	r->uri = r->referer = r->agent = r->user = r->node_file = NULL;
	r->node1 = 0;
}

/* A response's file: back to the thread's cache, or closed. */
static void
fl_file_put(struct fl_thread *th, int fd, int fent)
{
	if (fent >= 0)
		bh_fcache_unuse(&th->fc, fent);
	else if (fd >= 0)
		close(fd);
}

/*
 * Opens the package file t resolved to (BH_RESOLVE_DEFER), from the
 * thread's cache when it holds it: 200 with t->fd, t->st and *fent set
 * (-1: t->fd is not in the cache), or bh_target_open()'s error status.
 */
static int
fl_file_get(struct fl_thread *th, struct bh_target *t, int *fent)
{
	uint64_t hash = bh_fnv1a(t->rel, 0xcbf29ce484222325ULL);
	time_t now = time(NULL);
	int i, rc;

	if ((i = bh_fcache_get(&th->fc, t, hash, now)) >= 0) {
		__atomic_add_fetch(&th->fl->s->metrics.fcache_hits, 1,
		    __ATOMIC_RELAXED);
		t->fd = th->fc.v[i].fd;
		t->st = th->fc.v[i].st;
		t->lm = t->st.st_mtime;
		t->lazy = 0;
		*fent = i;
		return 200;
	}
	if ((rc = bh_target_open(th->fl->s, t)) != 200)
		return rc;
	__atomic_add_fetch(&th->fl->s->metrics.fcache_misses, 1,
	    __ATOMIC_RELAXED);
	*fent = bh_fcache_put(&th->fc, t, hash, now);
	return 200;
}

/* Leaves the thread's list and the deadline's; the fd stays open. */
static void
fl_detach(struct fl_thread *th, struct fconn *c)
{
	__atomic_sub_fetch(&th->nconn, 1, __ATOMIC_RELAXED);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		th->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_untrack(&th->fl->s->conns, c->bc);
	c->bc = NULL;
	fl_file_put(th, c->file, c->fent);
	c->file = c->fent = -1;
	fl_text_free(&c->r);
}

/* The response in flight ends (done or not): metrics and the log line. */
static void
fl_done(struct fl_thread *th, struct fconn *c, int ok)
{
	struct bh_server *s = th->fl->s;
	struct timespec t1;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ok)
		c->r.bytes = 0;
	ns = (uint64_t)(t1.tv_sec - c->r.t0.tv_sec) * 1000000000ULL +
	    (uint64_t)(t1.tv_nsec - c->r.t0.tv_nsec);
	bh_metrics_count(c->series, c->r.status, c->r.bytes, ns);
	if (c->r.node1 > 0 && c->r.bytes > 0)
		bh_fleet_sent(&s->fleet, c->r.node1 - 1, c->r.node_file,
		    c->r.bytes);
	__atomic_add_fetch(&s->metrics.floop_requests, 1, __ATOMIC_RELAXED);
	if (s->access_fd >= 0)
		access_log(s, &c->r);
	fl_text_free(&c->r);
	fl_file_put(th, c->file, c->fent);
	c->file = c->fent = -1;
	c->sending = 0;
	c->active = (int64_t)t1.tv_sec * 1000 + t1.tv_nsec / 1000000;
	if (c->bc != NULL) {
		/* The next request's deadline runs from here. */
		__atomic_store_n(&c->bc->since, c->active, __ATOMIC_RELAXED);
		__atomic_store_n(&c->bc->busy, 0, __ATOMIC_RELEASE);
	}
}

/*
 * Reads out the heads answered but left in the socket (SO_PEEK_OFF):
 * 0, or -1 (the connection failed).  Before a hand-over, so that
 * libmicrohttpd reads the next request first, and before a close, which
 * with bytes unread would reset the connection and could lose the end
 * of the last response on its way to the client.
 */
static int
fl_drain(struct fl_thread *th, struct fconn *c)
{
	ssize_t n;

	/*
	 * Zero first: the reaper, comparing the queue with it meanwhile,
	 * sees more unread than answered and waits, never the reverse.
	 */
	if (c->bc != NULL)
		__atomic_store_n(&c->bc->answered, 0, __ATOMIC_RELEASE);
	while (c->answered > 0) {
		n = recv(c->fd, th->buf, c->answered < FL_BUF ? c->answered :
		    FL_BUF, 0);
		if (n <= 0)
			return -1;
		c->answered -= (size_t)n;
	}
	return 0;
}

static void
fl_close(struct fl_thread *th, struct fconn *c)
{
	if (c->sending)
		fl_done(th, c, 0);
	fl_drain(th, c);
	fl_detach(th, c);
	close(c->fd);
	fl_release(th->fl, (struct sockaddr *)&c->addr);
	free(c);
}

/* The connection, its request unread, goes to libmicrohttpd. */
static void
fl_handoff(struct fl_thread *th, struct fconn *c)
{
	struct fl *fl = th->fl;
	int fd = c->fd, off = -1;

	if (c->peekoff && (fl_drain(th, c) < 0 || setsockopt(fd, SOL_SOCKET,
	    SO_PEEK_OFF, &off, sizeof(off)) < 0)) {
		fl_close(th, c);
		return;
	}
	epoll_ctl(th->ep, EPOLL_CTL_DEL, fd, NULL);
	fl_detach(th, c);
	__atomic_add_fetch(&fl->s->metrics.floop_handoffs, 1,
	    __ATOMIC_RELAXED);
	/* Still counted: notify_cb releases it when libmicrohttpd closes it. */
	if (MHD_add_connection(fl->s->mhd, fd, (struct sockaddr *)&c->addr,
	    c->alen) != MHD_YES)
		fl_release(fl, (struct sockaddr *)&c->addr);	/* closed */
	free(c);
}

static int
fl_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int
fl_hostchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("-._~!$&'()*+,;=:[]%", ch) != NULL;
}

static int
fl_name(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* What the plain form of a request head gave. */
struct fl_req {
	int		 head;		/* HEAD, else GET */
	int		 close;		/* Connection: close */
	const char	*target;
	size_t		 target_len;
	const char	*referer, *agent, *authz;
	size_t		 referer_len, agent_len, authz_len;
};

/*
 * Is buf[0..n) (a whole head, through its blank line) of the plain form
 * (see above)?  0 and q filled in, or -1: libmicrohttpd's.
 */
static int
fl_parse(const char *buf, size_t n, struct fl_req *q)
{
	const char *p = buf, *end = buf + n - 2, *eol, *v, *ve, *x;
	unsigned hosts = 0;
	size_t k;

	memset(q, 0, sizeof(*q));
	if (n > 4 && memcmp(p, "GET ", 4) == 0)
		p += 4;
	else if (n > 5 && memcmp(p, "HEAD ", 5) == 0) {
		q->head = 1;
		p += 5;
	} else
		return -1;
	if (*p != '/')
		return -1;
	q->target = p;
	while (p < end && *p != ' ') {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '?' || *p == '#')
			return -1;
		p++;
	}
	q->target_len = (size_t)(p - q->target);
	if (q->target_len > BH_PATH_MAX || end - p < 10 ||
	    memcmp(p, " HTTP/1.1\r\n", 11) != 0)
		return -1;
	p += 11;
	while (p < end) {
		if ((eol = memchr(p, '\r', (size_t)(end - p) + 1)) == NULL ||
		    eol[1] != '\n')
			return -1;
		for (k = 0; p + k < eol && p[k] != ':'; k++)
			if (!fl_tchar((unsigned char)p[k]))
				return -1;
		if (k == 0 || p + k == eol)
			return -1;
		v = p + k + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (x = v; x < ve; x++)
			if (((unsigned char)*x < 0x20 && *x != '\t') ||
			    (unsigned char)*x >= 0x7f)
				return -1;
		if (fl_name(p, k, "Host")) {
			for (x = v; x < ve; x++)
				if (!fl_hostchar((unsigned char)*x))
					return -1;
			hosts++;
		} else if (fl_name(p, k, "Connection")) {
			if ((size_t)(ve - v) == 5 &&
			    strncasecmp(v, "close", 5) == 0)
				q->close = 1;
			else if (!((size_t)(ve - v) == 10 &&
			    strncasecmp(v, "keep-alive", 10) == 0))
				return -1;
		} else if (fl_name(p, k, "Referer")) {
			q->referer = v;
			q->referer_len = (size_t)(ve - v);
		} else if (fl_name(p, k, "User-Agent")) {
			q->agent = v;
			q->agent_len = (size_t)(ve - v);
		} else if (fl_name(p, k, "Authorization")) {
			/* A node URL's identity (fleet.c); twice: not ours. */
			if (q->authz != NULL)
				return -1;
			q->authz = v;
			q->authz_len = (size_t)(ve - v);
		} else if (fl_name(p, k, "Content-Length") ||
		    fl_name(p, k, "Transfer-Encoding") ||
		    fl_name(p, k, "Expect") || fl_name(p, k, "Range") ||
		    fl_name(p, k, "Upgrade") || fl_name(p, k, "TE") ||
		    (k > 3 && strncasecmp(p, "If-", 3) == 0))
			return -1;
		p = eol + 2;
	}
	return hosts == 1 ? 0 : -1;
}

/* Sends what is left of the response; 1 done, 0 blocked, -1 failed. */
static int
fl_send(struct fconn *c)
{
	ssize_t w;
	off_t off;

	while (c->hsent < c->hlen) {
		w = send(c->fd, c->head + c->hsent, c->hlen - c->hsent,
		    MSG_NOSIGNAL | (c->left > 0 ? MSG_MORE : 0));
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->hsent += (size_t)w;
	}
	while (c->left > 0) {
		off = (off_t)c->off;
		w = sendfile(c->fd, c->file, &off, c->left > 0x7ffff000 ?
		    0x7ffff000 : (size_t)c->left);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (w == 0)
			return -1;	/* the file shrank: cannot keep framing */
		c->off += (uint64_t)w;
		c->left -= (uint64_t)w;
	}
	return 1;
}

static const char *
fl_date(struct fl_thread *th)
{
	time_t now = time(NULL);

	if (now != th->date_t) {
		http_date(now, th->date, sizeof(th->date));
		th->date_t = now;
	}
	return th->date;
}

static char *
fl_dup(const char *p, size_t n)
{
	return p == NULL ? NULL : strndup(p, n > 4096 ? 4096 : n);
}

/*
 * Takes the head of hl bytes the last peek (of n) began with: 0, or -1.
 * With SO_PEEK_OFF it stays in the socket, the offset moved back to just
 * after it when the peek saw more (a pipelined request).
 */
static int
fl_take(struct fl_thread *th, struct fconn *c, size_t hl, size_t n)
{
	int off;

	if (!c->peekoff)
		return recv(c->fd, th->buf, hl, 0) == (ssize_t)hl ? 0 : -1;
	c->answered += hl;
	if (n > hl) {
		off = (int)c->answered;
		if (setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &off,
		    sizeof(off)) < 0)
			return -1;
	}
	if (c->bc != NULL)
		__atomic_store_n(&c->bc->answered, (int)c->answered,
		    __ATOMIC_RELAXED);
	return 0;
}

/*
 * Takes the request at the head of the socket if it is ours: 1 (being
 * answered, or answered), 0 (handed over or closed: c is gone).
 */
static int
fl_request(struct fl_thread *th, struct fconn *c)
{
	struct bh_server *s = th->fl->s;
	struct fl_req q;
	struct bh_target t;
	struct validators v;
	char url[BH_PATH_MAX + 1], *eoh;
	ssize_t n;
	size_t hl;
	int status, rc, fent;

	c->more = 0;
	if (c->answered >= FL_ANSWERED_MAX && fl_drain(th, c) < 0) {
		fl_close(th, c);
		return 0;
	}
	n = recv(c->fd, th->buf, FL_BUF, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0) {
		fl_close(th, c);
		return 0;
	}
	th->buf[n] = '\0';
	/* No whole head yet (or too long, or a NUL): libmicrohttpd's. */
	if ((eoh = strstr(th->buf, "\r\n\r\n")) == NULL)
		goto handoff;
	hl = (size_t)(eoh - th->buf) + 4;
	if (hl > FL_BUF / 2 || fl_parse(th->buf, hl, &q) < 0)
		goto handoff;
	/* Credentials from an address under a penalty: the 429 is MHD's. */
	if (q.authz_len > 0 && bf_penalty_peek(&s->penalty,
	    (const struct sockaddr *)&c->addr, time(NULL)) > 0)
		goto handoff;
	memcpy(url, q.target, q.target_len);
	url[q.target_len] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &c->r.t0);
	status = bh_resolve_ex(s, url, q.authz, q.authz_len, &t,
	    BH_RESOLVE_DEFER);
	if (status != 200 || (t.kind != BH_CHANNEL && t.kind != BH_SNAPSHOT &&
	    t.kind != BH_KEY && t.kind != BH_NODE)) {
		if (t.fd >= 0)
			close(t.fd);
		goto handoff;
	}
	c->series = t.series != NULL ? t.series : t.channel[0] != '\0' ?
	    bh_metrics_series(&s->metrics, t.channel, t.profile) :
	    &s->metrics.other;
	if (t.index >= 0 && t.kind != BH_NODE)
		t.lm = bh_metrics_index_lm(c->series, t.index, t.snap_id, t.lm);
	fent = -1;
	if (t.lazy && t.index < 0) {
		if (fl_file_get(th, &t, &fent) != 200)
			goto handoff;
	} else if (t.lazy) {
		if ((rc = bh_target_open(s, &t)) != 200)
			goto handoff;
		t.lm = bh_metrics_index_lm(c->series, t.index, t.snap_id, t.lm);
	}
	make_validators(s, &t, &v);
	/*
	 * Ours: busy first, then consume the head (it is there, we saw
	 * it): between the two the socket holds nothing unread, and the
	 * request deadline's reaper, after a stall, would cut it.
	 */
	if (c->bc != NULL)
		__atomic_store_n(&c->bc->busy, 1, __ATOMIC_RELEASE);
	if (fl_take(th, c, hl, (size_t)n) < 0) {
		fl_file_put(th, t.fd, fent);
		fl_close(th, c);
		return 0;
	}
	c->more = (size_t)n - hl;
	c->keep = !q.close && !__atomic_load_n(&th->fl->quiesced,
	    __ATOMIC_RELAXED);
	c->file = t.fd;
	c->fent = fent;
	c->off = 0;
	c->left = q.head ? 0 : (uint64_t)t.st.st_size;
	c->hsent = 0;
	c->hlen = (size_t)snprintf(c->head, sizeof(c->head),
	    "HTTP/1.1 200 OK\r\nDate: %s\r\n%sContent-Type: %s\r\n"
	    "Last-Modified: %s\r\nETag: %s\r\nCache-Control: %s\r\n"
	    "Accept-Ranges: bytes\r\nContent-Length: %llu\r\n\r\n",
	    fl_date(th), c->keep ? "" : "Connection: close\r\n", t.ctype,
	    v.lm, v.etag, v.cc, (unsigned long long)t.st.st_size);
	if (c->hlen >= sizeof(c->head)) {
		fl_close(th, c);
		return 0;
	}
	c->r.status = 200;
	c->r.bytes = c->left;
	c->r.method = q.head ? "HEAD" : "GET";
	c->r.version = "HTTP/1.1";
	if (s->access_fd >= 0) {
		c->r.uri = fl_dup(q.target, q.target_len);
		c->r.referer = fl_dup(q.referer, q.referer_len);
		c->r.agent = fl_dup(q.agent, q.agent_len);
	}
	if (t.node >= 0)
		node_req(&c->r, &t);
	c->sending = 1;
	c->rd_pending = 0;
	return 1;
handoff:
	fl_handoff(th, c);
	return 0;
}

/* Answers what the socket holds, as far as it can; c may be gone after. */
static void
fl_serve(struct fl_thread *th, struct fconn *c)
{
	int rc;

	for (;;) {
		if (!c->sending) {
			if (c->more == 0 && !c->rd_pending)
				return;
			c->rd_pending = 0;
			if (!fl_request(th, c))
				return;
			if (!c->sending)
				return;		/* nothing in the socket */
		}
		if ((rc = fl_send(c)) < 0) {
			fl_close(th, c);
			return;
		}
		c->active = now_ms();
		if (rc == 0)
			return;			/* EPOLLOUT will tell */
		fl_done(th, c, 1);
		if (!c->keep) {
			fl_close(th, c);
			return;
		}
	}
}

/* c, accepted for th, joins th's connections (in th). */
static void
fl_adopt(struct fl_thread *th, struct fconn *c)
{
	struct epoll_event ev;

	c->prev = NULL;
	c->next = th->head;
	if (th->head != NULL)
		th->head->prev = c;
	th->head = c;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(th->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		fl_close(th, c);
}

/* The connections other threads accepted for th. */
static void
fl_inbox(struct fl_thread *th)
{
	struct fconn *c, *next;
	uint64_t n;
	ssize_t r;

	r = read(th->evfd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&th->inmu);
	c = th->inbox;
	th->inbox = NULL;
	pthread_mutex_unlock(&th->inmu);
	for (; c != NULL; c = next) {
		next = c->next;
		fl_adopt(th, c);
	}
}

/*
 * Peeks of c start after the heads taken (SO_PEEK_OFF), where the
 * kernel can; BINFARM_BINHOST_NO_PEEK_OFF in the environment, or a
 * kernel older than Linux 6.9, keeps the second recv() per request.
 */
static void
fl_peekoff(struct fl *fl, struct fconn *c)
{
	int zero = 0;

	if (__atomic_load_n(&fl->no_peekoff, __ATOMIC_RELAXED))
		return;
	if (setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &zero,
	    sizeof(zero)) == 0)
		c->peekoff = 1;
	else
		__atomic_store_n(&fl->no_peekoff, 1, __ATOMIC_RELAXED);
}

static void
fl_accept(struct fl_thread *th)
{
	struct fl *fl = th->fl;
	struct fl_thread *to;
	struct fconn *c;
	uint64_t one64 = 1;
	size_t k;
	ssize_t w;
	int i, fd, one = 1;

	for (i = 0; i < 64; i++) {
		if (__atomic_load_n(&fl->quiesced, __ATOMIC_ACQUIRE)) {
			epoll_ctl(th->ep, EPOLL_CTL_DEL, fl->lfd, NULL);
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->alen = sizeof(c->addr);
		fd = accept4(fl->lfd, (struct sockaddr *)&c->addr, &c->alen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/*
			 * Out of descriptors or memory: the connection waits
			 * in the backlog; stop watching the listening socket
			 * for 100 ms rather than spin on it.
			 */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				epoll_ctl(th->ep, EPOLL_CTL_DEL, fl->lfd, NULL);
				th->lpause = now_ms() + 100;
			}
			free(c);
			return;
		}
		if (fl_admit(fl, (struct sockaddr *)&c->addr) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->fd = fd;
		c->file = c->fent = -1;
		c->active = now_ms();
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fl_peekoff(fl, c);
		c->bc = conn_track(&fl->s->conns, fd);
		snprintf(c->r.addr, sizeof(c->r.addr), "-");
		if (fl->s->access_fd >= 0)
			bf_addr_str((const struct sockaddr *)&c->addr,
			    c->r.addr, sizeof(c->r.addr));
		/*
		 * To the thread with the fewest connections: the one woken
		 * to accept would otherwise take a whole burst (a release
		 * wave) and work for two while the other idles.
		 */
		to = th;
		for (k = 0; k < fl->nthreads; k++)
			if (__atomic_load_n(&fl->t[k].nconn, __ATOMIC_RELAXED) <
			    __atomic_load_n(&to->nconn, __ATOMIC_RELAXED))
				to = &fl->t[k];
		__atomic_add_fetch(&to->nconn, 1, __ATOMIC_RELAXED);
		if (to == th) {
			fl_adopt(th, c);
			continue;
		}
		pthread_mutex_lock(&to->inmu);
		c->next = to->inbox;
		to->inbox = c;
		pthread_mutex_unlock(&to->inmu);
		w = write(to->evfd, &one64, sizeof(one64));
		(void)w;
	}
}

/* Once a second: connection-timeout, and idle connections at shutdown. */
static void
fl_scan(struct fl_thread *th, int64_t now)
{
	struct fconn *c, *next;
	int q = __atomic_load_n(&th->fl->quiesced, __ATOMIC_RELAXED);

	th->scanned = now;
	bh_fcache_expire(&th->fc, time(NULL));
	for (c = th->head; c != NULL; c = next) {
		next = c->next;
		if (now - c->active >= th->fl->timeout_ms || (q && !c->sending))
			fl_close(th, c);
	}
}

static void *
fl_main(void *arg)
{
	struct fl_thread *th = arg;
	struct epoll_event ev[FL_EVENTS], lev;
	struct fconn *c;
	int64_t now;
	int i, n;

	while (!__atomic_load_n(&th->fl->stop, __ATOMIC_ACQUIRE)) {
		n = epoll_wait(th->ep, ev, FL_EVENTS, th->lpause ? 100 : 1000);
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &fl_listen_tag) {
				fl_accept(th);
				continue;
			}
			if (ev[i].data.ptr == &fl_wake_tag) {
				fl_inbox(th);
				continue;
			}
			c = ev[i].data.ptr;
			if (c->sending && (ev[i].events & (EPOLLIN | EPOLLRDHUP)))
				c->rd_pending = 1;
			if (!c->sending && !(ev[i].events & (EPOLLIN |
			    EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				continue;	/* writable, nothing to write */
			if (!c->sending)
				c->rd_pending = 1;
			fl_serve(th, c);
		}
		now = now_ms();
		if (th->lpause != 0 && now >= th->lpause) {
			th->lpause = 0;
			lev.events = EPOLLIN | EPOLLEXCLUSIVE;
			lev.data.ptr = &fl_listen_tag;
			if (!__atomic_load_n(&th->fl->quiesced, __ATOMIC_ACQUIRE))
				epoll_ctl(th->ep, EPOLL_CTL_ADD, th->fl->lfd, &lev);
		}
		if (now - th->scanned >= 1000)
			fl_scan(th, now);
	}
	fl_inbox(th);
	while (th->head != NULL)
		fl_close(th, th->head);
	return NULL;
}

static void
fl_free(struct fl *fl)
{
	struct fl_ipcount *c;
	size_t i;

	for (i = 0; i < fl->nthreads; i++) {
		bh_fcache_release_all(&fl->t[i].fc);
		if (fl->t[i].ep >= 0)
			close(fl->t[i].ep);
		if (fl->t[i].evfd >= 0)
			close(fl->t[i].evfd);
		pthread_mutex_destroy(&fl->t[i].inmu);
	}
	for (i = 0; i < FL_IPBUCKETS; i++)
		while ((c = fl->ip[i]) != NULL) {
			fl->ip[i] = c->next;
			free(c);
		}
	pthread_mutex_destroy(&fl->ipmu);
	free(fl->t);
	free(fl);
}

/*
 * Stops the threads (their connections close) and closes the listen fd;
 * fl stays for notify_cb until libmicrohttpd has stopped (fl_free).
 */
static void
fl_halt(struct bh_server *s)
{
	struct fl *fl = s->floop;
	uint64_t one = 1;
	size_t i;
	ssize_t w;

	if (fl == NULL)
		return;
	__atomic_store_n(&fl->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < fl->nthreads; i++) {
		if (!fl->t[i].started)
			continue;
		w = write(fl->t[i].evfd, &one, sizeof(one));
		(void)w;
		pthread_join(fl->t[i].th, NULL);
		fl->t[i].started = 0;
	}
	/* What a thread still running gave one that had stopped. */
	for (i = 0; i < fl->nthreads; i++) {
		fl_inbox(&fl->t[i]);
		while (fl->t[i].head != NULL)
			fl_close(&fl->t[i], fl->t[i].head);
	}
	if (fl->lfd >= 0)
		close(fl->lfd);
	fl->lfd = -1;
}

/*
 * Descriptors: every connection the configuration allows, the open-file
 * caches and some for the rest.  The soft limit is raised towards that
 * (never past the hard limit); the caches get what is left after the
 * connections, so that a low hard limit costs the cache, not clients.
 * Returns the entries per thread's cache.
 */
static size_t
fl_fds(const struct bh_conf *c, size_t nthreads)
{
	struct rlimit rl;
	rlim_t want, spare;

	want = (rlim_t)c->max_connections + 64 +
	    (rlim_t)nthreads * BH_FCACHE_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 &&
		    getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return 0;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return BH_FCACHE_MAX;
	if (rl.rlim_cur <= (rlim_t)c->max_connections + 64)
		return 0;
	spare = rl.rlim_cur - (rlim_t)c->max_connections - 64;
	return (size_t)(spare / nthreads);
}

static int
fl_start(struct bh_server *s, int lfd, size_t nthreads)
{
	struct fl *fl;
	struct epoll_event ev;
	size_t i, fcap;

	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		return -1;
	if ((fl->t = calloc(nthreads, sizeof(*fl->t))) == NULL) {
		free(fl);
		return -1;
	}
	pthread_mutex_init(&fl->ipmu, NULL);
	fl->s = s;
	fl->lfd = -1;
	fl->nthreads = nthreads;
	fl->max_total = (unsigned)s->conf->max_connections;
	fl->max_per_ip = (unsigned)s->conf->max_per_ip;
	fl->timeout_ms = (int64_t)s->conf->timeout * 1000;
	fl->no_peekoff = s->no_peekoff;
	fcap = s->no_fcache ? 0 : fl_fds(s->conf, nthreads);
	for (i = 0; i < nthreads; i++) {
		fl->t[i].ep = fl->t[i].evfd = -1;
		pthread_mutex_init(&fl->t[i].inmu, NULL);
		bh_fcache_init(&fl->t[i].fc, fcap);
	}
	for (i = 0; i < nthreads; i++) {
		fl->t[i].fl = fl;
		fl->t[i].ep = epoll_create1(EPOLL_CLOEXEC);
		fl->t[i].evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fl->t[i].ep < 0 || fl->t[i].evfd < 0)
			goto fail;
		ev.events = EPOLLIN;
		ev.data.ptr = &fl_wake_tag;
		if (epoll_ctl(fl->t[i].ep, EPOLL_CTL_ADD, fl->t[i].evfd,
		    &ev) < 0)
			goto fail;
		/* One thread woken per connection to accept. */
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = &fl_listen_tag;
		if (epoll_ctl(fl->t[i].ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
			goto fail;
	}
	s->floop = fl;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&fl->t[i].th, NULL, fl_main, &fl->t[i]) != 0)
			break;
		fl->t[i].started = 1;
	}
	if (i < nthreads) {
		fl_halt(s);	/* lfd is still the caller's */
		s->floop = NULL;
		fl_free(fl);
		return -1;
	}
	fl->lfd = lfd;
	return 0;
fail:
	fl_free(fl);
	return -1;
}

int
bh_http_start(struct bh_server *s, int listen_fd, struct bf_err *e)
{
	const struct bh_conf *c = s->conf;
	struct MHD_OptionItem opts[20];
	unsigned int flags;
	size_t n = 0;
	long long threads = c->threads;
	struct MHD_Daemon *d;
	/* The file loop accepts; libmicrohttpd gets what it hands over. */
	int floop = !s->no_floop && s->tls_cert_pem == NULL && !s->auth_on;

	if (threads <= 0)
		threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (threads <= 0)
		threads = 1;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (s->tls_cert_pem != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return bf_err_set(e, BF_ECONFIG, "%s: this "
			    "libmicrohttpd has no TLS support", c->where_tls);
		flags |= MHD_USE_TLS;
	}
#define OPT(o, v, p) do { opts[n].option = (o); opts[n].value = (intptr_t)(v); \
	opts[n].ptr_value = (p); n++; } while (0)
	/* First, so that libmicrohttpd's complaints about options come here. */
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s);
	if (floop)
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	else
		OPT(MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL);
	if (threads > 1)	/* 1: MHD's single internal thread */
		OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, c->max_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, c->timeout, NULL);
	/*
	 * libmicrohttpd zeroes a connection's whole memory pool between
	 * two requests of a keep-alive connection: at the default 32 KiB
	 * that memset was the largest single cost of a 304.  8 KiB holds
	 * a request head as large as nginx accepts by default (its
	 * large_client_header_buffers are 8 KiB) and our response head.
	 */
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)8192, NULL);
	if (c->max_per_ip > 0)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->max_per_ip, NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s);
	OPT(MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, s);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, notify_cb, s);
	if (s->tls_cert_pem != NULL) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	r304_init(&s->r304);
	if (conns_start(s) < 0) {
		r304_release(&s->r304);
		return bf_err_set(e, ENOMEM, "cannot start the request "
		    "deadline's thread");
	}
	d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d == NULL) {
		conns_stop(s);
		r304_release(&s->r304);
		return bf_err_set(e, EIO, "cannot start the HTTP server "
		    "(libmicrohttpd refused the options%s)",
		    s->tls_cert_pem != NULL ? "; check the TLS certificate "
		    "and key" : "");
	}
	s->mhd = d;
	if (floop && fl_start(s, listen_fd, (size_t)threads) < 0) {
		MHD_stop_daemon(d);
		s->mhd = NULL;
		conns_stop(s);
		r304_release(&s->r304);
		return bf_err_set(e, ENOMEM, "cannot start the file loop's "
		    "threads");
	}
	return 0;
}

unsigned
bh_http_connections(struct bh_server *s)
{
	const union MHD_DaemonInfo *di;

	if (s->floop != NULL)
		return __atomic_load_n(&((struct fl *)s->floop)->total,
		    __ATOMIC_RELAXED);
	if (s->mhd == NULL)
		return 0;
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di != NULL ? di->num_connections : 0;
}

int
bh_http_quiesce(struct bh_server *s)
{
	struct fl *fl = s->floop;
	size_t i;

	if (fl != NULL) {
		/*
		 * Connections in flight finish, idle ones close; the
		 * listening socket stops listening at once (a shutdown
		 * refuses what comes next, as a close would) and is closed
		 * in bh_http_stop(), once no thread can be in accept().
		 */
		__atomic_store_n(&fl->quiesced, 1, __ATOMIC_RELEASE);
		for (i = 0; i < fl->nthreads; i++)
			epoll_ctl(fl->t[i].ep, EPOLL_CTL_DEL, fl->lfd, NULL);
		shutdown(fl->lfd, SHUT_RDWR);
		return -1;
	}
	if (s->mhd == NULL)
		return -1;
	return (int)MHD_quiesce_daemon(s->mhd);
}

void
bh_http_stop(struct bh_server *s)
{
	if (s->floop != NULL)
		fl_halt(s);	/* before libmicrohttpd: it hands over */
	if (s->mhd == NULL)
		return;
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	if (s->floop != NULL) {
		fl_free(s->floop);
		s->floop = NULL;
	}
	conns_stop(s);
	/* No connection holds a response any more. */
	r304_release(&s->r304);
}

int
bh_access_log_open(struct bh_server *s, struct bf_err *e)
{
	const char *path = s->conf->access_log;
	int fd;

	if (path == NULL)
		return 0;
	if (strcmp(path, "stderr") == 0) {
		if (s->access_fd < 0)
			s->access_fd = STDERR_FILENO;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return bf_err_errno(e, "cannot open access log '%s'", path);
	if (s->access_fd < 0) {
		s->access_fd = fd;
		return 0;
	}
	/* Swap in place: writers in other threads never see a closed fd. */
	if (dup3(fd, s->access_fd, O_CLOEXEC) < 0) {
		close(fd);
		return bf_err_errno(e, "cannot reopen access log '%s'", path);
	}
	close(fd);
	return 0;
}
