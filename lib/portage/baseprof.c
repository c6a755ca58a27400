/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portage/atom.h"
#include "portage/baseprof.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "base/banned.h"

/* Deep enough for Gentoo's profiles (about 10 levels), and stops cycles. */
#define MAX_DEPTH	32

/* Incremental make.defaults variables (besides the USE_EXPAND ones). */
static const char *const incrementals[] = {
	"USE", "USE_EXPAND", "USE_EXPAND_HIDDEN", "USE_EXPAND_IMPLICIT",
	"USE_EXPAND_UNPREFIXED", "IUSE_IMPLICIT", "ACCEPT_KEYWORDS",
	"ACCEPT_LICENSE", "FEATURES",
};

struct load {
	struct bf_baseprof	*b;
	struct bf_tree *const	*trees;
	size_t			 ntrees;
	struct bf_conf		 incr;	/* incremental words, stacked */
	struct bf_buf		 text;
	int			 kind;
	struct bf_pkglist	*list;
	struct bf_strv		*set;
};

enum { K_MASK, K_PKGUSE, K_FLAGS, K_GROUPS, K_SYSTEM };

void
bf_baseprof_release(struct bf_baseprof *b)
{
	free(b->path);
	bf_strv_release(&b->nodes);
	bf_conf_release(&b->make);
	bf_conf_release(&b->incr);
	bf_strv_release(&b->use);
	bf_strv_release(&b->accept_keywords);
	bf_strv_release(&b->accept_license);
	bf_strv_release(&b->iuse_implicit);
	bf_strv_release(&b->use_mask);
	bf_strv_release(&b->use_force);
	bf_strv_release(&b->use_stable_mask);
	bf_strv_release(&b->use_stable_force);
	bf_pkglist_release(&b->package_mask);
	bf_pkglist_release(&b->package_use_mask);
	bf_pkglist_release(&b->package_use_force);
	bf_pkglist_release(&b->package_use_stable_mask);
	bf_pkglist_release(&b->package_use_stable_force);
	bf_pkglist_release(&b->package_use);
	bf_pkglist_release(&b->system);
	bf_conf_release(&b->license_groups);
	bf_strv_release(&b->files);
	memset(b, 0, sizeof(*b));
}

/* One line of package.mask, package.use.{mask,force}, use.{mask,force}. */
static int
line_cb(void *vctx, const char *file, unsigned line, char *text,
    struct bf_err *e)
{
	struct load *ld = vctx;
	struct bf_strv words = BF_STRV_INIT;
	struct bf_pkglist *l = ld->list;
	struct bf_pkgent *pe;
	const char *atom;
	size_t i, skip;
	int rc, neg;

	if ((rc = bf_strv_split(&words, text)) < 0)
		return bf_err_nomem(e);
	if (ld->kind == K_GROUPS) {
		/* "GROUP member..."; a group named again gains members. */
		struct bf_buf m = BF_BUF_INIT;
		const char *old = bf_conf_get(&ld->b->license_groups,
		    words.v[0]);

		if (old != NULL)
			bf_buf_adds(&m, old);
		for (i = 1; i < words.n; i++)
			bf_buf_addf(&m, " %s", words.v[i]);
		rc = bf_buf_error(&m) < 0 ? -ENOMEM :
		    bf_conf_set(&ld->b->license_groups, words.v[0], m.buf,
		    bf_strv_keep(&ld->b->files, file), line);
		bf_buf_release(&m);
		bf_strv_release(&words);
		return rc < 0 ? bf_err_nomem(e) : 0;
	}
	if (ld->kind == K_FLAGS) {
		for (i = 0; i < words.n && rc == 0; i++) {
			const char *w = words.v[i];

			neg = w[0] == '-';
			if (!bf_useflag_valid(w + neg, strlen(w + neg)))
				rc = bf_err_set(e, BF_ECONFIG, "%s:%u: invalid "
				    "USE flag '%s'", file, line, w);
		}
		if (rc == 0 && bf_use_apply(ld->set, &words) < 0)
			rc = bf_err_nomem(e);
		bf_strv_release(&words);
		return rc;
	}
	atom = words.v[0];
	neg = ld->kind == K_MASK && atom[0] == '-';
	skip = neg;	/* the "-" of "-atom" */
	if (ld->kind == K_SYSTEM) {
		/* packages: "*atom" is in @system, "-*atom" leaves it. */
		neg = atom[0] == '-';
		if (atom[neg] != '*')
			goto out;	/* not a system package */
		if (neg)
			skip = 2;
		else
			atom++;
	}
	if ((ld->kind == K_MASK || ld->kind == K_SYSTEM) && words.n > 1) {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: one atom per line "
		    "expected, found '%s'", file, line, words.v[1]);
		goto out;
	}
	if (ld->kind == K_PKGUSE && words.n < 2) {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: no USE flags for '%s'",
		    file, line, atom);
		goto out;
	}
	if (neg) {
		/* "-atom" removes the same atom set by an earlier node. */
		for (i = l->n; i-- > 0;) {
			struct bf_buf t = BF_BUF_INIT;
			int same;

			bf_atom_format(&l->v[i].atom, &t);
			same = strcmp(t.buf, atom + skip) == 0;
			bf_buf_release(&t);
			if (!same)
				continue;
			bf_atom_release(&l->v[i].atom);
			bf_strv_release(&l->v[i].words);
			memmove(&l->v[i], &l->v[i + 1],
			    (l->n - i - 1) * sizeof(*l->v));
			l->n--;
		}
		goto out;
	}
	if (bf_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v), 16) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	pe = &l->v[l->n];
	memset(pe, 0, sizeof(*pe));
	pe->file = bf_strv_keep(&ld->b->files, file);
	pe->line = line;
	if ((rc = bf_atom_parse(&pe->atom, atom, e)) < 0) {
		bf_err_prefix(e, "%s:%u", file, line);
		goto out;
	}
	for (i = 1; i < words.n && rc == 0; i++) {
		const char *w = words.v[i];

		neg = w[0] == '-';
		if (!bf_useflag_valid(w + neg, strlen(w + neg)))
			rc = bf_err_set(e, BF_ECONFIG, "%s:%u: invalid USE "
			    "flag '%s'", file, line, w);
		else if ((rc = bf_strv_push(&pe->words, w)) < 0)
			rc = bf_err_nomem(e);
	}
	if (rc < 0) {
		bf_atom_release(&pe->atom);
		bf_strv_release(&pe->words);
		goto out;
	}
	l->n++;
out:
	bf_strv_release(&words);
	return rc;
}

/* Reads `path` of tree `t` with `cb`; a missing file is fine. */
static int
read_lines(struct load *ld, struct bf_tree *t, const char *path, int kind,
    struct bf_pkglist *list, struct bf_strv *set, struct bf_err *e)
{
	struct bf_buf name = BF_BUF_INIT;
	int rc;

	bf_buf_reset(&ld->text);
	rc = bf_tree_read_path(t, path, &ld->text, NULL);
	if (rc == -BF_ENOTFOUND)
		return 0;
	if (rc < 0)
		return bf_tree_read_path(t, path, &ld->text, e);
	ld->kind = kind;
	ld->list = list;
	ld->set = set;
	bf_buf_addf(&name, "%s:%s", bf_tree_repo_name(t), path);
	if ((rc = bf_buf_error(&name)) < 0)
		rc = bf_err_nomem(e);
	else
		rc = bf_conf_parse_lines(name.buf, ld->text.buf, ld->text.len,
		    line_cb, ld, e);
	bf_buf_release(&name);
	return rc;
}

static int
is_incremental(const struct load *ld, const char *key)
{
	const char *ue;
	size_t i, n = strlen(key);

	for (i = 0; i < sizeof(incrementals) / sizeof(incrementals[0]); i++)
		if (strcmp(key, incrementals[i]) == 0)
			return 1;
	/* USE_EXPAND variables named so far are incremental too. */
	if ((ue = bf_conf_get(&ld->incr, "USE_EXPAND")) == NULL)
		return 0;
	while ((ue = strstr(ue, key)) != NULL) {
		if ((ue[n] == ' ' || ue[n] == '\0') &&
		    (ue == bf_conf_get(&ld->incr, "USE_EXPAND") || ue[-1] == ' '))
			return 1;
		ue += n;
	}
	return 0;
}

/* make.defaults of one node, expanding from what earlier nodes set. */
static int
read_make_defaults(struct load *ld, struct bf_tree *t, const char *dir,
    struct bf_err *e)
{
	struct bf_baseprof *b = ld->b;
	struct bf_conf cur = BF_CONF_INIT;
	struct bf_buf path = BF_BUF_INIT, name = BF_BUF_INIT, w = BF_BUF_INIT;
	const char *fname, *old;
	size_t i;
	int rc;

	bf_buf_addf(&path, "%s/make.defaults", dir);
	bf_buf_addf(&name, "%s:%s", bf_tree_repo_name(t), path.buf);
	if (bf_buf_error(&path) < 0 || bf_buf_error(&name) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	bf_buf_reset(&ld->text);
	rc = bf_tree_read_path(t, path.buf, &ld->text, NULL);
	if (rc == -BF_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		rc = bf_tree_read_path(t, path.buf, &ld->text, e);
		goto out;
	}
	/* Earlier values, for ${VAR} (the file names mark them as old). */
	for (i = 0; i < b->make.n && rc == 0; i++)
		rc = bf_conf_set(&cur, b->make.v[i].key, b->make.v[i].val, "",
		    0);
	if (rc < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = bf_conf_parse_shell(&cur, name.buf, ld->text.buf,
	    ld->text.len, e)) < 0)
		goto out;
	fname = cur.files.v[cur.files.n - 1];
	/*
	 * Two passes: USE_EXPAND first, so that the USE_EXPAND variables it
	 * names are incremental wherever they stand in the file.
	 */
	for (i = 0; i < 2 * cur.n && rc == 0; i++) {
		const struct bf_conf_var *v = &cur.v[i % cur.n];
		int first = strcmp(v->key, "USE_EXPAND") == 0;

		if (v->file != fname || (i < cur.n) != first)
			continue;
		if (is_incremental(ld, v->key)) {
			bf_buf_reset(&w);
			if ((old = bf_conf_get(&ld->incr, v->key)) != NULL)
				bf_buf_addf(&w, "%s ", old);
			bf_buf_adds(&w, v->val);
			rc = bf_buf_error(&w) < 0 ? -ENOMEM :
			    bf_conf_set(&ld->incr, v->key, w.buf, "", 0);
		}
		/* What ${VAR} sees next is the value as written. */
		if (rc == 0)
			rc = bf_conf_set(&b->make, v->key, v->val,
			    bf_strv_keep(&b->files, name.buf), v->line);
		if (rc < 0)
			rc = bf_err_nomem(e);
	}
out:
	bf_conf_release(&cur);
	bf_buf_release(&path);
	bf_buf_release(&name);
	bf_buf_release(&w);
	return rc;
}

/* "a/b/../c" -> "a/c"; fails on ".." above the start. */
static int
normalize(struct bf_buf *out, const char *path)
{
	struct bf_strv parts = BF_STRV_INIT;
	const char *s = path, *sl;
	size_t i;
	int rc = 0;

	while (*s != '\0' && rc == 0) {
		sl = strchr(s, '/');
		if (sl == NULL)
			sl = s + strlen(s);
		if (sl == s || (sl - s == 1 && s[0] == '.'))
			;
		else if (sl - s == 2 && s[0] == '.' && s[1] == '.') {
			if (parts.n == 0)
				rc = -BF_ECONFIG;
			else
				bf_strv_remove(&parts, parts.n - 1);
		} else
			rc = bf_strv_pushn(&parts, s, (size_t)(sl - s));
		s = *sl != '\0' ? sl + 1 : sl;
	}
	bf_buf_reset(out);
	for (i = 0; i < parts.n && rc == 0; i++)
		bf_buf_addf(out, "%s%s", i ? "/" : "", parts.v[i]);
	bf_strv_release(&parts);
	if (rc == 0 && bf_buf_error(out) < 0)
		rc = -ENOMEM;
	return rc;
}

static struct bf_tree *
tree_named(const struct load *ld, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ld->ntrees; i++) {
		const char *n = bf_tree_repo_name(ld->trees[i]);

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return ld->trees[i];
	}
	return NULL;
}

struct parent_ctx {
	struct load	*ld;
	struct bf_tree	*t;
	const char	*dir;
	int		 depth;
	struct bf_strv	*stack;
};

static int visit(struct load *ld, struct bf_tree *t, const char *dir,
    int depth, struct bf_strv *stack, struct bf_err *e);

static int
parent_cb(void *vctx, const char *file, unsigned line, char *text,
    struct bf_err *e)
{
	struct parent_ctx *pc = vctx;
	struct bf_buf joined = BF_BUF_INIT, norm = BF_BUF_INIT;
	struct bf_tree *t = pc->t;
	const char *colon = strchr(text, ':');
	int rc;

	if (colon != NULL) {
		/* "repo:path", relative to that repository's profiles/. */
		if ((t = tree_named(pc->ld, text, (size_t)(colon - text))) ==
		    NULL) {
			rc = bf_err_set(e, BF_ECONFIG, "%s:%u: parent '%s': no "
			    "repository '%.*s' is pinned", file, line, text,
			    (int)(colon - text), text);
			goto out;
		}
		bf_buf_addf(&joined, "profiles/%s", colon + 1);
	} else if (text[0] == '/') {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: parent '%s': an "
		    "absolute path cannot be read from a git tree", file, line,
		    text);
		goto out;
	} else
		bf_buf_addf(&joined, "%s/%s", pc->dir, text);
	if (bf_buf_error(&joined) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = normalize(&norm, joined.buf)) < 0 ||
	    strncmp(norm.buf, "profiles/", 9) != 0) {
		rc = rc == -ENOMEM ? bf_err_nomem(e) :
		    bf_err_set(e, BF_ECONFIG, "%s:%u: parent '%s' is outside "
		    "profiles/", file, line, text);
		goto out;
	}
	if (!bf_tree_is_dir(t, norm.buf)) {
		rc = bf_err_set(e, BF_ECONFIG, "%s:%u: parent '%s': no "
		    "directory %s:%s", file, line, text, bf_tree_repo_name(t),
		    norm.buf);
		goto out;
	}
	rc = visit(pc->ld, t, norm.buf, pc->depth + 1, pc->stack, e);
out:
	bf_buf_release(&joined);
	bf_buf_release(&norm);
	return rc;
}

/* Applies node `dir` of tree `t`: its parents first, then its files. */
static int
visit(struct load *ld, struct bf_tree *t, const char *dir, int depth,
    struct bf_strv *stack, struct bf_err *e)
{
	struct bf_baseprof *b = ld->b;
	struct parent_ctx pc = { ld, t, dir, depth, stack };
	struct bf_buf path = BF_BUF_INIT, id = BF_BUF_INIT;
	size_t i;
	int rc;

	bf_buf_addf(&id, "%s:%s", bf_tree_repo_name(t), dir);
	if (bf_buf_error(&id) < 0)
		return bf_err_nomem(e);
	for (i = 0; i < stack->n; i++)
		if (strcmp(stack->v[i], id.buf) == 0)
			break;
	if (i < stack->n || depth > MAX_DEPTH) {
		rc = bf_err_set(e, BF_ECONFIG, "profile cascade: %s is its own "
		    "parent (through %s)", id.buf, stack->n ?
		    stack->v[stack->n - 1] : "?");
		goto out;
	}
	if ((rc = bf_strv_push(stack, id.buf)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	bf_buf_addf(&path, "%s/parent", dir);
	bf_buf_reset(&ld->text);
	rc = bf_tree_read_path(t, path.buf, &ld->text, NULL);
	if (rc == 0) {
		struct bf_buf text = BF_BUF_INIT;

		/* ld->text is reused by the parents: keep our own copy. */
		bf_buf_add(&text, ld->text.buf, ld->text.len);
		bf_buf_reset(&id);
		bf_buf_addf(&id, "%s:%s", bf_tree_repo_name(t), path.buf);
		rc = bf_buf_error(&text) < 0 || bf_buf_error(&id) < 0 ?
		    bf_err_nomem(e) :
		    bf_conf_parse_lines(id.buf, text.buf, text.len, parent_cb,
		    &pc, e);
		bf_buf_release(&text);
		if (rc < 0)
			goto out;
	} else if (rc != -BF_ENOTFOUND) {
		rc = bf_tree_read_path(t, path.buf, &ld->text, e);
		goto out;
	}
	bf_strv_remove(stack, stack->n - 1);
	bf_buf_reset(&id);
	bf_buf_addf(&id, "%s:%s", bf_tree_repo_name(t), dir);
	if (bf_buf_error(&id) < 0 || bf_strv_push(&b->nodes, id.buf) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = read_make_defaults(ld, t, dir, e)) < 0)
		goto out;
#define READ(file, kind, list, set) do {				\
	bf_buf_reset(&path);						\
	bf_buf_addf(&path, "%s/%s", dir, file);				\
	if ((rc = read_lines(ld, t, path.buf, kind, list, set, e)) < 0)	\
		goto out;						\
} while (0)
	READ("package.mask", K_MASK, &b->package_mask, NULL);
	READ("use.mask", K_FLAGS, NULL, &b->use_mask);
	READ("use.force", K_FLAGS, NULL, &b->use_force);
	READ("package.use.mask", K_PKGUSE, &b->package_use_mask, NULL);
	READ("package.use.force", K_PKGUSE, &b->package_use_force, NULL);
	READ("use.stable.mask", K_FLAGS, NULL, &b->use_stable_mask);
	READ("use.stable.force", K_FLAGS, NULL, &b->use_stable_force);
	READ("package.use.stable.mask", K_PKGUSE,
	    &b->package_use_stable_mask, NULL);
	READ("package.use.stable.force", K_PKGUSE,
	    &b->package_use_stable_force, NULL);
	READ("package.use", K_PKGUSE, &b->package_use, NULL);
	READ("packages", K_SYSTEM, &b->system, NULL);
#undef READ
	rc = 0;
out:
	bf_buf_release(&path);
	bf_buf_release(&id);
	return rc;
}

static int
lower_flag(struct bf_strv *out, const char *var, const char *val, int neg)
{
	struct bf_buf b = BF_BUF_INIT;
	const char *s;
	int rc;

	if (neg)
		bf_buf_addch(&b, '-');
	for (s = var; *s != '\0'; s++)
		bf_buf_addch(&b, *s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	bf_buf_addf(&b, "_%s", val);
	rc = bf_buf_error(&b) < 0 ? -ENOMEM : bf_strv_push(out, b.buf);
	bf_buf_release(&b);
	return rc;
}

/* The final set of an incremental variable. */
static int
incr_set(const struct load *ld, const char *key, struct bf_strv *set)
{
	struct bf_strv words = BF_STRV_INIT;
	const char *v = bf_conf_get(&ld->incr, key);
	int rc;

	if (v == NULL)
		return 0;
	if ((rc = bf_strv_split(&words, v)) == 0)
		rc = bf_use_apply(set, &words);
	bf_strv_release(&words);
	return rc;
}

/* USE, USE_EXPAND flags, implicit IUSE and the rest, once all is read. */
static int
finish(struct load *ld)
{
	struct bf_baseprof *b = ld->b;
	struct bf_strv expand = BF_STRV_INIT, unpref = BF_STRV_INIT;
	struct bf_strv implicit = BF_STRV_INIT, vals = BF_STRV_INIT;
	struct bf_buf key = BF_BUF_INIT;
	const char *v;
	size_t i, j;
	int rc;

	if ((v = bf_conf_get(&ld->incr, "USE")) != NULL &&
	    (rc = bf_strv_split(&b->use, v)) < 0)
		goto out;
	if ((rc = incr_set(ld, "USE_EXPAND", &expand)) < 0 ||
	    (rc = incr_set(ld, "USE_EXPAND_UNPREFIXED", &unpref)) < 0 ||
	    (rc = incr_set(ld, "USE_EXPAND_IMPLICIT", &implicit)) < 0 ||
	    (rc = incr_set(ld, "IUSE_IMPLICIT", &b->iuse_implicit)) < 0 ||
	    (rc = incr_set(ld, "ACCEPT_KEYWORDS", &b->accept_keywords)) < 0)
		goto out;
	if ((v = bf_conf_get(&ld->incr, "ACCEPT_LICENSE")) != NULL &&
	    (rc = bf_strv_split(&b->accept_license, v)) < 0)
		goto out;
	for (i = 0; i < expand.n; i++) {
		bf_strv_release(&vals);
		if ((rc = incr_set(ld, expand.v[i], &vals)) < 0)
			goto out;
		for (j = 0; j < vals.n; j++)
			if ((rc = lower_flag(&b->use, expand.v[i], vals.v[j],
			    0)) < 0)
				goto out;
	}
	/* USE_EXPAND_IMPLICIT: USE_EXPAND_VALUES_<VAR> are implicitly in IUSE. */
	for (i = 0; i < implicit.n; i++) {
		int plain = bf_strv_find(&unpref, implicit.v[i]) >= 0;

		bf_strv_release(&vals);
		bf_buf_reset(&key);
		bf_buf_addf(&key, "USE_EXPAND_VALUES_%s", implicit.v[i]);
		if (bf_buf_error(&key) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		if ((v = bf_conf_get(&b->make, key.buf)) == NULL)
			continue;
		if ((rc = bf_strv_split(&vals, v)) < 0)
			goto out;
		for (j = 0; j < vals.n; j++) {
			rc = plain ? bf_strv_push(&b->iuse_implicit, vals.v[j]) :
			    lower_flag(&b->iuse_implicit, implicit.v[i],
			    vals.v[j], 0);
			if (rc < 0)
				goto out;
		}
	}
	bf_strv_sort(&b->iuse_implicit);
	bf_strv_sort(&b->use_mask);
	bf_strv_sort(&b->use_force);
	bf_strv_sort(&b->use_stable_mask);
	bf_strv_sort(&b->use_stable_force);
	v = bf_conf_get(&b->make, "ARCH");
	b->arch = v != NULL && *v != '\0' ? v : NULL;
	rc = 0;
out:
	bf_strv_release(&expand);
	bf_strv_release(&unpref);
	bf_strv_release(&implicit);
	bf_strv_release(&vals);
	bf_buf_release(&key);
	return rc;
}

int
bf_baseprof_load(struct bf_baseprof *b, struct bf_tree *const *trees,
    size_t ntrees, const char *path, struct bf_err *e)
{
	struct load ld = { b, trees, ntrees, BF_CONF_INIT, BF_BUF_INIT, 0,
	    NULL, NULL };
	struct bf_strv stack = BF_STRV_INIT;
	struct bf_buf dir = BF_BUF_INIT, names = BF_BUF_INIT;
	struct bf_tree *t = NULL;
	size_t i;
	int rc;

	memset(b, 0, sizeof(*b));
	/* Repository-wide masks come first: a profile may unmask them. */
	for (i = 0; i < ntrees; i++)
		if ((rc = read_lines(&ld, trees[i], "profiles/package.mask",
		    K_MASK, &b->package_mask, NULL, e)) < 0 ||
		    (rc = read_lines(&ld, trees[i], "profiles/license_groups",
		    K_GROUPS, NULL, NULL, e)) < 0)
			goto out;
	if (path == NULL) {
		rc = 0;
		goto out;
	}
	if ((b->path = strdup(path)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = normalize(&dir, path)) < 0 || dir.len == 0) {
		rc = rc == -ENOMEM ? bf_err_nomem(e) :
		    bf_err_set(e, BF_ECONFIG, "invalid Portage profile '%s'",
		    path);
		goto out;
	}
	bf_buf_addf(&names, "profiles/%s", dir.buf);
	for (i = 0; i < ntrees && t == NULL; i++)
		if (bf_tree_is_dir(trees[i], names.buf))
			t = trees[i];
	if (bf_buf_error(&names) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if (t == NULL) {
		rc = bf_err_set(e, BF_ENOTFOUND, "Portage profile '%s' (from "
		    "profile.conf) is not in any pinned repository: no "
		    "directory %s", path, names.buf);
		goto out;
	}
	b->repo = bf_tree_repo_name(t);
	if ((rc = visit(&ld, t, names.buf, 0, &stack, e)) < 0)
		goto out;
	if ((rc = finish(&ld)) < 0)
		rc = bf_err_nomem(e);
	/* Kept for the Packages header (bf_plan_index_header). */
	b->incr = ld.incr;
	memset(&ld.incr, 0, sizeof(ld.incr));
out:
	bf_conf_release(&ld.incr);
	bf_buf_release(&ld.text);
	bf_strv_release(&stack);
	bf_buf_release(&dir);
	bf_buf_release(&names);
	if (rc < 0)
		bf_baseprof_release(b);
	return rc;
}

const struct bf_pkgent *
bf_baseprof_masked(const struct bf_baseprof *b, const struct bf_cpv *cpv,
    const char *slot, const char *repo)
{
	size_t i;

	for (i = 0; i < b->package_mask.n; i++)
		if (bf_atom_match(&b->package_mask.v[i].atom, cpv, slot, NULL,
		    repo))
			return &b->package_mask.v[i];
	return NULL;
}

/* Applies the lines of `l` that match the package to `out`. */
static int
pkg_lines(const struct bf_pkglist *l, const struct bf_cpv *cpv,
    const char *slot, const char *repo, struct bf_strv *out)
{
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++)
		if (bf_atom_match(&l->v[i].atom, cpv, slot, NULL, repo) &&
		    (rc = bf_use_apply(out, &l->v[i].words)) < 0)
			return rc;
	return 0;
}

static int
pkg_flags(const struct bf_strv *global, const struct bf_strv *sglobal,
    const struct bf_pkglist *l, const struct bf_pkglist *sl,
    const struct bf_cpv *cpv, const char *slot, const char *repo,
    int stable, struct bf_strv *out)
{
	int rc;

	if ((rc = bf_use_apply(out, global)) < 0 ||
	    (stable && (rc = bf_use_apply(out, sglobal)) < 0) ||
	    (rc = pkg_lines(l, cpv, slot, repo, out)) < 0 ||
	    (stable && (rc = pkg_lines(sl, cpv, slot, repo, out)) < 0))
		return rc;
	bf_strv_sort(out);
	return 0;
}

int
bf_baseprof_use_masks(const struct bf_baseprof *b, const struct bf_cpv *cpv,
    const char *slot, const char *repo, int stable, struct bf_strv *mask,
    struct bf_strv *force)
{
	int rc;

	if ((rc = pkg_flags(&b->use_mask, &b->use_stable_mask,
	    &b->package_use_mask, &b->package_use_stable_mask, cpv, slot,
	    repo, stable, mask)) < 0)
		return rc;
	return pkg_flags(&b->use_force, &b->use_stable_force,
	    &b->package_use_force, &b->package_use_stable_force, cpv, slot,
	    repo, stable, force);
}

int
bf_baseprof_package_use(const struct bf_baseprof *b, const struct bf_cpv *cpv,
    const char *slot, const char *repo, struct bf_strv *use)
{
	return pkg_lines(&b->package_use, cpv, slot, repo, use);
}

static int
in_group(const struct bf_baseprof *b, const char *group, const char *name,
    int depth)
{
	const char *m = bf_conf_get(&b->license_groups, group);
	size_t n = strlen(name), l;
	char sub[256];

	if (m == NULL || depth > 16)
		return 0;
	while (*m != '\0') {
		while (*m == ' ')
			m++;
		for (l = 0; m[l] != '\0' && m[l] != ' '; l++)
			;
		if (l > 1 && m[0] == '@' && l - 1 < sizeof(sub)) {
			memcpy(sub, m + 1, l - 1);
			sub[l - 1] = '\0';
			if (in_group(b, sub, name, depth + 1))
				return 1;
		} else if (l == n && memcmp(m, name, n) == 0)
			return 1;
		m += l;
	}
	return 0;
}

int
bf_baseprof_in_group(const struct bf_baseprof *b, const char *group,
    const char *name)
{
	return in_group(b, group, name, 0);
}
