/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_MAP_H
#define BF_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The one hash table of the tree: keys of bytes (a pointer and a
 * length, so a string, a slice of a larger buffer or the bytes of a
 * number), each with a size_t value (most often an index into the
 * caller's array).  Open addressing with linear probing, kept at most
 * half full; the table doubles as it fills.  No removal.
 *
 * A map made with BF_MAP_INIT copies its keys (into blocks it owns,
 * freed by bf_map_release()); one made with BF_MAP_INIT_BORROW keeps
 * the caller's pointers, which must then stay valid and unchanged for
 * the map's life.  Keys longer than UINT32_MAX bytes are refused.
 *
 * A set is a map whose values are not looked at: bf_map_add() answers
 * "was it new?".  A set of numbers keys on their bytes:
 *
 *	long long id = ...;
 *	if ((rc = bf_map_add_n(&seen, &id, sizeof(id), 0)) < 0) ...
 */
struct bf_map_ent {
	const char	*key;		/* NULL: a free slot */
	uint32_t	 len;
	uint32_t	 hash;
	size_t		 val;
};

struct bf_map_blk;

struct bf_map {
	struct bf_map_ent	*ent;
	size_t			 cap;	/* 0 or a power of two */
	size_t			 n;
	int			 borrow;
	struct bf_map_blk	*blk;	/* copied keys */
};

#define BF_MAP_INIT		{ NULL, 0, 0, 0, NULL }
#define BF_MAP_INIT_BORROW	{ NULL, 0, 0, 1, NULL }

/* Makes room for `n` keys in all without growing again.  0 or -ENOMEM. */
int	bf_map_reserve(struct bf_map *m, size_t n);
/* Frees the table (and copied keys); `m` is then empty, same kind. */
void	bf_map_release(struct bf_map *m);

/*
 * The hash of `len` bytes (a word at a time, mixed).  The _h
 * functions take the caller's own instead, for keys it hashes more
 * cheaply (a sample of a long key): all calls on one map must then use
 * the same function.
 */
uint32_t bf_map_hash(const void *key, size_t len);

/* 1 and *val (if val is not NULL) when present, else 0. */
int	bf_map_get_h(const struct bf_map *m, const void *key, size_t len,
	    uint32_t hash, size_t *val);
/*
 * Adds key -> val if the key is absent: 1 if added, 0 if it was there
 * (its value is left as it was), -ENOMEM.  With `replace`, a present
 * key's value is set to `val` too (and 0 returned).
 */
int	bf_map_set_h(struct bf_map *m, const void *key, size_t len,
	    uint32_t hash, size_t val, int replace);

static inline int
bf_map_get_n(const struct bf_map *m, const void *key, size_t len, size_t *val)
{
	return m->n == 0 ? 0 :
	    bf_map_get_h(m, key, len, bf_map_hash(key, len), val);
}

/* Adds if absent (the first value stays): 1 added, 0 present, -ENOMEM. */
static inline int
bf_map_add_n(struct bf_map *m, const void *key, size_t len, size_t val)
{
	return bf_map_set_h(m, key, len, bf_map_hash(key, len), val, 0);
}

/* Sets key -> val, replacing: 1 added, 0 replaced, -ENOMEM. */
static inline int
bf_map_put_n(struct bf_map *m, const void *key, size_t len, size_t val)
{
	return bf_map_set_h(m, key, len, bf_map_hash(key, len), val, 1);
}

/* The same for NUL-terminated strings (the NUL is not part of the key). */
static inline int
bf_map_get(const struct bf_map *m, const char *key, size_t *val)
{
	return bf_map_get_n(m, key, strlen(key), val);
}

static inline int
bf_map_add(struct bf_map *m, const char *key, size_t val)
{
	return bf_map_add_n(m, key, strlen(key), val);
}

static inline int
bf_map_put(struct bf_map *m, const char *key, size_t val)
{
	return bf_map_put_n(m, key, strlen(key), val);
}

#endif
