/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "portage/profile.h"
#include "base/banned.h"

/*
 * USE_EXPAND names used when neither make.conf nor anything else sets
 * USE_EXPAND: the ones a web fleet's make.conf commonly sets.
 */
static const char *const default_use_expand[] = {
	"APACHE2_MODULES", "APACHE2_MPMS", "CPU_FLAGS_X86", "CURL_SSL",
	"INPUT_DEVICES", "L10N", "LLVM_TARGETS", "LUA_SINGLE_TARGET",
	"LUA_TARGETS", "NGINX_MODULES_HTTP", "NGINX_MODULES_MAIL",
	"NGINX_MODULES_STREAM", "PHP_TARGETS", "POSTGRES_TARGETS",
	"PYTHON_SINGLE_TARGET", "PYTHON_TARGETS", "RUBY_TARGETS",
	"VIDEO_CARDS",
};

void
bf_pkglist_release(struct bf_pkglist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		bf_atom_release(&l->v[i].atom);
		bf_strv_release(&l->v[i].words);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

void
bf_profile_release(struct bf_profile *p)
{
	size_t i;

	free(p->dir);
	free(p->name);
	bf_conf_release(&p->make);
	free(p->arch);
	bf_strv_release(&p->use);
	bf_strv_release(&p->accept_keywords);
	bf_strv_release(&p->use_expand);
	bf_pkglist_release(&p->world);
	bf_pkglist_release(&p->package_use);
	bf_pkglist_release(&p->package_keywords);
	bf_pkglist_release(&p->package_mask);
	bf_pkglist_release(&p->package_license);
	free(p->portage_profile);
	bf_strv_release(&p->worker_tags);
	for (i = 0; i < p->nrepos; i++) {
		free(p->repos[i].name);
		free(p->repos[i].uri);
		free(p->repos[i].ref);
	}
	free(p->repos);
	bf_strv_release(&p->files);
	memset(p, 0, sizeof(*p));
}

int
bf_use_apply(struct bf_strv *set, const struct bf_strv *words)
{
	size_t i;
	long at;
	int rc;

	for (i = 0; i < words->n; i++) {
		const char *w = words->v[i];

		if (strcmp(w, "-*") == 0) {
			while (set->n > 0)
				bf_strv_remove(set, set->n - 1);
		} else if (w[0] == '-') {
			if ((at = bf_strv_find(set, w + 1)) >= 0)
				bf_strv_remove(set, (size_t)at);
		} else if (bf_strv_find(set, w) < 0) {
			if ((rc = bf_strv_push(set, w)) < 0)
				return rc;
		}
	}
	return 0;
}

static int
add_lower_flag(struct bf_strv *sv, const char *var, const char *val,
    int neg)
{
	struct bf_buf b = BF_BUF_INIT;
	const char *s;
	int rc;

	if (neg)
		bf_buf_addch(&b, '-');
	for (s = var; *s != '\0'; s++)
		bf_buf_addch(&b, *s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	bf_buf_addf(&b, "_%s", val);
	if ((rc = bf_buf_error(&b)) == 0)
		rc = bf_strv_push(sv, b.buf);
	bf_buf_release(&b);
	return rc;
}

struct lctx {
	struct bf_profile	*p;
	struct bf_pkglist	*list;
	int			 kind;
};

enum { L_WORLD, L_USE, L_KEYWORDS, L_MASK, L_LICENSE };

static int
is_use_expand(const struct bf_profile *p, const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < p->use_expand.n; i++)
		if (strlen(p->use_expand.v[i]) == len &&
		    memcmp(p->use_expand.v[i], w, len) == 0)
			return 1;
	return 0;
}

static int
line_cb(void *vctx, const char *file, unsigned line, char *text,
    struct bf_err *e)
{
	struct lctx *c = vctx;
	struct bf_pkglist *l = c->list;
	struct bf_pkgent *pe;
	struct bf_strv words = BF_STRV_INIT;
	const char *expand = NULL;
	size_t i, n;
	int rc;

	if ((rc = bf_strv_split(&words, text)) < 0)
		goto oom;
	if (bf_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v), 32) < 0)
		goto oom;
	pe = &l->v[l->n];
	memset(pe, 0, sizeof(*pe));
	pe->file = bf_strv_keep(&c->p->files, file);
	pe->line = line;
	if ((rc = bf_atom_parse(&pe->atom, words.v[0], e)) < 0) {
		bf_err_prefix(e, "%s:%u", file, line);
		goto out;
	}
	if (pe->atom.blocker) {
		bf_atom_release(&pe->atom);
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: a blocker is not allowed "
		    "here: '%s'", file, line, words.v[0]);
		goto out;
	}
	if ((c->kind == L_WORLD || c->kind == L_MASK) && words.n > 1) {
		bf_atom_release(&pe->atom);
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: one atom per line "
		    "expected, found '%s'", file, line, words.v[1]);
		goto out;
	}
	for (i = 1; i < words.n; i++) {
		const char *w = words.v[i];

		n = strlen(w);
		if (c->kind == L_USE && n > 1 && w[n - 1] == ':') {
			if (!is_use_expand(c->p, w, n - 1)) {
				rc = bf_err_set(e, BF_ECONFIG, "%s:%u: '%.*s' is "
				    "not a USE_EXPAND variable", file, line,
				    (int)(n - 1), w);
				goto bad;
			}
			expand = w;
			continue;
		}
		if (c->kind == L_USE) {
			int neg = w[0] == '-';

			if (!(strcmp(w, "-*") == 0 && expand == NULL) &&
			    !bf_useflag_valid(w + neg, n - neg)) {
				rc = bf_err_set(e, BF_ECONFIG, "%s:%u: invalid "
				    "USE flag '%s'", file, line, w);
				goto bad;
			}
			if (expand != NULL) {
				char var[128];
				size_t vl = strlen(expand) - 1;

				if (vl >= sizeof(var))
					vl = sizeof(var) - 1;
				memcpy(var, expand, vl);
				var[vl] = '\0';
				if ((rc = add_lower_flag(&pe->words, var,
				    w + neg, neg)) < 0)
					goto oom_pe;
				continue;
			}
		}
		if ((rc = bf_strv_push(&pe->words, w)) < 0)
			goto oom_pe;
	}
	if (c->kind == L_LICENSE && pe->words.n == 0) {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: no licenses for '%s'",
		    file, line, words.v[0]);
		goto bad;
	}
	if (c->kind == L_USE && pe->words.n == 0) {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: no USE flags for '%s'",
		    file, line, words.v[0]);
		goto bad;
	}
	l->n++;
	rc = 0;
	goto out;
oom_pe:
	rc = bf_err_nomem(e);
bad:
	bf_atom_release(&pe->atom);
	bf_strv_release(&pe->words);
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	bf_strv_release(&words);
	return rc;
}

static int
load_list(struct bf_profile *p, const char *name, struct bf_pkglist *l,
    int kind, int optional, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	struct lctx c = { p, l, kind };
	int rc;

	bf_buf_addf(&path, "%s/%s", p->dir, name);
	if ((rc = bf_buf_error(&path)) < 0)
		return bf_err_nomem(e);
	rc = bf_conf_load_lines(path.buf, optional, line_cb, &c, e);
	bf_buf_release(&path);
	return rc;
}

struct ictx {
	struct bf_profile	*p;
};

static int
ini_cb(void *vctx, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct ictx *c = vctx;
	struct bf_profile *p = c->p;
	struct bf_repospec *r;
	int rc = 0;

	if (value == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: expected 'key = "
		    "value', found '%s'", file, line, key);
	if (strcmp(section, "profile") == 0) {
		if (strcmp(key, "portage-profile") == 0) {
			free(p->portage_profile);
			if ((p->portage_profile = strdup(value)) == NULL)
				rc = -ENOMEM;
		} else if (strcmp(key, "x86-64-level") == 0) {
			if (!bf_x86_64_level_valid(value))
				return bf_err_set(e, BF_ECONFIG, "%s:%u: "
				    "x86-64-level must be v1, v2, v3 or v4, "
				    "not '%s'", file, line, value);
			memcpy(p->x86_64_level, value, 3);
		} else if (strcmp(key, "worker-tags") == 0) {
			bf_strv_release(&p->worker_tags);
			rc = bf_strv_split(&p->worker_tags, value);
		} else if (strcmp(key, "system") == 0) {
			if (strcmp(value, "yes") == 0)
				p->no_system = 0;
			else if (strcmp(value, "no") == 0)
				p->no_system = 1;
			else
				return bf_err_set(e, BF_ECONFIG, "%s:%u: system "
				    "must be yes or no, not '%s'", file, line,
				    value);
		} else
			return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key "
			    "'%s' in [profile]", file, line, key);
	} else if (strncmp(section, "repo ", 5) == 0) {
		const char *name = section + 5;
		size_t i;

		while (*name == ' ')
			name++;
		if (!bf_repo_valid(name, strlen(name)))
			return bf_err_set(e, BF_ECONFIG, "%s:%u: invalid "
			    "repository name '%s'", file, line, name);
		for (i = 0; i < p->nrepos; i++)
			if (strcmp(p->repos[i].name, name) == 0)
				break;
		if (i == p->nrepos) {
			if (bf_grow(&p->repos, &p->arepos, p->nrepos + 1,
			    sizeof(*p->repos), 4) < 0)
				return bf_err_nomem(e);
			r = &p->repos[p->nrepos++];
			memset(r, 0, sizeof(*r));
			if ((r->name = strdup(name)) == NULL)
				return bf_err_nomem(e);
		}
		r = &p->repos[i];
		if (strcmp(key, "uri") == 0) {
			free(r->uri);
			if ((r->uri = strdup(value)) == NULL)
				rc = -ENOMEM;
		} else if (strcmp(key, "ref") == 0) {
			free(r->ref);
			if ((r->ref = strdup(value)) == NULL)
				rc = -ENOMEM;
		} else
			return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key "
			    "'%s' in [repo %s]", file, line, key, name);
	} else
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown section "
		    "'[%s]'; expected [profile] or [repo NAME]", file, line,
		    section);
	if (rc < 0)
		return bf_err_nomem(e);
	return 0;
}

static int
load_profile_conf(struct bf_profile *p, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	struct ictx c = { p };
	size_t i;
	int rc;

	bf_buf_addf(&path, "%s/profile.conf", p->dir);
	if ((rc = bf_buf_error(&path)) < 0)
		return bf_err_nomem(e);
	if (access(path.buf, F_OK) == -1 && errno == ENOENT) {
		rc = 0;
		goto out;
	}
	if ((rc = bf_conf_load_ini(path.buf, ini_cb, &c, e)) != 0)
		goto out;
	for (i = 0; i < p->nrepos; i++) {
		if (p->repos[i].uri == NULL) {
			rc = bf_err_set(e, BF_ECONFIG, "%s: [repo %s] has no "
			    "uri", path.buf, p->repos[i].name);
			goto out;
		}
		if (p->repos[i].ref == NULL &&
		    (p->repos[i].ref = strdup("HEAD")) == NULL) {
			rc = bf_err_nomem(e);
			goto out;
		}
	}
out:
	bf_buf_release(&path);
	return rc;
}

static int
load_make_conf(struct bf_profile *p, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	struct bf_strv words = BF_STRV_INIT;
	const struct bf_conf_var *v;
	const char *s;
	size_t i;
	int rc;

	bf_buf_addf(&path, "%s/make.conf", p->dir);
	if ((rc = bf_buf_error(&path)) < 0)
		return bf_err_nomem(e);
	if ((rc = bf_conf_load_shell(&p->make, path.buf, e)) < 0)
		goto out;
	if ((p->chost = bf_conf_get(&p->make, "CHOST")) == NULL ||
	    *p->chost == '\0') {
		rc = bf_err_set(e, BF_ECONFIG, "%s: CHOST is not set",
		    path.buf);
		goto out;
	}
	s = bf_conf_get(&p->make, "CFLAGS");
	p->cflags = s != NULL ? s : "";
	s = bf_conf_get(&p->make, "CXXFLAGS");
	p->cxxflags = s != NULL ? s : "";
	s = bf_conf_get(&p->make, "LDFLAGS");
	p->ldflags = s != NULL ? s : "";

	/* ACCEPT_KEYWORDS: incremental; the arch is its stable form. */
	if ((v = bf_conf_find(&p->make, "ACCEPT_KEYWORDS")) == NULL ||
	    (rc = bf_strv_split(&words, v->val)) < 0 || words.n == 0) {
		rc = rc < 0 ? bf_err_nomem(e) :
		    bf_err_set(e, BF_ECONFIG, "%s: ACCEPT_KEYWORDS is not set "
		    "(e.g. ACCEPT_KEYWORDS=\"amd64\")", path.buf);
		goto out;
	}
	for (i = 0; i < words.n; i++) {
		const char *w = words.v[i];

		if (w[0] == '-' || strcmp(w, "**") == 0 || strcmp(w, "*") == 0 ||
		    strcmp(w, "~*") == 0)
			continue;
		if (w[0] == '~')
			w++;
		if ((p->arch = strdup(w)) == NULL) {
			rc = bf_err_nomem(e);
			goto out;
		}
		break;
	}
	if (p->arch == NULL) {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: ACCEPT_KEYWORDS names no "
		    "architecture", v->file, v->line);
		goto out;
	}
	if ((rc = bf_strv_push(&p->accept_keywords, p->arch)) < 0 ||
	    (rc = bf_use_apply(&p->accept_keywords, &words)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	bf_strv_release(&words);

	if ((s = bf_conf_get(&p->make, "USE_EXPAND")) != NULL)
		rc = bf_strv_split(&p->use_expand, s);
	else
		for (i = 0; i < sizeof(default_use_expand) /
		    sizeof(default_use_expand[0]) && rc == 0; i++)
			rc = bf_strv_push(&p->use_expand, default_use_expand[i]);
	if (rc < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}

	/* USE, then each USE_EXPAND variable as name_value flags. */
	if ((s = bf_conf_get(&p->make, "USE")) != NULL) {
		if ((rc = bf_strv_split(&words, s)) < 0)
			goto oom;
		for (i = 0; i < words.n; i++) {
			const char *w = words.v[i];
			int neg = w[0] == '-';

			if (strcmp(w, "-*") != 0 &&
			    !bf_useflag_valid(w + neg, strlen(w + neg))) {
				v = bf_conf_find(&p->make, "USE");
				rc = bf_err_set(e, BF_ECONFIG, "%s:%u: invalid "
				    "USE flag '%s'", v->file, v->line, w);
				goto out;
			}
		}
		for (i = 0; i < words.n && rc == 0; i++)
			rc = bf_strv_push(&p->use, words.v[i]);
		bf_strv_release(&words);
		if (rc < 0)
			goto oom;
	}
	for (i = 0; i < p->use_expand.n; i++) {
		struct bf_strv flags = BF_STRV_INIT;
		size_t j;

		if ((s = bf_conf_get(&p->make, p->use_expand.v[i])) == NULL)
			continue;
		if ((rc = bf_strv_split(&words, s)) < 0)
			goto oom;
		for (j = 0; j < words.n && rc == 0; j++)
			rc = add_lower_flag(&flags, p->use_expand.v[i],
			    words.v[j], 0);
		for (j = 0; j < flags.n && rc == 0; j++)
			rc = bf_strv_push(&p->use, flags.v[j]);
		bf_strv_release(&flags);
		bf_strv_release(&words);
		if (rc < 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	bf_strv_release(&words);
	bf_buf_release(&path);
	return rc;
}

int
bf_x86_64_level_valid(const char *s)
{
	return s[0] == 'v' && s[1] >= '1' && s[1] <= '4' && s[2] == '\0';
}

/* The level -march=x86-64[-vN] in CFLAGS asks for (the last -march wins). */
static void
level_from_cflags(struct bf_profile *p)
{
	const char *s = p->cflags, *m, *last = NULL;

	for (m = s; (m = strstr(m, "-march=")) != NULL; m += 7)
		if (m == s || m[-1] == ' ' || m[-1] == '\t')
			last = m + 7;
	if (last == NULL || strncmp(last, "x86-64", 6) != 0)
		return;
	last += 6;
	if (*last == '\0' || *last == ' ' || *last == '\t')
		memcpy(p->x86_64_level, "v1", 3);
	else if (last[0] == '-' && last[1] == 'v' && last[2] >= '1' &&
	    last[2] <= '4' && (last[3] == '\0' || last[3] == ' ' ||
	    last[3] == '\t')) {
		p->x86_64_level[0] = 'v';
		p->x86_64_level[1] = last[2];
		p->x86_64_level[2] = '\0';
	}
}

int
bf_profile_load(struct bf_profile *p, const char *dir, struct bf_err *e)
{
	const char *slash;
	size_t n;
	int rc;

	memset(p, 0, sizeof(*p));
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if ((p->dir = strndup(dir, n)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	slash = strrchr(p->dir, '/');
	if ((p->name = strdup(slash != NULL ? slash + 1 : p->dir)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = load_make_conf(p, e)) < 0)
		goto out;
	if ((rc = load_profile_conf(p, e)) < 0)
		goto out;
	if (p->x86_64_level[0] == '\0')
		level_from_cflags(p);
	if ((rc = load_list(p, "world", &p->world, L_WORLD, 0, e)) < 0)
		goto out;
	if (p->world.n == 0) {
		rc = bf_err_set(e, BF_ECONFIG, "%s/world: no atoms", p->dir);
		goto out;
	}
	if ((rc = load_list(p, "package.use", &p->package_use, L_USE, 1,
	    e)) < 0)
		goto out;
	if ((rc = load_list(p, "package.accept_keywords",
	    &p->package_keywords, L_KEYWORDS, 1, e)) < 0)
		goto out;
	if ((rc = load_list(p, "package.mask", &p->package_mask, L_MASK, 1,
	    e)) < 0)
		goto out;
	if ((rc = load_list(p, "package.license", &p->package_license,
	    L_LICENSE, 1, e)) < 0)
		goto out;
out:
	if (rc < 0)
		bf_profile_release(p);
	return rc;
}

/* Whether package keyword list `kw` meets the accepted set `acc`. */
static int
keywords_meet(const struct bf_strv *acc, const char *kw)
{
	const char *s = kw, *w;
	size_t n, i;

	if (bf_strv_find(acc, "**") >= 0)
		return 1;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (*s == '\0')
			return 0;
		w = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
		n = (size_t)(s - w);
		if (w[0] == '-')
			continue;
		for (i = 0; i < acc->n; i++) {
			const char *a = acc->v[i];

			if (strlen(a) == n && memcmp(a, w, n) == 0)
				return 1;
			if (strcmp(a, "*") == 0 && w[0] != '~')
				return 1;
			if (strcmp(a, "~*") == 0 && w[0] == '~')
				return 1;
		}
	}
}

int
bf_profile_keywords_ok(const struct bf_profile *p, const struct bf_cpv *cpv,
    const char *slot, const char *repo, const char *keywords)
{
	return bf_profile_keywords_ok_in(p, &p->accept_keywords, cpv, slot,
	    repo, keywords);
}

int
bf_profile_keywords_ok_in(const struct bf_profile *p,
    const struct bf_strv *accept, const struct bf_cpv *cpv, const char *slot,
    const char *repo, const char *keywords)
{
	struct bf_strv acc = BF_STRV_INIT, tilde = BF_STRV_INIT;
	struct bf_buf b = BF_BUF_INIT;
	size_t i;
	int ok, extra = 0;

	for (i = 0; i < p->package_keywords.n; i++)
		if (bf_atom_match(&p->package_keywords.v[i].atom, cpv, slot,
		    NULL, repo))
			extra = 1;
	if (!extra)
		return keywords_meet(accept, keywords);
	for (i = 0; i < accept->n; i++)
		if (bf_strv_push(&acc, accept->v[i]) < 0)
			goto oom;
	for (i = 0; i < p->package_keywords.n; i++) {
		const struct bf_pkgent *pe = &p->package_keywords.v[i];

		if (!bf_atom_match(&pe->atom, cpv, slot, NULL, repo))
			continue;
		if (pe->words.n == 0) {
			/* No keywords: accept testing for this arch. */
			bf_buf_reset(&b);
			bf_buf_addf(&b, "~%s", p->arch);
			if (bf_buf_error(&b) < 0 || bf_strv_push(&tilde, b.buf) < 0 ||
			    bf_use_apply(&acc, &tilde) < 0)
				goto oom;
			bf_strv_release(&tilde);
		} else if (bf_use_apply(&acc, &pe->words) < 0)
			goto oom;
	}
	ok = keywords_meet(&acc, keywords);
	bf_strv_release(&acc);
	bf_buf_release(&b);
	return ok;
oom:
	/* Out of memory: refuse rather than accept something unchecked. */
	bf_strv_release(&acc);
	bf_strv_release(&tilde);
	bf_buf_release(&b);
	return 0;
}

const struct bf_pkgent *
bf_profile_masked(const struct bf_profile *p, const struct bf_cpv *cpv,
    const char *slot, const char *repo)
{
	size_t i;

	for (i = 0; i < p->package_mask.n; i++)
		if (bf_atom_match(&p->package_mask.v[i].atom, cpv, slot, NULL,
		    repo))
			return &p->package_mask.v[i];
	return NULL;
}
