/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portage/atom.h"
#include "portage/baseprof.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/map.h"
#include "portage/plan.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "base/banned.h"

static const char *const class_names[BF_DEP_NCLASS] = {
	"DEPEND", "BDEPEND", "RDEPEND", "PDEPEND", "IDEPEND",
};

const char *
bf_dep_class_name(enum bf_dep_class c)
{
	return (unsigned)c < BF_DEP_NCLASS ? class_names[c] : "?";
}

#define IS_HARD(c)	((c) == BF_DEP_DEPEND || (c) == BF_DEP_BDEPEND)
#define IS_RUNTIME(c)	((c) == BF_DEP_RDEPEND || (c) == BF_DEP_IDEPEND)

int
bf_dep_class_hard(enum bf_dep_class c)
{
	return IS_HARD(c);
}

int
bf_dep_class_runtime(enum bf_dep_class c)
{
	return IS_RUNTIME(c);
}

/* A dependency specification, parsed (PMS 8.2). */
enum { D_ATOM, D_ALL, D_ANY, D_USE };

struct dep {
	int		 kind;
	struct bf_atom	 atom;		/* D_ATOM */
	const char	*text;		/* D_ATOM: as written (borrowed) */
	char		*flag;		/* D_USE */
	int		 neg;		/* D_USE: "!flag?" */
	struct dep	*kids;
	size_t		 nkids, akids;
};

/* md5-cache entry metadata, loaded on first use. */
struct meta {
	char		*eapi;
	char		*slot;
	char		*subslot;
	char		*keywords;
	char		*iuse;
	char		*md5;
	char		*eclasses;
	char		*license;
	char		*required_use;
	char		*deps[BF_DEP_NCLASS];
};

struct cand {
	struct bf_cpv	 cpv;
	size_t		 repo;		/* index into the trees */
	struct bf_oid	 blob;
	struct meta	*m;
};

struct pnode;

struct pkg {
	char		*name;		/* "cat/pn" */
	struct cand	**v;
	size_t		 n, alloc;
	int		 sorted;
	struct pnode	**sel;
	size_t		 nsel, asel;
};

struct blocker {
	struct dep	*d;
	enum bf_dep_class cls;
};

struct pnode {
	struct bf_plan_node pub;
	struct cand	*c;
	struct dep	 deps[BF_DEP_NCLASS];	/* D_ALL roots */
	struct bf_strv	 tokens[BF_DEP_NCLASS];	/* storage for dep texts */
	struct blocker	*blk;
	size_t		 nblk, ablk;
	size_t		 aedges, awhy;	/* allocated pub.edges, why */
	struct bf_strv	 slotdeps;
	int		 mark;			/* DFS state */
	unsigned	 stamp;
	size_t		 aafter;		/* allocated pub.after */
};

struct work {
	struct pnode	*parent;
	enum bf_dep_class cls;
	struct dep	*d;
};

struct bf_plan {
	const struct bf_profile	*p;
	struct bf_tree *const	*trees;
	size_t			 ntrees;
	struct pkg		**pkgs;
	size_t			 npkg, apkg;
	struct bf_map		 pkgmap;	/* "cat/pn" -> pkgs[] */
	size_t			 indexed, loaded;
	struct pnode		**nodes;	/* selection order */
	size_t			 nnodes, anodes;
	struct bf_plan_node	**order;	/* build order */
	struct work		*q;
	size_t			 qhead, qn, qalloc;
	unsigned		 stamp;
	struct bf_buf		 tmp;
	struct bf_baseprof	 base;		/* Portage profile, repo masks */
	struct bf_strv		 accept;	/* ACCEPT_KEYWORDS in effect */
	struct bf_strv		 accept_license;	/* words, in order */
};

static struct pkg *
pkg_find(const struct bf_plan *pl, const char *cat, const char *pn)
{
	size_t cl = strlen(cat), nl = strlen(pn), i;
	char key[512];

	if (cl + nl + 2 > sizeof(key))
		return NULL;
	memcpy(key, cat, cl);
	key[cl] = '/';
	memcpy(key + cl + 1, pn, nl + 1);
	if (!bf_map_get_n(&pl->pkgmap, key, cl + nl + 1, &i))
		return NULL;
	return pl->pkgs[i];
}

static struct pkg *
pkg_get(struct bf_plan *pl, const char *cat, const char *pn)
{
	struct pkg *k = pkg_find(pl, cat, pn);

	if (k != NULL)
		return k;
	if (bf_grow(&pl->pkgs, &pl->apkg, pl->npkg + 1, sizeof(*pl->pkgs),
	    4096) < 0 || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	bf_buf_reset(&pl->tmp);
	bf_buf_addf(&pl->tmp, "%s/%s", cat, pn);
	if (bf_buf_error(&pl->tmp) < 0 ||
	    (k->name = strdup(pl->tmp.buf)) == NULL ||
	    bf_map_add(&pl->pkgmap, k->name, pl->npkg) < 0) {
		free(k->name);
		free(k);
		return NULL;
	}
	pl->pkgs[pl->npkg++] = k;
	return k;
}

struct index_ctx {
	struct bf_plan	*pl;
	size_t		 repo;
	struct bf_buf	 cpv;
};

static int
index_cb(void *vctx, const char *cat, const char *pf, const struct bf_oid *blob,
    struct bf_err *e)
{
	struct index_ctx *ic = vctx;
	struct bf_plan *pl = ic->pl;
	struct cand *c;
	struct pkg *k;
	int rc;

	bf_buf_reset(&ic->cpv);
	bf_buf_addf(&ic->cpv, "%s/%s", cat, pf);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return bf_err_nomem(e);
	if ((rc = bf_cpv_split(&c->cpv, ic->cpv.buf, e)) < 0) {
		free(c);
		bf_err_prefix(e, "%s: metadata/md5-cache",
		    bf_tree_repo_name(pl->trees[ic->repo]));
		return rc;
	}
	c->repo = ic->repo;
	c->blob = *blob;
	if ((k = pkg_get(pl, c->cpv.cat, c->cpv.pn)) == NULL)
		goto oom;
	if (bf_grow(&k->v, &k->alloc, k->n + 1, sizeof(*k->v), 4) < 0)
		goto oom;
	k->v[k->n++] = c;
	pl->indexed++;
	return 0;
oom:
	bf_cpv_release(&c->cpv);
	free(c);
	return bf_err_nomem(e);
}

static void
meta_free(struct meta *m)
{
	int i;

	if (m == NULL)
		return;
	free(m->eapi);
	free(m->slot);
	free(m->keywords);
	free(m->iuse);
	free(m->md5);
	free(m->eclasses);
	free(m->license);
	free(m->required_use);
	for (i = 0; i < BF_DEP_NCLASS; i++)
		free(m->deps[i]);
	free(m);
}

static int
set_field(char **f, const char *v, size_t n)
{
	free(*f);
	return (*f = strndup(v, n)) == NULL ? -ENOMEM : 0;
}

/* Loads the md5-cache entry of `c` (KEY=value lines, flat_hash format). */
static int
meta_load(struct bf_plan *pl, struct cand *c, struct bf_err *e)
{
	struct bf_tree *t = pl->trees[c->repo];
	const char *p, *end, *nl, *eq;
	struct meta *m;
	size_t kl;
	char **f;
	int rc, i;

	if (c->m != NULL)
		return 0;
	bf_buf_reset(&pl->tmp);
	if ((rc = bf_tree_read_blob(t, &c->blob, &pl->tmp, e)) < 0)
		return rc;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return bf_err_nomem(e);
	p = pl->tmp.buf;
	end = p + pl->tmp.len;
	rc = 0;
	for (; p < end && rc == 0; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p)
			continue;
		if ((eq = memchr(p, '=', (size_t)(nl - p))) == NULL) {
			rc = bf_err_set(e, BF_EMETADATA, "%s: metadata/md5-cache/"
			    "%s/%s: line without '='", bf_tree_repo_name(t),
			    c->cpv.cat, c->cpv.pf);
			break;
		}
		kl = (size_t)(eq - p);
		f = NULL;
#define KEY(s)	(kl == sizeof(s) - 1 && memcmp(p, s, kl) == 0)
		if (KEY("EAPI"))
			f = &m->eapi;
		else if (KEY("SLOT"))
			f = &m->slot;
		else if (KEY("KEYWORDS"))
			f = &m->keywords;
		else if (KEY("IUSE"))
			f = &m->iuse;
		else if (KEY("_md5_"))
			f = &m->md5;
		else if (KEY("_eclasses_"))
			f = &m->eclasses;
		else if (KEY("LICENSE"))
			f = &m->license;
		else if (KEY("REQUIRED_USE"))
			f = &m->required_use;
		else
			for (i = 0; i < BF_DEP_NCLASS; i++)
				if (kl == strlen(class_names[i]) &&
				    memcmp(p, class_names[i], kl) == 0)
					f = &m->deps[i];
#undef KEY
		if (f != NULL && set_field(f, eq + 1, (size_t)(nl - eq - 1)) < 0)
			rc = bf_err_nomem(e);
	}
	if (rc == 0 && (m->md5 == NULL || m->slot == NULL || *m->slot == '\0'))
		rc = bf_err_set(e, BF_EMETADATA, "%s: metadata/md5-cache/%s/%s: "
		    "no %s", bf_tree_repo_name(t), c->cpv.cat, c->cpv.pf,
		    m->md5 == NULL ? "_md5_" : "SLOT");
	if (rc == 0) {
		char *sl = strchr(m->slot, '/');

		if (sl != NULL)
			*sl++ = '\0';
		if (!bf_slot_valid(m->slot, strlen(m->slot)) ||
		    (sl != NULL && !bf_slot_valid(sl, strlen(sl))))
			rc = bf_err_set(e, BF_EMETADATA, "%s: metadata/md5-cache/"
			    "%s/%s: invalid SLOT", bf_tree_repo_name(t),
			    c->cpv.cat, c->cpv.pf);
		else
			m->subslot = sl != NULL ? sl : m->slot;
	}
	if (rc < 0) {
		meta_free(m);
		return rc;
	}
	c->m = m;
	pl->loaded++;
	return 0;
}

/* Candidates newest first; for equal versions the later repository first. */
static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = *(struct cand *const *)a;
	const struct cand *y = *(struct cand *const *)b;
	int c = bf_version_cmp(&y->cpv.ver, &x->cpv.ver);

	if (c != 0)
		return c;
	return x->repo < y->repo ? 1 : x->repo > y->repo ? -1 : 0;
}

static void
dep_release(struct dep *d)
{
	size_t i;

	for (i = 0; i < d->nkids; i++)
		dep_release(&d->kids[i]);
	free(d->kids);
	free(d->flag);
	if (d->kind == D_ATOM)
		bf_atom_release(&d->atom);
	memset(d, 0, sizeof(*d));
}

static int
dep_add(struct dep *parent, struct dep **out)
{
	if (bf_grow(&parent->kids, &parent->akids, parent->nkids + 1,
	    sizeof(*parent->kids), 4) < 0)
		return -ENOMEM;
	*out = &parent->kids[parent->nkids++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* Parses tokens from *i into `into` until ")" (depth > 0) or the end. */
static int
dep_parse(struct dep *into, char **tok, size_t n, size_t *i, int depth,
    const char *what, struct bf_err *e)
{
	struct dep *d;
	size_t len;
	int rc;

	while (*i < n) {
		const char *t = tok[*i];

		len = strlen(t);
		if (strcmp(t, ")") == 0) {
			if (depth == 0)
				return bf_err_set(e, BF_EMETADATA, "%s: "
				    "unbalanced ')'", what);
			(*i)++;
			return 0;
		}
		if (dep_add(into, &d) < 0)
			return bf_err_nomem(e);
		(*i)++;
		if (strcmp(t, "(") == 0 || strcmp(t, "||") == 0 ||
		    (len > 1 && t[len - 1] == '?')) {
			if (strcmp(t, "(") == 0)
				d->kind = D_ALL;
			else {
				if (*i >= n || strcmp(tok[*i], "(") != 0)
					return bf_err_set(e, BF_EMETADATA,
					    "%s: '(' expected after '%s'",
					    what, t);
				(*i)++;
				if (strcmp(t, "||") == 0)
					d->kind = D_ANY;
				else {
					d->kind = D_USE;
					d->neg = t[0] == '!';
					d->flag = strndup(t + d->neg,
					    len - 1 - d->neg);
					if (d->flag == NULL)
						return bf_err_nomem(e);
					if (!bf_useflag_valid(d->flag,
					    strlen(d->flag)))
						return bf_err_set(e,
						    BF_EMETADATA, "%s: invalid "
						    "USE conditional '%s'",
						    what, t);
				}
			}
			if ((rc = dep_parse(d, tok, n, i, depth + 1, what,
			    e)) < 0)
				return rc;
			continue;
		}
		d->kind = D_ATOM;
		d->text = t;
		if ((rc = bf_atom_parse(&d->atom, t, e)) < 0) {
			d->kind = D_ALL;
			bf_err_prefix(e, "%s", what);
			return rc;
		}
	}
	if (depth > 0)
		return bf_err_set(e, BF_EMETADATA, "%s: unbalanced '('", what);
	return 0;
}

static int
use_on(const struct pnode *n, const char *flag)
{
	return bf_strv_has_sorted(&n->pub.use, flag);
}

/*
 * Drops what the last "*" or "-*" makes irrelevant, as Portage's
 * prune_incremental(): from the last "*" on, or after the last "-*"
 * (kept when it is the final word, so that the value is not empty).
 */
static void
prune_incremental(struct bf_strv *sv)
{
	size_t i, from = 0, j;

	for (i = sv->n; i-- > 0;) {
		if (strcmp(sv->v[i], "*") == 0) {
			from = i;
			break;
		}
		if (strcmp(sv->v[i], "-*") == 0) {
			from = i + 1 == sv->n ? i : i + 1;
			break;
		}
	}
	if (from == 0)
		return;
	for (j = 0; j < from; j++)
		free(sv->v[j]);
	memmove(sv->v, sv->v + from, (sv->n - from + 1) * sizeof(*sv->v));
	sv->n -= from;
}

static void
strv_sort_uniq(struct bf_strv *sv)
{
	size_t i, j;

	if (sv->n < 2)
		return;
	bf_strv_sort(sv);
	for (i = 1, j = 1; i < sv->n; i++) {
		if (strcmp(sv->v[i], sv->v[j - 1]) == 0)
			free(sv->v[i]);
		else
			sv->v[j++] = sv->v[i];
	}
	sv->n = j;
	sv->v[j] = NULL;
}

/*
 * Stable for use.stable.mask and friends, as Portage's
 * KeywordsManager.isStable(): accepted, but not accepted were every
 * keyword a testing one ("~arch"), so that its masks do not change when
 * a testing package is stabilised.
 */
static int
is_stable(struct bf_plan *pl, const struct cand *c)
{
	const char *kw = c->m->keywords ? c->m->keywords : "", *w;
	const char *repo = bf_tree_repo_name(pl->trees[c->repo]);
	struct bf_buf t = BF_BUF_INIT;
	size_t n;
	int stable;

	for (w = kw; *w != '\0'; w += n) {
		while (*w == ' ' || *w == '\t')
			w++;
		n = strcspn(w, " \t");
		if (n == 0)
			break;
		bf_buf_addf(&t, "%s%s%.*s", t.len ? " " : "",
		    w[0] == '~' || w[0] == '-' ? "" : "~", (int)n, w);
	}
	stable = bf_buf_error(&t) == 0 &&
	    bf_profile_keywords_ok_in(pl->p, &pl->accept, &c->cpv, c->m->slot,
	    repo, kw) &&
	    !bf_profile_keywords_ok_in(pl->p, &pl->accept, &c->cpv, c->m->slot,
	    repo, t.buf);
	bf_buf_release(&t);
	return stable;
}

/*
 * Effective USE, in Portage's USE_ORDER: IUSE defaults, the Portage
 * profile's make.defaults and package.use, make.conf USE, then matching
 * package.use lines; restricted to IUSE, IUSE_IMPLICIT and the arch
 * flag; then the profile's use.force / package.use.force flags are
 * turned on and its use.mask / package.use.mask flags off (a mask beats
 * a force), with the use.stable.* and package.use.stable.* ones too for
 * a stable package.
 */
static int
compute_use(struct bf_plan *pl, struct cand *c, struct bf_strv *use,
    struct bf_strv *iuse)
{
	const struct bf_profile *p = pl->p;
	struct bf_strv words = BF_STRV_INIT, set = BF_STRV_INIT;
	struct bf_strv mask = BF_STRV_INIT, force = BF_STRV_INIT;
	const char *repo = bf_tree_repo_name(pl->trees[c->repo]);
	size_t i;
	int rc;

	if ((rc = bf_strv_split(&words, c->m->iuse ? c->m->iuse : "")) < 0)
		goto out;
	for (i = 0; i < words.n && rc == 0; i++) {
		const char *w = words.v[i];
		int pre = w[0] == '+' || w[0] == '-';

		rc = bf_strv_push(iuse, w + pre);
		if (rc == 0 && w[0] == '+')
			rc = bf_strv_push(&set, w + 1);
	}
	if (rc < 0 || (rc = bf_use_apply(&set, &pl->base.use)) < 0 ||
	    (rc = bf_baseprof_package_use(&pl->base, &c->cpv, c->m->slot,
	    repo, &set)) < 0 ||
	    (rc = bf_use_apply(&set, &p->use)) < 0)
		goto out;
	for (i = 0; i < p->package_use.n; i++) {
		const struct bf_pkgent *pe = &p->package_use.v[i];

		if (bf_atom_match(&pe->atom, &c->cpv, c->m->slot, c->m->subslot,
		    repo) && (rc = bf_use_apply(&set, &pe->words)) < 0)
			goto out;
	}
	if ((rc = bf_strv_push(iuse, p->arch)) < 0)
		goto out;
	strv_sort_uniq(iuse);
	if ((rc = bf_strv_push(&set, p->arch)) < 0 ||
	    (rc = bf_baseprof_use_masks(&pl->base, &c->cpv, c->m->slot, repo,
	    is_stable(pl, c), &mask, &force)) < 0)
		goto out;
	for (i = 0; i < force.n; i++)
		if (bf_strv_find(&set, force.v[i]) < 0 &&
		    (rc = bf_strv_push(&set, force.v[i])) < 0)
			goto out;
	for (i = 0; i < set.n; i++)
		if ((bf_strv_has_sorted(iuse, set.v[i]) ||
		    bf_strv_has_sorted(&pl->base.iuse_implicit, set.v[i])) &&
		    !bf_strv_has_sorted(&mask, set.v[i]) &&
		    (rc = bf_strv_push(use, set.v[i])) < 0)
			goto out;
	strv_sort_uniq(use);
out:
	bf_strv_release(&words);
	bf_strv_release(&set);
	bf_strv_release(&mask);
	bf_strv_release(&force);
	return rc;
}

static int
usedeps_ok(const struct bf_atom *a, const struct pnode *parent,
    const struct bf_strv *iuse, const struct bf_strv *use, const char **bad)
{
	size_t i;

	for (i = 0; i < a->nuse; i++) {
		const struct bf_usedep *u = &a->use[i];
		int pon = parent != NULL && use_on(parent, u->flag);

		if (!bf_usedep_satisfied(u, pon, bf_strv_has_sorted(iuse, u->flag),
		    bf_strv_has_sorted(use, u->flag))) {
			*bad = u->flag;
			return 0;
		}
	}
	return 1;
}

static const char *
repo_of(const struct bf_plan *pl, const struct cand *c)
{
	return bf_tree_repo_name(pl->trees[c->repo]);
}

static int
node_matches(const struct bf_plan *pl, const struct bf_atom *a,
    const struct pnode *parent, const struct pnode *n)
{
	const char *bad;

	return bf_atom_match(a, &n->c->cpv, n->pub.slot, n->pub.subslot,
	    repo_of(pl, n->c)) &&
	    usedeps_ok(a, parent, &n->pub.iuse, &n->pub.use, &bad);
}

static int
eapi_ok(const char *eapi)
{
	if (eapi == NULL || *eapi == '\0')
		return 1;	/* EAPI 0 */
	return strlen(eapi) == 1 && eapi[0] >= '0' && eapi[0] <= '8';
}

/* Appends " <- parent (CLASS atom) <- ... <- world" for messages. */
static void
chain(struct bf_buf *b, const struct pnode *n)
{
	size_t depth = 0;

	while (n != NULL && depth++ < 64) {
		const struct bf_plan_reason *r = &n->pub.why[0];

		bf_buf_addf(b, "\n  required by %s", n->pub.cpvstr);
		if (r->parent == NULL) {
			bf_buf_addf(b, " (%s: %s, %s:%u)", r->set ? r->set :
			    "world", r->atom, r->file, r->line);
			break;
		}
		bf_buf_addf(b, " (%s %s)", bf_dep_class_name(r->cls), r->atom);
		n = (const struct pnode *)r->parent;
	}
}

static int
add_reason(struct pnode *n, struct pnode *parent, enum bf_dep_class cls,
    const char *atom, const char *file, unsigned line)
{
	struct bf_plan_reason *w;

	if (bf_grow(&n->pub.why, &n->awhy, n->pub.nwhy + 1,
	    sizeof(*n->pub.why), 2) < 0)
		return -ENOMEM;
	w = &n->pub.why[n->pub.nwhy];
	if ((w->atom = strdup(atom)) == NULL)
		return -ENOMEM;
	w->parent = parent != NULL ? &parent->pub : NULL;
	w->cls = cls;
	w->file = file;
	w->line = line;
	n->pub.nwhy++;
	return 0;
}

static int
add_edge(struct pnode *from, struct pnode *to, enum bf_dep_class cls,
    const char *atom)
{
	struct bf_plan_edge *ed;
	size_t i;

	for (i = 0; i < from->pub.nedges; i++)
		if (from->pub.edges[i].to == &to->pub &&
		    from->pub.edges[i].cls == cls)
			return 0;
	if (bf_grow(&from->pub.edges, &from->aedges, from->pub.nedges + 1,
	    sizeof(*from->pub.edges), 4) < 0)
		return -ENOMEM;
	ed = &from->pub.edges[from->pub.nedges];
	if ((ed->atom = strdup(atom)) == NULL)
		return -ENOMEM;
	ed->to = &to->pub;
	ed->cls = cls;
	from->pub.nedges++;
	return 0;
}

static int
push_work(struct bf_plan *pl, struct pnode *parent, enum bf_dep_class cls,
    struct dep *d)
{
	if (bf_grow(&pl->q, &pl->qalloc, pl->qn + 1, sizeof(*pl->q), 256) < 0)
		return -ENOMEM;
	pl->q[pl->qn].parent = parent;
	pl->q[pl->qn].cls = cls;
	pl->q[pl->qn].d = d;
	pl->qn++;
	return 0;
}

/* Queues the atoms and || groups of `d` that apply under parent's USE. */
static int
push_dep(struct bf_plan *pl, struct pnode *parent, enum bf_dep_class cls,
    struct dep *d)
{
	size_t i;
	int rc;

	switch (d->kind) {
	case D_ATOM:
	case D_ANY:
		return push_work(pl, parent, cls, d);
	case D_USE:
		if (use_on(parent, d->flag) == d->neg)
			return 0;
		/* FALLTHROUGH */
	case D_ALL:
		for (i = 0; i < d->nkids; i++)
			if ((rc = push_dep(pl, parent, cls, &d->kids[i])) < 0)
				return rc;
		return 0;
	}
	return 0;
}

static int
node_new(struct bf_plan *pl, struct pkg *k, struct cand *c,
    struct pnode **out, struct bf_err *e)
{
	struct pnode *n;
	struct bf_buf what = BF_BUF_INIT;
	size_t i, j;
	int rc;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return bf_err_nomem(e);
	n->c = c;
	n->pub.cpv = c->cpv;		/* shares the cand's strings */
	n->pub.repo = repo_of(pl, c);
	n->pub.slot = c->m->slot;
	n->pub.subslot = c->m->subslot;
	bf_buf_addf(&what, "%s/%s", c->cpv.cat, c->cpv.pf);
	if (bf_buf_error(&what) < 0 ||
	    (n->pub.cpvstr = strdup(what.buf)) == NULL)
		goto oom;
	if (bf_grow(&pl->nodes, &pl->anodes, pl->nnodes + 1,
	    sizeof(*pl->nodes), 64) < 0)
		goto oom;
	pl->nodes[pl->nnodes++] = n;
	if (bf_grow(&k->sel, &k->asel, k->nsel + 1, sizeof(*k->sel), 1) < 0)
		goto oom;
	k->sel[k->nsel++] = n;
	if ((rc = compute_use(pl, c, &n->pub.use, &n->pub.iuse)) < 0)
		goto oom;
	for (i = 0; i < BF_DEP_NCLASS; i++) {
		n->deps[i].kind = D_ALL;
		if (c->m->deps[i] == NULL)
			continue;
		if ((rc = bf_strv_split(&n->tokens[i], c->m->deps[i])) < 0)
			goto oom;
		bf_buf_reset(&what);
		bf_buf_addf(&what, "%s::%s: %s", n->pub.cpvstr, n->pub.repo,
		    class_names[i]);
		j = 0;
		if ((rc = dep_parse(&n->deps[i], n->tokens[i].v,
		    n->tokens[i].n, &j, 0, what.buf, e)) < 0)
			goto out;
		if ((rc = push_dep(pl, n, (enum bf_dep_class)i,
		    &n->deps[i])) < 0)
			goto oom;
	}
	*out = n;
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	bf_buf_release(&what);
	return rc;
}

/*
 * LICENSE and REQUIRED_USE: nested groups of words (PMS 7.3, 8.2):
 * "( ... )" all of, "|| ( ... )" any of, "^^ ( ... )" exactly one of,
 * "?? ( ... )" at most one of, "flag? ( ... )" and "!flag? ( ... )"
 * only when the condition holds (else not counted).  `leaf` says
 * whether a plain word holds.
 */
enum { G_ALL, G_ANY, G_ONE, G_MOST };

struct cond {
	struct bf_plan		*pl;
	const struct bf_strv	*use;
	const struct bf_strv	*words;	/* ACCEPT_LICENSE words */
	int			(*leaf)(const struct cond *, const char *);
	int			 bad;	/* syntax error */
};

static int
cond_eval(struct cond *c, char **tok, size_t n, size_t *i, int kind,
    int depth)
{
	int ntrue = 0, nitems = 0, v, sub;

	while (*i < n && !c->bad) {
		const char *t = tok[*i];
		size_t len = strlen(t);
		int active = 1;

		(*i)++;
		if (strcmp(t, ")") == 0) {
			if (depth == 0)
				c->bad = 1;
			goto done;
		}
		sub = -1;
		if (strcmp(t, "||") == 0)
			sub = G_ANY;
		else if (strcmp(t, "^^") == 0)
			sub = G_ONE;
		else if (strcmp(t, "??") == 0)
			sub = G_MOST;
		else if (len > 1 && t[len - 1] == '?') {
			int neg = t[0] == '!';
			char flag[128];

			if (len - 1 - neg >= sizeof(flag)) {
				c->bad = 1;
				break;
			}
			memcpy(flag, t + neg, len - 1 - neg);
			flag[len - 1 - neg] = '\0';
			active = bf_strv_has_sorted(c->use, flag) != neg;
			sub = G_ALL;
		}
		if (sub >= 0) {
			if (*i >= n || strcmp(tok[*i], "(") != 0) {
				c->bad = 1;
				break;
			}
			(*i)++;
			v = cond_eval(c, tok, n, i, sub, depth + 1);
		} else if (strcmp(t, "(") == 0)
			v = cond_eval(c, tok, n, i, G_ALL, depth + 1);
		else
			v = c->leaf(c, t);
		if (active) {
			nitems++;
			ntrue += v != 0;
		}
	}
	if (depth > 0)
		c->bad = 1;
done:
	switch (kind) {
	case G_ANY:
		return nitems == 0 || ntrue > 0;
	case G_ONE:
		return nitems == 0 || ntrue == 1;
	case G_MOST:
		return ntrue <= 1;
	default:
		return ntrue == nitems;
	}
}

/* 1 if it holds, 0 if not, -1 when `text` is malformed. */
static int
cond_check(struct cond *c, const char *text)
{
	struct bf_strv tok = BF_STRV_INIT;
	size_t i = 0;
	int v;

	if (text == NULL || *text == '\0')
		return 1;
	if (bf_strv_split(&tok, text) < 0)
		return -1;
	v = cond_eval(c, tok.v, tok.n, &i, G_ALL, 0);
	bf_strv_release(&tok);
	return c->bad ? -1 : v;
}

static int
leaf_flag(const struct cond *c, const char *t)
{
	int neg = t[0] == '!';

	return bf_strv_has_sorted(c->use, t + neg) != neg;
}

/* Whether license `t` is accepted: the last matching word decides. */
static int
leaf_license(const struct cond *c, const char *t)
{
	size_t i;
	int ok = 0;

	for (i = 0; i < c->words->n; i++) {
		const char *w = c->words->v[i];
		int neg = w[0] == '-';

		w += neg;
		if (strcmp(w, "*") == 0 || strcmp(w, t) == 0 ||
		    (w[0] == '@' && bf_baseprof_in_group(&c->pl->base, w + 1,
		    t)))
			ok = !neg;
	}
	return ok;
}

/* LICENSE against ACCEPT_LICENSE and matching package.license lines. */
static int
license_ok(struct bf_plan *pl, const struct cand *c,
    const struct bf_strv *use)
{
	const struct bf_profile *p = pl->p;
	struct bf_strv words = BF_STRV_INIT;
	struct cond cd = { pl, use, &words, leaf_license, 0 };
	size_t i, j;
	int rc = 0;

	for (i = 0; i < pl->accept_license.n && rc == 0; i++)
		rc = bf_strv_push(&words, pl->accept_license.v[i]);
	for (i = 0; i < p->package_license.n && rc == 0; i++) {
		const struct bf_pkgent *pe = &p->package_license.v[i];

		if (!bf_atom_match(&pe->atom, &c->cpv, c->m->slot,
		    c->m->subslot, repo_of(pl, c)))
			continue;
		for (j = 0; j < pe->words.n && rc == 0; j++)
			rc = bf_strv_push(&words, pe->words.v[j]);
	}
	rc = rc < 0 ? -1 : cond_check(&cd, c->m->license);
	bf_strv_release(&words);
	return rc;
}

/*
 * Whether candidate `c` of `k` may be chosen at all: its EAPI, masks,
 * KEYWORDS and slot.  If not, 0 and the reason appended to `why`.
 */
static int
cand_visible(struct bf_plan *pl, const struct pkg *k, const struct cand *c,
    struct bf_buf *why)
{
	const struct bf_profile *p = pl->p;
	const struct bf_pkgent *mask;
	const char *repo = repo_of(pl, c);
	size_t j;

	if (!eapi_ok(c->m->eapi)) {
		bf_buf_addf(why, "EAPI %s is not supported", c->m->eapi);
		return 0;
	}
	if ((mask = bf_profile_masked(p, &c->cpv, c->m->slot, repo)) != NULL ||
	    (mask = bf_baseprof_masked(&pl->base, &c->cpv, c->m->slot,
	    repo)) != NULL) {
		bf_buf_addf(why, "masked by %s:%u", mask->file, mask->line);
		return 0;
	}
	if (!bf_profile_keywords_ok_in(p, &pl->accept, &c->cpv, c->m->slot,
	    repo, c->m->keywords ? c->m->keywords : "")) {
		bf_buf_addf(why, "KEYWORDS=\"%s\" not accepted by "
		    "ACCEPT_KEYWORDS", c->m->keywords ? c->m->keywords : "");
		return 0;
	}
	for (j = 0; j < k->nsel; j++)
		if (strcmp(k->sel[j]->pub.slot, c->m->slot) == 0)
			break;
	if (j < k->nsel) {
		bf_buf_addf(why, "slot conflict: %s was already chosen for "
		    "slot %s", k->sel[j]->pub.cpvstr, c->m->slot);
		chain(why, k->sel[j]);
		return 0;
	}
	return 1;
}

/*
 * The candidate's USE and IUSE (into `use`, `iuse`); whether its
 * LICENSE is accepted and the atom's USE dependencies are met: 1, or
 * 0 with the reason appended to `why`, or an error.
 */
static int
cand_use(struct bf_plan *pl, const struct bf_atom *a,
    const struct pnode *parent, struct cand *c, struct bf_strv *use,
    struct bf_strv *iuse, struct bf_buf *why, struct bf_err *e)
{
	const char *bad;
	int lic;

	bf_strv_release(use);
	bf_strv_release(iuse);
	if (compute_use(pl, c, use, iuse) < 0)
		return bf_err_nomem(e);
	if ((lic = license_ok(pl, c, use)) <= 0) {
		if (lic < 0)
			return bf_err_set(e, BF_EMETADATA, "%s/%s::%s: "
			    "malformed LICENSE \"%s\"", c->cpv.cat, c->cpv.pf,
			    repo_of(pl, c), c->m->license);
		bf_buf_addf(why, "LICENSE=\"%s\" not accepted by "
		    "ACCEPT_LICENSE; accept it in package.license",
		    c->m->license);
		return 0;
	}
	if (!usedeps_ok(a, parent, iuse, use, &bad)) {
		bf_buf_addf(why, "USE dependency on '%s' not met "
		    "(effective USE: %s%s); change it in package.use",
		    bad, bf_strv_has_sorted(use, bad) ? "+" : "-", bad);
		return 0;
	}
	return 1;
}

/*
 * Whether the candidate's REQUIRED_USE holds under `use`: 1, or 0 and
 * (unless `dry`) `why` replaced by the error, or an error.
 */
static int
cand_required_use(struct bf_plan *pl, const struct cand *c,
    const struct bf_strv *use, const struct bf_strv *iuse, int dry,
    struct bf_buf *why, struct bf_err *e)
{
	struct cond cd = { pl, use, NULL, leaf_flag, 0 };
	size_t j;
	int req;

	if ((req = cond_check(&cd, c->m->required_use)) > 0)
		return 1;
	if (req < 0)
		return bf_err_set(e, BF_EMETADATA, "%s/%s::%s: malformed "
		    "REQUIRED_USE \"%s\"", c->cpv.cat, c->cpv.pf,
		    repo_of(pl, c), c->m->required_use);
	if (dry)
		return 0;
	/* As Portage: the best version's USE is wrong, an error. */
	bf_buf_reset(why);
	bf_buf_addf(why, "%s/%s::%s: REQUIRED_USE=\"%s\" is not met by USE=\"",
	    c->cpv.cat, c->cpv.pf, repo_of(pl, c), c->m->required_use);
	for (j = 0; j < iuse->n; j++)
		if (strcmp(iuse->v[j], pl->p->arch) != 0)
			bf_buf_addf(why, "%s%s%s",
			    why->buf[why->len - 1] == '"' ? "" : " ",
			    bf_strv_has_sorted(use, iuse->v[j]) ? "" : "-",
			    iuse->v[j]);
	bf_buf_adds(why, "\"; change USE in package.use");
	return 0;
}

/* The error for an atom that cannot be resolved, `why` its reason. */
static int
resolve_fail(struct pnode *parent, enum bf_dep_class cls, const char *text,
    struct bf_buf *why, struct bf_err *e)
{
	if (parent != NULL)
		bf_buf_addf(why, "\n  wanted as %s '%s' of %s",
		    bf_dep_class_name(cls), text, parent->pub.cpvstr);
	chain(why, parent);
	return bf_err_set(e, BF_ENOTFOUND, "cannot resolve '%s': %s", text,
	    bf_buf_error(why) == 0 ? why->buf : "out of memory");
}

/* "no visible version matches", then the candidates and their reasons. */
static void
no_version(struct bf_buf *why)
{
	char *list;

	if (why->len == 0) {
		bf_buf_adds(why, "no version matches");
		return;
	}
	/* Move the candidate list after the headline. */
	list = bf_buf_detach(why, NULL);
	bf_buf_addf(why, "no visible version matches:%s", list ? list : "");
	free(list);
}

/*
 * Finds or selects the package for atom `a` (not a blocker).  With
 * `dry` set nothing is selected: returns 1 when an existing node or a
 * visible candidate would do, 0 when not.  Otherwise returns 0 and sets
 * *out, or fails with a message naming the atom and the chain.
 */
static int
resolve_atom(struct bf_plan *pl, struct pnode *parent, enum bf_dep_class cls,
    const struct bf_atom *a, const char *text, int dry, struct pnode **out,
    struct bf_err *e)
{
	struct bf_strv use = BF_STRV_INIT, iuse = BF_STRV_INIT;
	struct bf_buf why = BF_BUF_INIT;
	struct pkg *k;
	struct cand *c;
	size_t i;
	int rc = 0;

	*out = NULL;
	if ((k = pkg_find(pl, a->cat, a->pn)) == NULL) {
		if (dry)
			return 0;
		bf_buf_addf(&why, "no package '%s/%s' in any repository",
		    a->cat, a->pn);
		rc = resolve_fail(parent, cls, text, &why, e);
		goto out;
	}
	for (i = 0; i < k->nsel; i++)
		if (node_matches(pl, a, parent, k->sel[i])) {
			*out = k->sel[i];
			return dry ? 1 : 0;
		}
	if (!k->sorted) {
		qsort(k->v, k->n, sizeof(*k->v), cand_cmp);
		k->sorted = 1;
	}
	for (i = 0; i < k->n; i++) {
		c = k->v[i];
		if ((rc = meta_load(pl, c, e)) < 0)
			goto out;
		if (!bf_atom_match(a, &c->cpv, c->m->slot, c->m->subslot,
		    repo_of(pl, c)))
			continue;
		bf_buf_addf(&why, "\n  %s/%s::%s: ", c->cpv.cat, c->cpv.pf,
		    repo_of(pl, c));
		if (!cand_visible(pl, k, c, &why))
			continue;
		if ((rc = cand_use(pl, a, parent, c, &use, &iuse, &why, e)) < 0)
			goto out;
		if (rc == 0)
			continue;
		if ((rc = cand_required_use(pl, c, &use, &iuse, dry, &why,
		    e)) < 0)
			goto out;
		if (rc == 0 && dry)
			continue;
		if (rc == 0) {
			rc = resolve_fail(parent, cls, text, &why, e);
			goto out;
		}
		rc = dry ? 1 : node_new(pl, k, c, out, e);
		goto out;
	}
	if (dry) {
		rc = 0;
		goto out;
	}
	no_version(&why);
	rc = resolve_fail(parent, cls, text, &why, e);
out:
	bf_strv_release(&use);
	bf_strv_release(&iuse);
	bf_buf_release(&why);
	return rc;
}

/* Dry-run check of a dependency under parent's USE. */
static int
dep_check(struct bf_plan *pl, struct pnode *parent, enum bf_dep_class cls,
    const struct dep *d, int selected_only, struct bf_err *e)
{
	struct pnode *n;
	size_t i;
	int rc;

	switch (d->kind) {
	case D_ATOM:
		if (d->atom.blocker)
			return 1;
		if (selected_only) {
			struct pkg *k = pkg_find(pl, d->atom.cat, d->atom.pn);

			for (i = 0; k != NULL && i < k->nsel; i++)
				if (node_matches(pl, &d->atom, parent,
				    k->sel[i]))
					return 1;
			return 0;
		}
		return resolve_atom(pl, parent, cls, &d->atom, d->text, 1, &n,
		    e);
	case D_ANY:
		for (i = 0; i < d->nkids; i++)
			if ((rc = dep_check(pl, parent, cls, &d->kids[i],
			    selected_only, e)) != 0)
				return rc;
		return 0;
	case D_USE:
		if (use_on(parent, d->flag) == d->neg)
			return 1;
		/* FALLTHROUGH */
	default:
		for (i = 0; i < d->nkids; i++)
			if ((rc = dep_check(pl, parent, cls, &d->kids[i],
			    selected_only, e)) <= 0)
				return rc;
		return 1;
	}
}

static void
dep_format(const struct dep *d, struct bf_buf *b)
{
	size_t i;

	switch (d->kind) {
	case D_ATOM:
		bf_buf_adds(b, d->text);
		return;
	case D_ANY:
		bf_buf_adds(b, "|| (");
		break;
	case D_USE:
		bf_buf_addf(b, "%s%s? (", d->neg ? "!" : "", d->flag);
		break;
	default:
		bf_buf_adds(b, "(");
	}
	for (i = 0; i < d->nkids; i++) {
		bf_buf_addch(b, ' ');
		dep_format(&d->kids[i], b);
	}
	bf_buf_adds(b, " )");
}

static int
add_blocker(struct pnode *n, struct dep *d, enum bf_dep_class cls)
{
	if (bf_grow(&n->blk, &n->ablk, n->nblk + 1, sizeof(*n->blk), 2) < 0)
		return -ENOMEM;
	n->blk[n->nblk].d = d;
	n->blk[n->nblk].cls = cls;
	n->nblk++;
	return 0;
}

static int
process(struct bf_plan *pl, struct work *w, struct bf_err *e)
{
	struct pnode *n = NULL;
	struct bf_buf b = BF_BUF_INIT;
	size_t i;
	int rc;

	if (w->d->kind == D_ANY) {
		/* Prefer an alternative already satisfied by the plan. */
		for (i = 0; i < w->d->nkids; i++)
			if ((rc = dep_check(pl, w->parent, w->cls,
			    &w->d->kids[i], 1, e)) != 0)
				break;
		if (i == w->d->nkids)
			for (i = 0; i < w->d->nkids; i++)
				if ((rc = dep_check(pl, w->parent, w->cls,
				    &w->d->kids[i], 0, e)) != 0)
					break;
		if (i < w->d->nkids && rc < 0)
			return rc;
		if (i == w->d->nkids) {
			bf_buf_addf(&b, "cannot resolve any choice of %s '",
			    bf_dep_class_name(w->cls));
			dep_format(w->d, &b);
			bf_buf_addf(&b, "' of %s", w->parent->pub.cpvstr);
			chain(&b, w->parent);
			rc = bf_err_set(e, BF_ENOTFOUND, "%s",
			    bf_buf_error(&b) == 0 ? b.buf : "out of memory");
			bf_buf_release(&b);
			return rc;
		}
		return push_dep(pl, w->parent, w->cls, &w->d->kids[i]) < 0 ?
		    bf_err_nomem(e) : 0;
	}
	if (w->d->atom.blocker)
		return add_blocker(w->parent, w->d, w->cls) < 0 ?
		    bf_err_nomem(e) : 0;
	if ((rc = resolve_atom(pl, w->parent, w->cls, &w->d->atom, w->d->text,
	    0, &n, e)) < 0)
		return rc;
	if (add_reason(n, w->parent, w->cls, w->d->text, NULL, 0) < 0 ||
	    add_edge(w->parent, n, w->cls, w->d->text) < 0)
		return bf_err_nomem(e);
	if (w->d->atom.slotop == BF_SLOTOP_EQ) {
		bf_buf_addf(&b, "%s/%s:%s/%s", n->c->cpv.cat, n->c->cpv.pn,
		    n->pub.slot, n->pub.subslot);
		rc = bf_buf_error(&b) < 0 ? -ENOMEM :
		    bf_strv_push(&w->parent->slotdeps, b.buf);
		bf_buf_release(&b);
		if (rc < 0)
			return bf_err_nomem(e);
	}
	return 0;
}

static int
check_blockers(struct bf_plan *pl, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i, j, l;
	int rc = 0;

	for (i = 0; i < pl->nnodes && rc == 0; i++) {
		struct pnode *n = pl->nodes[i];

		for (j = 0; j < n->nblk && rc == 0; j++) {
			const struct bf_atom *a = &n->blk[j].d->atom;
			struct pkg *k = pkg_find(pl, a->cat, a->pn);
			struct pnode *hit = NULL;

			for (l = 0; k != NULL && l < k->nsel; l++)
				if (k->sel[l] != n &&
				    node_matches(pl, a, n, k->sel[l]))
					hit = k->sel[l];
			if (hit != NULL) {
				bf_buf_addf(&b, "%s (%s '%s') blocks %s, "
				    "which is in the plan", n->pub.cpvstr,
				    bf_dep_class_name(n->blk[j].cls),
				    n->blk[j].d->text, hit->pub.cpvstr);
				chain(&b, n);
				chain(&b, hit);
				rc = bf_err_set(e, BF_ECONFLICT, "%s",
				    bf_buf_error(&b) == 0 ? b.buf : "blocker");
				break;
			}
			bf_buf_reset(&b);
			bf_buf_addf(&b, "%s (%s)", n->blk[j].d->text,
			    bf_dep_class_name(n->blk[j].cls));
			if (bf_buf_error(&b) < 0 ||
			    bf_strv_push(&n->pub.blockers, b.buf) < 0)
				rc = bf_err_nomem(e);
		}
	}
	bf_buf_release(&b);
	return rc;
}

/* Adds `n` and its runtime closure to `from`'s build-time set. */
static int
add_after(struct bf_plan *pl, struct pnode *from, struct pnode *n)
{
	size_t i;

	if (n->stamp == pl->stamp)
		return 0;
	n->stamp = pl->stamp;
	if (bf_grow(&from->pub.after, &from->aafter, from->pub.nafter + 1,
	    sizeof(*from->pub.after), 8) < 0)
		return -ENOMEM;
	from->pub.after[from->pub.nafter++] = &n->pub;
	for (i = 0; i < n->pub.nedges; i++)
		if (IS_RUNTIME(n->pub.edges[i].cls) &&
		    add_after(pl, from, (struct pnode *)n->pub.edges[i].to) < 0)
			return -ENOMEM;
	return 0;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct bf_plan_node *x = *(struct bf_plan_node *const *)a;
	const struct bf_plan_node *y = *(struct bf_plan_node *const *)b;

	return strcmp(x->cpvstr, y->cpvstr);
}

/* Describes how `from` comes to need `to` at build time, edge by edge. */
static void
explain_after(struct pnode *from, struct pnode *to, struct bf_buf *b)
{
	size_t i, j;

	for (i = 0; i < from->pub.nedges; i++) {
		struct bf_plan_edge *ed = &from->pub.edges[i];
		struct pnode *d = (struct pnode *)ed->to;

		if (!IS_HARD(ed->cls))
			continue;
		if (d == to) {
			bf_buf_addf(b, " -%s-> %s", class_names[ed->cls],
			    to->pub.cpvstr);
			return;
		}
		/* One runtime step is the common case; say so when longer. */
		for (j = 0; j < d->pub.nedges; j++)
			if (IS_RUNTIME(d->pub.edges[j].cls) &&
			    d->pub.edges[j].to == &to->pub) {
				bf_buf_addf(b, " -%s-> %s -%s-> %s",
				    class_names[ed->cls], d->pub.cpvstr,
				    class_names[d->pub.edges[j].cls],
				    to->pub.cpvstr);
				return;
			}
	}
	for (i = 0; i < from->pub.nedges; i++) {
		struct bf_plan_edge *ed = &from->pub.edges[i];
		struct pnode *d = (struct pnode *)ed->to;

		if (!IS_HARD(ed->cls))
			continue;
		bf_buf_addf(b, " -%s-> %s -(runtime closure)-> %s",
		    class_names[ed->cls], d->pub.cpvstr, to->pub.cpvstr);
		return;
	}
}

static int
visit(struct bf_plan *pl, struct pnode *n, struct pnode **stack, size_t depth,
    size_t *pos, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i, s;
	int rc;

	if (n->mark == 2)
		return 0;
	if (n->mark == 1) {
		for (s = 0; s < depth && stack[s] != n; s++)
			;
		bf_buf_adds(&b, n->pub.cpvstr);
		for (i = s; i < depth; i++)
			explain_after(stack[i], i + 1 < depth ? stack[i + 1] : n,
			    &b);
		rc = bf_err_set(e, BF_ECONFLICT, "build-time dependency cycle: "
		    "%s", bf_buf_error(&b) == 0 ? b.buf : "?");
		bf_buf_release(&b);
		return rc;
	}
	n->mark = 1;
	stack[depth] = n;
	for (i = 0; i < n->pub.nafter; i++)
		if ((rc = visit(pl, (struct pnode *)n->pub.after[i], stack,
		    depth + 1, pos, e)) < 0)
			return rc;
	n->mark = 2;
	pl->order[(*pos)++] = &n->pub;
	n->pub.order = *pos;
	return 0;
}

/* The order of "KEY CPV" strings, without making them. */
static int
key_cmp(const void *a, const void *b)
{
	const struct bf_plan_node *x = *(struct bf_plan_node *const *)a;
	const struct bf_plan_node *y = *(struct bf_plan_node *const *)b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->cpvstr, y->cpvstr);
}

static int
compute_key(struct bf_plan *pl, struct pnode *n, struct bf_err *e)
{
	const struct bf_profile *p = pl->p;
	const struct bf_plan_node **deps = NULL;
	struct bf_buf b = BF_BUF_INIT;
	struct bf_digest d;
	size_t i;
	int rc;

	bf_buf_addf(&b, "binfarm-build-key 1\ncpv %s\nebuild %s\n",
	    n->pub.cpvstr, n->c->m->md5);
	bf_buf_addf(&b, "eclasses %s\n", n->c->m->eclasses ?
	    n->c->m->eclasses : "");
	bf_buf_adds(&b, "USE");
	for (i = 0; i < n->pub.use.n; i++)
		bf_buf_addf(&b, " %s", n->pub.use.v[i]);
	bf_buf_addf(&b, "\nCHOST %s\nCFLAGS %s\nCXXFLAGS %s\nLDFLAGS %s\n",
	    p->chost, p->cflags, p->cxxflags, p->ldflags);
	/*
	 * "dep KEY CPV" for everything installed, sorted and unique: the
	 * nodes sorted as those strings would be (keys have one length),
	 * so that the closure, often thousands of packages, is not copied
	 * into strings first.
	 */
	if (n->pub.nafter > 0) {
		if ((deps = malloc(n->pub.nafter * sizeof(*deps))) == NULL)
			goto oom;
		memcpy(deps, n->pub.after, n->pub.nafter * sizeof(*deps));
		qsort(deps, n->pub.nafter, sizeof(*deps), key_cmp);
	}
	for (i = 0; i < n->pub.nafter; i++)
		if (i == 0 || key_cmp(&deps[i], &deps[i - 1]) != 0)
			bf_buf_addf(&b, "dep %s %s\n", deps[i]->key,
			    deps[i]->cpvstr);
	strv_sort_uniq(&n->slotdeps);
	for (i = 0; i < n->slotdeps.n; i++)
		bf_buf_addf(&b, "slotdep %s\n", n->slotdeps.v[i]);
	if (bf_buf_error(&b) < 0)
		goto oom;
	if ((rc = bf_digest_mem(&d, BF_DIGEST_BIT(BF_BLAKE2B), b.buf, b.len,
	    e)) < 0)
		goto out;
	memcpy(n->pub.key, d.hex[BF_BLAKE2B], 32);
	n->pub.key[32] = '\0';
	rc = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	free(deps);
	bf_buf_release(&b);
	return rc;
}

static int
finish(struct bf_plan *pl, struct bf_err *e)
{
	struct pnode **stack = NULL;
	size_t i, j, pos = 0;
	int rc;

	if ((rc = check_blockers(pl, e)) < 0)
		return rc;
	for (i = 0; i < pl->nnodes; i++) {
		struct pnode *n = pl->nodes[i];

		pl->stamp++;
		for (j = 0; j < n->pub.nedges; j++)
			if (IS_HARD(n->pub.edges[j].cls) &&
			    add_after(pl, n, (struct pnode *)n->pub.edges[j].to) < 0)
				return bf_err_nomem(e);
		if (n->pub.nafter > 1)
			qsort(n->pub.after, n->pub.nafter,
			    sizeof(*n->pub.after), node_cmp);
	}
	if ((pl->order = calloc(pl->nnodes + 1, sizeof(*pl->order))) == NULL ||
	    (stack = calloc(pl->nnodes + 1, sizeof(*stack))) == NULL) {
		free(stack);
		return bf_err_nomem(e);
	}
	for (i = 0; i < pl->nnodes && rc == 0; i++)
		rc = visit(pl, pl->nodes[i], stack, 0, &pos, e);
	free(stack);
	for (i = 0; i < pos && rc == 0; i++)
		rc = compute_key(pl, (struct pnode *)pl->order[i], e);
	return rc;
}

/*
 * The Portage profile under the hw-profile, and the repositories'
 * package.mask; ACCEPT_KEYWORDS is the profile's, then make.conf's
 * words applied over it.
 */
static int
setup_profile(struct bf_plan *pl, struct bf_err *e)
{
	const struct bf_profile *p = pl->p;
	struct bf_strv words = BF_STRV_INIT;
	const char *mk;
	size_t i;
	int rc;

	if ((rc = bf_baseprof_load(&pl->base, pl->trees, pl->ntrees,
	    p->portage_profile, e)) < 0)
		return rc;
	/*
	 * ACCEPT_LICENSE as Portage's config.regenerate() makes it: the
	 * Portage profile's words, then make.conf's, pruned before the
	 * last "*" or "-*"; "* -@EULA" when nothing sets it.  (Gentoo's
	 * base profile sets "-* @FREE" in make.defaults.)
	 */
	for (i = 0; i < pl->base.accept_license.n; i++)
		if ((rc = bf_strv_push(&pl->accept_license,
		    pl->base.accept_license.v[i])) < 0)
			return bf_err_nomem(e);
	if ((mk = bf_conf_get(&p->make, "ACCEPT_LICENSE")) != NULL &&
	    (rc = bf_strv_split(&pl->accept_license, mk)) < 0)
		return bf_err_nomem(e);
	prune_incremental(&pl->accept_license);
	if (pl->accept_license.n == 0 &&
	    (rc = bf_strv_split(&pl->accept_license, "* -@EULA")) < 0)
		return bf_err_nomem(e);
	if (pl->base.path == NULL) {
		for (i = 0; i < p->accept_keywords.n; i++)
			if ((rc = bf_strv_push(&pl->accept,
			    p->accept_keywords.v[i])) < 0)
				return bf_err_nomem(e);
		return 0;
	}
	if (pl->base.arch != NULL && strcmp(pl->base.arch, p->arch) != 0)
		return bf_err_set(e, BF_ECONFIG, "%s/make.conf: ACCEPT_KEYWORDS "
		    "is for '%s', but the Portage profile '%s' has ARCH=\"%s\"",
		    p->dir, p->arch, pl->base.path, pl->base.arch);
	for (i = 0; i < pl->base.accept_keywords.n; i++)
		if ((rc = bf_strv_push(&pl->accept,
		    pl->base.accept_keywords.v[i])) < 0)
			return bf_err_nomem(e);
	if ((mk = bf_conf_get(&p->make, "ACCEPT_KEYWORDS")) != NULL &&
	    ((rc = bf_strv_split(&words, mk)) < 0 ||
	    (rc = bf_use_apply(&pl->accept, &words)) < 0))
		rc = bf_err_nomem(e);
	bf_strv_release(&words);
	return rc;
}

int
bf_plan_run(struct bf_plan **plp, const struct bf_profile *p,
    struct bf_tree *const *trees, size_t ntrees, struct bf_err *e)
{
	struct index_ctx ic = { NULL, 0, BF_BUF_INIT };
	struct bf_buf text = BF_BUF_INIT;
	struct bf_plan *pl;
	struct pnode *n;
	size_t i;
	int rc;

	*plp = NULL;
	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return bf_err_nomem(e);
	bf_buf_init(&pl->tmp);
	pl->pkgmap = (struct bf_map)BF_MAP_INIT_BORROW;
	/*
	 * Room for a tree the size of Gentoo's (about 20,000 packages) at
	 * once: growing the table step by step cost more in malloc than
	 * the lookups (bench-plan.sh under cachegrind).  Its pages are
	 * touched only as they are filled.
	 */
	if (bf_map_reserve(&pl->pkgmap, 32768) < 0) {
		free(pl);
		return bf_err_nomem(e);
	}
	pl->p = p;
	pl->trees = trees;
	pl->ntrees = ntrees;
	ic.pl = pl;
	for (i = 0; i < ntrees; i++) {
		ic.repo = i;
		if ((rc = bf_tree_walk_cache(trees[i], index_cb, &ic, e)) < 0)
			goto out;
	}
	if ((rc = setup_profile(pl, e)) < 0)
		goto out;
	/* world, then @system (the Portage profile's packages), as @world */
	for (i = 0; i < p->world.n + (p->no_system ? 0 :
	    pl->base.system.n); i++) {
		const struct bf_pkgent *we = i < p->world.n ? &p->world.v[i] :
		    &pl->base.system.v[i - p->world.n];

		bf_buf_reset(&text);
		bf_atom_format(&we->atom, &text);
		if (bf_buf_error(&text) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		if ((rc = resolve_atom(pl, NULL, BF_DEP_RDEPEND, &we->atom,
		    text.buf, 0, &n, e)) < 0) {
			bf_err_prefix(e, "%s:%u", we->file, we->line);
			goto out;
		}
		if (add_reason(n, NULL, BF_DEP_RDEPEND, text.buf, we->file,
		    we->line) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		n->pub.why[n->pub.nwhy - 1].set = i < p->world.n ? "world" :
		    "system";
		/* Dependencies in breadth-first order. */
		while (pl->qhead < pl->qn) {
			struct work w = pl->q[pl->qhead++];

			if ((rc = process(pl, &w, e)) < 0)
				goto out;
		}
	}
	if ((rc = finish(pl, e)) < 0)
		goto out;
	*plp = pl;
	pl = NULL;
out:
	bf_buf_release(&ic.cpv);
	bf_buf_release(&text);
	bf_plan_free(pl);
	return rc;
}

void
bf_plan_free(struct bf_plan *pl)
{
	size_t i, j;

	if (pl == NULL)
		return;
	for (i = 0; i < pl->nnodes; i++) {
		struct pnode *n = pl->nodes[i];

		for (j = 0; j < BF_DEP_NCLASS; j++) {
			dep_release(&n->deps[j]);
			bf_strv_release(&n->tokens[j]);
		}
		for (j = 0; j < n->pub.nedges; j++)
			free(n->pub.edges[j].atom);
		free(n->pub.edges);
		for (j = 0; j < n->pub.nwhy; j++)
			free(n->pub.why[j].atom);
		free(n->pub.why);
		free(n->pub.after);
		free(n->pub.cpvstr);
		bf_strv_release(&n->pub.use);
		bf_strv_release(&n->pub.iuse);
		bf_strv_release(&n->pub.blockers);
		bf_strv_release(&n->slotdeps);
		free(n->blk);
		free(n);
	}
	free(pl->nodes);
	free(pl->order);
	for (i = 0; i < pl->npkg; i++) {
		struct pkg *k = pl->pkgs[i];

		for (j = 0; j < k->n; j++) {
			bf_cpv_release(&k->v[j]->cpv);
			meta_free(k->v[j]->m);
			free(k->v[j]);
		}
		free(k->v);
		free(k->sel);
		free(k->name);
		free(k);
	}
	free(pl->pkgs);
	bf_map_release(&pl->pkgmap);
	free(pl->q);
	bf_buf_release(&pl->tmp);
	bf_baseprof_release(&pl->base);
	bf_strv_release(&pl->accept);
	bf_strv_release(&pl->accept_license);
	free(pl);
}

size_t
bf_plan_count(const struct bf_plan *pl)
{
	return pl->nnodes;
}

const struct bf_plan_node *
bf_plan_node(const struct bf_plan *pl, size_t i)
{
	return i < pl->nnodes ? pl->order[i] : NULL;
}

void
bf_plan_stats(const struct bf_plan *pl, size_t *indexed, size_t *loaded)
{
	*indexed = pl->indexed;
	*loaded = pl->loaded;
}

const struct bf_baseprof *
bf_plan_baseprof(const struct bf_plan *pl)
{
	return &pl->base;
}

/* KEY from make.conf, else from the Portage profile's make.defaults. */
static const char *
top_value(const struct bf_plan *pl, const char *key)
{
	const char *v = bf_conf_get(&pl->p->make, key);

	if (v == NULL || *v == '\0')
		v = bf_conf_get(&pl->base.make, key);
	return v != NULL && *v != '\0' ? v : NULL;
}

/* An incremental variable: the profile cascade's words, then make.conf's. */
static int
incr_value(const struct bf_plan *pl, const char *key, struct bf_strv *set)
{
	struct bf_strv words = BF_STRV_INIT;
	const char *v;
	int rc = 0;

	if ((v = bf_conf_get(&pl->base.incr, key)) != NULL)
		rc = bf_strv_split(&words, v);
	if (rc == 0 && (v = bf_conf_get(&pl->p->make, key)) != NULL)
		rc = bf_strv_split(&words, v);
	if (rc == 0)
		rc = bf_use_apply(set, &words);
	bf_strv_release(&words);
	return rc;
}

int
bf_plan_incremental(const struct bf_plan *pl, const char *key,
    struct bf_strv *set, struct bf_err *e)
{
	int rc = incr_value(pl, key, set);

	return rc < 0 ? bf_err_set(e, -rc, "out of memory") : 0;
}

/*
 * Portage's config._calc_iuse_effective(): IUSE_IMPLICIT; the values
 * (USE_EXPAND_VALUES_<X>) of each USE_EXPAND_UNPREFIXED variable that
 * is also in USE_EXPAND_IMPLICIT, as they are; those of each
 * USE_EXPAND_IMPLICIT variable that is also in USE_EXPAND, as x_value.
 */
int
bf_plan_iuse_implicit(const struct bf_plan *pl, struct bf_strv *out,
    struct bf_err *e)
{
	struct bf_strv implicit = BF_STRV_INIT, unpref = BF_STRV_INIT,
	    expand = BF_STRV_INIT, vals = BF_STRV_INIT;
	struct bf_buf key = BF_BUF_INIT;
	const char *v;
	size_t i, j, k;
	int rc;

	if ((rc = incr_value(pl, "IUSE_IMPLICIT", out)) < 0 ||
	    (rc = incr_value(pl, "USE_EXPAND_IMPLICIT", &implicit)) < 0 ||
	    (rc = incr_value(pl, "USE_EXPAND_UNPREFIXED", &unpref)) < 0 ||
	    (rc = incr_value(pl, "USE_EXPAND", &expand)) < 0)
		goto out;
	for (k = 0; k < 2 && rc == 0; k++) {
		const struct bf_strv *vars = k == 0 ? &unpref : &implicit;
		const struct bf_strv *in = k == 0 ? &implicit : &expand;

		for (i = 0; i < vars->n && rc == 0; i++) {
			if (bf_strv_find(in, vars->v[i]) < 0)
				continue;
			bf_buf_reset(&key);
			bf_buf_addf(&key, "USE_EXPAND_VALUES_%s", vars->v[i]);
			if ((rc = bf_buf_error(&key)) < 0 ||
			    (v = top_value(pl, key.buf)) == NULL)
				continue;
			bf_strv_release(&vals);
			if ((rc = bf_strv_split(&vals, v)) < 0)
				break;
			for (j = 0; j < vals.n && rc == 0; j++) {
				bf_buf_reset(&key);
				if (k == 1) {
					const char *c;

					for (c = vars->v[i]; *c; c++)
						bf_buf_addch(&key, *c >= 'A' &&
						    *c <= 'Z' ? *c - 'A' + 'a' : *c);
					bf_buf_addch(&key, '_');
				}
				bf_buf_adds(&key, vals.v[j]);
				if ((rc = bf_buf_error(&key)) == 0)
					rc = bf_strv_push(out, key.buf);
			}
		}
	}
	if (rc == 0)
		strv_sort_uniq(out);
out:
	bf_strv_release(&implicit);
	bf_strv_release(&unpref);
	bf_strv_release(&expand);
	bf_strv_release(&vals);
	bf_buf_release(&key);
	return rc < 0 ? bf_err_set(e, -rc, "out of memory") : 0;
}

static int
hdr_set(struct bf_conf *hdr, const char *key, const char *val)
{
	return val != NULL && *val != '\0' ?
	    bf_conf_set(hdr, key, val, "", 0) : 0;
}

static int
hdr_setv(struct bf_conf *hdr, const char *key, const struct bf_strv *sv)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < sv->n; i++)
		bf_buf_addf(&b, "%s%s", i ? " " : "", sv->v[i]);
	if ((rc = bf_buf_error(&b)) == 0)
		rc = hdr_set(hdr, key, b.buf);
	bf_buf_release(&b);
	return rc;
}

int
bf_plan_index_header(const struct bf_plan *pl, struct bf_conf *hdr,
    struct bf_err *e)
{
	static const char *const plain[] = {
		"ACCEPT_PROPERTIES", "ACCEPT_RESTRICT", "GENTOO_MIRRORS",
		"INSTALL_MASK",
	};
	static const char *const lists[] = {
		"IUSE_IMPLICIT", "USE_EXPAND", "USE_EXPAND_HIDDEN",
		"USE_EXPAND_IMPLICIT", "USE_EXPAND_UNPREFIXED",
	};
	const struct bf_profile *p = pl->p;
	struct bf_strv set = BF_STRV_INIT, vars = BF_STRV_INIT;
	struct bf_buf key = BF_BUF_INIT;
	const char *chost, *v;
	size_t i;
	int rc = 0;

	/* Portage writes nothing more without a profile and IUSE_IMPLICIT. */
	if (pl->base.path == NULL || (bf_conf_get(&pl->base.incr,
	    "IUSE_IMPLICIT") == NULL && bf_conf_get(&p->make,
	    "IUSE_IMPLICIT") == NULL))
		return 0;
	chost = *p->chost != '\0' ? p->chost : top_value(pl, "CHOST");
	if ((rc = hdr_set(hdr, "PROFILE", pl->base.path)) < 0 ||
	    (rc = hdr_set(hdr, "CHOST", chost)) < 0 ||
	    (rc = hdr_set(hdr, "CBUILD", top_value(pl, "CBUILD") ?
	    top_value(pl, "CBUILD") : chost)) < 0 ||
	    (rc = hdr_setv(hdr, "ACCEPT_KEYWORDS", &pl->accept)) < 0 ||
	    (rc = hdr_setv(hdr, "ACCEPT_LICENSE", &pl->accept_license)) < 0)
		goto out;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]) && rc == 0; i++)
		rc = hdr_set(hdr, plain[i], top_value(pl, plain[i]));
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]) && rc == 0; i++) {
		bf_strv_release(&set);
		if ((rc = incr_value(pl, lists[i], &set)) == 0)
			rc = hdr_setv(hdr, lists[i], &set);
	}
	if (rc < 0)
		goto out;
	/*
	 * Global USE as the plan computes it (compute_use without a
	 * package): the profile's and make.conf's words with their
	 * USE_EXPAND flags, the arch flag, use.force on, use.mask off.
	 */
	bf_strv_release(&set);
	if ((rc = bf_use_apply(&set, &pl->base.use)) < 0 ||
	    (rc = bf_use_apply(&set, &p->use)) < 0 ||
	    (p->arch != NULL && bf_strv_find(&set, p->arch) < 0 &&
	    (rc = bf_strv_push(&set, p->arch)) < 0))
		goto out;
	for (i = 0; i < pl->base.use_force.n && rc == 0; i++)
		if (bf_strv_find(&set, pl->base.use_force.v[i]) < 0)
			rc = bf_strv_push(&set, pl->base.use_force.v[i]);
	for (i = 0; i < set.n && rc == 0;)
		if (bf_strv_has_sorted(&pl->base.use_mask, set.v[i]))
			bf_strv_remove(&set, i);
		else
			i++;
	strv_sort_uniq(&set);
	if (rc < 0 || (rc = hdr_setv(hdr, "USE", &set)) < 0)
		goto out;
	/*
	 * ARCH, ELIBC, KERNEL, ...: the USE_EXPAND_IMPLICIT and
	 * USE_EXPAND_UNPREFIXED variables, and USE_EXPAND_VALUES_<X>.
	 */
	if ((rc = incr_value(pl, "USE_EXPAND_IMPLICIT", &vars)) < 0 ||
	    (rc = incr_value(pl, "USE_EXPAND_UNPREFIXED", &vars)) < 0)
		goto out;
	for (i = 0; i < vars.n && rc == 0; i++) {
		v = strcmp(vars.v[i], "ARCH") == 0 && pl->base.arch != NULL ?
		    pl->base.arch : top_value(pl, vars.v[i]);
		rc = hdr_set(hdr, vars.v[i], v);
	}
	bf_strv_release(&vars);
	if (rc < 0 || (rc = incr_value(pl, "USE_EXPAND_IMPLICIT", &vars)) < 0)
		goto out;
	for (i = 0; i < vars.n && rc == 0; i++) {
		bf_buf_reset(&key);
		bf_buf_addf(&key, "USE_EXPAND_VALUES_%s", vars.v[i]);
		if ((rc = bf_buf_error(&key)) == 0)
			rc = hdr_set(hdr, key.buf, top_value(pl, key.buf));
	}
out:
	bf_strv_release(&set);
	bf_strv_release(&vars);
	bf_buf_release(&key);
	return rc < 0 ? bf_err_nomem(e) : 0;
}
