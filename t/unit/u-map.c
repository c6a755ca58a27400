/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "tap.h"

/*
 * The mean distance of the keys from their home slots, in hundredths:
 * at most about 50 (at half load) for a hash that spreads keys well.
 */
static long
spread(const struct bf_map *m)
{
	size_t i, d = 0;

	for (i = 0; i < m->cap; i++)
		if (m->ent[i].key != NULL)
			d += (i - (m->ent[i].hash & (m->cap - 1))) & (m->cap - 1);
	return m->n ? (long)(d * 100 / m->n) : 0;
}

static void
test_strings(void)
{
	struct bf_map m = BF_MAP_INIT;
	char key[32];
	size_t v = 0, i;
	int bad = 0;

	ok(!bf_map_get(&m, "x", &v), "an empty map has nothing");
	is_int(bf_map_put(&m, "app-misc/foo:0", 7), 1, "put of a new key: 1");
	ok(bf_map_get(&m, "app-misc/foo:0", &v) && v == 7, "get finds it");
	is_int(bf_map_put(&m, "app-misc/foo:0", 8), 0, "put again replaces: 0");
	ok(bf_map_get(&m, "app-misc/foo:0", &v) && v == 8, "the new value");
	is_int(bf_map_add(&m, "app-misc/foo:0", 9), 0, "add of a present key: 0");
	ok(bf_map_get(&m, "app-misc/foo:0", &v) && v == 8,
	    "add leaves the first value");
	ok(!bf_map_get(&m, "app-misc/foo", NULL), "a prefix is another key");
	is_int(bf_map_add(&m, "", 3), 1, "the empty key is a key");
	ok(bf_map_get(&m, "", &v) && v == 3, "and is found");

	/* Many keys: the table grows, and every key is still there. */
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "cat-%zu/pkg%zu", i % 100, i);
		if (bf_map_add(&m, key, i) != 1)
			bad++;
	}
	is_int(bad, 0, "20000 keys added");
	is_int(m.n, 20002, "count");
	ok(m.cap >= 2 * m.n && (m.cap & (m.cap - 1)) == 0,
	    "at most half full, a power of two");
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "cat-%zu/pkg%zu", i % 100, i);
		if (!bf_map_get(&m, key, &v) || v != i)
			bad++;
	}
	is_int(bad, 0, "each found with its value");
	ok(spread(&m) < 200, "similar keys spread over the table");
	snprintf(key, sizeof(key), "cat-0/pkg%d", 20000);
	ok(!bf_map_get(&m, key, NULL), "an absent key is not found");
	bf_map_release(&m);
	is_int(m.n, 0, "release empties");
	ok(!bf_map_get(&m, "", NULL), "released map finds nothing");
	is_int(bf_map_put(&m, "again", 1), 1, "a released map is usable");
	bf_map_release(&m);
}

static void
test_bytes(void)
{
	struct bf_map m = BF_MAP_INIT;
	const char text[] = "usr/lib\nusr/lib64\nusr";
	char *big;
	size_t v = 0;

	/* Slices of a larger buffer, not NUL-terminated. */
	is_int(bf_map_add_n(&m, text, 7, 1), 1, "slice usr/lib");
	is_int(bf_map_add_n(&m, text + 8, 9, 2), 1, "slice usr/lib64");
	is_int(bf_map_add_n(&m, text + 18, 3, 3), 1, "slice usr");
	ok(bf_map_get(&m, "usr/lib", &v) && v == 1, "found as a string");
	ok(bf_map_get_n(&m, "usr/lib64/x", 9, &v) && v == 2,
	    "found by a longer buffer's prefix");
	ok(!bf_map_get_n(&m, "usr/lib", 6, NULL), "a shorter slice is not");
	/* Bytes with NULs in them, as an id's. */
	is_int(bf_map_add_n(&m, "a\0b", 3, 4), 1, "a key with a NUL");
	ok(!bf_map_get(&m, "a", NULL), "differs from the key up to it");
	ok(bf_map_get_n(&m, "a\0b", 3, &v) && v == 4, "found by its bytes");
	/* A key larger than a block of copies. */
	if ((big = malloc(100000)) == NULL)
		return;
	memset(big, 'x', 100000);
	is_int(bf_map_add_n(&m, big, 100000, 5), 1, "a 100 kB key");
	is_int(bf_map_add_n(&m, "after", 5, 6), 1, "then a small one");
	memset(big, 'y', 100000);
	ok(!bf_map_get_n(&m, big, 100000, NULL), "the key was copied");
	memset(big, 'x', 100000);
	ok(bf_map_get_n(&m, big, 100000, &v) && v == 5, "the big key found");
	ok(bf_map_get(&m, "after", &v) && v == 6, "the small one too");
	free(big);
	bf_map_release(&m);
}

static void
test_borrow_ids(void)
{
	struct bf_map m = BF_MAP_INIT_BORROW, ids = BF_MAP_INIT;
	char k1[] = "abc";
	long long id;
	size_t v = 0;
	int bad = 0, i;

	is_int(bf_map_add(&m, k1, 1), 1, "borrowed key added");
	ok(bf_map_get(&m, "abc", NULL), "found");
	for (i = 0; i < (int)m.cap; i++)
		if (m.ent[i].key == k1 && m.ent[i].val == 1)
			v = 1;
	is_int(v, 1, "a borrowed key is the caller's pointer, not a copy");
	bf_map_release(&m);
	ok(m.borrow, "release keeps the kind");

	/* A set of numbers, as the scheduler's visited rows. */
	for (i = 0; i < 5000; i++) {
		id = (long long)i * 4096;
		if (bf_map_add_n(&ids, &id, sizeof(id), 0) != 1)
			bad++;
	}
	for (i = 0; i < 5000; i += 7) {
		id = (long long)i * 4096;
		if (bf_map_add_n(&ids, &id, sizeof(id), 0) != 0)
			bad++;
	}
	id = 4095;
	ok(!bf_map_get_n(&ids, &id, sizeof(id), NULL), "absent id");
	ok(spread(&ids) < 200, "ids with their low bits clear spread too");
	is_int(bad, 0, "ids: added once, then present");
	bf_map_release(&ids);
}

static void
test_own_hash(void)
{
	struct bf_map m = BF_MAP_INIT;
	char key[16];
	size_t v = 0, i;
	int bad = 0;

	/* Every key on one hash: all collide, each is still told apart. */
	ok(bf_map_reserve(&m, 300) == 0 && m.cap >= 600, "reserve");
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		if (bf_map_set_h(&m, key, strlen(key), 42, i, 0) != 1)
			bad++;
	}
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		if (!bf_map_get_h(&m, key, strlen(key), 42, &v) || v != i)
			bad++;
	}
	is_int(bad, 0, "300 keys on one hash");
	ok(!bf_map_get_h(&m, "k300", 4, 42, NULL), "an absent one");
	is_int(bf_map_set_h(&m, "k7", 2, 42, 70, 1), 0, "replace");
	ok(bf_map_get_h(&m, "k7", 2, 42, &v) && v == 70, "replaced");
	bf_map_release(&m);
}

int
main(void)
{
	test_strings();
	test_bytes();
	test_borrow_ids();
	test_own_hash();
	return tap_done();
}
