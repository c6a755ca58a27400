/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * builder.conf: INI, see binfarm-builder.conf(5).
 *
 *	[builder]
 *	listen = 127.0.0.1:8470
 *	state = /var/lib/binfarm-builder
 *	engineer-token = ...
 *	metrics-token = ...
 *	tls-cert = tls/server.pem
 *	tls-key = tls/server.key
 *	[worker build1]
 *	token = ...
 *	profiles = web-x86-64-v3
 *	tags = web
 *	[profile web-x86-64-v3]
 *	dir = /etc/binfarm/profiles/web-x86-64-v3
 *	[repo gentoo]
 *	uri = /srv/git/gentoo.git
 *	ref = main
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "store/keys.h"
#include "store/recover.h"
#include "store/repo.h"
#include "store/sign.h"
#include "builder.h"
#include "base/banned.h"

struct cfgctx {
	struct bcfg	*c;
	char		*dir;		/* of the config file, for relative paths */
	unsigned	 state_line;
};

static char *
abspath(const char *dir, const char *v)
{
	struct bf_buf b = BF_BUF_INIT;

	if (v[0] == '/' || dir == NULL)
		bf_buf_adds(&b, v);
	else
		bf_buf_addf(&b, "%s/%s", dir, v);
	return bf_buf_detach(&b, NULL);
}

static int
set_str(char **dst, const char *v, const char *file, unsigned line,
    const char *key, struct bf_err *e)
{
	free(*dst);
	if ((*dst = strdup(v)) == NULL)
		return bf_err_nomem(e);
	(void)file;
	(void)line;
	(void)key;
	return 0;
}

static int
set_int(int *dst, const char *v, int min, int max, const char *file,
    unsigned line, const char *key, struct bf_err *e)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || l < min || l > max)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: %s: expected a number "
		    "from %d to %d, not '%s'", file, line, key, min, max, v);
	*dst = (int)l;
	return 0;
}

/* auth-exempt: address ranges, separated by blanks; replaces the last. */
static int
set_exempt(struct bcfg *c, const char *v, const char *file, unsigned line,
    struct bf_err *e)
{
	free(c->auth_exempt);
	if (bf_cidr_parse_list(v, &c->auth_exempt, &c->nauth_exempt, e) < 0) {
		bf_err_prefix(e, "%s:%u: auth-exempt", file, line);
		return -BF_ECONFIG;
	}
	return 0;
}

/* A byte count with an optional K, M or G (binary) suffix. */
static int
set_size(long long *dst, const char *v, long long min, const char *file,
    unsigned line, const char *key, struct bf_err *e)
{
	char *end;
	long long l;
	int shift = 0;

	errno = 0;
	l = strtoll(v, &end, 10);
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift != 0)
		end++;
	if (errno != 0 || end == v || *end != '\0' || l < 0 ||
	    l > (LLONG_MAX >> shift) || (l << shift) < min)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: %s: expected a size "
		    "of at least %lld bytes (with K, M or G), not '%s'", file,
		    line, key, min, v);
	*dst = l << shift;
	return 0;
}

static int
valid_worker_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	return n > 0 && n <= 64 && s[n] == '\0' && s[0] != '.' && s[0] != '-';
}

static int
worker_section(struct cfgctx *x, const char *file, unsigned line,
    const char *section, const char *name, const char *key,
    const char *value, struct bf_err *e)
{
	struct bcfg *c = x->c;
	struct bcfg_worker *w = NULL;
	struct bf_strv *sv;
	size_t i;
	char *t, *q;
	int rc;

	if (!valid_worker_name(name))
		return bf_err_set(e, BF_ECONFIG, "%s:%u: bad worker name '%s' "
		    "(letters, digits, '.', '_', '-'; at most 64)", file, line,
		    name);
	for (i = 0; i < c->nworkers; i++)
		if (strcmp(c->workers[i].name, name) == 0)
			w = &c->workers[i];
	if (w == NULL) {
		if (bf_grow(&c->workers, &c->aworkers, c->nworkers + 1,
		    sizeof(*c->workers), 4) < 0)
			return bf_err_nomem(e);
		w = &c->workers[c->nworkers++];
		memset(w, 0, sizeof(*w));
		w->line = line;
		if ((w->name = strdup(name)) == NULL)
			return bf_err_nomem(e);
	}
	if (strcmp(key, "token") == 0) {
		if (strlen(value) < 16)
			return bf_err_set(e, BF_ECONFIG, "%s:%u: token: too "
			    "short; use at least 16 characters", file, line);
		return set_str(&w->token, value, file, line, key, e);
	}
	if (strcmp(key, "profiles") == 0)
		sv = &w->profiles;
	else if (strcmp(key, "tags") == 0)
		sv = &w->tags;
	else
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key '%s' in "
		    "[%s]", file, line, key, section);
	if ((t = strdup(value)) == NULL)
		return bf_err_nomem(e);
	for (q = t; *q != '\0'; q++)
		if (*q == ',')
			*q = ' ';
	bf_strv_release(sv);
	rc = bf_strv_split(sv, t);
	free(t);
	return rc < 0 ? bf_err_nomem(e) : 0;
}

static int
cfg_cb(void *arg, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct cfgctx *x = arg;
	struct bcfg *c = x->c;

	/* The INI parser hands a line without '=' over with no value. */
	if (value == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: '%s' has no value; "
		    "expected KEY = VALUE", file, line, key);
	if (strcmp(section, "builder") == 0) {
		if (strcmp(key, "listen") == 0) {
			if (strchr(value, ':') == NULL)
				return bf_err_set(e, BF_ECONFIG, "%s:%u: listen: "
				    "expected HOST:PORT, not '%s'", file, line,
				    value);
			return set_str(&c->listen, value, file, line, key, e);
		}
		if (strcmp(key, "state") == 0) {
			free(c->state);
			x->state_line = line;
			return (c->state = abspath(x->dir, value)) ? 0 :
			    bf_err_nomem(e);
		}
		if (strcmp(key, "repository") == 0) {
			free(c->repository);
			return (c->repository = abspath(x->dir, value)) ? 0 :
			    bf_err_nomem(e);
		}
		if (strcmp(key, "mirrors") == 0) {
			free(c->mirrors);
			return (c->mirrors = abspath(x->dir, value)) ? 0 :
			    bf_err_nomem(e);
		}
		if (strcmp(key, "worker-token") == 0)
			return bf_err_set(e, BF_ECONFIG, "%s:%u: worker-token: "
			    "one token for every worker is no longer accepted; "
			    "give each worker a [worker NAME] section with its "
			    "own token, profiles and tags (binfarm-builder.conf(5))",
			    file, line);
		if (strcmp(key, "engineer-token") == 0 ||
		    strcmp(key, "metrics-token") == 0) {
			if (strlen(value) < 16)
				return bf_err_set(e, BF_ECONFIG, "%s:%u: %s: "
				    "too short; use at least 16 characters",
				    file, line, key);
			return set_str(key[0] == 'e' ? &c->engineer_token :
			    &c->metrics_token, value, file, line, key, e);
		}
		if (strcmp(key, "user") == 0)
			return set_str(&c->user, value, file, line, key, e);
		if (strcmp(key, "tls-cert") == 0 ||
		    strcmp(key, "tls-key") == 0) {
			char **dst = key[4] == 'c' ? &c->tls_cert : &c->tls_key;

			free(*dst);
			return (*dst = abspath(x->dir, value)) ? 0 :
			    bf_err_nomem(e);
		}
		if (strcmp(key, "max-connections") == 0)
			return set_int(&c->max_connections, value, 4, 100000,
			    file, line, key, e);
		if (strcmp(key, "max-connections-per-ip") == 0)
			return set_int(&c->max_connections_per_ip, value, 0,
			    100000, file, line, key, e);
		if (strcmp(key, "request-timeout") == 0)
			return set_int(&c->request_timeout, value, 1, 3600,
			    file, line, key, e);
		if (strcmp(key, "max-upload-size") == 0)
			return set_size(&c->max_upload_size, value, 1024, file,
			    line, key, e);
		if (strcmp(key, "auth-failures") == 0)
			return set_int(&c->auth_failures, value, 0, 100000,
			    file, line, key, e);
		if (strcmp(key, "auth-penalty") == 0)
			return set_int(&c->auth_penalty, value, 1, 86400,
			    file, line, key, e);
		if (strcmp(key, "auth-exempt") == 0)
			return set_exempt(c, value, file, line, e);
		if (strcmp(key, "lease-timeout") == 0)
			return set_int(&c->lease_timeout, value, 1, 86400, file,
			    line, key, e);
		if (strcmp(key, "max-attempts") == 0)
			return set_int(&c->max_attempts, value, 1, 100, file,
			    line, key, e);
		if (strcmp(key, "backoff") == 0)
			return set_int(&c->backoff, value, 0, 86400, file,
			    line, key, e);
		if (strcmp(key, "backoff-max") == 0)
			return set_int(&c->backoff_max, value, 0, 86400, file,
			    line, key, e);
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key '%s' in "
		    "[builder]", file, line, key);
	}
	if (strncmp(section, "profile ", 8) == 0) {
		const char *name = section + 8;
		struct bcfg_profile *pr = NULL;
		size_t i;

		if (strcmp(key, "dir") != 0)
			return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key "
			    "'%s' in [%s]", file, line, key, section);
		for (i = 0; i < c->nprofiles; i++)
			if (strcmp(c->profiles[i].name, name) == 0)
				return bf_err_set(e, BF_ECONFIG, "%s:%u: profile "
				    "'%s' is already defined at line %u", file,
				    line, name, c->profiles[i].line);
		if (*name == '\0' || strchr(name, '/') != NULL ||
		    name[0] == '.')
			return bf_err_set(e, BF_ECONFIG, "%s:%u: bad profile "
			    "name '%s'", file, line, name);
		if (bf_grow(&c->profiles, &c->aprofiles, c->nprofiles + 1,
		    sizeof(*c->profiles), 4) < 0)
			return bf_err_nomem(e);
		pr = &c->profiles[c->nprofiles];
		pr->name = strdup(name);
		pr->dir = abspath(x->dir, value);
		pr->line = line;
		memset(&pr->tags, 0, sizeof(pr->tags));
		c->nprofiles++;
		if (pr->name == NULL || pr->dir == NULL)
			return bf_err_nomem(e);
		return 0;
	}
	if (strncmp(section, "worker ", 7) == 0)
		return worker_section(x, file, line, section, section + 7, key,
		    value, e);
	if (strncmp(section, "repo ", 5) == 0) {
		const char *name = section + 5;
		struct bcfg_repo *r = NULL;
		size_t i;

		for (i = 0; i < c->nrepos; i++)
			if (strcmp(c->repos[i].name, name) == 0)
				r = &c->repos[i];
		if (r == NULL) {
			if (bf_grow(&c->repos, &c->arepos, c->nrepos + 1,
			    sizeof(*c->repos), 4) < 0)
				return bf_err_nomem(e);
			r = &c->repos[c->nrepos++];
			memset(r, 0, sizeof(*r));
			if ((r->name = strdup(name)) == NULL)
				return bf_err_nomem(e);
		}
		if (strcmp(key, "uri") == 0) {
			free(r->uri);
			r->uri = value[0] == '/' || strstr(value, "://") ||
			    strchr(value, '@') ? strdup(value) :
			    abspath(x->dir, value);
			return r->uri ? 0 : bf_err_nomem(e);
		}
		if (strcmp(key, "ref") == 0)
			return set_str(&r->ref, value, file, line, key, e);
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key '%s' in "
		    "[%s]", file, line, key, section);
	}
	return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown section [%s]", file,
	    line, section);
}

/*
 * The tokens: the engineer's set, the metrics-token and every worker's
 * different from each other; each worker's profiles configured.
 */
static int
check_tokens(const struct bcfg *c, const char *file, struct bf_err *e)
{
	size_t i, k;

	if (c->engineer_token == NULL) {
		bf_err_set(e, BF_ECONFIG, "%s: [builder] engineer-token is not "
		    "set", file);
		return -1;
	}
	if (c->metrics_token != NULL &&
	    bcfg_token_eq(c->metrics_token, c->engineer_token)) {
		bf_err_set(e, BF_ECONFIG, "%s: [builder] metrics-token is the "
		    "engineer-token; they must differ (the metrics-token only "
		    "reads /metrics)", file);
		return -1;
	}
	for (i = 0; i < c->nworkers; i++) {
		const struct bcfg_worker *w = &c->workers[i];

		if (w->token == NULL) {
			bf_err_set(e, BF_ECONFIG, "%s:%u: [worker %s] has no "
			    "token", file, w->line, w->name);
			return -1;
		}
		if (bcfg_token_eq(w->token, c->engineer_token) ||
		    (c->metrics_token != NULL &&
		    bcfg_token_eq(w->token, c->metrics_token))) {
			bf_err_set(e, BF_ECONFIG, "%s:%u: [worker %s]: its token "
			    "is the %s; they must differ", file, w->line,
			    w->name, bcfg_token_eq(w->token, c->engineer_token) ?
			    "engineer-token" : "metrics-token");
			return -1;
		}
		for (k = 0; k < i; k++)
			if (bcfg_token_eq(w->token, c->workers[k].token)) {
				bf_err_set(e, BF_ECONFIG, "%s:%u: [worker %s] "
				    "has the token of [worker %s]; each worker "
				    "needs its own", file, w->line, w->name,
				    c->workers[k].name);
				return -1;
			}
		for (k = 0; k < w->profiles.n; k++)
			if (bcfg_profile(c, w->profiles.v[k]) == NULL) {
				bf_err_set(e, BF_ECONFIG, "%s:%u: [worker %s]: "
				    "no [profile %s]", file, w->line, w->name,
				    w->profiles.v[k]);
				return -1;
			}
	}
	return 0;
}

int
bcfg_load(struct bcfg *c, const char *file, struct bf_err *e)
{
	struct cfgctx x;
	struct stat st;
	char *slash;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	c->lease_timeout = 60;
	c->max_attempts = 3;
	c->backoff = 10;
	c->backoff_max = 600;
	c->max_connections = 512;
	c->max_connections_per_ip = 64;
	c->request_timeout = 30;
	c->max_upload_size = 2LL << 30;
	c->auth_failures = 10;
	c->auth_penalty = 300;
	memset(&x, 0, sizeof(x));
	x.c = c;
	if ((c->file = strdup(file)) == NULL || (x.dir = strdup(file)) == NULL)
		goto oom;
	if ((slash = strrchr(x.dir, '/')) != NULL)
		*slash = '\0';
	else {
		free(x.dir);
		x.dir = NULL;
	}
	if ((rc = bf_conf_load_ini(file, cfg_cb, &x, e)) < 0)
		goto out;
	rc = -BF_ECONFIG;
	if (c->state == NULL) {
		bf_err_set(e, BF_ECONFIG, "%s: [builder] state is not set", file);
		goto out;
	}
	if (check_tokens(c, file, e) < 0)
		goto out;
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		bf_err_set(e, BF_ECONFIG, "%s: [builder] tls-cert and tls-key "
		    "go together", file);
		goto out;
	}
	if (c->listen == NULL && (c->listen = strdup("127.0.0.1:8470")) == NULL)
		goto oom;
	if (c->mirrors == NULL) {
		struct bf_buf m = BF_BUF_INIT;

		bf_buf_addf(&m, "%s/mirrors", c->state);
		if ((c->mirrors = bf_buf_detach(&m, NULL)) == NULL)
			goto oom;
	}
	if (c->repository == NULL) {
		struct bf_buf m = BF_BUF_INIT;

		bf_buf_addf(&m, "%s/repo", c->state);
		if ((c->repository = bf_buf_detach(&m, NULL)) == NULL)
			goto oom;
	}
	for (i = 0; i < c->nprofiles; i++) {
		struct bf_buf mk = BF_BUF_INIT;

		bf_buf_addf(&mk, "%s/make.conf", c->profiles[i].dir);
		if (stat(mk.buf, &st) < 0) {
			bf_err_set(e, BF_ECONFIG, "%s:%u: profile '%s': no "
			    "make.conf in '%s'", file, c->profiles[i].line,
			    c->profiles[i].name, c->profiles[i].dir);
			bf_buf_release(&mk);
			goto out;
		}
		bf_buf_release(&mk);
	}
	for (i = 0; i < c->nrepos; i++)
		if (c->repos[i].uri == NULL) {
			bf_err_set(e, BF_ECONFIG, "%s: [repo %s] has no uri",
			    file, c->repos[i].name);
			goto out;
		}
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	free(x.dir);
	if (rc < 0)
		bcfg_release(c);	/* a failed load leaves nothing allocated */
	return rc;
}

void
bcfg_release(struct bcfg *c)
{
	size_t i;

	free(c->file);
	free(c->listen);
	free(c->state);
	free(c->mirrors);
	free(c->repository);
	free(c->engineer_token);
	if (c->metrics_token != NULL)
		explicit_bzero(c->metrics_token, strlen(c->metrics_token));
	free(c->metrics_token);
	free(c->auth_exempt);
	free(c->user);
	free(c->tls_cert);
	free(c->tls_key);
	for (i = 0; i < c->nworkers; i++) {
		free(c->workers[i].name);
		if (c->workers[i].token != NULL)
			explicit_bzero(c->workers[i].token,
			    strlen(c->workers[i].token));
		free(c->workers[i].token);
		bf_strv_release(&c->workers[i].profiles);
		bf_strv_release(&c->workers[i].tags);
	}
	free(c->workers);
	for (i = 0; i < c->nprofiles; i++) {
		free(c->profiles[i].name);
		free(c->profiles[i].dir);
		bf_strv_release(&c->profiles[i].tags);
	}
	free(c->profiles);
	for (i = 0; i < c->nrepos; i++) {
		free(c->repos[i].name);
		free(c->repos[i].uri);
		free(c->repos[i].ref);
	}
	free(c->repos);
	memset(c, 0, sizeof(*c));
}

const struct bcfg_profile *
bcfg_profile(const struct bcfg *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

int
bcfg_token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	/* Every byte of `a`, whatever matched: no early exit. */
	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
	return d == 0;
}

const struct bcfg_worker *
bcfg_worker_by_token(const struct bcfg *c, const char *token)
{
	const struct bcfg_worker *found = NULL;
	size_t i;

	/* Compare with every worker's: the time does not say which. */
	for (i = 0; i < c->nworkers; i++)
		if (bcfg_token_eq(token, c->workers[i].token) && found == NULL)
			found = &c->workers[i];
	return found;
}

static int
random_token(char out[65], struct bf_err *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	int fd, i;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open /dev/urandom");
	if (bf_pread_full(fd, r, sizeof(r), 0) != (ssize_t)sizeof(r) &&
	    read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		close(fd);
		return bf_err_errno(e, "cannot read /dev/urandom");
	}
	close(fd);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

/* Runs `argv` (openssl) with its output to /dev/null; 0 if it exits 0. */
static int
run_quiet(const char *const *argv, struct bf_buf *out, struct bf_err *e)
{
	int p[2], st;
	pid_t pid;
	char buf[4096];
	ssize_t r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return bf_err_errno(e, "pipe");
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return bf_err_errno(e, "fork");
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(p[1]);
	while ((r = read(p[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			bf_buf_add(out, buf, (size_t)r);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		bf_buf_rtrim(out);
		return bf_err_set(e, BF_ECRYPTO, "'%s %s' failed%s%s", argv[0],
		    argv[1], out->len ? ": " : "", out->buf);
	}
	return 0;
}

/*
 * <state>/tls: a self-signed CA (ca.pem, ca.key) and a server
 * certificate it signs (server.pem, server.key) for `listen`'s host,
 * 127.0.0.1 and localhost, made with the openssl command.  For a demo
 * or a first setup: a site with its own CA replaces the server files.
 */
static int
make_tls(const char *state, const char *listen, struct bf_err *e)
{
	struct bf_buf d = BF_BUF_INIT, ca = BF_BUF_INIT, cak = BF_BUF_INIT,
	    crt = BF_BUF_INIT, key = BF_BUF_INIT, san = BF_BUF_INIT,
	    cn = BF_BUF_INIT, out = BF_BUF_INIT;
	const char *colon = strrchr(listen, ':');
	struct in_addr ia;
	char host[256];
	int rc;

	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - listen) :
	    (int)strlen(listen), listen);
	bf_buf_addf(&d, "%s/tls", state);
	if (mkdir(d.buf, 0700) < 0 && errno != EEXIST) {
		rc = bf_err_errno(e, "cannot create '%s'", d.buf);
		goto out;
	}
	bf_buf_addf(&ca, "%s/ca.pem", d.buf);
	bf_buf_addf(&cak, "%s/ca.key", d.buf);
	bf_buf_addf(&crt, "%s/server.pem", d.buf);
	bf_buf_addf(&key, "%s/server.key", d.buf);
	bf_buf_adds(&san, "subjectAltName=IP:127.0.0.1,DNS:localhost");
	if (strcmp(host, "*") != 0 && strcmp(host, "0.0.0.0") != 0 &&
	    strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0)
		bf_buf_addf(&san, ",%s:%s", inet_pton(AF_INET, host, &ia) == 1 ?
		    "IP" : "DNS", host);
	else if (gethostname(host, sizeof(host)) == 0 &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") == strlen(host) && host[0] != '\0')
		bf_buf_addf(&san, ",DNS:%s", host);
	else
		snprintf(host, sizeof(host), "localhost");
	bf_buf_addf(&cn, "/CN=%s", host);
	{
		const char *ca_argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
		    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		    "-keyout", cak.buf, "-out", ca.buf, "-days", "3650",
		    "-subj", "/CN=binfarm-builder CA", "-addext",
		    "basicConstraints=critical,CA:TRUE", "-addext",
		    "keyUsage=critical,keyCertSign,cRLSign", NULL };
		const char *srv_argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
		    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		    "-keyout", key.buf, "-out", crt.buf, "-days", "825",
		    "-CA", ca.buf, "-CAkey", cak.buf, "-subj", cn.buf,
		    "-addext", san.buf, "-addext",
		    "basicConstraints=critical,CA:FALSE", "-addext",
		    "extendedKeyUsage=serverAuth", NULL };

		if ((rc = bf_buf_error(&san)) < 0 ||
		    (rc = run_quiet(ca_argv, &out, e)) < 0)
			goto out;
		bf_buf_reset(&out);
		if ((rc = run_quiet(srv_argv, &out, e)) < 0)
			goto out;
	}
	(void)chmod(cak.buf, 0600);
	(void)chmod(key.buf, 0600);
	rc = 0;
out:
	bf_buf_release(&d);
	bf_buf_release(&ca);
	bf_buf_release(&cak);
	bf_buf_release(&crt);
	bf_buf_release(&key);
	bf_buf_release(&san);
	bf_buf_release(&cn);
	bf_buf_release(&out);
	return rc;
}

int
bcfg_generate(const char *state, const char *listen, char *const *profiles,
    size_t nprofiles, int unsigned_repo, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT, path = BF_BUF_INIT;
	struct bf_repo *r = NULL;
	char wt[65], et[65], rp[PATH_MAX];
	struct bf_buf workers = BF_BUF_INIT;
	size_t i;
	int rc;

	if (mkdir(state, 0700) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create '%s'", state);
	if ((rc = random_token(et, e)) < 0 || (rc = make_tls(state, listen,
	    e)) < 0)
		return rc;
	bf_buf_addf(&b, "# binfarm-builder.conf(5), generated by "
	    "binfarm-builder --init\n[builder]\nlisten = %s\nstate = .\n"
	    "repository = repo\nengineer-token = %s\n"
	    "# TLS: a server certificate signed by tls/ca.pem, the CA file\n"
	    "# workers and engineers verify the builder with (--cacert)\n"
	    "tls-cert = tls/server.pem\ntls-key = tls/server.key\n",
	    listen, et);
	for (i = 0; i < nprofiles; i++) {
		const char *base = strrchr(profiles[i], '/');
		size_t bl;

		if (realpath(profiles[i], rp) == NULL) {
			rc = bf_err_errno(e, "profile '%s'", profiles[i]);
			goto out;
		}
		base = base ? base + 1 : profiles[i];
		bl = strlen(base);
		while (bl > 0 && base[bl - 1] == '/')
			bl--;
		base = strrchr(rp, '/') + 1;
		bf_buf_addf(&b, "\n[profile %s]\ndir = %s\n", base, rp);
		/* A worker for it: binfarm-worker --name BASE-1. */
		if ((rc = random_token(wt, e)) < 0)
			goto out;
		bf_buf_addf(&workers, "\n[worker %s-1]\ntoken = %s\n"
		    "profiles = %s\n", base, wt, base);
	}
	bf_buf_add(&b, workers.buf, workers.len);
	bf_buf_addf(&path, "%s/builder.conf", state);
	if ((rc = bf_lockfile_open(&lf, AT_FDCWD, path.buf, 0600, e)) < 0)
		goto out;
	bf_lockfile_write(&lf, b.buf, b.len);
	if ((rc = bf_lockfile_commit(&lf, -1, e)) < 0)
		goto out;
	/* The repository rebuilds are published to: binfarm repo init. */
	bf_buf_reset(&path);
	bf_buf_addf(&path, "%s/repo", state);
	if (access(path.buf, F_OK) == 0)
		goto out;
	if ((rc = bf_repo_create(path.buf, unsigned_repo ? BF_REPO_UNSIGNED :
	    0, e)) < 0 || (rc = bf_repo_open(&r, path.buf, e)) < 0)
		goto out;
	if (r->signed_repo) {
		struct bf_buf fpr = BF_BUF_INIT;

		if ((rc = bf_repo_lock(r, NULL, NULL, e)) == 0)
			rc = bf_repo_keygen(r, NULL, NULL, NULL, &fpr, e);
		bf_buf_release(&fpr);
	}
out:
	bf_repo_free(r);
	bf_lockfile_rollback(&lf);
	bf_buf_release(&workers);
	bf_buf_release(&b);
	bf_buf_release(&path);
	return rc;
}

int
builder_open_repo(struct builder *b, struct bf_err *e)
{
	int rc;

	if ((rc = bf_repo_open(&b->repo, b->cfg.repository, e)) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", bf_err_msg(e, rc));
		bf_err_clear(e);
		return bf_err_set(e, -rc, "%s; create the repository with "
		    "'binfarm repo init %s'", why, b->cfg.repository);
	}
	if (!b->repo->signed_repo) {
		log_warnx("repository '%s' is UNSIGNED: Portage >= 3.0.78 "
		    "refuses its packages unless nodes disable verification",
		    b->cfg.repository);
		return 0;
	}
	{
		struct bf_buf why = BF_BUF_INIT;

		if ((rc = bf_repo_key_problem(b->repo, &why, e)) > 0)
			rc = bf_err_set(e, BF_EUNSAFE, "refusing to sign: %s",
			    why.buf);
		bf_buf_release(&why);
		if (rc < 0)
			return rc;
	}
	if (b->repo->signing_key == NULL)
		return bf_err_set(e, BF_ECONFIG, "repository '%s' is signed "
		    "but has no key; run 'binfarm -R %s key init'",
		    b->cfg.repository, b->cfg.repository);
	return 0;
}
