/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wave-client.c: a release wave's client for bench-wave.sh
 * (BENCH_CLIENT=bf), built by the bench with cc; not installed.
 *
 *	wave-client [-d] [-r READ_SIZE] [-a IDFILE] HOST PORT CONNECTIONS URLFILE
 *
 * CONNECTIONS keep-alive HTTP/1.1 connections, opened at once, each
 * GETting every path of URLFILE (one per line) in order, one request at
 * a time, as h2load --h1 -m1 -i does; one thread, epoll.  What it adds
 * over h2load is the read size: h2load reads 8 KiB per read(), which on
 * two CPUs made the client, not the server, the limit of a wave (its
 * CPU was the wave's wall time for every server).  This one reads
 * READ_SIZE bytes (default 256 KiB) per recv(), as a client downloading
 * package files into large buffers would; the bodies are still copied
 * into user memory; with -d they are not (recv(MSG_TRUNC): the kernel
 * drops them), which leaves the client only the TCP and HTTP work, for
 * a figure of what the server alone can do.
 *
 * With -a IDFILE (lines "NAME TOKEN", for bench-fleet.sh) connection i
 * is node i of the file (round robin): its paths are asked for below
 * /node/NAME/ with "Authorization: Basic base64(NAME:TOKEN)", as a node
 * of the inventory fetches from its own URL.
 *
 * Prints h2load's two summary lines, which bench-wave.sh parses:
 *	finished in Xs, R req/s, M MB/s
 *	requests: T total, T started, D done, S succeeded, F failed,
 *	    E errored, 0 timeout
 * A response is succeeded when it is a 200 with a Content-Length body.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int		 fd;
	size_t		 next;		/* the next path to request */
	int		 reading;	/* 0: head, 1: body */
	char		 head[4096];
	size_t		 hlen;
	unsigned long long left;	/* body bytes still to read */
	int		 ok;		/* the response is a 200 */
	int		 inflight;	/* a request is waiting for its answer */
	int		 done;
	size_t		 id;		/* -a: its identity */
};

static char	**paths;
static size_t	  npaths;
static unsigned long long started, finished, succeeded, failed, errored;
static unsigned long long bytes;
static int	  discard;	/* -d: bodies dropped by the kernel */
static char	**id_names, **id_auth;	/* -a: node names, Basic credentials */
static size_t	  nids;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
load_paths(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[4096];
	size_t cap = 0;

	if (f == NULL) {
		perror(file);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (npaths == cap) {
			cap = cap ? 2 * cap : 64;
			if ((paths = realloc(paths, cap * sizeof(*paths))) == NULL)
				exit(2);
		}
		if ((paths[npaths++] = strdup(line)) == NULL)
			exit(2);
	}
	fclose(f);
}

static void
b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3, out += 4) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[0] = t[v >> 18];
		out[1] = t[(v >> 12) & 63];
		out[2] = t[(v >> 6) & 63];
		out[3] = t[v & 63];
	}
	if (i < n) {
		v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
		out[0] = t[v >> 18];
		out[1] = t[(v >> 12) & 63];
		out[2] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[3] = '=';
		out += 4;
	}
	*out = '\0';
}

/* -a IDFILE: "NAME TOKEN" per line. */
static void
load_ids(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[512], cred[600], *sp;
	size_t cap = 0;

	if (f == NULL) {
		perror(file);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		if (nids == cap) {
			cap = cap ? 2 * cap : 64;
			id_names = realloc(id_names, cap * sizeof(*id_names));
			id_auth = realloc(id_auth, cap * sizeof(*id_auth));
			if (id_names == NULL || id_auth == NULL)
				exit(2);
		}
		snprintf(cred, sizeof(cred), "%s:%s", line, sp + 1);
		if ((id_names[nids] = strdup(line)) == NULL ||
		    (id_auth[nids] = malloc(4 * strlen(cred) / 3 + 8)) == NULL)
			exit(2);
		b64((const unsigned char *)cred, strlen(cred), id_auth[nids]);
		nids++;
	}
	fclose(f);
}

/* The connection ends: what it had not finished counts as errored. */
static void
conn_end(int ep, struct conn *c)
{
	if (c->done)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->done = 1;
	errored += npaths - c->next + (unsigned long long)c->inflight;
}

static int
send_request(struct conn *c, const char *host)
{
	char req[4200];
	int n;

	if (nids > 0)
		n = snprintf(req, sizeof(req), "GET /node/%s/%s HTTP/1.1\r\n"
		    "Host: %s\r\nUser-Agent: wave-client\r\nAuthorization: "
		    "Basic %s\r\n\r\n", id_names[c->id], paths[c->next], host,
		    id_auth[c->id]);
	else
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: wave-client\r\n\r\n", paths[c->next], host);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	c->next++;
	c->inflight = 1;
	c->reading = 0;
	c->hlen = 0;
	started++;
	return 0;
}

/* A whole head in c->head[0..end): status and Content-Length. */
static int
parse_head(struct conn *c, size_t end)
{
	char *p, *line;
	int have_len = 0;

	c->head[end - 2] = '\0';
	c->ok = strncmp(c->head, "HTTP/1.1 200 ", 13) == 0;
	for (p = c->head; (line = strsep(&p, "\n")) != NULL;)
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			c->left = strtoull(line + 15, NULL, 10);
			have_len = 1;
		}
	return have_len ? 0 : -1;
}

/* The response in hand is over: count it, send the next request. */
static int
response_done(struct conn *c, const char *host, int ep)
{
	finished++;
	c->inflight = 0;
	if (c->ok)
		succeeded++;
	else
		failed++;
	if (c->next == npaths) {
		c->reading = 0;
		c->hlen = 0;
		conn_end(ep, c);
		return 1;
	}
	return send_request(c, host);
}

/* Reads what the socket has; -1 to end the connection. */
static int
on_readable(struct conn *c, char *buf, size_t bufsz, const char *host,
    int ep)
{
	ssize_t n;
	char *eoh;

	for (;;) {
		if (!c->reading) {
			n = recv(c->fd, c->head + c->hlen,
			    sizeof(c->head) - 1 - c->hlen, 0);
			if (n <= 0)
				return n < 0 && errno == EAGAIN ? 0 : -1;
			c->hlen += (size_t)n;
			c->head[c->hlen] = '\0';
			if ((eoh = strstr(c->head, "\r\n\r\n")) == NULL) {
				if (c->hlen == sizeof(c->head) - 1)
					return -1;
				continue;
			}
			size_t hl = (size_t)(eoh - c->head) + 4;
			size_t extra = c->hlen - hl;

			if (parse_head(c, hl) < 0 || extra > c->left)
				return -1;	/* no pipelining here */
			c->left -= extra;
			bytes += extra;
			c->reading = 1;
		} else if (c->left > 0) {
			n = recv(c->fd, buf, c->left < bufsz ? c->left : bufsz,
			    discard ? MSG_TRUNC : 0);
			if (n <= 0)
				return n < 0 && errno == EAGAIN ? 0 : -1;
			c->left -= (unsigned long long)n;
			bytes += (unsigned long long)n;
		}
		if (c->reading && c->left == 0) {
			int r = response_done(c, host, ep);

			if (r != 0)
				return r < 0 ? -1 : 1;
		}
	}
}

int
main(int argc, char **argv)
{
	size_t rsize = 256 * 1024, nconn, i, open_conns;
	struct sockaddr_in sa;
	struct epoll_event ev, evs[256];
	struct conn *cs;
	char *buf;
	double t0, t1;
	int ep, opt, one = 1;

	while ((opt = getopt(argc, argv, "a:dr:")) != -1)
		if (opt == 'r')
			rsize = strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			discard = 1;
		else if (opt == 'a')
			load_ids(optarg);
		else
			return 2;
	if (argc - optind != 4 || rsize == 0) {
		fprintf(stderr, "usage: wave-client [-d] [-r READ_SIZE] "
		    "[-a IDFILE] HOST PORT CONNECTIONS URLFILE\n");
		return 2;
	}
	nconn = strtoul(argv[optind + 2], NULL, 10);
	load_paths(argv[optind + 3]);
	if (npaths == 0 || nconn == 0 || (buf = malloc(rsize)) == NULL ||
	    (cs = calloc(nconn, sizeof(*cs))) == NULL)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		return 2;
	if ((ep = epoll_create1(0)) < 0)
		return 2;
	t0 = now();
	for (i = 0; i < nconn; i++) {
		cs[i].id = nids > 0 ? i % nids : 0;
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&sa,
		    sizeof(sa)) < 0) {
			errored += npaths;
			cs[i].done = 1;
			if (cs[i].fd >= 0)
				close(cs[i].fd);
			continue;
		}
		setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0 ||
		    send_request(&cs[i], argv[optind]) < 0)
			conn_end(ep, &cs[i]);
	}
	for (;;) {
		int n, k;

		for (open_conns = 0, i = 0; i < nconn; i++)
			open_conns += !cs[i].done;
		if (open_conns == 0)
			break;
		n = epoll_wait(ep, evs, 256, 60000);
		if (n <= 0)
			break;		/* 60 s without a byte: give up */
		for (k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (c->done)
				continue;
			if (on_readable(c, buf, rsize, argv[optind], ep) < 0)
				conn_end(ep, c);
		}
	}
	for (i = 0; i < nconn; i++)
		conn_end(ep, &cs[i]);
	t1 = now();
	printf("finished in %.2fs, %.2f req/s, %.2fMB/s\n", t1 - t0,
	    finished / (t1 - t0), bytes / (t1 - t0) / 1048576.0);
	printf("requests: %llu total, %llu started, %llu done, %llu "
	    "succeeded, %llu failed, %llu errored, 0 timeout\n",
	    (unsigned long long)(nconn * npaths), started, finished,
	    succeeded, failed, errored);
	return 0;
}
