/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm-binhost: serves a binfarm repository read-only over HTTP.
 *
 * Start-up follows OpenBSD httpd: parse the configuration (-t stops
 * here), open everything that needs privileges (the root directory,
 * TLS files, the auth file, the listening socket, the logs), detach
 * unless -d, drop root, then start libmicrohttpd's threads.  The main
 * thread then waits for signals: SIGHUP reopens the access log,
 * SIGTERM and SIGINT stop accepting, let requests in flight finish (up
 * to shutdown-timeout seconds) and exit 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "binhost.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/log.h"
#include "base/banned.h"

#define PROG	"binfarm-binhost"

static const char usage_text[] =
    "usage: " PROG " [-dtv] [-f file] [-r root] [-l address] [options]\n"
    "       " PROG " --hash-password user   (reads the password on stdin)\n"
    "\n"
    "  -f, --config FILE        configuration file (binfarm-binhost.conf(5))\n"
    "  -d, --debug              stay in the foreground, log to stderr\n"
    "  -t, --test               check the configuration and exit\n"
    "  -v, --verbose            log debugging messages\n"
    "  -r, --root DIR           the repository to serve\n"
    "  -l, --listen ADDR        host:port, [v6addr]:port or :port\n"
    "      --port-file FILE     write the bound port there (for :0)\n"
    "      --pid-file FILE      write the process id there\n"
    "      --access-log FILE    combined-format access log, or 'stderr'\n"
    "  -u, --user USER          user to switch to when started as root\n"
    "                           (required as root; -u root keeps root)\n"
    "      --threads N          worker threads (0: one per CPU)\n"
    "  -V, --version            print the version\n";

void
bh_conf_init(struct bh_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->max_connections = 4096;
	c->timeout = 30;
	c->request_timeout = 10;
	c->max_per_ip = 64;
	c->index_max_age = 60;
	c->file_max_age = 31536000;
	c->shutdown_timeout = 10;
	c->auth_failures = 30;
	c->auth_penalty = 60;
}

void
bh_conf_release(struct bh_conf *c)
{
	char **strs[] = {
		&c->file, &c->root, &c->listen, &c->port_file, &c->pid_file,
		&c->access_log, &c->user, &c->tls_cert, &c->tls_key,
		&c->auth_file, &c->auth_realm, &c->where_root, &c->where_tls,
		&c->where_auth, &c->where_user, &c->where_listen,
		&c->auth_exempt,
	};
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	free(c->exempt);
	c->exempt = NULL;
	c->nexempt = 0;
}

enum ktype { K_STR, K_NUM };

static const struct key {
	const char	*name;
	enum ktype	 type;
	size_t		 off;
	long long	 min, max;
	size_t		 where;		/* offset of a where_* field, or 0 */
} keys[] = {
#define S(n, f, w) { n, K_STR, offsetof(struct bh_conf, f), 0, 0, w }
#define N(n, f, lo, hi) { n, K_NUM, offsetof(struct bh_conf, f), lo, hi, 0 }
	S("root", root, offsetof(struct bh_conf, where_root)),
	S("listen", listen, offsetof(struct bh_conf, where_listen)),
	S("port-file", port_file, 0),
	S("pid-file", pid_file, 0),
	S("access-log", access_log, 0),
	S("user", user, offsetof(struct bh_conf, where_user)),
	S("tls-cert", tls_cert, offsetof(struct bh_conf, where_tls)),
	S("tls-key", tls_key, offsetof(struct bh_conf, where_tls)),
	S("auth-file", auth_file, offsetof(struct bh_conf, where_auth)),
	S("auth-realm", auth_realm, 0),
	S("auth-exempt", auth_exempt, 0),
	N("auth-failures", auth_failures, 0, 100000),
	N("auth-penalty", auth_penalty, 1, 86400),
	N("threads", threads, 0, 1024),
	N("max-connections", max_connections, 1, 1000000),
	N("max-connections-per-ip", max_per_ip, 0, 1000000),
	N("connection-timeout", timeout, 1, 86400),
	N("request-timeout", request_timeout, 1, 3600),
	N("index-max-age", index_max_age, 0, 31536000),
	N("file-max-age", file_max_age, 0, 315360000),
	N("shutdown-timeout", shutdown_timeout, 0, 3600),
#undef S
#undef N
};

static int
set_where(struct bh_conf *c, size_t where, const char *text)
{
	char **w = (char **)(void *)((char *)c + where);

	free(*w);
	return (*w = strdup(text)) == NULL ? -ENOMEM : 0;
}

/* Sets `name` to `value`; `where` says where it came from, for messages. */
static int
conf_set(struct bh_conf *c, const char *file, unsigned line,
    const char *name, const char *value, struct bf_err *e)
{
	const struct key *k = NULL;
	char **sp, *end, pfx[PATH_MAX + 32];
	long long v;
	size_t i;

	if (file != NULL)
		snprintf(pfx, sizeof(pfx), "%s:%u", file, line);
	else
		snprintf(pfx, sizeof(pfx), "--%s", name);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			k = &keys[i];
	if (k == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s: unknown setting '%s'",
		    pfx, name);
	if (value == NULL || *value == '\0')
		return bf_err_set(e, BF_ECONFIG, "%s: '%s' needs a value", pfx,
		    name);
	if (k->type == K_NUM) {
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno != 0 || *end != '\0' || end == value || v < k->min ||
		    v > k->max)
			return bf_err_set(e, BF_ECONFIG, "%s: '%s' must be a "
			    "number from %lld to %lld, not '%s'", pfx, name,
			    k->min, k->max, value);
		*(long long *)(void *)((char *)c + k->off) = v;
		return 0;
	}
	sp = (char **)(void *)((char *)c + k->off);
	free(*sp);
	if ((*sp = strdup(value)) == NULL)
		return -ENOMEM;
	if (k->where != 0)
		return set_where(c, k->where, pfx);
	return 0;
}

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* The file being read: where each key was set, to refuse a second one. */
struct ini_ctx {
	struct bh_conf	*c;
	unsigned	 line[NKEYS];	/* 0: not set in the file yet */
};

static int
ini_cb(void *ctx, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct ini_ctx *x = ctx;
	size_t i;

	if (*section != '\0' && strcmp(section, "binhost") != 0)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown section "
		    "'[%s]' (settings go at the top or under [binhost])", file,
		    line, section);
	/*
	 * A key given twice is a mistake whichever was meant (a second
	 * 'root' silently winning would serve another tree): say both.
	 */
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, key) != 0)
			continue;
		if (x->line[i] != 0)
			return bf_err_set(e, BF_ECONFIG, "%s:%u: '%s' is set "
			    "twice: at %s:%u and at %s:%u (keep one)", file,
			    line, key, file, x->line[i], file, line);
		x->line[i] = line;
	}
	return conf_set(x->c, file, line, key, value, e);
}

static int
read_small_file(const char *path, const char *where, char **out,
    struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	int rc;

	if ((rc = bf_conf_read_file(path, &b, e)) < 0) {
		bf_err_prefix(e, "%s", where);
		bf_buf_release(&b);
		return rc;
	}
	if ((*out = bf_buf_detach(&b, NULL)) == NULL)
		return -ENOMEM;
	return 0;
}

/* auth-exempt, parsed: 0, or -BF_ECONFIG with e set. */
static int
conf_exempt(struct bh_conf *c, struct bf_err *e)
{
	free(c->exempt);
	c->exempt = NULL;
	c->nexempt = 0;
	if (c->auth_exempt != NULL && bf_cidr_parse_list(c->auth_exempt,
	    &c->exempt, &c->nexempt, e) < 0) {
		bf_err_prefix(e, "auth-exempt");
		return -BF_ECONFIG;
	}
	return 0;
}

/* Checks what can be checked without privileges changing. */
static int
conf_check(struct bh_conf *c, struct bf_err *e)
{
	struct stat st;
	const char *w;

	if (c->root == NULL)
		return bf_err_set(e, BF_ECONFIG, "no repository root: set "
		    "'root' or pass --root");
	w = c->where_root != NULL ? c->where_root : "--root";
	if (stat(c->root, &st) < 0)
		return bf_err_errno(e, "%s: root '%s'", w, c->root);
	if (!S_ISDIR(st.st_mode))
		return bf_err_set(e, BF_ECONFIG, "%s: root '%s' is not a "
		    "directory", w, c->root);
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		return bf_err_set(e, BF_ECONFIG, "%s: TLS needs both "
		    "'tls-cert' and 'tls-key'", c->where_tls);
	if (c->tls_cert != NULL && (access(c->tls_cert, R_OK) < 0 ||
	    access(c->tls_key, R_OK) < 0))
		return bf_err_errno(e, "%s: cannot read '%s'", c->where_tls,
		    access(c->tls_cert, R_OK) < 0 ? c->tls_cert : c->tls_key);
	if (c->auth_realm != NULL && c->auth_file == NULL)
		return bf_err_set(e, BF_ECONFIG, "'auth-realm' without "
		    "'auth-file'");
	if (c->auth_realm != NULL && strchr(c->auth_realm, '"') != NULL)
		return bf_err_set(e, BF_ECONFIG, "'auth-realm' may not contain "
		    "'\"'");
	if (c->user != NULL && getpwnam(c->user) == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s: no such user '%s'",
		    c->where_user, c->user);
	return conf_exempt(c, e);
}

/* Binds the listening socket; port 0 picks a free one. */
static int
bind_listen(const char *spec, const char *where, int *out, int dry,
    struct bf_err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], *port;
	const char *h;
	int fd = -1, on = 1, rc;

	if (strlen(spec) >= sizeof(host))
		return bf_err_set(e, BF_ECONFIG, "%s: listen address too long",
		    where);
	snprintf(host, sizeof(host), "%s", spec);
	if (host[0] == '[') {
		if ((port = strstr(host, "]:")) == NULL)
			goto bad;
		*port = '\0';
		port += 2;
		h = host + 1;
	} else {
		if ((port = strrchr(host, ':')) == NULL)
			goto bad;
		*port++ = '\0';
		h = host;
	}
	if (*port == '\0')
		goto bad;
	if (*h == '\0' || strcmp(h, "*") == 0)
		h = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(h, port, &hints, &res)) != 0)
		return bf_err_set(e, BF_ECONFIG, "%s: listen '%s': %s", where,
		    spec, gai_strerror(rc));
	if (dry) {
		freeaddrinfo(res);
		return 0;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 4096) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return bf_err_errno(e, "%s: cannot listen on '%s'", where, spec);
	*out = fd;
	return 0;
bad:
	return bf_err_set(e, BF_ECONFIG, "%s: bad listen address '%s' "
	    "(want host:port, [v6]:port or :port)", where, spec);
}

static int
write_small_file(const char *path, const char *text, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	int rc;

	if ((rc = bf_lockfile_open(&lf, AT_FDCWD, path, 0644, e)) < 0)
		return rc;
	bf_lockfile_write(&lf, text, strlen(text));
	return bf_lockfile_commit(&lf, -1, e);
}

static int
drop_privileges(const char *user, struct bf_err *e)
{
	struct passwd *pw;
	uid_t r, ef, sv;

	if ((pw = getpwnam(user)) == NULL)
		return bf_err_set(e, BF_ECONFIG, "no such user '%s'", user);
	if (setgroups(1, &pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return bf_err_errno(e, "cannot switch to user '%s'", user);
	if (getresuid(&r, &ef, &sv) < 0 || r != pw->pw_uid ||
	    ef != pw->pw_uid || sv != pw->pw_uid || setuid(0) == 0)
		return bf_err_set(e, EPERM, "still privileged after switching "
		    "to user '%s'", user);
	return 0;
}

/*
 * A network-facing server left running as root by accident is the
 * mistake to prevent; root on purpose (a container whose root is
 * already unprivileged) is said with -u root.
 */
static int
root_check(const struct bh_conf *c, struct bf_err *e)
{
	if (geteuid() != 0 || c->user != NULL)
		return 0;
	return bf_err_set(e, BF_ECONFIG, "refusing to serve as root: name "
	    "an unprivileged user to switch to with 'user' in the "
	    "configuration or -u USER (e.g. -u binfarm; -u root keeps root "
	    "on purpose)");
}

static void
print_err(struct bf_err *e, int rc)
{
	fprintf(stderr, "%s: %s\n", PROG, bf_err_msg(e, rc));
}

static int
hash_password(const char *user)
{
	struct bf_buf out = BF_BUF_INIT;
	char line[1024];
	size_t n;
	int rc;

	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "%s: no password on standard input\n", PROG);
		return 2;
	}
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	rc = bh_auth_hash(user, line, &out);
	explicit_bzero(line, sizeof(line));
	if (rc < 0) {
		fprintf(stderr, "%s: cannot hash password for '%s': %s\n",
		    PROG, user, bf_strerror(rc));
		bf_buf_release(&out);
		return 2;
	}
	printf("%s\n", out.buf);
	bf_buf_release(&out);
	return 0;
}

enum {
	OPT_PORT_FILE = 256, OPT_PID_FILE, OPT_ACCESS_LOG, OPT_THREADS,
	OPT_HASH,
};

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'f' },
	{ "debug", no_argument, NULL, 'd' },
	{ "test", no_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "root", required_argument, NULL, 'r' },
	{ "listen", required_argument, NULL, 'l' },
	{ "user", required_argument, NULL, 'u' },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "hash-password", required_argument, NULL, OPT_HASH },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Flags are applied after the file, so they win. */
struct flag {
	const char	*key;
	const char	*val;
};

/* The server's state before anything is opened; -1 after a message. */
static int
server_init(struct bh_server *s, const struct bh_conf *c)
{
	const char *env;

	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->root_fd = -1;
	s->access_fd = -1;
	/* For tests: exercise the O_NOFOLLOW walk on kernels with openat2. */
	if (getenv("BINFARM_BINHOST_NO_OPENAT2") != NULL)
		s->no_openat2 = 1;
	/* For tests and benches: every request through libmicrohttpd. */
	if (getenv("BINFARM_BINHOST_NO_FILE_LOOP") != NULL)
		s->no_floop = 1;
	if (getenv("BINFARM_BINHOST_NO_FILE_CACHE") != NULL)
		s->no_fcache = 1;
	/* For tests: the file loop as on kernels before Linux 6.9. */
	if (getenv("BINFARM_BINHOST_NO_PEEK_OFF") != NULL)
		s->no_peekoff = 1;
	if (bh_metrics_init(&s->metrics) < 0) {
		fprintf(stderr, "%s: cannot initialise metrics\n", PROG);
		return -1;
	}
	if (bh_chan_cache_init(&s->chans) < 0) {
		fprintf(stderr, "%s: cannot initialise the channel cache\n",
		    PROG);
		bh_metrics_release(&s->metrics);
		return -1;
	}
	/*
	 * For tests: how many seconds a replaced channel link is read
	 * again on every request (-1: never, trust its lstat at once).
	 */
	if ((env = getenv("BINFARM_BINHOST_LINK_FRESH")) != NULL)
		s->chans.fresh = atoi(env);
	return 0;
}

static void
server_release(struct bh_server *s)
{
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->access_fd > STDERR_FILENO)
		close(s->access_fd);
	free(s->root_real);
	free(s->tls_cert_pem);
	if (s->tls_key_pem != NULL) {
		explicit_bzero(s->tls_key_pem, strlen(s->tls_key_pem));
		free(s->tls_key_pem);
	}
	if (s->auth_on)
		bh_auth_release(&s->auth);
	bf_penalty_free(&s->penalty);
	bh_chan_cache_release(&s->chans);
	bh_metrics_release(&s->metrics);
	bh_fleet_release(&s->fleet);
}

/*
 * fleet/ beneath the root is the one place the binhost writes (what
 * each node fetched: fleet.c).  Made while still root and given to the
 * user the server runs as, so that the rest of the repository can stay
 * read-only to it.
 */
static int
fleet_dir(struct bh_server *s, const struct bh_conf *c, struct bf_err *e)
{
	struct passwd *pw;
	struct stat st;

	if (mkdirat(s->root_fd, BF_FLEET_DIR, 0755) < 0 && errno != EEXIST)
		return errno == EACCES || errno == EROFS ? 0 :
		    bf_err_errno(e, "cannot make '%s/%s'", c->root, BF_FLEET_DIR);
	if (fstatat(s->root_fd, BF_FLEET_DIR, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode))
		return bf_err_set(e, BF_ECONFIG, "'%s/%s' is not a directory",
		    c->root, BF_FLEET_DIR);
	if (geteuid() != 0 || c->user == NULL ||
	    (pw = getpwnam(c->user)) == NULL || st.st_uid == pw->pw_uid)
		return 0;
	if (fchownat(s->root_fd, BF_FLEET_DIR, pw->pw_uid, pw->pw_gid,
	    AT_SYMLINK_NOFOLLOW) < 0)
		return bf_err_errno(e, "cannot give '%s/%s' to '%s'", c->root,
		    BF_FLEET_DIR, c->user);
	return 0;
}

/*
 * Everything that may need privileges: the root, the TLS files, the
 * auth file, the listening socket (*lfd, bound to *port) and the access
 * log.
 */
static int
server_open(struct bh_server *s, const struct bh_conf *c, int *lfd,
    int *port, struct bf_err *e)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc;

	if ((s->root_fd = open(c->root, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open root '%s'", c->root);
	if ((s->root_real = realpath(c->root, NULL)) == NULL)
		return bf_err_errno(e, "cannot resolve root '%s'", c->root);
	if ((rc = fleet_dir(s, c, e)) < 0 ||
	    (rc = bh_fleet_init(&s->fleet, s->root_fd, s->root_real, e)) < 0)
		return rc;
	if (c->tls_cert != NULL &&
	    ((rc = read_small_file(c->tls_cert, c->where_tls,
	    &s->tls_cert_pem, e)) < 0 || (rc = read_small_file(c->tls_key,
	    c->where_tls, &s->tls_key_pem, e)) < 0))
		return rc;
	if (c->auth_file != NULL) {
		s->auth_on = 1;
		if ((rc = bh_auth_load(&s->auth, c->auth_file,
		    c->auth_realm != NULL ? c->auth_realm : "binfarm", e)) < 0)
			return rc;
	}
	if ((rc = bf_penalty_init(&s->penalty, (unsigned)c->auth_failures,
	    (unsigned)c->auth_penalty, c->exempt, c->nexempt, e)) < 0)
		return rc;
	if ((rc = bind_listen(c->listen, c->where_listen, lfd, 0, e)) < 0)
		return rc;
	if (getsockname(*lfd, (struct sockaddr *)&ss, &sl) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return bh_access_log_open(s, e);
}

/* Detaches unless in the foreground, then writes the pid and port files. */
static int
detach(const struct bh_conf *c, int foreground, int port, struct bf_err *e)
{
	char portbuf[32], pidbuf[32];
	int rc;

	if (!foreground && daemon(0, 0) < 0)
		return bf_err_errno(e, "cannot detach");
	if (c->pid_file != NULL) {
		snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
		if ((rc = write_small_file(c->pid_file, pidbuf, e)) < 0)
			return rc;
	}
	/*
	 * The port file after the pid file, while we may still write
	 * anywhere: the socket already listens, so a watcher that reads
	 * it can connect (the kernel queues the connection until the
	 * threads start).
	 */
	if (c->port_file != NULL) {
		snprintf(portbuf, sizeof(portbuf), "%d\n", port);
		if ((rc = write_small_file(c->port_file, portbuf, e)) < 0)
			return rc;
	}
	return 0;
}

/* Drops root for the configured user (unless that is root). */
static int
become_user(const struct bh_conf *c, struct bf_err *e)
{
	if (geteuid() == 0) {
		/* main() saw to it that root names a user. */
		struct passwd *pw = c->user != NULL ? getpwnam(c->user) : NULL;

		if (pw != NULL && pw->pw_uid == 0)
			log_warnx("%s: serving as root, as asked ('%s'): a "
			    "flaw in this server would be a flaw of root",
			    c->where_user, c->user);
		else
			return drop_privileges(c->user, e);
	} else if (c->user != NULL)
		log_debug("not root: ignoring 'user %s'", c->user);
	return 0;
}

/* Waits for SIGTERM or SIGINT (returned); SIGHUP reopens the logs. */
static int
wait_signals(struct bh_server *s, const sigset_t *set)
{
	struct bf_err e = BF_ERR_INIT;
	int rc, sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return sig;
		bf_err_clear(&e);
		if ((rc = bh_access_log_open(s, &e)) < 0)
			log_warnx("%s", bf_err_msg(&e, rc));
		else
			log_info("SIGHUP: logs reopened");
	}
}

/* Stops accepting, lets requests in flight finish (shutdown-timeout),
 * then stops. */
static void
shut_down(struct bh_server *s, const struct bh_conf *c, int sig)
{
	struct timespec ts;
	time_t deadline;
	int lfd;

	log_info("signal %d: stopping, %u connection(s) open", sig,
	    bh_http_connections(s));
	if ((lfd = bh_http_quiesce(s)) >= 0)
		close(lfd);
	deadline = time(NULL) + (time_t)c->shutdown_timeout;
	while (bh_http_connections(s) > 0 && time(NULL) < deadline) {
		ts.tv_sec = 0;
		ts.tv_nsec = 50 * 1000 * 1000;
		nanosleep(&ts, NULL);
	}
	if (bh_http_connections(s) > 0)
		log_warnx("closing %u connection(s) still open",
		    bh_http_connections(s));
	bh_http_stop(s);
	bh_fleet_stop(&s->fleet);	/* the last records written */
	if (c->pid_file != NULL)
		unlink(c->pid_file);
	log_info("stopped");
}

static int
serve(struct bh_conf *c, int foreground)
{
	struct bh_server s;
	struct bf_err e = BF_ERR_INIT;
	sigset_t set;
	int lfd = -1, rc, ret = 1, port = 0;

	if (server_init(&s, c) < 0)
		return 1;
	if ((rc = server_open(&s, c, &lfd, &port, &e)) < 0 ||
	    (rc = detach(c, foreground, port, &e)) < 0 ||
	    (rc = become_user(c, &e)) < 0)
		goto fail;

	/* Threads inherit this mask; only this thread takes signals. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((rc = bh_fleet_start(&s.fleet, &e)) < 0 ||
	    (rc = bh_http_start(&s, lfd, &e)) < 0)
		goto fail;
	lfd = -1;	/* MHD's now, until quiesce hands it back */
	log_info("serving '%s' on %s (port %d)%s%s", s.root_real, c->listen,
	    port, s.tls_cert_pem != NULL ? ", TLS" : "",
	    s.auth_on ? ", Basic auth" : "");
	log_info("limits: %lld connections, %s%lld per address, a whole "
	    "request within %lld s, idle %lld s", c->max_connections,
	    c->max_per_ip > 0 ? "" : "no limit (0) ", c->max_per_ip,
	    c->request_timeout, c->timeout);
	shut_down(&s, c, wait_signals(&s, &set));
	ret = 0;
	goto out;
fail:
	if (foreground)
		print_err(&e, rc);
	else
		log_warnx("%s", bf_err_msg(&e, rc));
	bh_http_stop(&s);
out:
	if (lfd >= 0)
		close(lfd);
	server_release(&s);
	return ret;
}

/* The file (-f), then the flags, then the defaults; checked. */
static int
load_conf(struct bh_conf *c, const struct flag *flags, size_t nflags,
    struct bf_err *e)
{
	size_t i;
	int rc;

	if (c->file != NULL) {
		struct ini_ctx x;

		memset(&x, 0, sizeof(x));
		x.c = c;
		if ((rc = bf_conf_load_ini(c->file, ini_cb, &x, e)) < 0)
			return rc;
	}
	for (i = 0; i < nflags; i++)
		if ((rc = conf_set(c, NULL, 0, flags[i].key, flags[i].val,
		    e)) < 0)
			return rc;
	if (c->listen == NULL && ((c->listen = strdup(":8080")) == NULL ||
	    (c->where_listen = strdup("default listen")) == NULL))
		return -ENOMEM;
	if (c->where_listen == NULL &&
	    (c->where_listen = strdup("listen")) == NULL)
		return -ENOMEM;
	if (c->where_tls == NULL && (c->where_tls = strdup("tls")) == NULL)
		return -ENOMEM;
	return conf_check(c, e);
}

/* -t: parses what start-up parses, without binding. */
static int
test_conf(const struct bh_conf *c, struct bf_err *e)
{
	struct bh_auth a;
	int rc, unused;

	if ((rc = bind_listen(c->listen, c->where_listen, &unused, 1, e)) < 0)
		return rc;
	if (c->auth_file != NULL) {
		rc = bh_auth_load(&a, c->auth_file, "x", e);
		bh_auth_release(&a);
		if (rc < 0)
			return rc;
	}
	return root_check(c, e);
}

int
main(int argc, char **argv)
{
	struct bh_conf c;
	struct bf_err e = BF_ERR_INIT;
	struct flag flags[16];
	size_t nflags = 0;
	int ch, foreground = 0, test = 0, verbose = 0, rc, ret = 1;

	bh_conf_init(&c);
	while ((ch = getopt_long(argc, argv, "f:dtvr:l:u:Vh", longopts,
	    NULL)) != -1) {
		const char *key = NULL;

		switch (ch) {
		case 'f':
			free(c.file);
			if ((c.file = strdup(optarg)) == NULL)
				goto oom;
			break;
		case 'd':
			foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'r': key = "root"; break;
		case 'l': key = "listen"; break;
		case 'u': key = "user"; break;
		case OPT_PORT_FILE: key = "port-file"; break;
		case OPT_PID_FILE: key = "pid-file"; break;
		case OPT_ACCESS_LOG: key = "access-log"; break;
		case OPT_THREADS: key = "threads"; break;
		case OPT_HASH:
			bh_conf_release(&c);
			return hash_password(optarg);
		case 'V':
			printf("%s %s\n", PROG, PACKAGE_VERSION);
			bh_conf_release(&c);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			bh_conf_release(&c);
			return 0;
		default:
			fputs(usage_text, stderr);
			bh_conf_release(&c);
			return 2;
		}
		if (key != NULL && nflags < sizeof(flags) / sizeof(flags[0])) {
			flags[nflags].key = key;
			flags[nflags].val = optarg;
			nflags++;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		bh_conf_release(&c);
		return 2;
	}
	log_init(foreground || test, verbose, PROG);
	if ((rc = load_conf(&c, flags, nflags, &e)) < 0)
		goto fail;
	if (test) {
		if ((rc = test_conf(&c, &e)) < 0)
			goto fail;
		fprintf(stderr, "%s: configuration OK\n", PROG);
		ret = 0;
		goto out;
	}
	if ((rc = root_check(&c, &e)) < 0)
		goto fail;
	ret = serve(&c, foreground);
	goto out;
oom:
	rc = -ENOMEM;
fail:
	print_err(&e, rc);
	ret = 1;
out:
	bh_conf_release(&c);
	return ret;
}
