/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Packages index: Portage's lib/portage/getbinpkg.py PackageIndex
 * with the settings of lib/portage/dbapi/bintree.py.  See pkgindex.h
 * and shared/formats.md section 3.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/map.h"
#include "format/pkgindex.h"
#include "format/pystr.h"
#include "base/banned.h"

/*
 * bintree._pkgindex_allowed_pkg_keys, ASCII-sorted: _pkgindex_keys,
 * _pkgindex_aux_keys, the hashes, the default and inherited keys and
 * both names of every translated key.  With each: its value in
 * bintree._pkgindex_default_pkg_data (or NULL), whether it is one of
 * _pkgindex_inherited_keys, and its written name where
 * _pkgindex_translated_keys translates it.
 *
 * Keys of an index that are allowed keys are always "interned": the
 * pointer is the name member of their row here.  Rows are in ASCII
 * order, so two interned keys compare by address, and a row is found
 * from its key by a cast; only other keys need strcmp().
 */
struct keyinfo {
	char		 name[16];	/* first: a key points here */
	const char	*def;
	const char	*external;	/* written name (translated keys) */
	unsigned char	 len;
	unsigned char	 inherited;
	signed char	 internal;	/* written name: row of the internal one */
};

#define KI(n, d, ext, inh, in) { n, d, ext, sizeof(n) - 1, inh, in }

static const struct keyinfo keyinfo[] = {
	KI("BASE_URI", NULL, NULL, 0, -1),
	KI("BDEPEND", "", NULL, 0, -1),
	KI("BUILD_ID", "", NULL, 0, -1),
	KI("BUILD_TIME", "", NULL, 0, -1),
	KI("CHOST", NULL, NULL, 1, -1),
	KI("CPV", NULL, NULL, 0, -1),
	KI("DEFINED_PHASES", "", NULL, 0, -1),
	KI("DEPEND", "", NULL, 0, -1),
	KI("DESC", NULL, NULL, 0, 9),		/* -> DESCRIPTION */
	KI("DESCRIPTION", NULL, "DESC", 0, -1),
	KI("EAPI", "0", NULL, 0, -1),
	KI("FETCHCOMMAND", NULL, NULL, 0, -1),
	KI("IDEPEND", "", NULL, 0, -1),
	KI("IUSE", "", NULL, 0, -1),
	KI("KEYWORDS", "", NULL, 0, -1),
	KI("LICENSE", "", NULL, 0, -1),
	KI("MD5", NULL, NULL, 0, -1),
	KI("MTIME", NULL, NULL, 0, 32),		/* -> _mtime_ */
	KI("PATH", "", NULL, 0, -1),
	KI("PDEPEND", "", NULL, 0, -1),
	KI("PKGINDEX_URI", NULL, NULL, 0, -1),
	KI("PROPERTIES", "", NULL, 0, -1),
	KI("PROVIDES", "", NULL, 0, -1),
	KI("RDEPEND", "", NULL, 0, -1),
	KI("REPO", NULL, NULL, 0, 33),		/* -> repository */
	KI("REQUIRES", "", NULL, 0, -1),
	KI("RESTRICT", "", NULL, 0, -1),
	KI("RESUMECOMMAND", NULL, NULL, 0, -1),
	KI("SHA1", NULL, NULL, 0, -1),
	KI("SIZE", NULL, NULL, 0, -1),
	KI("SLOT", "0", NULL, 0, -1),
	KI("USE", "", NULL, 0, -1),
	KI("_mtime_", NULL, "MTIME", 0, -1),
	KI("repository", NULL, "REPO", 1, -1),
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Arena: every string of an index lives here. */

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used;
	size_t			 size;
	char			 data[];
};

struct bf_pkgindex_arena {
	struct arena_chunk	*head;
};

static char *
arena_alloc(struct bf_pkgindex *idx, size_t n)
{
	struct arena_chunk *c;
	size_t sz;

	if (idx->arena == NULL) {
		if ((idx->arena = calloc(1, sizeof(*idx->arena))) == NULL)
			return NULL;
	}
	c = idx->arena->head;
	if (c == NULL || c->size - c->used < n) {
		sz = n > 65536 - sizeof(*c) ? n : 65536 - sizeof(*c);
		if ((c = malloc(sizeof(*c) + sz)) == NULL)
			return NULL;
		c->size = sz;
		c->used = 0;
		/*
		 * A large allocation gets a chunk of its own behind the
		 * current one, so the current one keeps its free space.
		 */
		if (n > 4096 && idx->arena->head != NULL) {
			c->next = idx->arena->head->next;
			idx->arena->head->next = c;
		} else {
			c->next = idx->arena->head;
			idx->arena->head = c;
		}
	}
	c->used += n;
	return c->data + c->used - n;
}

static const char *
arena_strndup(struct bf_pkgindex *idx, const char *s, size_t n)
{
	char *p;

	if (n == 0)
		return "";
	if ((p = arena_alloc(idx, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------------ */
/* Keys */

/* The row of an interned key, or NULL. */
static const struct keyinfo *
key_row(const char *key)
{
	uintptr_t p = (uintptr_t)key, lo = (uintptr_t)keyinfo;

	if (p < lo || p >= (uintptr_t)(keyinfo + NELEM(keyinfo)))
		return NULL;
	return &keyinfo[(p - lo) / sizeof(keyinfo[0])];
}

/* The row whose name is key[0..len), or NULL: a binary search. */
static const struct keyinfo *
key_find(const char *key, size_t len)
{
	size_t lo = 0, hi = NELEM(keyinfo), mid, n;
	int c;

	if (len == 0 || len >= sizeof(keyinfo[0].name))
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		n = keyinfo[mid].len < len ? keyinfo[mid].len : len;
		if ((c = memcmp(keyinfo[mid].name, key, n)) == 0)
			c = keyinfo[mid].len < len ? -1 : keyinfo[mid].len > len;
		if (c == 0)
			return &keyinfo[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* strcmp() order; by address when both keys are interned. */
static int
key_cmp(const char *a, const char *b)
{
	if (key_row(a) != NULL && key_row(b) != NULL)
		return (uintptr_t)a < (uintptr_t)b ? -1 : (uintptr_t)a > (uintptr_t)b;
	return strcmp(a, b);
}

/* The interned copy of an allowed key, or NULL. */
static const char *
allowed_key(const char *key)
{
	const struct keyinfo *r;

	if ((r = key_row(key)) != NULL)
		return r->name;
	r = key_find(key, strlen(key));
	return r != NULL ? r->name : NULL;
}

const char *
bf_pkgindex_key(const char *key)
{
	return allowed_key(key);
}

int
bf_pkgindex_key_allowed(const char *key)
{
	return allowed_key(key) != NULL;
}

const char *
bf_pkgindex_key_external(const char *key)
{
	const struct keyinfo *r = key_row(key);

	if (r == NULL)
		r = key_find(key, strlen(key));
	return r != NULL && r->external != NULL ? r->external : key;
}

const char *
bf_pkgindex_key_internal(const char *key)
{
	const struct keyinfo *r = key_find(key, strlen(key));

	return r != NULL && r->internal >= 0 ? keyinfo[r->internal].name : key;
}

static const char *
default_value(const char *key)
{
	const struct keyinfo *r = key_row(key);

	if (r == NULL)
		r = key_find(key, strlen(key));
	return r != NULL ? r->def : NULL;
}

static int
is_inherited(const char *key)
{
	const struct keyinfo *r = key_row(key);

	if (r == NULL)
		r = key_find(key, strlen(key));
	return r != NULL && r->inherited;
}

static const char *inherit_val(const char *v);

/* ------------------------------------------------------------------ */
/* Entries */

void
bf_pkgindex_init(struct bf_pkgindex *idx)
{
	memset(idx, 0, sizeof(*idx));
}

void
bf_pkgindex_release(struct bf_pkgindex *idx)
{
	struct arena_chunk *c, *next;
	size_t i;

	free(idx->header.f);
	for (i = 0; i < idx->npkgs; i++)
		free(idx->pkgs[i].f);
	free(idx->pkgs);
	if (idx->arena != NULL) {
		for (c = idx->arena->head; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
		free(idx->arena);
	}
	bf_pkgindex_init(idx);
}

/* Position of `key` in the sorted fields, or where it would go (*found = 0). */
static size_t
field_pos(const struct bf_pkgindex_entry *ent, const char *key, int *found)
{
	size_t lo = 0, hi = ent->n, mid;
	int c;

	/* Fields usually arrive in order: check the end first. */
	if (ent->n > 0 && (c = key_cmp(ent->f[ent->n - 1].key, key)) <= 0) {
		*found = c == 0;
		return c == 0 ? ent->n - 1 : ent->n;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = key_cmp(ent->f[mid].key, key);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

const char *
bf_pkgindex_get(const struct bf_pkgindex_entry *ent, const char *key)
{
	const char *k = allowed_key(key);
	int found;
	size_t i = field_pos(ent, k != NULL ? k : key, &found);

	return found ? ent->f[i].val : NULL;
}

const char *
bf_pkgindex_value(const struct bf_pkgindex *idx,
    const struct bf_pkgindex_entry *ent, const char *key)
{
	const char *v = bf_pkgindex_get(ent, key);

	if (v != NULL)
		return v;
	if (is_inherited(key) && (v = bf_pkgindex_get(&idx->header, key)) != NULL &&
	    *v != '\0')
		return v;
	return default_value(key);
}

/* Inserts with borrowed (arena or static) key and value strings. */
static int
set_field(struct bf_pkgindex_entry *ent, const char *key, const char *val)
{
	size_t i;
	int found;

	ent->raw = NULL;	/* the stanza as read no longer says it */
	i = field_pos(ent, key, &found);
	if (found) {
		if (val == NULL) {
			memmove(&ent->f[i], &ent->f[i + 1],
			    (ent->n - i - 1) * sizeof(*ent->f));
			ent->n--;
		} else
			ent->f[i].val = val;
		return 0;
	}
	if (val == NULL)
		return 0;
	if (bf_grow(&ent->f, &ent->alloc, ent->n + 1, sizeof(*ent->f), 24) < 0)
		return -ENOMEM;
	memmove(&ent->f[i + 1], &ent->f[i], (ent->n - i) * sizeof(*ent->f));
	ent->f[i].key = key;
	ent->f[i].val = val;
	ent->n++;
	return 0;
}

static const char *
intern_key(struct bf_pkgindex *idx, const char *key, size_t len)
{
	const struct keyinfo *r;

	if ((r = key_row(key)) != NULL || (r = key_find(key, len)) != NULL)
		return r->name;
	return arena_strndup(idx, key, len);
}

int
bf_pkgindex_setn(struct bf_pkgindex *idx, struct bf_pkgindex_entry *ent,
    const char *key, const char *val, size_t len)
{
	const char *k, *v = NULL;

	if ((k = intern_key(idx, key, strlen(key))) == NULL)
		return -ENOMEM;
	if (val != NULL && (v = arena_strndup(idx, val, len)) == NULL)
		return -ENOMEM;
	return set_field(ent, k, v);
}

int
bf_pkgindex_set(struct bf_pkgindex *idx, struct bf_pkgindex_entry *ent,
    const char *key, const char *val)
{
	return bf_pkgindex_setn(idx, ent, key, val, val != NULL ? strlen(val) : 0);
}

int
bf_pkgindex_set_header(struct bf_pkgindex *idx, const char *key,
    const char *val)
{
	const char *k = allowed_key(key), *old;
	size_t i;

	if (k != NULL && is_inherited(k)) {
		old = inherit_val(bf_pkgindex_get(&idx->header, k));
		if (old != NULL && (val == NULL || strcmp(old, val) != 0)) {
			for (i = 0; i < idx->npkgs; i++)
				if (bf_pkgindex_get(&idx->pkgs[i], k) == NULL &&
				    set_field(&idx->pkgs[i], k, old) < 0)
					return -ENOMEM;
		}
	}
	return bf_pkgindex_set(idx, &idx->header, key, val);
}

struct bf_pkgindex_entry *
bf_pkgindex_add(struct bf_pkgindex *idx)
{
	struct bf_pkgindex_entry *np;

	if (bf_grow(&idx->pkgs, &idx->alloc, idx->npkgs + 1,
	    sizeof(*idx->pkgs), 64) < 0)
		return NULL;
	np = &idx->pkgs[idx->npkgs++];
	memset(np, 0, sizeof(*np));
	return np;
}

struct bf_pkgindex_entry *
bf_pkgindex_add_copy(struct bf_pkgindex *idx,
    const struct bf_pkgindex_entry *src)
{
	struct bf_pkgindex_entry *ent, copy = *src;
	size_t i;

	/* `src` may live in idx->pkgs, which bf_pkgindex_add() moves. */
	if ((copy.f = malloc((src->n ? src->n : 1) * sizeof(*copy.f))) == NULL)
		return NULL;
	memcpy(copy.f, src->f, src->n * sizeof(*copy.f));
	copy.alloc = src->n ? src->n : 1;
	/* Its stanza was checked against another header. */
	copy.raw = NULL;
	copy.rawlen = 0;
	for (i = 0; i < copy.n; i++) {
		copy.f[i].key = intern_key(idx, copy.f[i].key,
		    strlen(copy.f[i].key));
		copy.f[i].val = arena_strndup(idx, copy.f[i].val,
		    strlen(copy.f[i].val));
		if (copy.f[i].key == NULL || copy.f[i].val == NULL) {
			free(copy.f);
			return NULL;
		}
	}
	if ((ent = bf_pkgindex_add(idx)) == NULL) {
		free(copy.f);
		return NULL;
	}
	*ent = copy;
	return ent;
}

void
bf_pkgindex_remove(struct bf_pkgindex *idx, size_t i)
{
	if (i >= idx->npkgs)
		return;
	free(idx->pkgs[i].f);
	memmove(&idx->pkgs[i], &idx->pkgs[i + 1],
	    (idx->npkgs - i - 1) * sizeof(*idx->pkgs));
	idx->npkgs--;
}

/* ------------------------------------------------------------------ */
/* Reading */

struct reader {
	char		*p;		/* a private copy of the text */
	char		*end;
	int		 has_cr;
};

/*
 * The next line without its terminator, with Python's universal
 * newlines: "\n", "\r\n" and a lone "\r" all end a line.  The
 * terminator is overwritten with NUL, so the line's tail is a C string.
 * Returns 0 at end of input.
 */
static int
next_line(struct reader *r, char **line, size_t *len)
{
	char *s = r->p, *q;

	if (s >= r->end)
		return 0;
	if (!r->has_cr) {
		q = memchr(s, '\n', (size_t)(r->end - s));
		if (q == NULL)
			q = r->end;
	} else
		for (q = s; q < r->end && *q != '\n' && *q != '\r'; q++)
			;
	*line = s;
	*len = (size_t)(q - s);
	if (q < r->end && *q == '\r' && q + 1 < r->end && q[1] == '\n')
		*q++ = '\0';
	if (q < r->end) {
		*q = '\0';
		r->p = q + 1;
	} else
		r->p = q;
	return 1;
}

/* Length of the UTF-8 sequence starting at valid UTF-8 `s`. */
static size_t
u8len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return 4;
}

/* A header value as the writer's inheritance sees it: NULL if empty. */
static const char *
inherit_val(const char *v)
{
	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * PackageIndex._readpkgindex: one stanza into `ent`.  Values point into
 * the reader's copy of the text.
 *
 * *canon is set to whether bf_pkgindex_format_packages() would write
 * the package entry back as these very bytes, given the header values
 * hchost and hrepo (inherit_val()) and a text without "\r" or NUL: each
 * line an allowed key under its written name, in the writer's order
 * (so no duplicates), then ": " and a value that is neither empty, nor
 * the default, nor the inherited header value; and an empty line at the
 * end rather than the end of the text.
 */
static int
read_stanza(struct bf_pkgindex *idx, struct reader *r,
    struct bf_pkgindex_entry *ent, int pkg_entry, unsigned flags,
    const char *hchost, const char *hrepo, int *canon)
{
	const struct keyinfo *ki, *prev = NULL;
	char *line, *colon, *v;
	const char *k, *hv;
	size_t len, klen, vlen, skip;
	int rc, ended = 0, ok = 1;

	while (next_line(r, &line, &len)) {
		if (len == 0) {
			ended = 1;
			break;
		}
		if ((colon = memchr(line, ':', len)) == NULL) {
			ok = 0;
			continue;
		}
		klen = (size_t)(colon - line);
		v = colon + 1;
		vlen = len - klen - 1;
		if (vlen > 0) {
			/* v = v[1:] drops one character, not one byte. */
			skip = u8len((unsigned char)*v);
			if (skip > vlen)
				skip = vlen;
			v += skip;
			vlen -= skip;
		}
		/*
		 * Translate (DESC -> DESCRIPTION, ...), then keep only the
		 * allowed keys in package stanzas.
		 */
		if ((ki = key_find(line, klen)) != NULL && ki->external != NULL)
			ok = 0;		/* an internal name: DESCRIPTION, _mtime_ */
		if (ki != NULL && ki->internal >= 0)
			ki = &keyinfo[ki->internal];
		if (ok && (ki == NULL || (prev != NULL && ki <= prev) || vlen == 0 ||
		    colon[1] != ' ' ||
		    (ki->def != NULL && strcmp(v, ki->def) == 0)))
			ok = 0;
		if (ok && ki->inherited) {
			hv = ki->name[0] == 'C' ? hchost : hrepo;
			if (hv != NULL && strcmp(v, hv) == 0)
				ok = 0;
		}
		prev = ki;
		if (ki != NULL)
			k = ki->name;
		else if (pkg_entry && !(flags & BF_PKGINDEX_KEEP_UNKNOWN))
			continue;
		else if ((k = arena_strndup(idx, line, klen)) == NULL)
			return -ENOMEM;
		if ((rc = set_field(ent, k, vlen > 0 ? v : "")) < 0)
			return rc;
	}
	*canon = ok && ended;
	return 0;
}

/* Sets `key` of `ent` to a copy of val[0..n). */
static int
set_copy(struct bf_pkgindex *idx, struct bf_pkgindex_entry *ent,
    const char *key, const char *val, size_t n)
{
	const char *v = arena_strndup(idx, val, n);

	return v == NULL ? -ENOMEM : set_field(ent, key, v);
}

/*
 * BF_PKGINDEX_PARTIAL: the header in full, then per stanza its bytes
 * and its CPV, PATH and BUILD_ID lines, found by their first bytes
 * (the text is canonical, so each key is written once, under its
 * written name).  -EINVAL if the text is not laid out so after all.
 */
static int
parse_partial(struct bf_pkgindex *idx, const char *data, size_t len,
    struct bf_err *e)
{
	const char *k_bid = allowed_key("BUILD_ID"), *k_cpv = allowed_key("CPV");
	const char *k_path = allowed_key("PATH");
	struct bf_pkgindex_entry ent = BF_PKGINDEX_ENTRY_INIT, *np;
	struct reader r;
	const char *p, *end, *nl, *start, *copy = data;
	char *hcopy;
	size_t hlen;
	int rc, canon;

	/* Stanzas stay in `data`; only the header is copied, to be cut. */
	end = copy + len;
	/* The header stanza, up to and with its empty line. */
	for (p = copy; p < end && *p != '\n'; p = nl + 1)
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return bf_err_set(e, EINVAL, "torn header");
	if (p == end)
		return bf_err_set(e, EINVAL, "no end of header");
	hlen = (size_t)(p + 1 - copy);
	if ((hcopy = arena_alloc(idx, hlen + 1)) == NULL)
		goto oom;
	memcpy(hcopy, copy, hlen);
	hcopy[hlen] = '\0';
	r.p = hcopy;
	r.end = hcopy + hlen;
	r.has_cr = 0;
	if ((rc = read_stanza(idx, &r, &idx->header, 0, 0, NULL, NULL,
	    &canon)) < 0)
		goto oom;
	idx->raw_chost = inherit_val(bf_pkgindex_get(&idx->header, "CHOST"));
	idx->raw_repo = inherit_val(bf_pkgindex_get(&idx->header,
	    "repository"));

	for (p = copy + hlen; p < end && *p != '\n'; ) {
		start = p;
		/* Three fields at most: no room for the other twenty. */
		if ((ent.f = malloc(3 * sizeof(*ent.f))) == NULL)
			goto oom;
		ent.alloc = 3;
		for (; p < end && *p != '\n'; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
				rc = bf_err_set(e, EINVAL, "torn stanza");
				goto fail;
			}
			rc = 0;
			if (*p == 'B' && nl - p > 10 &&
			    memcmp(p, "BUILD_ID: ", 10) == 0)
				rc = set_copy(idx, &ent, k_bid, p + 10,
				    (size_t)(nl - p - 10));
			else if (*p == 'C' && nl - p > 5 && memcmp(p, "CPV: ", 5) == 0)
				rc = set_copy(idx, &ent, k_cpv, p + 5,
				    (size_t)(nl - p - 5));
			else if (*p == 'P' && nl - p > 6 &&
			    memcmp(p, "PATH: ", 6) == 0)
				rc = set_copy(idx, &ent, k_path, p + 6,
				    (size_t)(nl - p - 6));
			if (rc < 0)
				goto oom;
		}
		if (p == end || bf_pkgindex_get(&ent, k_cpv) == NULL) {
			rc = bf_err_set(e, EINVAL, "stanza without CPV or end");
			goto fail;
		}
		p++;		/* the empty line */
		if ((np = bf_pkgindex_add(idx)) == NULL)
			goto oom;
		*np = ent;
		np->raw = start;
		np->rawlen = (size_t)(p - start);
		np->partial = 1;
		memset(&ent, 0, sizeof(ent));
	}
	return 0;
oom:
	rc = bf_err_set(e, ENOMEM, "out of memory reading the package index");
fail:
	free(ent.f);
	return rc;
}

int
bf_pkgindex_complete(struct bf_pkgindex *idx, struct bf_pkgindex_entry *ent)
{
	struct bf_pkgindex_entry full = BF_PKGINDEX_ENTRY_INIT;
	struct reader r;
	char *copy;
	int rc, canon;

	if (!ent->partial)
		return 0;
	if ((copy = arena_alloc(idx, ent->rawlen + 1)) == NULL)
		return -ENOMEM;
	memcpy(copy, ent->raw, ent->rawlen);
	copy[ent->rawlen] = '\0';
	r.p = copy;
	r.end = copy + ent->rawlen;
	r.has_cr = 0;
	if ((rc = read_stanza(idx, &r, &full, 1, 0, idx->raw_chost,
	    idx->raw_repo, &canon)) < 0) {
		free(full.f);
		return rc;
	}
	free(ent->f);
	ent->f = full.f;
	ent->n = full.n;
	ent->alloc = full.alloc;
	if (!canon)
		ent->raw = NULL;
	ent->partial = 0;
	return 0;
}

int
bf_pkgindex_parse(struct bf_pkgindex *idx, const char *data, size_t len,
    unsigned flags, struct bf_err *e)
{
	struct bf_pkgindex_entry ent = BF_PKGINDEX_ENTRY_INIT, *np;
	struct bf_buf clean = BF_BUF_INIT;
	struct reader r;
	const char *cpv, *hchost = NULL, *hrepo = NULL;
	char *copy, *start;
	const char *pristine = NULL;
	int rc = 0, canon;

	if (flags & BF_PKGINDEX_PARTIAL)
		return parse_partial(idx, data, len, e);

	/* open(..., encoding="utf-8", errors="replace") */
	if (!bf_utf8_valid(data, len)) {
		bf_utf8_replace(&clean, data, len);
		if ((rc = bf_buf_error(&clean)) < 0)
			goto oom;
		data = clean.buf;
		len = clean.len;
	}
	/* One copy of the whole text; values are NUL-ended in place. */
	if ((copy = arena_alloc(idx, len + 1)) == NULL) {
		rc = -ENOMEM;
		goto oom;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	r.p = copy;
	r.end = copy + len;
	r.has_cr = memchr(copy, '\r', len) != NULL;
	/*
	 * Kept stanzas are the bytes as read (after the UTF-8 repair), so
	 * they need a copy the reader does not cut into C strings.  Line
	 * ends other than "\n", and NUL bytes (which end a value early),
	 * never give the writer's bytes back: keep nothing then.
	 */
	if ((flags & BF_PKGINDEX_KEEP_STANZAS) && !r.has_cr &&
	    memchr(copy, '\0', len) == NULL) {
		char *pc;

		if (data != clean.buf)
			pristine = data;	/* the caller's, kept unchanged */
		else if ((pc = arena_alloc(idx, len + 1)) == NULL) {
			rc = -ENOMEM;
			goto oom;
		} else {
			memcpy(pc, copy, len + 1);
			pristine = pc;
		}
	}
	if ((rc = read_stanza(idx, &r, &idx->header, 0, flags, NULL, NULL,
	    &canon)) < 0)
		goto oom;
	if (pristine != NULL) {
		hchost = inherit_val(bf_pkgindex_get(&idx->header, "CHOST"));
		hrepo = inherit_val(bf_pkgindex_get(&idx->header, "repository"));
		idx->raw_chost = hchost;
		idx->raw_repo = hrepo;
	}
	for (;;) {
		start = r.p;
		if ((rc = read_stanza(idx, &r, &ent, 1, flags, hchost, hrepo,
		    &canon)) < 0)
			goto oom;
		/* readBody: "if not d: break" */
		if (ent.n == 0)
			break;
		cpv = bf_pkgindex_get(&ent, "CPV");
		if (cpv == NULL || *cpv == '\0') {
			ent.n = 0;
			continue;
		}
		if ((np = bf_pkgindex_add(idx)) == NULL) {
			rc = -ENOMEM;
			goto oom;
		}
		*np = ent;
		if (pristine != NULL && canon) {
			np->raw = pristine + (start - copy);
			np->rawlen = (size_t)(r.p - start);
		}
		memset(&ent, 0, sizeof(ent));
	}
	free(ent.f);
	bf_buf_release(&clean);
	return 0;
oom:
	free(ent.f);
	bf_buf_release(&clean);
	return bf_err_set(e, rc, "out of memory reading the package index");
}

/* ------------------------------------------------------------------ */
/* Writing */

static void
write_field(struct bf_buf *out, const char *key, const char *val)
{
	size_t kl, vl;
	char *p;

	kl = strlen(key);
	vl = strlen(val);
	if (bf_buf_grow(out, kl + vl + 3) < 0)
		return;
	p = out->buf + out->len;
	memcpy(p, key, kl);
	p[kl] = ':';
	p[kl + 1] = ' ';
	memcpy(p + kl + 2, val, vl);
	p[kl + 2 + vl] = '\n';
	bf_buf_setlen(out, out->len + kl + vl + 3);
}

struct sort_item {
	const char	*cpv;
	size_t		 i;
};

static int
cmp_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->cpv, y->cpv);

	/* sorted() is stable: equal CPVs keep their order. */
	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
bf_pkgindex_format_header(const struct bf_pkgindex *idx, struct bf_buf *out)
{
	const struct bf_pkgindex_field *f;
	size_t i;

	for (i = 0; i < idx->header.n; i++) {
		f = &idx->header.f[i];
		if (*f->val != '\0')
			write_field(out, bf_pkgindex_key_external(f->key), f->val);
	}
	bf_buf_addch(out, '\n');
	return bf_buf_error(out);
}

int
bf_pkgindex_format(const struct bf_pkgindex *idx, struct bf_buf *out)
{
	int rc;

	if ((rc = bf_pkgindex_format_header(idx, out)) < 0)
		return rc;
	return bf_pkgindex_format_packages(idx, out);
}

static int
same_inherit(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Kept stanzas hold only while what they inherit is the same. */
static int
raw_usable(const struct bf_pkgindex *idx)
{
	return same_inherit(inherit_val(bf_pkgindex_get(&idx->header, "CHOST")),
	    idx->raw_chost) && same_inherit(inherit_val(bf_pkgindex_get(
	    &idx->header, "repository")), idx->raw_repo);
}

int
bf_pkgindex_text_canonical(const struct bf_pkgindex *idx, const char *text,
    size_t len)
{
	const struct bf_pkgindex_entry *ent;
	const char *hend, *v;
	int raw_ok = raw_usable(idx);
	size_t i, j, hlen;

	/*
	 * Copied stanzas are known good: the reader keeps none from a text
	 * with "\r" or NUL, and its copy is valid UTF-8 (repaired if need
	 * be); partial ones come from a text this function passed.  So only
	 * the header and the formatted stanzas are looked at.
	 */
	hend = memmem(text, len, "\n\n", 2);
	hlen = hend != NULL ? (size_t)(hend - text) + 2 : len;
	if (memchr(text, '\r', hlen) != NULL || memchr(text, '\0', hlen) != NULL ||
	    !bf_utf8_valid(text, hlen))
		return 0;
	for (i = 0; i < idx->npkgs; i++) {
		ent = &idx->pkgs[i];
		if (ent->raw != NULL && raw_ok)
			continue;
		/* A value with a line break would make two lines. */
		for (j = 0; j < ent->n; j++) {
			v = ent->f[j].val;
			if (strpbrk(v, "\n\r") != NULL || !bf_utf8_valid(v, strlen(v)))
				return 0;
		}
	}
	return 1;
}

int
bf_pkgindex_format_packages(const struct bf_pkgindex *idx, struct bf_buf *out)
{
	const struct bf_pkgindex_entry *ent;
	const struct bf_pkgindex_field *f;
	const struct keyinfo *r;
	struct sort_item *items = NULL;
	const char *hchost, *hrepo, *hv;
	size_t i, j;
	int sorted = 1, raw_ok;

	/* _pkgindex_inherited_keys: CHOST, repository */
	hchost = bf_pkgindex_get(&idx->header, "CHOST");
	hrepo = bf_pkgindex_get(&idx->header, "repository");
	raw_ok = raw_usable(idx);

	if (idx->npkgs > 0 &&
	    (items = malloc(idx->npkgs * sizeof(*items))) == NULL)
		return -ENOMEM;
	for (i = 0; i < idx->npkgs; i++) {
		items[i].cpv = bf_pkgindex_get(&idx->pkgs[i], "CPV");
		if (items[i].cpv == NULL)
			items[i].cpv = "";
		items[i].i = i;
		if (i > 0 && sorted && strcmp(items[i - 1].cpv, items[i].cpv) > 0)
			sorted = 0;
	}
	/* Usually already in order (bf_pkgdir_update() sorts). */
	if (idx->npkgs > 1 && !sorted)
		qsort(items, idx->npkgs, sizeof(*items), cmp_item);

	for (j = 0; j < idx->npkgs; j++) {
		ent = &idx->pkgs[items[j].i];
		if (ent->raw != NULL && raw_ok) {
			bf_buf_add(out, ent->raw, ent->rawlen);
			continue;
		}
		if (ent->partial) {
			free(items);
			return -EINVAL;
		}
		for (i = 0; i < ent->n; i++) {
			f = &ent->f[i];
			if (*f->val == '\0')
				continue;
			if ((r = key_row(f->key)) != NULL) {
				if (r->inherited) {
					hv = r->name[0] == 'C' ? hchost : hrepo;
					if (hv != NULL && *hv != '\0' &&
					    strcmp(f->val, hv) == 0)
						continue;
				}
				/* Defaults are "" (skipped above) or "0". */
				if (r->def != NULL && r->def[0] == f->val[0] &&
				    strcmp(r->def, f->val) == 0)
					continue;
				write_field(out, r->external != NULL ?
				    r->external : r->name, f->val);
			} else
				write_field(out, f->key, f->val);
		}
		bf_buf_addch(out, '\n');
	}
	free(items);
	return bf_buf_error(out);
}

/* ------------------------------------------------------------------ */
/* gzip */

/* GzipFile._write_gzip_header with filename "" and compresslevel 9. */
static void
gz_pyheader(unsigned char h[10], long long mtime)
{
	uint32_t t = mtime > 0 && mtime <= 0xffffffffLL ? (uint32_t)mtime : 0;

	h[0] = 0x1f;
	h[1] = 0x8b;
	h[2] = 8;		/* deflate */
	h[3] = 0;		/* no FNAME: the name is empty */
	h[4] = t & 0xff;
	h[5] = (t >> 8) & 0xff;
	h[6] = (t >> 16) & 0xff;
	h[7] = (t >> 24) & 0xff;
	h[8] = 2;		/* XFL: best compression */
	h[9] = 0xff;		/* OS: unknown */
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
crc32_big(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uInt n;

	while (len > 0) {
		n = len > 0x40000000 ? 0x40000000 : (uInt)len;
		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/*
 * Raw deflate of `data` at level 9 into `out`, ended by Z_FINISH
 * (finish = 1) or by a sync flush (finish = 0).  `z` is an initialised
 * raw-deflate stream; it is reset first.
 */
static int
deflate_into(z_stream *z, const void *data, size_t len, int finish,
    struct bf_buf *out)
{
	const unsigned char *p = data;
	size_t chunk;
	int zr, flush;

	if (deflateReset(z) != Z_OK)
		return -BF_EFORMAT;
	do {
		chunk = len > 0x40000000 ? 0x40000000 : len;
		z->next_in = (unsigned char *)(uintptr_t)p;
		z->avail_in = (uInt)chunk;
		p += chunk;
		len -= chunk;
		flush = len > 0 ? Z_NO_FLUSH : finish ? Z_FINISH : Z_SYNC_FLUSH;
		do {
			if (bf_buf_grow(out, 65536) < 0)
				return -ENOMEM;
			z->next_out = (unsigned char *)out->buf + out->len;
			z->avail_out = (uInt)(out->alloc - out->len - 1 > 0x40000000 ?
			    0x40000000 : out->alloc - out->len - 1);
			chunk = z->avail_out;
			zr = deflate(z, flush);
			if (zr == Z_STREAM_ERROR)
				return -BF_EFORMAT;
			bf_buf_setlen(out, out->len + (chunk - z->avail_out));
		} while (z->avail_out == 0 || (finish && flush == Z_FINISH &&
		    zr != Z_STREAM_END));
	} while (len > 0);
	return 0;
}

static int
deflate_init9(z_stream *z)
{
	memset(z, 0, sizeof(*z));
	/* zlib.compressobj(9, DEFLATED, -MAX_WBITS, DEF_MEM_LEVEL, 0) */
	return deflateInit2(z, 9, Z_DEFLATED, -MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) == Z_OK ? 0 : -ENOMEM;
}

int
bf_pkgindex_gzip(const void *data, size_t len, long long mtime,
    struct bf_buf *out, struct bf_err *e)
{
	unsigned char h[10], t[8];
	z_stream z;
	int rc;

	if (deflate_init9(&z) < 0)
		return bf_err_set(e, ENOMEM, "cannot initialise zlib");
	gz_pyheader(h, mtime);
	bf_buf_add(out, h, sizeof(h));
	rc = deflate_into(&z, data, len, 1, out);
	deflateEnd(&z);
	if (rc < 0)
		return bf_err_set(e, rc, "cannot compress the package index");
	put_le32(t, crc32_big(0, data, len));
	put_le32(t + 4, (uint32_t)len);
	bf_buf_add(out, t, sizeof(t));
	if ((rc = bf_buf_error(out)) < 0)
		return bf_err_set(e, rc, "out of memory compressing the index");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Segmented Packages.gz */

struct segment {
	size_t		 uoff;		/* in the text */
	size_t		 ulen;
	uint32_t	 crc;
	size_t		 coff;		/* in the .gz */
	size_t		 clen;
	uint32_t	 zcrc;		/* CRC-32 of the compressed bytes */
	uint32_t	 key;		/* for finding equal segments */
	/* New segments only: */
	long		 reuse;		/* old segment index, or -1 */
	struct bf_buf	 z;		/* compressed bytes, when not reused */
	int		 rc;
};

struct gzidx {
	long long	 timestamp;
	size_t		 text_len;
	uint32_t	 text_crc;
	size_t		 gz_size;
	struct segment	*seg;
	size_t		 nseg;
};

#define SEG_MASK	31		/* about one cut every 32 stanzas */
#define SEG_MAX		(256 * 1024)	/* and at most this much text */

/*
 * FNV-1a, continued from `h`.  Not a hash table's (base/map.h has the
 * one table): it decides where segments are cut (content-defined, so an
 * insertion moves only nearby cuts) and keys a segment by a sample of
 * its bytes; both need a hash that can be resumed across lines, and
 * their values are written to no file, so it may change freely.
 */
static uint64_t
fnv1a(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Cuts `text` into segments: the header stanza, then runs of package
 * stanzas ended where the hash of a stanza's CPV and PATH lines has its
 * low bits clear.
 */
static int
cut_segments(const char *text, size_t len, struct segment **segp,
    size_t *nsegp)
{
	struct segment *seg = NULL;
	size_t nseg = 0, alloc = 0, start = 0, p = 0, le;
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *nl;
	int end_of_stanza;

	while (p < len) {
		nl = memchr(text + p, '\n', len - p);
		le = nl != NULL ? (size_t)(nl - text) + 1 : len;
		end_of_stanza = le - p == 1 || le == len;
		if (le - p > 5 && memcmp(text + p, "CPV: ", 5) == 0)
			h = fnv1a(h, text + p, le - p);
		else if (le - p > 6 && memcmp(text + p, "PATH: ", 6) == 0)
			h = fnv1a(h, text + p, le - p);
		p = le;
		if (!end_of_stanza)
			continue;
		/* FNV's low bits are weak (repeated text cancels): mix first. */
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
		h *= 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 33;
		if (nseg == 0 || (h & SEG_MASK) == 0 || p - start >= SEG_MAX ||
		    p == len) {
			if (bf_grow(&seg, &alloc, nseg + 1,
			    sizeof(*seg), 64) < 0) {
				free(seg);
				return -ENOMEM;
			}
			memset(&seg[nseg], 0, sizeof(*seg));
			seg[nseg].uoff = start;
			seg[nseg].ulen = p - start;
			seg[nseg].reuse = -1;
			bf_buf_init(&seg[nseg].z);
			nseg++;
			start = p;
		}
		h = 0xcbf29ce484222325ULL;
	}
	*segp = seg;
	*nsegp = nseg;
	return 0;
}

static void
gzidx_release(struct gzidx *g)
{
	free(g->seg);
	memset(g, 0, sizeof(*g));
}

/*
 * Loads the sidecar describing the current Packages.gz, and checks it
 * still describes both the gz file (size, header mtime, CRC and length
 * in the trailer) and the previous Packages text (length, TIMESTAMP).
 * Returns 1 with `g` and the gz bytes in `gz`, 0 if unusable.
 */
static int
gzidx_load(int dirfd, const char *old_text, size_t old_len, struct gzidx *g,
    struct bf_buf *gz)
{
	struct bf_buf side = BF_BUF_INIT, tsline = BF_BUF_INIT;
	unsigned long long a, b, c, d, f, z;
	char *line, *save = NULL;
	size_t alloc = 0, i;
	int fd = -1, ok = 0;
	struct stat st;
	char tmp[65536];
	ssize_t n;

	memset(g, 0, sizeof(*g));
	if (old_text == NULL)
		return 0;
	if ((fd = openat(dirfd, BF_PKGINDEX_GZIDX, O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		bf_buf_add(&side, tmp, (size_t)n);
	close(fd);
	fd = -1;
	if (n < 0 || bf_buf_error(&side) < 0)
		goto out;
	line = strtok_r(side.buf, "\n", &save);
	if (line == NULL || strcmp(line, "binfarm-gzidx 2") != 0)
		goto out;
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
	    sscanf(line, "text %llu %llu %llu", &a, &b, &c) != 3)
		goto out;
	g->timestamp = (long long)a;
	g->text_len = (size_t)b;
	g->text_crc = (uint32_t)c;
	if ((line = strtok_r(NULL, "\n", &save)) == NULL ||
	    sscanf(line, "gz %llu", &a) != 1)
		goto out;
	g->gz_size = (size_t)a;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu", &a, &b, &c,
		    &d, &f, &z) != 6)
			goto out;
		if (bf_grow(&g->seg, &alloc, g->nseg + 1,
		    sizeof(*g->seg), 64) < 0)
			goto out;
		memset(&g->seg[g->nseg], 0, sizeof(*g->seg));
		g->seg[g->nseg].uoff = (size_t)a;
		g->seg[g->nseg].ulen = (size_t)b;
		g->seg[g->nseg].crc = (uint32_t)c;
		g->seg[g->nseg].coff = (size_t)d;
		g->seg[g->nseg].clen = (size_t)f;
		g->seg[g->nseg].zcrc = (uint32_t)z;
		g->nseg++;
	}
	/* The previous text must be the one the sidecar describes. */
	if (g->text_len != old_len)
		goto out;
	bf_buf_addf(&tsline, "\nTIMESTAMP: %lld\n", g->timestamp);
	if (bf_buf_error(&tsline) < 0 || old_len < tsline.len)
		goto out;
	if (memcmp(old_text, tsline.buf + 1, tsline.len - 1) != 0 &&
	    memmem(old_text, old_len, tsline.buf, tsline.len) == NULL)
		goto out;
	/* And the gz file too. */
	if ((fd = openat(dirfd, "Packages.gz", O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != g->gz_size ||
	    g->gz_size < 18)
		goto out;
	bf_buf_reset(gz);
	if (bf_buf_grow(gz, g->gz_size) < 0 ||
	    bf_pread_full(fd, gz->buf, g->gz_size, 0) != (ssize_t)g->gz_size)
		goto out;
	bf_buf_setlen(gz, g->gz_size);
	if (get_le32((unsigned char *)gz->buf + 4) != (uint32_t)g->timestamp ||
	    get_le32((unsigned char *)gz->buf + g->gz_size - 8) != g->text_crc ||
	    get_le32((unsigned char *)gz->buf + g->gz_size - 4) !=
	    (uint32_t)g->text_len)
		goto out;
	for (i = 0; i < g->nseg; i++) {
		if (g->seg[i].uoff > old_len ||
		    g->seg[i].ulen > old_len - g->seg[i].uoff ||
		    g->seg[i].coff > g->gz_size ||
		    g->seg[i].clen > g->gz_size - g->seg[i].coff)
			goto out;
	}
	ok = 1;
out:
	if (fd >= 0)
		close(fd);
	bf_buf_release(&side);
	bf_buf_release(&tsline);
	if (!ok)
		gzidx_release(g);
	return ok;
}

/*
 * Do the old segments lie end to end over the old text, and do their
 * CRCs combine to the whole text's?
 */
static int
gzidx_tiles(const struct gzidx *g, size_t len)
{
	size_t i, off = 0;
	uint32_t crc = 0;

	for (i = 0; i < g->nseg; i++) {
		if (g->seg[i].uoff != off)
			return 0;
		crc = i == 0 ? g->seg[i].crc : (uint32_t)crc32_combine(crc,
		    g->seg[i].crc, (z_off_t)g->seg[i].ulen);
		off += g->seg[i].ulen;
	}
	return off == len && g->nseg > 0 && crc == g->text_crc;
}

/* A cheap hash of a segment's length, head and tail. */
static uint32_t
content_key(const char *p, size_t n)
{
	uint64_t h = fnv1a(0xcbf29ce484222325ULL ^ n, p, n < 256 ? n : 256);

	if (n > 256)
		h = fnv1a(h, p + n - 64, 64);
	return (uint32_t)(h ^ h >> 32);
}

/*
 * Old segments by their text (the map borrows the old text), hashed by
 * their length and key rather than all their bytes.
 */
static uint32_t
segmap_hash(size_t len, uint32_t key)
{
	uint64_t h = ((uint64_t)key << 32 | (uint64_t)(len & 0xffffffff)) *
	    0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32);
}

static int
segmap_build(struct bf_map *m, const struct gzidx *g, const char *old)
{
	const struct segment *o;
	size_t i;
	int rc;

	if ((rc = bf_map_reserve(m, g->nseg)) < 0)
		return rc;
	for (i = 0; i < g->nseg; i++) {
		o = &g->seg[i];
		if (o->ulen > UINT32_MAX)
			continue;	/* never a segment this writer cuts */
		if ((rc = bf_map_set_h(m, old + o->uoff, o->ulen,
		    segmap_hash(o->ulen, o->key), i, 0)) < 0)
			return rc;
	}
	return 0;
}

static long
segmap_find(const struct bf_map *m, const struct gzidx *g,
    const char *oldgz, const char *text, const struct segment *s)
{
	const struct segment *o;
	size_t i;

	/*
	 * The text must match byte for byte (the map compares it), and
	 * the compressed bytes must be the ones recorded for it.
	 */
	if (!bf_map_get_h(m, text + s->uoff, s->ulen,
	    segmap_hash(s->ulen, s->key), &i))
		return -1;
	o = &g->seg[i];
	if (o->key != s->key ||
	    crc32_big(0, oldgz + o->coff, o->clen) != o->zcrc)
		return -1;
	return (long)i;
}

struct zjobs {
	pthread_mutex_t	 lock;
	struct segment	*seg;
	size_t		 nseg;
	size_t		 next;
	const char	*text;
};

static void *
zworker(void *arg)
{
	struct zjobs *j = arg;
	struct segment *s;
	z_stream z;
	size_t i;
	int init;

	init = deflate_init9(&z);
	for (;;) {
		pthread_mutex_lock(&j->lock);
		while (j->next < j->nseg && j->seg[j->next].reuse != -1)
			j->next++;
		i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->nseg)
			break;
		s = &j->seg[i];
		if (init < 0)
			s->rc = init;
		else
			s->rc = deflate_into(&z, j->text + s->uoff, s->ulen, 0,
			    &s->z);
	}
	if (init == 0)
		deflateEnd(&z);
	return NULL;
}

static int
compress_segments(const char *text, struct segment *seg, size_t nseg,
    int threads)
{
	pthread_t tid[16];
	struct zjobs j;
	int nt = 0, i, rc = 0;
	size_t k;

	memset(&j, 0, sizeof(j));
	pthread_mutex_init(&j.lock, NULL);
	j.seg = seg;
	j.nseg = nseg;
	j.text = text;
	if (threads > 16)
		threads = 16;
	for (i = 1; i < threads; i++) {
		if (pthread_create(&tid[nt], NULL, zworker, &j) != 0)
			break;
		nt++;
	}
	zworker(&j);
	for (i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&j.lock);
	for (k = 0; k < nseg; k++)
		if (seg[k].reuse == -1 && seg[k].rc < 0 && rc == 0)
			rc = seg[k].rc;
	return rc;
}

static int
build_segmented(int dirfd, const char *text, size_t len,
    const struct bf_pkgindex_write_opts *o, struct bf_buf *gz,
    struct bf_buf *side, struct bf_pkgindex_write_stats *st,
    uint32_t *text_crc)
{
	struct gzidx old;
	struct bf_buf oldgz = BF_BUF_INIT;
	struct bf_map map = BF_MAP_INIT_BORROW;
	struct segment *seg = NULL;
	size_t nseg = 0, i;
	unsigned char h[10], t[8];
	uint32_t crc = 0;
	int have_old = 0, trusted, rc;

	memset(&old, 0, sizeof(old));
	if ((rc = cut_segments(text, len, &seg, &nseg)) < 0)
		goto out;
	have_old = gzidx_load(dirfd, o->old_text, o->old_len, &old, &oldgz);
	/*
	 * Segments are found by their CRC-32, which proves them equal to
	 * what was compressed.  When the caller knows the old text's CRC
	 * and the recorded segment CRCs add up to it, the recorded ones are
	 * those of the old text's bytes: then an unchanged segment (equal
	 * bytes, found by a cheaper hash) takes its recorded CRC, and only
	 * new text is run through CRC-32.
	 */
	trusted = have_old && o->old_crc_known && old.text_crc == o->old_crc &&
	    gzidx_tiles(&old, o->old_len);
	for (i = 0; trusted && i < old.nseg; i++)
		old.seg[i].key = content_key(o->old_text + old.seg[i].uoff,
		    old.seg[i].ulen);
	for (i = 0; i < nseg; i++) {
		if (trusted)
			seg[i].key = content_key(text + seg[i].uoff, seg[i].ulen);
		else
			seg[i].key = seg[i].crc = crc32_big(0, text + seg[i].uoff,
			    seg[i].ulen);
	}
	for (i = 0; !trusted && have_old && i < old.nseg; i++)
		old.seg[i].key = old.seg[i].crc;
	if (have_old) {
		if ((rc = segmap_build(&map, &old, o->old_text)) < 0)
			goto out;
		for (i = 0; i < nseg; i++)
			seg[i].reuse = segmap_find(&map, &old, oldgz.buf,
			    text, &seg[i]);
	}
	for (i = 0; trusted && i < nseg; i++)
		seg[i].crc = seg[i].reuse >= 0 ? old.seg[seg[i].reuse].crc :
		    crc32_big(0, text + seg[i].uoff, seg[i].ulen);
	if ((rc = compress_segments(text, seg, nseg, o->threads)) < 0)
		goto out;

	gz_pyheader(h, o->timestamp);
	bf_buf_add(gz, h, sizeof(h));
	bf_buf_addf(side, "binfarm-gzidx 2\n");
	for (i = 0; i < nseg; i++) {
		seg[i].coff = gz->len;
		if (seg[i].reuse >= 0) {
			const struct segment *os = &old.seg[seg[i].reuse];

			bf_buf_add(gz, oldgz.buf + os->coff, os->clen);
			st->reused++;
		} else
			bf_buf_add(gz, seg[i].z.buf, seg[i].z.len);
		seg[i].clen = gz->len - seg[i].coff;
		seg[i].zcrc = seg[i].reuse >= 0 ? old.seg[seg[i].reuse].zcrc :
		    crc32_big(0, seg[i].z.buf, seg[i].z.len);
		crc = i == 0 ? seg[i].crc :
		    (uint32_t)crc32_combine(crc, seg[i].crc, (z_off_t)seg[i].ulen);
	}
	if (nseg == 0)
		crc = 0;
	/* A final empty fixed-Huffman block ends the stream. */
	bf_buf_add(gz, "\003\000", 2);
	put_le32(t, crc);
	put_le32(t + 4, (uint32_t)len);
	bf_buf_add(gz, t, sizeof(t));
	bf_buf_addf(side, "text %lld %zu %lu\ngz %zu\n", o->timestamp, len,
	    (unsigned long)crc, gz->len);
	for (i = 0; i < nseg; i++)
		bf_buf_addf(side, "%zu %zu %lu %zu %zu %lu\n", seg[i].uoff,
		    seg[i].ulen, (unsigned long)seg[i].crc, seg[i].coff,
		    seg[i].clen, (unsigned long)seg[i].zcrc);
	st->segments = nseg;
	*text_crc = crc;
	if ((rc = bf_buf_error(gz)) == 0)
		rc = bf_buf_error(side);
out:
	for (i = 0; i < nseg; i++)
		bf_buf_release(&seg[i].z);
	free(seg);
	bf_map_release(&map);
	if (have_old)
		gzidx_release(&old);
	bf_buf_release(&oldgz);
	return rc;
}

/* Renamed into place; the caller syncs the directory once for all. */
static int
write_one(int dirfd, const char *name, const void *p, size_t n,
    long long mtime, unsigned flags, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	int rc;

	if ((rc = bf_lockfile_open(&lf, dirfd, name, 0644, e)) < 0)
		return rc;
	bf_lockfile_write(&lf, p, n);
	return bf_lockfile_commit_flags(&lf, mtime,
	    flags | BF_LOCKFILE_NO_DIRSYNC, e);
}

/*
 * Writes and syncs `name`'s temporary file, ready for
 * bf_lockfile_commit_flags(..., BF_LOCKFILE_NO_SYNC); nothing when
 * `want` is 0 (lf->name stays NULL).
 */
static int
stage_one(struct bf_lockfile *lf, int dirfd, const char *name, const void *p,
    size_t n, int want, struct bf_err *e)
{
	int rc;

	if (!want)
		return 0;
	if ((rc = bf_lockfile_open(lf, dirfd, name, 0644, e)) < 0)
		return rc;
	if ((rc = bf_lockfile_write(lf, p, n)) < 0) {
		errno = -rc;
		return bf_err_errno(e, "cannot write '%s'", name);
	}
	if (fsync(lf->fd) < 0)
		return bf_err_errno(e, "cannot sync '%s'", name);
	return 0;
}

static int
unlink_quiet(int dirfd, const char *name, struct bf_err *e)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return bf_err_errno(e, "cannot remove '%s'", name);
	return 0;
}

/* Is `name` ".<target>.tmp-XXXXXX", as bf_lockfile_open() makes it? */
static int
temp_of(const char *name, const char *target)
{
	size_t tl = strlen(target), i;

	if (name[0] != '.' || strncmp(name + 1, target, tl) != 0 ||
	    strncmp(name + 1 + tl, ".tmp-", 5) != 0 ||
	    strlen(name + 1 + tl + 5) != 6)
		return 0;
	for (i = 1 + tl + 5; name[i] != '\0'; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9')))
			return 0;
	return 1;
}

int
bf_pkgindex_remove_temps(int dirfd, struct bf_err *e)
{
	static const char *const targets[] = {
		"Packages", "Packages.gz", BF_PKGINDEX_GZIDX,
		BF_PKGINDEX_CANONFILE, ".Packages.dircache",
	};
	struct dirent *de;
	DIR *d;
	size_t i;
	int fd, n = 0, rc = 0;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open the index directory");
	if ((d = fdopendir(fd)) == NULL) {
		rc = bf_err_errno(e, "cannot open the index directory");
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			continue;
		for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
			if (temp_of(de->d_name, targets[i]))
				break;
		if (i == sizeof(targets) / sizeof(targets[0]))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) < 0) {
			if (errno == ENOENT)
				continue;
			rc = bf_err_errno(e, "cannot remove '%s'", de->d_name);
			break;
		}
		n++;
	}
	closedir(d);
	return rc < 0 ? rc : n;
}

int
bf_pkgindex_write(int dirfd, const char *text, size_t len,
    const struct bf_pkgindex_write_opts *o,
    struct bf_pkgindex_write_stats *st, struct bf_err *e)
{
	struct bf_pkgindex_write_stats dummy;
	struct bf_lockfile lgz = BF_LOCKFILE_INIT, ltext = BF_LOCKFILE_INIT;
	struct bf_buf gz = BF_BUF_INIT, side = BF_BUF_INIT, canon = BF_BUF_INIT;
	uint32_t crc = 0;
	int rc = 0;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	/*
	 * The sidecar vouching for the old text goes first: a crash from
	 * here on must not leave it beside a text it does not describe
	 * (it would not match one anyway: length, CRC and TIMESTAMP).
	 */
	if ((rc = unlink_quiet(dirfd, BF_PKGINDEX_CANONFILE, e)) < 0)
		goto out;
	if (o->flags & BF_PKGINDEX_NO_GZ) {
		if ((rc = unlink_quiet(dirfd, BF_PKGINDEX_GZIDX, e)) < 0 ||
		    (rc = unlink_quiet(dirfd, "Packages.gz", e)) < 0)
			goto out;
	} else if (o->flags & BF_PKGINDEX_GZ_PORTAGE) {
		if ((rc = bf_pkgindex_gzip(text, len, o->timestamp, &gz, e)) < 0)
			goto out;
		st->segments = 1;
		/* The sidecar would describe segments this file lacks. */
		if ((rc = unlink_quiet(dirfd, BF_PKGINDEX_GZIDX, e)) < 0)
			goto out;
	} else {
		rc = build_segmented(dirfd, text, len, o, &gz, &side, st, &crc);
		if (rc < 0) {
			rc = bf_err_set(e, rc, "cannot compress the package index");
			goto out;
		}
	}
	st->gz_bytes = gz.len;
	/*
	 * Both files are written and synced under temporary names first,
	 * then renamed one right after the other, so that a kill leaves
	 * them out of step only in the instant between two rename()s (and
	 * the next run, seeing their mtimes differ, writes them again).
	 * Packages.gz first: Portage >= 3.0.69 asks for it first, and a
	 * reader that sees the new Packages.gz already sees the new text.
	 */
	if ((rc = stage_one(&lgz, dirfd, "Packages.gz", gz.buf, gz.len,
	    !(o->flags & BF_PKGINDEX_NO_GZ), e)) < 0 ||
	    (rc = stage_one(&ltext, dirfd, "Packages", text, len, 1, e)) < 0)
		goto out;
	if ((lgz.name != NULL && (rc = bf_lockfile_commit_flags(&lgz,
	    o->timestamp, BF_LOCKFILE_NO_SYNC | BF_LOCKFILE_NO_DIRSYNC,
	    e)) < 0) || (rc = bf_lockfile_commit_flags(&ltext, o->timestamp,
	    BF_LOCKFILE_NO_SYNC | BF_LOCKFILE_NO_DIRSYNC, e)) < 0)
		goto out;
	/*
	 * The sidecar needs no fsync: gzidx_load() checks it against
	 * Packages.gz and the previous text before trusting any of it.
	 */
	if (side.len > 0 && (rc = write_one(dirfd, BF_PKGINDEX_GZIDX, side.buf,
	    side.len, -1, BF_LOCKFILE_NO_SYNC, e)) < 0)
		goto out;
	/* Unsynced too: bf_pkgindex_canonical() checks it against the text. */
	if (o->flags & BF_PKGINDEX_CANON) {
		if (side.len == 0)
			crc = crc32_big(0, text, len);
		bf_buf_addf(&canon, "binfarm-canonical 1\n%zu %lu %lld\n", len,
		    (unsigned long)crc, o->timestamp);
		if ((rc = bf_buf_error(&canon)) < 0 ||
		    (rc = write_one(dirfd, BF_PKGINDEX_CANONFILE, canon.buf,
		    canon.len, -1, BF_LOCKFILE_NO_SYNC, e)) < 0)
			goto out;
	}
	/* One directory sync makes all three renames durable. */
	rc = bf_fsync_dir(dirfd, "Packages", e);
out:
	bf_lockfile_rollback(&lgz);
	bf_lockfile_rollback(&ltext);
	bf_buf_release(&gz);
	bf_buf_release(&side);
	bf_buf_release(&canon);
	return rc;
}

int
bf_pkgindex_canonical(int dirfd, const char *text, size_t len, uint32_t *crc)
{
	unsigned long long l, c;
	long long ts;
	const char *hend;
	char buf[256], line[64];
	ssize_t n;
	int fd, k;

	if ((fd = openat(dirfd, BF_PKGINDEX_CANONFILE, O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "binfarm-canonical 1\n%llu %llu %lld\n", &l, &c,
	    &ts) != 3 || l != len)
		return 0;
	/* TIMESTAMP in the header, whose end is the first empty line. */
	if ((hend = memmem(text, len, "\n\n", 2)) == NULL)
		return 0;
	k = snprintf(line, sizeof(line), "\nTIMESTAMP: %lld\n", ts);
	if (k <= 0 || (size_t)k >= sizeof(line) || (size_t)k > len ||
	    (memcmp(text, line + 1, (size_t)k - 1) != 0 &&
	    memmem(text, (size_t)(hend + 2 - text), line, (size_t)k) == NULL))
		return 0;
	if (crc32_big(0, text, len) != (uint32_t)c)
		return 0;
	if (crc != NULL)
		*crc = (uint32_t)c;
	return 1;
}
