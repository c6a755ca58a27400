/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * builder.conf: INI, see binfarm-builder.conf(5).
 *
 *	[builder]
 *	listen = 127.0.0.1:8470
 *	state = /var/lib/binfarm-builder
 *	worker-token = ...
 *	engineer-token = ...
 *	[profile web-x86-64-v3]
 *	dir = /etc/binfarm/profiles/web-x86-64-v3
 *	[repo gentoo]
 *	uri = /srv/git/gentoo.git
 *	ref = main
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "lockfile.h"
#include "repo.h"
#include "sign.h"
#include "builder.h"
#include "banned.h"

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
		return bf_err_set(e, ENOMEM, "out of memory");
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

static int
cfg_cb(void *arg, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct cfgctx *x = arg;
	struct bcfg *c = x->c;
	void *p;

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
			    bf_err_set(e, ENOMEM, "out of memory");
		}
		if (strcmp(key, "repository") == 0) {
			free(c->repository);
			return (c->repository = abspath(x->dir, value)) ? 0 :
			    bf_err_set(e, ENOMEM, "out of memory");
		}
		if (strcmp(key, "mirrors") == 0) {
			free(c->mirrors);
			return (c->mirrors = abspath(x->dir, value)) ? 0 :
			    bf_err_set(e, ENOMEM, "out of memory");
		}
		if (strcmp(key, "worker-token") == 0 ||
		    strcmp(key, "engineer-token") == 0) {
			if (strlen(value) < 16)
				return bf_err_set(e, BF_ECONFIG, "%s:%u: %s: "
				    "too short; use at least 16 characters",
				    file, line, key);
			return set_str(key[0] == 'w' ? &c->worker_token :
			    &c->engineer_token, value, file, line, key, e);
		}
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
		p = realloc(c->profiles, (c->nprofiles + 1) *
		    sizeof(*c->profiles));
		if (p == NULL)
			return bf_err_set(e, ENOMEM, "out of memory");
		c->profiles = p;
		pr = &c->profiles[c->nprofiles];
		pr->name = strdup(name);
		pr->dir = abspath(x->dir, value);
		pr->line = line;
		memset(&pr->tags, 0, sizeof(pr->tags));
		c->nprofiles++;
		if (pr->name == NULL || pr->dir == NULL)
			return bf_err_set(e, ENOMEM, "out of memory");
		return 0;
	}
	if (strncmp(section, "repo ", 5) == 0) {
		const char *name = section + 5;
		struct bcfg_repo *r = NULL;
		size_t i;

		for (i = 0; i < c->nrepos; i++)
			if (strcmp(c->repos[i].name, name) == 0)
				r = &c->repos[i];
		if (r == NULL) {
			p = realloc(c->repos, (c->nrepos + 1) * sizeof(*c->repos));
			if (p == NULL)
				return bf_err_set(e, ENOMEM, "out of memory");
			c->repos = p;
			r = &c->repos[c->nrepos++];
			memset(r, 0, sizeof(*r));
			if ((r->name = strdup(name)) == NULL)
				return bf_err_set(e, ENOMEM, "out of memory");
		}
		if (strcmp(key, "uri") == 0) {
			free(r->uri);
			r->uri = value[0] == '/' || strstr(value, "://") ||
			    strchr(value, '@') ? strdup(value) :
			    abspath(x->dir, value);
			return r->uri ? 0 : bf_err_set(e, ENOMEM, "out of memory");
		}
		if (strcmp(key, "ref") == 0)
			return set_str(&r->ref, value, file, line, key, e);
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key '%s' in "
		    "[%s]", file, line, key, section);
	}
	return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown section [%s]", file,
	    line, section);
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
	if (c->worker_token == NULL || c->engineer_token == NULL) {
		bf_err_set(e, BF_ECONFIG, "%s: [builder] worker-token and "
		    "engineer-token must both be set", file);
		goto out;
	}
	if (strcmp(c->worker_token, c->engineer_token) == 0) {
		bf_err_set(e, BF_ECONFIG, "%s: worker-token and engineer-token "
		    "must differ", file);
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
	rc = bf_err_set(e, ENOMEM, "out of memory");
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
	free(c->worker_token);
	free(c->engineer_token);
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

int
bcfg_generate(const char *state, const char *listen, char *const *profiles,
    size_t nprofiles, int unsigned_repo, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT, path = BF_BUF_INIT;
	struct bf_repo *r = NULL;
	char wt[65], et[65], rp[PATH_MAX];
	size_t i;
	int rc;

	if (mkdir(state, 0700) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create '%s'", state);
	if ((rc = random_token(wt, e)) < 0 || (rc = random_token(et, e)) < 0)
		return rc;
	bf_buf_addf(&b, "# binfarm-builder.conf(5), generated by "
	    "binfarm-builder --init\n[builder]\nlisten = %s\nstate = .\n"
	    "repository = repo\nworker-token = %s\nengineer-token = %s\n",
	    listen, wt, et);
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
	}
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
			rc = bf_repo_keygen(r, NULL, NULL, &fpr, e);
		bf_buf_release(&fpr);
	}
out:
	bf_repo_free(r);
	bf_lockfile_rollback(&lf);
	bf_buf_release(&b);
	bf_buf_release(&path);
	return rc;
}

int
builder_open_repo(struct builder *b, struct bf_err *e)
{
	char *home;
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
	if (faccessat(b->repo->root_fd, BF_REPO_PUBKEY, F_OK, 0) < 0)
		return bf_err_set(e, BF_ECONFIG, "repository '%s' is signed "
		    "but has no key; run 'binfarm -R %s key init'",
		    b->cfg.repository, b->cfg.repository);
	if ((home = bf_repo_path(b->repo, BF_REPO_GNUPG)) == NULL)
		return bf_err_set(e, ENOMEM, "out of memory");
	rc = bf_signer_open(&b->signer, home, e);
	free(home);
	return rc;
}
