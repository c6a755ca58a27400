/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * USE reduction of dependency strings for the Packages index (see
 * depstr.h).  The string is read into a tree of lists one token at a
 * time with a stack of open groups; each ')' decides, from what lies
 * around it, whether the closed group is dropped (inactive conditional),
 * merged into its parent (redundant parentheses, one-element any-of
 * groups, any-of inside any-of) or kept as a group.  The decisions are
 * the ones Portage's use_reduce() makes, so the printed tree is
 * byte-identical to paren_enclose() of Portage's result.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "portage/depstr.h"
#include "base/err.h"
#include "base/banned.h"

const char *const bf_depstr_keys[8] = {
	"BDEPEND", "DEPEND", "IDEPEND", "LICENSE", "RDEPEND", "PDEPEND",
	"PROPERTIES", "RESTRICT",
};

int
bf_depstr_key_flags(const char *key)
{
	size_t i, n;

	for (i = 0; i < 8; i++)
		if (strcmp(key, bf_depstr_keys[i]) == 0) {
			n = strlen(key);
			return n >= 6 && strcmp(key + n - 6, "DEPEND") == 0 ?
			    BF_DEPSTR_ATOMS : 0;
		}
	return -1;
}

/* ------------------------------------------------------------------ */
/* USE sets */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
bf_useset_init(struct bf_useset *u, const char *use, size_t len)
{
	size_t i, n = 0;
	char *p;

	memset(u, 0, sizeof(*u));
	if ((u->mem = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(u->mem, use, len);
	u->mem[len] = '\0';
	for (i = 0; i < len; i++)
		if (use[i] != ' ' && (i == 0 || use[i - 1] == ' '))
			n++;
	if (n > 0 && (u->flag = malloc(n * sizeof(*u->flag))) == NULL) {
		bf_useset_release(u);
		return -ENOMEM;
	}
	for (p = u->mem; *p != '\0'; ) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		u->flag[u->n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	if (u->n > 1)
		qsort(u->flag, u->n, sizeof(*u->flag), cmp_str);
	return 0;
}

void
bf_useset_release(struct bf_useset *u)
{
	free(u->flag);
	free(u->mem);
	memset(u, 0, sizeof(*u));
}

int
bf_useset_has(const struct bf_useset *u, const char *flag, size_t len)
{
	size_t lo = 0, hi = u != NULL ? u->n : 0, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strncmp(u->flag[mid], flag, len);
		if (c == 0)
			c = u->flag[mid][len] == '\0' ? 0 : 1;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The tree */

/*
 * A token or a group.  Operator tokens ("||", "flag?") and the plain
 * tokens of LICENSE and the like are strings; atoms are not: Portage's
 * Atom is not a str, and one of its checks (the any-of level in effect)
 * looks only at strings.
 */
enum kind { K_STR, K_ATOM, K_LIST };

struct list;

struct item {
	enum kind	 kind;
	const char	*s;		/* K_STR, K_ATOM */
	size_t		 len;
	struct list	*sub;		/* K_LIST */
};

struct list {
	struct item	*v;
	size_t		 n;
	size_t		 alloc;
};

/* Strings made while reducing (evaluated atoms), freed at the end. */
struct strnode {
	struct strnode	*next;
	char		 s[];
};

struct reducer {
	const struct bf_useset *use;
	unsigned	 flags;
	struct list	**stack;
	size_t		 depth;		/* lists on the stack */
	size_t		 alloc;
	struct strnode	*strs;
	struct bf_err	*e;
};

static void
list_free(struct list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == K_LIST)
			list_free(l->v[i].sub);
	free(l->v);
	free(l);
}

static int
list_push(struct list *l, const struct item *it)
{

	if (bf_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v), 8) < 0)
		return -ENOMEM;
	l->v[l->n++] = *it;
	return 0;
}

/* Moves every item of `src` to the end of `dst`; `src` ends empty. */
static int
list_extend(struct list *dst, struct list *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (list_push(dst, &src->v[i]) < 0) {
			/* Items already moved belong to dst now. */
			memmove(src->v, src->v + i, (src->n - i) * sizeof(*src->v));
			src->n -= i;
			return -ENOMEM;
		}
	src->n = 0;
	return 0;
}

/* Removes the last item of `l`, freeing it. */
static void
list_pop(struct list *l)
{
	if (l->n == 0)
		return;
	l->n--;
	if (l->v[l->n].kind == K_LIST)
		list_free(l->v[l->n].sub);
}

static int
is_tok(const struct item *it, const char *s)
{
	size_t n = strlen(s);

	return it->kind == K_STR && it->len == n && memcmp(it->s, s, n) == 0;
}

static const struct item *
last(const struct list *l)
{
	return l->n > 0 ? &l->v[l->n - 1] : NULL;
}

/* Does level k end in an any-of operator? */
static int
ends_anyof(const struct reducer *r, long k)
{
	const struct item *it;

	return k >= 0 && (it = last(r->stack[k])) != NULL && is_tok(it, "||");
}

/*
 * The level of the any-of operator in effect for level k: levels ending
 * in a conditional (or empty, or in a group or an atom) are looked
 * through; one ending in any other string is not under an any-of.
 */
static long
anyof_level(const struct reducer *r, long k)
{
	const struct item *it;

	for (; k >= 0; k--) {
		if ((it = last(r->stack[k])) == NULL || it->kind != K_STR)
			continue;
		if (is_tok(it, "||"))
			return k;
		if (it->s[it->len - 1] != '?')
			return -1;
	}
	return -1;
}

static int
flag_valid(const char *s, size_t n)
{
	size_t i;
	char c;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '+' || c == '_' || c == '@' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* Is the conditional token `it` ("flag?" or "!flag?") active?  -1: bad. */
static int
cond_active(struct reducer *r, const struct item *it)
{
	const char *f = it->s;
	size_t n = it->len - 1;
	int neg = 0, on;

	if (f[0] == '!') {
		neg = 1;
		f++;
		n--;
	}
	if (!flag_valid(f, n)) {
		bf_err_set(r->e, BF_EMETADATA, "invalid use flag '%.*s' in "
		    "conditional '%.*s'", (int)n, f, (int)it->len, it->s);
		return -1;
	}
	on = bf_useset_has(r->use, f, n);
	return neg ? !on : on;
}

/* Takes item i of `l` (a group) out of it, leaving a string behind. */
static struct item
take(struct list *l, size_t i)
{
	struct item it = l->v[i];

	l->v[i].kind = K_STR;
	l->v[i].s = "";
	l->v[i].len = 0;
	l->v[i].sub = NULL;
	return it;
}

/*
 * "Use extend instead of append if possible": adds the closed group `l`
 * to level `lv` (its parent), unwrapping it where that changes nothing.
 * Returns 1 when `l` itself was added (the parent owns it now), 0 when
 * its items were moved out (the caller frees what is left), or -ENOMEM.
 */
static int
special_append(struct reducer *r, long lv, struct list *l, int single)
{
	struct list *top = r->stack[lv];
	struct item it;

	if (!single) {
		it.kind = K_LIST;
		it.s = NULL;
		it.len = 0;
		it.sub = l;
		return list_push(top, &it) < 0 ? -ENOMEM : 1;
	}
	if (is_tok(&l->v[0], "||") && ends_anyof(r, lv - 1)) {
		/* [||, [A B]] right after another ||: A B join it. */
		if (l->n > 1 && l->v[1].kind == K_LIST)
			return list_extend(top, l->v[1].sub);
		if (l->n > 1) {
			it = take(l, 1);
			return list_push(top, &it);
		}
		return 0;
	}
	if (l->n == 1 && l->v[0].kind == K_LIST) {
		/* [[...]]: unwrap unless an any-of is in effect above. */
		if (anyof_level(r, lv - 1) == -1)
			return list_extend(top, l->v[0].sub);
		it = take(l, 0);
		if (list_push(top, &it) < 0) {
			l->v[0] = it;
			return -ENOMEM;
		}
		return 0;
	}
	return list_extend(top, l);
}

/* Closes the innermost group: Portage's handling of ')'. */
static int
close_group(struct reducer *r)
{
	struct list *l = r->stack[--r->depth], *top;
	const struct item *t;
	struct item c;
	long lv = (long)r->depth - 1;
	int single, ignore = 0, rc = 0, a;

	top = r->stack[lv];
	single = l->n == 1 || (l->n == 2 && is_tok(&l->v[0], "||"));
	if ((t = last(top)) != NULL && t->kind == K_STR && t->len > 0) {
		if (is_tok(t, "||") && l->n == 0) {
			/* || ( ) after reduction: false without an EAPI. */
			c.kind = r->flags & BF_DEPSTR_ATOMS ? K_ATOM : K_STR;
			c.s = "__const__/empty-any-of";
			c.len = strlen(c.s);
			c.sub = NULL;
			if (list_push(l, &c) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			list_pop(top);
		} else if (t->s[t->len - 1] == '?') {
			if ((a = cond_active(r, t)) < 0) {
				rc = -BF_EMETADATA;
				goto out;
			}
			ignore = !a;
			list_pop(top);
		}
	}
	if (l->n == 0 || ignore)
		goto out;
	if (!ends_anyof(r, lv - 1) && !ends_anyof(r, lv)) {
		/* ( ( ... ) ) -> ( ... ): no any-of around. */
		rc = list_extend(top, l);
	} else if (top->n == 0) {
		rc = special_append(r, lv, l, single);
	} else if (single && ends_anyof(r, lv)) {
		/* || ( A ) -> A, || ( || ( ... ) ) -> || ( ... ) */
		list_pop(top);
		rc = special_append(r, lv, l, single);
	} else if (ends_anyof(r, lv) && ends_anyof(r, lv - 1)) {
		/* || ( A || ( B C ) ) -> || ( A B C ) */
		list_pop(top);
		rc = list_extend(top, l);
	} else
		rc = special_append(r, lv, l, single);
	if (rc == 1)
		return 0;	/* `l` is in the tree now */
out:
	list_free(l);
	return rc;
}

static const char *
keep_str(struct reducer *r, const struct bf_buf *b)
{
	struct strnode *sn;

	if ((sn = malloc(sizeof(*sn) + b->len + 1)) == NULL)
		return NULL;
	memcpy(sn->s, b->buf, b->len);
	sn->s[b->len] = '\0';
	sn->next = r->strs;
	r->strs = sn;
	return sn->s;
}

/* InvalidDependString("<what>'<token>', token <pos>"). */
static int
syntax(struct reducer *r, const char *what, const char *tok, size_t len,
    size_t pos)
{
	return bf_err_set(r->e, BF_EMETADATA, "%s'%.*s', token %zu", what,
	    (int)len, tok, pos);
}

/*
 * Without an EAPI, Atom() also takes a build id after the version of an
 * atom with an operator, "=cat/pkg-1.0-3": digits, no leading zero, and
 * no "*".  Parses `s` without it.
 */
static int
parse_build_id_atom(struct bf_atom *a, const char *s, size_t n)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i = 0, end, dash;
	int rc;

	while (i < n && i < 2 && s[i] == '!')
		i++;
	if (i == n || strchr("=~<>", s[i]) == NULL)
		return -BF_EFORMAT;
	for (end = i; end < n && s[end] != ':' && s[end] != '['; end++)
		;
	for (dash = end; dash > i && s[dash - 1] >= '0' && s[dash - 1] <= '9';
	    dash--)
		;
	if (dash == end || dash == i || s[dash - 1] != '-' ||
	    (end - dash > 1 && s[dash] == '0'))
		return -BF_EFORMAT;
	bf_buf_add(&b, s, dash - 1);
	bf_buf_add(&b, s + end, n - end);
	if ((rc = bf_buf_error(&b)) == 0)
		rc = bf_atom_parsen(a, b.buf, b.len, NULL);
	bf_buf_release(&b);
	return rc;
}

/*
 * One atom token: Atom(token) must accept it, and its conditional USE
 * dependencies are evaluated (Atom.evaluate_conditionals()).
 */
static int
atom_token(struct reducer *r, const char *s, size_t n, size_t pos,
    struct item *it)
{
	static const char *const around[] = { ")", "(", "||" };
	struct bf_atom a = BF_ATOM_INIT;
	struct bf_buf b = BF_BUF_INIT;
	const struct bf_usedep *u;
	const char *cut;
	size_t i, k, nt = 0;
	int rc, on;

	it->kind = K_ATOM;
	it->s = s;
	it->len = n;
	it->sub = NULL;
	if ((rc = bf_atom_parsen(&a, s, n, NULL)) < 0 && rc != -ENOMEM)
		rc = parse_build_id_atom(&a, s, n);
	if (rc < 0) {
		if (rc == -ENOMEM)
			return rc;
		for (i = 0; i < 3; i++) {
			k = strlen(around[i]);
			if (n >= k && (memcmp(s, around[i], k) == 0 ||
			    memcmp(s + n - k, around[i], k) == 0)) {
				bf_err_set(r->e, BF_EMETADATA, "missing whitespace "
				    "around '%s' at '%.*s', token %zu", around[i],
				    (int)n, s, pos);
				return -BF_EMETADATA;
			}
		}
		return bf_err_set(r->e, BF_EMETADATA, "Invalid atom (%.*s), "
		    "token %zu", (int)n, s, pos);
	}
	for (i = 0; i < a.nuse; i++)
		if (a.use[i].kind != BF_USE_ENABLED &&
		    a.use[i].kind != BF_USE_DISABLED)
			break;
	if (i == a.nuse)
		goto out;	/* nothing to evaluate: kept as written */

	/* remove_slot(): cut at the first ':' (slot and repo), else '['. */
	if ((cut = memchr(s, ':', n)) == NULL)
		cut = memchr(s, '[', n);
	bf_buf_add(&b, s, (size_t)(cut - s));
	if (a.slot != NULL || a.slotop != BF_SLOTOP_NONE) {
		bf_buf_addch(&b, ':');
		if (a.slot != NULL)
			bf_buf_adds(&b, a.slot);
		if (a.subslot != NULL)
			bf_buf_addf(&b, "/%s", a.subslot);
		if (a.slotop == BF_SLOTOP_EQ)
			bf_buf_addch(&b, '=');
		else if (a.slotop == BF_SLOTOP_STAR)
			bf_buf_addch(&b, '*');
	}
	for (i = 0; i < a.nuse; i++) {
		u = &a.use[i];
		on = bf_useset_has(r->use, u->flag, strlen(u->flag));
		switch (u->kind) {
		case BF_USE_ENABLED:
			on = 1;
			break;
		case BF_USE_DISABLED:
			on = 0;
			break;
		case BF_USE_COND:
			if (!on)
				continue;
			break;
		case BF_USE_NCOND:
			if (on)
				continue;
			break;
		case BF_USE_EQ:
			break;
		case BF_USE_NEQ:
			on = !on;
			break;
		}
		bf_buf_addch(&b, nt++ == 0 ? '[' : ',');
		if (!on)
			bf_buf_addch(&b, '-');
		bf_buf_adds(&b, u->flag);
		if (u->dflt != 0)
			bf_buf_addf(&b, "(%c)", u->dflt);
	}
	if (nt > 0)
		bf_buf_addch(&b, ']');
	if (bf_buf_error(&b) < 0 || (it->s = keep_str(r, &b)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	it->len = b.len;
out:
	bf_atom_release(&a);
	bf_buf_release(&b);
	return rc;
}

static void
enclose(const struct list *l, struct bf_buf *out)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (i > 0)
			bf_buf_addch(out, ' ');
		if (l->v[i].kind == K_LIST) {
			bf_buf_adds(out, "( ");
			enclose(l->v[i].sub, out);
			bf_buf_adds(out, " )");
		} else
			bf_buf_add(out, l->v[i].s, l->v[i].len);
	}
}

static int
push_level(struct reducer *r)
{
	struct list *l;

	if (bf_grow(&r->stack, &r->alloc, r->depth + 1,
	    sizeof(*r->stack), 8) < 0)
		return -ENOMEM;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	r->stack[r->depth++] = l;
	return 0;
}

static int
tok_is(const char *s, size_t n, const char *t)
{
	return n == strlen(t) && memcmp(s, t, n) == 0;
}

int
bf_depstr_reduce(const char *s, size_t len, const struct bf_useset *use,
    unsigned flags, struct bf_buf *out, struct bf_err *e)
{
	struct reducer r;
	struct strnode *sn;
	struct item it;
	const char *p = s, *end = s + len, *t, *nx;
	size_t n, nn, pos = 0;
	int need_bracket = 0, rc;

	memset(&r, 0, sizeof(r));
	r.use = use;
	r.flags = flags;
	r.e = e;
	if ((rc = push_level(&r)) < 0)
		goto out;
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		t = p;
		while (p < end && *p != ' ')
			p++;
		n = (size_t)(p - t);
		pos++;
		if (tok_is(t, n, "(")) {
			for (nx = p; nx < end && *nx == ' '; nx++)
				;
			for (nn = 0; nx + nn < end && nx[nn] != ' '; nn++)
				;
			if (tok_is(nx, nn, ")")) {
				rc = syntax(&r, "expected: dependency string, "
				    "got: ", ")", 1, pos);
				goto out;
			}
			need_bracket = 0;
			if ((rc = push_level(&r)) < 0)
				goto out;
		} else if (tok_is(t, n, ")")) {
			if (need_bracket) {
				rc = syntax(&r, "expected: '(', got: ", t, n,
				    pos);
				goto out;
			}
			if (r.depth < 2) {
				rc = syntax(&r, "no matching '(' for ", t, n,
				    pos);
				goto out;
			}
			if ((rc = close_group(&r)) < 0)
				goto out;
		} else if (tok_is(t, n, "->")) {
			rc = bf_err_set(e, BF_EMETADATA, "SRC_URI arrow are only "
			    "allowed in SRC_URI: token %zu", pos);
			goto out;
		} else {
			if (need_bracket) {
				rc = syntax(&r, "expected: '(', got: ", t, n,
				    pos);
				goto out;
			}
			it.kind = K_STR;
			it.s = t;
			it.len = n;
			it.sub = NULL;
			if (tok_is(t, n, "||") || t[n - 1] == '?')
				need_bracket = 1;
			else if ((flags & BF_DEPSTR_ATOMS) &&
			    (rc = atom_token(&r, t, n, pos, &it)) < 0)
				goto out;
			if (list_push(r.stack[r.depth - 1], &it) < 0) {
				rc = -ENOMEM;
				goto out;
			}
		}
	}
	if (r.depth != 1) {
		rc = bf_err_set(e, BF_EMETADATA,
		    "Missing ')' at end of string");
		goto out;
	}
	if (need_bracket) {
		rc = bf_err_set(e, BF_EMETADATA,
		    "Missing '(' at end of string");
		goto out;
	}
	enclose(r.stack[0], out);
	rc = bf_buf_error(out);
out:
	if (rc == -ENOMEM)
		bf_err_nomem(e);
	else if (rc < 0 && rc != -BF_EMETADATA)
		rc = bf_err_set(e, -rc, "invalid dependency string");
	while (r.depth > 0)
		list_free(r.stack[--r.depth]);
	free(r.stack);
	while ((sn = r.strs) != NULL) {
		r.strs = sn->next;
		free(sn);
	}
	return rc;
}
