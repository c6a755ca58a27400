/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hash table of base/map.h. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "base/banned.h"

/* Copied keys are packed into blocks, freed together. */
struct bf_map_blk {
	struct bf_map_blk	*next;
	size_t			 used;
	size_t			 size;
	char			 data[];
};

#define BLK_SIZE	(16384 - sizeof(struct bf_map_blk))

/*
 * A word at a time: each 8 bytes are multiplied in, high bits folded
 * down; the length is mixed in first, so "a" and "a\0" differ.  Not
 * for anything written to a file (the words are read in the machine's
 * byte order).
 */
uint32_t
bf_map_hash(const void *key, size_t len)
{
	const unsigned char *s = key;
	uint64_t h = 0xcbf29ce484222325ULL ^ (len * 0xff51afd7ed558ccdULL);
	uint64_t w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return (uint32_t)(h >> 32);
}

/* The slot holding the key, or the free slot where it would go. */
static size_t
slot_of(const struct bf_map *m, const void *key, size_t len, uint32_t hash)
{
	size_t mask = m->cap - 1, i = hash & mask;
	const struct bf_map_ent *e;

	for (;; i = (i + 1) & mask) {
		e = &m->ent[i];
		if (e->key == NULL || (e->hash == hash && e->len == len &&
		    memcmp(e->key, key, len) == 0))
			return i;
	}
}

static int
resize(struct bf_map *m, size_t cap)
{
	struct bf_map_ent *ne, *e;
	size_t i, j, mask = cap - 1;

	if ((ne = calloc(cap, sizeof(*ne))) == NULL)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		e = &m->ent[i];
		if (e->key == NULL)
			continue;
		for (j = e->hash & mask; ne[j].key != NULL; j = (j + 1) & mask)
			;
		ne[j] = *e;
	}
	free(m->ent);
	m->ent = ne;
	m->cap = cap;
	return 0;
}

int
bf_map_reserve(struct bf_map *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 16;

	if (n > SIZE_MAX / 4 / sizeof(*m->ent))
		return -ENOMEM;
	while (cap < 2 * n)
		cap *= 2;
	return cap == m->cap ? 0 : resize(m, cap);
}

/* A copy of the key (NUL-terminated too) in the map's blocks. */
static const char *
copy_key(struct bf_map *m, const void *key, size_t len)
{
	struct bf_map_blk *b = m->blk;
	char *p;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > BLK_SIZE ? len + 1 : BLK_SIZE;

		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		/* A block for one big key goes behind the current one. */
		if (size > BLK_SIZE && m->blk != NULL) {
			b->next = m->blk->next;
			m->blk->next = b;
		} else {
			b->next = m->blk;
			m->blk = b;
		}
	}
	p = b->data + b->used;
	b->used += len + 1;
	memcpy(p, key, len);
	p[len] = '\0';
	return p;
}

int
bf_map_get_h(const struct bf_map *m, const void *key, size_t len,
    uint32_t hash, size_t *val)
{
	size_t i;

	if (m->n == 0 || len > UINT32_MAX)
		return 0;
	i = slot_of(m, key, len, hash);
	if (m->ent[i].key == NULL)
		return 0;
	if (val != NULL)
		*val = m->ent[i].val;
	return 1;
}

int
bf_map_set_h(struct bf_map *m, const void *key, size_t len, uint32_t hash,
    size_t val, int replace)
{
	struct bf_map_ent *e;
	const char *k;
	size_t i;
	int rc;

	if (len > UINT32_MAX)
		return -ENOMEM;
	if (2 * (m->n + 1) > m->cap &&
	    (rc = bf_map_reserve(m, m->cap ? m->cap : 8)) < 0)
		return rc;
	i = slot_of(m, key, len, hash);
	e = &m->ent[i];
	if (e->key != NULL) {
		if (replace)
			e->val = val;
		return 0;
	}
	if (m->borrow)
		k = key;
	else if ((k = copy_key(m, key, len)) == NULL)
		return -ENOMEM;
	/* Never a NULL key: that marks a free slot (a borrowed "" of NULL). */
	e->key = k != NULL ? k : "";
	e->len = (uint32_t)len;
	e->hash = hash;
	e->val = val;
	m->n++;
	return 1;
}

void
bf_map_release(struct bf_map *m)
{
	struct bf_map_blk *b, *next;

	for (b = m->blk; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(m->ent);
	m->ent = NULL;
	m->blk = NULL;
	m->cap = m->n = 0;
}
