/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "base/banned.h"

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static size_t
slot_of(const struct bf_strmap *m, const char *key)
{
	size_t i = (size_t)(hash(key) & (m->cap - 1));

	while (m->key[i] != NULL && strcmp(m->key[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int
grow(struct bf_strmap *m)
{
	struct bf_strmap nm = { NULL, NULL, m->cap ? m->cap * 2 : 64, 0 };
	size_t i, j;

	if ((nm.key = calloc(nm.cap, sizeof(*nm.key))) == NULL ||
	    (nm.val = calloc(nm.cap, sizeof(*nm.val))) == NULL) {
		free(nm.key);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		if (m->key[i] == NULL)
			continue;
		j = slot_of(&nm, m->key[i]);
		nm.key[j] = m->key[i];
		nm.val[j] = m->val[i];
		nm.n++;
	}
	free(m->key);
	free(m->val);
	*m = nm;
	return 0;
}

int
bf_strmap_put(struct bf_strmap *m, const char *key, size_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	i = slot_of(m, key);
	if (m->key[i] == NULL) {
		if ((m->key[i] = strdup(key)) == NULL)
			return -ENOMEM;
		m->n++;
	}
	m->val[i] = val;
	return 0;
}

int
bf_strmap_get(const struct bf_strmap *m, const char *key, size_t *val)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	i = slot_of(m, key);
	if (m->key[i] == NULL)
		return 0;
	*val = m->val[i];
	return 1;
}

void
bf_strmap_release(struct bf_strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->val);
	m->key = NULL;
	m->val = NULL;
	m->cap = m->n = 0;
}
