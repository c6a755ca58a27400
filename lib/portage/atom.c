/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/banned.h"

#define ISDIGIT(c)	((c) >= '0' && (c) <= '9')
#define ISLOWER(c)	((c) >= 'a' && (c) <= 'z')
#define ISALNUM(c)	(ISDIGIT(c) || ISLOWER(c) || ((c) >= 'A' && (c) <= 'Z'))

/* Suffixes in PMS order; _p must stay last (it sorts above a release). */
static const struct {
	const char	*name;
	size_t		 len;
} suffixes[] = {
	{ "alpha", 5 }, { "beta", 4 }, { "pre", 3 }, { "rc", 2 }, { "p", 1 },
};
#define NSUFFIX	(sizeof(suffixes) / sizeof(suffixes[0]))
#define SUFFIX_P	(NSUFFIX - 1)

/* Length of the run of digits at s[0..len). */
static size_t
digits(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && ISDIGIT(s[n]))
		n++;
	return n;
}

/* Index of the suffix name at s (after the '_'), or -1; sets *n to its length. */
static int
suffix_at(const char *s, size_t len, size_t *n)
{
	size_t i, best = NSUFFIX;

	/* "pre" and "p" share a prefix: take the longest name that fits. */
	for (i = 0; i < NSUFFIX; i++) {
		if (suffixes[i].len <= len &&
		    memcmp(s, suffixes[i].name, suffixes[i].len) == 0 &&
		    (best == NSUFFIX || suffixes[i].len > suffixes[best].len))
			best = i;
	}
	if (best == NSUFFIX)
		return -1;
	*n = suffixes[best].len;
	return (int)best;
}

int
bf_version_parse(struct bf_version *v, const char *s, size_t len,
    int allow_rev, struct bf_err *e)
{
	size_t i = 0, n, sn;

	memset(v, 0, sizeof(*v));
	v->s = s;
	v->len = len;
	/* [0-9]+(\.[0-9]+)* */
	if ((n = digits(s, len)) == 0)
		goto bad;
	i = n;
	while (i < len && s[i] == '.') {
		if ((n = digits(s + i + 1, len - i - 1)) == 0)
			goto bad;
		i += 1 + n;
	}
	v->nlen = i;
	/* [a-z]? */
	if (i < len && ISLOWER(s[i]))
		v->letter = s[i++];
	/* ((_alpha|_beta|_pre|_rc|_p)[0-9]*)* */
	v->soff = i;
	while (i < len && s[i] == '_') {
		if (suffix_at(s + i + 1, len - i - 1, &sn) < 0)
			goto bad;
		i += 1 + sn;
		i += digits(s + i, len - i);
	}
	v->slen = i - v->soff;
	/* (-r[0-9]+)? */
	if (i < len && allow_rev && len - i > 2 && s[i] == '-' &&
	    s[i + 1] == 'r') {
		if ((n = digits(s + i + 2, len - i - 2)) == 0)
			goto bad;
		v->roff = i + 2;
		v->rlen = n;
		i += 2 + n;
	}
	if (i != len)
		goto bad;
	return 0;
bad:
	return bf_err_set(e, BF_EFORMAT, "invalid version '%.*s'", (int)len, s);
}

int
bf_version_valid(const char *s, size_t len)
{
	struct bf_version v;

	return bf_version_parse(&v, s, len, 1, NULL) == 0;
}

/* Compares two digit strings as integers of any size. */
static int
numcmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	while (an > 0 && *a == '0') {
		a++;
		an--;
	}
	while (bn > 0 && *b == '0') {
		b++;
		bn--;
	}
	if (an != bn)
		return an < bn ? -1 : 1;
	if (an == 0)
		return 0;
	c = memcmp(a, b, an);
	return c < 0 ? -1 : c > 0;
}

/* Compares strings byte-wise; a proper prefix sorts first. */
static int
strncmp2(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	if (an != bn)
		return an < bn ? -1 : 1;
	return 0;
}

/* One suffix starting at the '_' at s: kind and number span. */
static size_t
suffix_next(const char *s, size_t len, int *kind, const char **num,
    size_t *numlen)
{
	size_t sn, i;

	*kind = suffix_at(s + 1, len - 1, &sn);
	i = 1 + sn;
	*num = s + i;
	*numlen = digits(s + i, len - i);
	return i + *numlen;
}

static int
version_cmp(const struct bf_version *a, const struct bf_version *b, int rev)
{
	const char *as = a->s, *bs = b->s, *an, *bn;
	size_t ai, bi, al, bl, ae = a->nlen, be = b->nlen;
	int c, ak, bk;

	/* Algorithm 3.2: the first component is always numeric. */
	al = digits(as, ae);
	bl = digits(bs, be);
	if ((c = numcmp(as, al, bs, bl)) != 0)
		return c;
	ai = al;
	bi = bl;
	/* Algorithm 3.3: later components, with the leading-zero rule. */
	while (ai < ae && bi < be) {
		ai++;
		bi++;
		al = digits(as + ai, ae - ai);
		bl = digits(bs + bi, be - bi);
		if (as[ai] == '0' || bs[bi] == '0') {
			size_t at = al, bt = bl;

			while (at > 0 && as[ai + at - 1] == '0')
				at--;
			while (bt > 0 && bs[bi + bt - 1] == '0')
				bt--;
			c = strncmp2(as + ai, at, bs + bi, bt);
		} else
			c = numcmp(as + ai, al, bs + bi, bl);
		if (c != 0)
			return c;
		ai += al;
		bi += bl;
	}
	if (ai < ae)
		return 1;
	if (bi < be)
		return -1;
	/* Algorithm 3.4: letters. */
	if (a->letter != b->letter)
		return (unsigned char)a->letter < (unsigned char)b->letter ?
		    -1 : 1;
	/* Algorithm 3.5: suffixes. */
	ai = 0;
	bi = 0;
	while (ai < a->slen && bi < b->slen) {
		ai += suffix_next(as + a->soff + ai, a->slen - ai, &ak, &an, &al);
		bi += suffix_next(bs + b->soff + bi, b->slen - bi, &bk, &bn, &bl);
		if (ak != bk)
			return ak < bk ? -1 : 1;
		if ((c = numcmp(an, al, bn, bl)) != 0)
			return c;
	}
	if (ai < a->slen) {
		suffix_next(as + a->soff + ai, a->slen - ai, &ak, &an, &al);
		return ak == (int)SUFFIX_P ? 1 : -1;
	}
	if (bi < b->slen) {
		suffix_next(bs + b->soff + bi, b->slen - bi, &bk, &bn, &bl);
		return bk == (int)SUFFIX_P ? -1 : 1;
	}
	/* Algorithm 3.7: revisions; none is -r0. */
	if (rev)
		return numcmp(as + a->roff, a->rlen, bs + b->roff, b->rlen);
	return 0;
}

int
bf_version_cmp(const struct bf_version *a, const struct bf_version *b)
{
	return version_cmp(a, b, 1);
}

int
bf_version_cmp_norev(const struct bf_version *a, const struct bf_version *b)
{
	return version_cmp(a, b, 0);
}

int
bf_vercmp(const char *a, const char *b, int *cmp, struct bf_err *e)
{
	struct bf_version va, vb;
	int rc;

	if ((rc = bf_version_parse(&va, a, strlen(a), 1, e)) < 0)
		return rc;
	if ((rc = bf_version_parse(&vb, b, strlen(b), 1, e)) < 0)
		return rc;
	*cmp = bf_version_cmp(&va, &vb);
	return 0;
}

/* PMS 3.1.1: [A-Za-z0-9+_.-], not starting with '-', '.' or '+'. */
int
bf_category_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '-' || s[0] == '.' || s[0] == '+')
		return 0;
	for (i = 0; i < len; i++)
		if (!ISALNUM(s[i]) && s[i] != '+' && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/*
 * PMS 3.1.2: [A-Za-z0-9+_-], not starting with '-' or '+', and not
 * ending in a hyphen followed by anything matching the version syntax.
 */
int
bf_pn_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '-' || s[0] == '+')
		return 0;
	for (i = 0; i < len; i++) {
		if (!ISALNUM(s[i]) && s[i] != '+' && s[i] != '_' && s[i] != '-')
			return 0;
		if (s[i] == '-' && bf_version_valid(s + i + 1, len - i - 1))
			return 0;
	}
	return 1;
}

/* PMS 3.1.3: [A-Za-z0-9+_.-], not starting with '-', '.' or '+'. */
int
bf_slot_valid(const char *s, size_t len)
{
	return bf_category_valid(s, len);
}

/* PMS 3.1.5: [A-Za-z0-9_-], not starting with '-', no "-<version>" end. */
int
bf_repo_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!ISALNUM(s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
		if (s[i] == '-' && bf_version_valid(s + i + 1, len - i - 1))
			return 0;
	}
	return 1;
}

/* PMS 3.1.4: [A-Za-z0-9+_@-], starting with a letter or digit. */
int
bf_useflag_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !ISALNUM(s[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!ISALNUM(s[i]) && s[i] != '+' && s[i] != '_' &&
		    s[i] != '@' && s[i] != '-')
			return 0;
	return 1;
}

void
bf_cpv_release(struct bf_cpv *c)
{
	free(c->mem);
	c->mem = NULL;
	c->cat = c->pn = c->pv = c->pvr = c->pr = c->pf = "";
	memset(&c->ver, 0, sizeof(c->ver));
}

/*
 * Finds where the version starts in a PF: the first hyphen followed by a
 * valid version with an optional revision.  Returns its offset, or 0.
 */
static size_t
pf_version_at(const char *pf, size_t len)
{
	size_t i;

	for (i = 1; i + 1 < len; i++)
		if (pf[i] == '-' && ISDIGIT(pf[i + 1]) &&
		    bf_version_valid(pf + i + 1, len - i - 1))
			return i;
	return 0;
}

static int
cpv_split(struct bf_cpv *c, const char *cat, size_t catlen, const char *pf,
    const char *whole, struct bf_err *e)
{
	size_t pflen = strlen(pf), at, pnlen, pvlen, rlen, need;
	struct bf_version v;
	char *m;

	c->mem = NULL;
	bf_cpv_release(c);
	if (cat != NULL && !bf_category_valid(cat, catlen))
		return bf_err_set(e, BF_EFORMAT,
		    "invalid category '%.*s' in '%s'", (int)catlen, cat, whole);
	if ((at = pf_version_at(pf, pflen)) == 0)
		return bf_err_set(e, BF_EFORMAT,
		    "no valid version in '%s'", whole);
	pnlen = at;
	if (!bf_pn_valid(pf, pnlen))
		return bf_err_set(e, BF_EFORMAT,
		    "invalid package name '%.*s' in '%s'", (int)pnlen, pf, whole);
	(void)bf_version_parse(&v, pf + at + 1, pflen - at - 1, 1, NULL);
	rlen = v.rlen ? v.rlen + 2 : 0;
	pvlen = v.len - rlen;
	/* cat \0 pn \0 pv \0 pvr \0 r<N> \0 pf \0 */
	need = catlen + 1 + pnlen + 1 + pvlen + 1 + v.len + 1 +
	    (v.rlen ? v.rlen : 1) + 2 + pflen + 1;
	if ((m = malloc(need)) == NULL)
		return bf_err_nomem(e);
	c->mem = m;
	memcpy(m, cat != NULL ? cat : "", catlen);
	m[catlen] = '\0';
	c->cat = m;
	m += catlen + 1;
	memcpy(m, pf, pnlen);
	m[pnlen] = '\0';
	c->pn = m;
	m += pnlen + 1;
	memcpy(m, pf + at + 1, pvlen);
	m[pvlen] = '\0';
	c->pv = m;
	m += pvlen + 1;
	memcpy(m, pf + at + 1, v.len);
	m[v.len] = '\0';
	c->pvr = m;
	(void)bf_version_parse(&c->ver, m, v.len, 1, NULL);
	m += v.len + 1;
	m[0] = 'r';
	if (v.rlen) {
		memcpy(m + 1, v.s + v.roff, v.rlen);
		m[1 + v.rlen] = '\0';
		c->pr = m;
		m += v.rlen + 2;
	} else {
		memcpy(m + 1, "0", 2);
		c->pr = m;
		m += 3;
	}
	memcpy(m, pf, pflen + 1);
	c->pf = m;
	return 0;
}

int
bf_cpv_split(struct bf_cpv *c, const char *cpv, struct bf_err *e)
{
	const char *slash = strchr(cpv, '/');

	if (slash == NULL || strchr(slash + 1, '/') != NULL) {
		c->mem = NULL;
		bf_cpv_release(c);
		return bf_err_set(e, BF_EFORMAT,
		    "'%s' is not of the form category/package-version", cpv);
	}
	return cpv_split(c, cpv, (size_t)(slash - cpv), slash + 1, cpv, e);
}

int
bf_pf_split(struct bf_cpv *c, const char *pf, struct bf_err *e)
{
	if (strchr(pf, '/') != NULL) {
		c->mem = NULL;
		bf_cpv_release(c);
		return bf_err_set(e, BF_EFORMAT,
		    "'%s' is not of the form package-version", pf);
	}
	return cpv_split(c, NULL, 0, pf, pf, e);
}

void
bf_atom_release(struct bf_atom *a)
{
	free(a->mem);
	free(a->use);
	memset(a, 0, sizeof(*a));
	a->cat = a->pn = "";
}

static int
atom_bad(struct bf_atom *a, struct bf_err *e, const char *s, size_t len,
    const char *why)
{
	bf_atom_release(a);
	return bf_err_set(e, BF_EFORMAT, "invalid atom '%.*s': %s", (int)len,
	    s, why);
}

/* Parses the USE dependency list between '[' and ']' (exclusive), in place. */
static int
parse_usedeps(struct bf_atom *a, char *p, char *end, const char *s,
    size_t slen, struct bf_err *e)
{
	size_t n = 1, i;
	char *q, *tok, *te, *fe;
	struct bf_usedep *u;

	for (q = p; q < end; q++)
		if (*q == ',')
			n++;
	if ((a->use = calloc(n, sizeof(*a->use))) == NULL) {
		bf_atom_release(a);
		return bf_err_nomem(e);
	}
	tok = p;
	for (i = 0; i < n; i++) {
		te = tok;
		while (te < end && *te != ',')
			te++;
		u = &a->use[i];
		u->kind = BF_USE_ENABLED;
		if (tok < te && *tok == '-') {
			u->kind = BF_USE_DISABLED;
			tok++;
		} else if (tok < te && *tok == '!') {
			u->kind = BF_USE_NCOND;	/* or NEQ, decided below */
			tok++;
		}
		fe = te;
		if (fe > tok && (fe[-1] == '?' || fe[-1] == '=')) {
			if (u->kind == BF_USE_DISABLED)
				return atom_bad(a, e, s, slen,
				    "'-' cannot combine with '?' or '='");
			if (fe[-1] == '?')
				u->kind = u->kind == BF_USE_NCOND ?
				    BF_USE_NCOND : BF_USE_COND;
			else
				u->kind = u->kind == BF_USE_NCOND ?
				    BF_USE_NEQ : BF_USE_EQ;
			fe--;
		} else if (u->kind == BF_USE_NCOND)
			return atom_bad(a, e, s, slen,
			    "'!' needs a trailing '?' or '='");
		if (fe - tok >= 3 && fe[-1] == ')' && fe[-3] == '(' &&
		    (fe[-2] == '+' || fe[-2] == '-')) {
			u->dflt = fe[-2];
			fe -= 3;
		}
		if (!bf_useflag_valid(tok, (size_t)(fe - tok)))
			return atom_bad(a, e, s, slen,
			    "invalid USE dependency");
		*fe = '\0';
		u->flag = tok;
		tok = te + 1;
	}
	a->nuse = n;
	return 0;
}

int
bf_atom_parsen(struct bf_atom *a, const char *s, size_t slen,
    struct bf_err *e)
{
	char *m, *p, *end, *q, *slash, *use = NULL, *colon;
	size_t at, pflen;
	int rc;

	memset(a, 0, sizeof(*a));
	a->cat = a->pn = "";
	if ((m = malloc(slen + 1)) == NULL)
		return bf_err_nomem(e);
	memcpy(m, s, slen);
	m[slen] = '\0';
	a->mem = m;
	if (memchr(m, '\0', slen) != NULL)
		return atom_bad(a, e, s, slen, "NUL byte");
	p = m;
	end = m + slen;
	if (p < end && *p == '!') {
		a->blocker = 1;
		p++;
		if (p < end && *p == '!') {
			a->blocker = 2;
			p++;
		}
	}
	switch (p < end ? *p : '\0') {
	case '<':
		a->op = BF_OP_LT;
		p++;
		if (p < end && *p == '=') {
			a->op = BF_OP_LE;
			p++;
		}
		break;
	case '>':
		a->op = BF_OP_GT;
		p++;
		if (p < end && *p == '=') {
			a->op = BF_OP_GE;
			p++;
		}
		break;
	case '=':
		a->op = BF_OP_EQ;
		p++;
		break;
	case '~':
		a->op = BF_OP_TILDE;
		p++;
		break;
	}
	/* USE dependencies come last. */
	if (end > p && end[-1] == ']') {
		if ((use = memchr(p, '[', (size_t)(end - p))) == NULL)
			return atom_bad(a, e, s, slen, "unbalanced ']'");
		if (use + 2 > end - 1)
			return atom_bad(a, e, s, slen, "empty USE dependency");
		end[-1] = '\0';
		*use = '\0';
		if ((rc = parse_usedeps(a, use + 1, end - 1, s, slen, e)) < 0)
			return rc;
		end = use;
	} else if (memchr(p, '[', (size_t)(end - p)) != NULL ||
	    memchr(p, ']', (size_t)(end - p)) != NULL)
		return atom_bad(a, e, s, slen, "misplaced '[' or ']'");
	/* ::repo */
	for (q = p; q + 1 < end; q++) {
		if (q[0] == ':' && q[1] == ':') {
			if (!bf_repo_valid(q + 2, (size_t)(end - q - 2)))
				return atom_bad(a, e, s, slen,
				    "invalid repository name");
			a->repo = q + 2;
			*q = '\0';
			end = q;
			break;
		}
	}
	/* :slot[/sub][=], :=, :* */
	if ((colon = memchr(p, ':', (size_t)(end - p))) != NULL) {
		char *sl = colon + 1, *sub;

		*colon = '\0';
		if (end - sl == 1 && *sl == '=')
			a->slotop = BF_SLOTOP_EQ;
		else if (end - sl == 1 && *sl == '*')
			a->slotop = BF_SLOTOP_STAR;
		else {
			if (end > sl && end[-1] == '=') {
				a->slotop = BF_SLOTOP_EQ;
				*--end = '\0';
			}
			if ((sub = memchr(sl, '/', (size_t)(end - sl))) != NULL) {
				*sub++ = '\0';
				if (!bf_slot_valid(sub, (size_t)(end - sub)))
					return atom_bad(a, e, s, slen,
					    "invalid sub-slot");
				a->subslot = sub;
			}
			if (!bf_slot_valid(sl, strlen(sl)))
				return atom_bad(a, e, s, slen, "invalid slot");
			a->slot = sl;
		}
		end = colon;
	}
	if (end > p && end[-1] == '*') {
		if (a->op != BF_OP_EQ)
			return atom_bad(a, e, s, slen,
			    "'*' is only allowed with '='");
		*--end = '\0';
		a->op = BF_OP_GLOB;
	}
	*end = '\0';
	if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
		return atom_bad(a, e, s, slen, "no category");
	*slash = '\0';
	if (!bf_category_valid(p, (size_t)(slash - p)))
		return atom_bad(a, e, s, slen, "invalid category");
	a->cat = p;
	p = slash + 1;
	pflen = (size_t)(end - p);
	if (a->op == BF_OP_NONE) {
		if (!bf_pn_valid(p, pflen))
			return atom_bad(a, e, s, slen,
			    pf_version_at(p, pflen) ?
			    "a version needs an operator" :
			    "invalid package name");
		a->pn = p;
		return 0;
	}
	if ((at = pf_version_at(p, pflen)) == 0)
		return atom_bad(a, e, s, slen, "an operator needs a version");
	if (!bf_pn_valid(p, at))
		return atom_bad(a, e, s, slen, "invalid package name");
	p[at] = '\0';
	a->pn = p;
	a->pvr = p + at + 1;
	(void)bf_version_parse(&a->ver, a->pvr, pflen - at - 1, 1, NULL);
	return 0;
}

int
bf_atom_parse(struct bf_atom *a, const char *s, struct bf_err *e)
{
	return bf_atom_parsen(a, s, strlen(s), e);
}

void
bf_atom_format(const struct bf_atom *a, struct bf_buf *out)
{
	static const char *const ops[] = {
		[BF_OP_NONE] = "", [BF_OP_LT] = "<", [BF_OP_LE] = "<=",
		[BF_OP_EQ] = "=", [BF_OP_GLOB] = "=", [BF_OP_TILDE] = "~",
		[BF_OP_GE] = ">=", [BF_OP_GT] = ">",
	};
	size_t i;

	bf_buf_adds(out, a->blocker == 2 ? "!!" : a->blocker ? "!" : "");
	bf_buf_adds(out, ops[a->op]);
	bf_buf_addf(out, "%s/%s", a->cat, a->pn);
	if (a->pvr != NULL)
		bf_buf_addf(out, "-%s", a->pvr);
	if (a->op == BF_OP_GLOB)
		bf_buf_addch(out, '*');
	if (a->slot != NULL || a->slotop != BF_SLOTOP_NONE)
		bf_buf_addch(out, ':');
	if (a->slot != NULL)
		bf_buf_adds(out, a->slot);
	if (a->subslot != NULL)
		bf_buf_addf(out, "/%s", a->subslot);
	if (a->slotop == BF_SLOTOP_EQ)
		bf_buf_addch(out, '=');
	else if (a->slotop == BF_SLOTOP_STAR)
		bf_buf_addch(out, '*');
	if (a->repo != NULL)
		bf_buf_addf(out, "::%s", a->repo);
	for (i = 0; i < a->nuse; i++) {
		const struct bf_usedep *u = &a->use[i];

		bf_buf_addch(out, i == 0 ? '[' : ',');
		if (u->kind == BF_USE_DISABLED)
			bf_buf_addch(out, '-');
		else if (u->kind == BF_USE_NCOND || u->kind == BF_USE_NEQ)
			bf_buf_addch(out, '!');
		bf_buf_adds(out, u->flag);
		if (u->dflt)
			bf_buf_addf(out, "(%c)", u->dflt);
		if (u->kind == BF_USE_COND || u->kind == BF_USE_NCOND)
			bf_buf_addch(out, '?');
		else if (u->kind == BF_USE_EQ || u->kind == BF_USE_NEQ)
			bf_buf_addch(out, '=');
	}
	if (a->nuse)
		bf_buf_addch(out, ']');
}

/*
 * The =* operator as Portage implements it (bug 560466): the atom's
 * version, leading zeros of the first component aside, is a string
 * prefix of the candidate's that ends on a component boundary, so
 * "=foo-1*" matches 1, 1.2, 1a, 1_rc1 and 1-r1 but not 10.
 */
static int
glob_match(const struct bf_version *pat, const struct bf_version *v)
{
	const char *p = pat->s, *s = v->s;
	size_t pn = pat->len, sn = v->len;
	char last, next;

	while (pn > 1 && *p == '0' && ISDIGIT(p[1])) {
		p++;
		pn--;
	}
	while (sn > 1 && *s == '0' && ISDIGIT(s[1])) {
		s++;
		sn--;
	}
	if (sn < pn || memcmp(p, s, pn) != 0)
		return 0;
	if (sn == pn)
		return 1;
	last = p[pn - 1];
	next = s[pn];
	return next == '.' || next == '_' || next == '-' ||
	    ISDIGIT(last) != ISDIGIT(next);
}

int
bf_atom_match_version(const struct bf_atom *a, const struct bf_version *v)
{
	int c;

	switch (a->op) {
	case BF_OP_NONE:
		return 1;
	case BF_OP_GLOB:
		return glob_match(&a->ver, v);
	case BF_OP_TILDE:
		return bf_version_cmp_norev(v, &a->ver) == 0;
	default:
		break;
	}
	c = bf_version_cmp(v, &a->ver);
	switch (a->op) {
	case BF_OP_LT:
		return c < 0;
	case BF_OP_LE:
		return c <= 0;
	case BF_OP_EQ:
		return c == 0;
	case BF_OP_GE:
		return c >= 0;
	case BF_OP_GT:
		return c > 0;
	default:
		return 0;
	}
}

int
bf_atom_match(const struct bf_atom *a, const struct bf_cpv *c,
    const char *slot, const char *subslot, const char *repo)
{
	if (strcmp(a->pn, c->pn) != 0 || strcmp(a->cat, c->cat) != 0)
		return 0;
	if (!bf_atom_match_version(a, &c->ver))
		return 0;
	if (a->slot != NULL && (slot == NULL || strcmp(a->slot, slot) != 0))
		return 0;
	if (a->subslot != NULL &&
	    (subslot == NULL || strcmp(a->subslot, subslot) != 0))
		return 0;
	if (a->repo != NULL && (repo == NULL || strcmp(a->repo, repo) != 0))
		return 0;
	return 1;
}

int
bf_usedep_satisfied(const struct bf_usedep *u, int parent_on, int in_iuse,
    int on)
{
	int want;

	switch (u->kind) {
	case BF_USE_ENABLED:
		want = 1;
		break;
	case BF_USE_DISABLED:
		want = 0;
		break;
	case BF_USE_COND:
		if (!parent_on)
			return 1;
		want = 1;
		break;
	case BF_USE_NCOND:
		if (parent_on)
			return 1;
		want = 0;
		break;
	case BF_USE_EQ:
		want = parent_on != 0;
		break;
	case BF_USE_NEQ:
		want = parent_on == 0;
		break;
	default:
		return 0;
	}
	if (!in_iuse) {
		if (u->dflt == 0)
			return 0;
		on = u->dflt == '+';
	}
	return (on != 0) == want;
}
