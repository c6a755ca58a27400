/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Releases (lib/store/release.c) and what nodes fetched
 * (lib/store/fleet.c): the files and their errors, waves cut by each
 * strategy, how far a release has gone given the records (pause,
 * advance), and the strategy a diff proposes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/fleet.h"
#include "store/nodes.h"
#include "store/release.h"
#include "store/repo.h"
#include "tap.h"

#define A "20260101T000000Z-0001"
#define B "20260102T000000Z-0001"
#define SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

#define NODE(name, site, farm, member, chan) \
	"[node " name "]\nsite = " site "\nfarm = " farm "\nmember = " member \
	"\nprofile = web\nchannel = " chan "\ntoken-sha256 = " SHA "\n"

/* Two sites; site x has farms 1 (3 members) and 2 (2); y has 1 (1). */
static const char inventory[] =
    NODE("x2-2", "x", "2", "2", "prod") NODE("x1-1", "x", "1", "1", "prod")
    NODE("x1-2", "x", "1", "2", "prod") NODE("x1-3", "x", "1", "3", "prod")
    NODE("x2-1", "x", "2", "1", "prod") NODE("y1-1", "y", "1", "1", "prod")
    NODE("b1", "z", "1", "1", "beta");

static void
load_inventory(struct bf_nodes *ns)
{
	struct bf_err e = BF_ERR_INIT;

	if (bf_nodes_parse(ns, "nodes.conf", inventory, strlen(inventory),
	    &e) < 0) {
		printf("# %s\n", e.msg);
		exit(1);
	}
}

/* "a b | c" of the waves' node names. */
static void
waves_str(const struct bf_release *rel, char *out, size_t n)
{
	size_t i, j, k = 0;

	out[0] = '\0';
	for (i = 0; i < rel->nwaves; i++)
		for (j = 0; j < rel->waves[i].n; j++)
			k += (size_t)snprintf(out + k, n - k, "%s%s",
			    j == 0 && i > 0 ? " | " : j > 0 ? " " : "",
			    rel->waves[i].v[j].name);
}

static void
cut(enum bf_strategy s, const char *want, const char *what)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	char got[512];

	load_inventory(&ns);
	bf_release_init(&rel);
	snprintf(rel.channel, sizeof(rel.channel), "prod");
	rel.strategy = s;
	bf_release_add_target(&rel, "web", A, B, &e);
	is_int(bf_release_cut_waves(&rel, &ns, &e), 0, what);
	waves_str(&rel, got, sizeof(got));
	is_str(got, want, what);
	bf_release_free(&rel);
	bf_nodes_release(&ns);
}

static void
test_cut(void)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;

	cut(BF_STRATEGY_BY_MEMBER, "x1-1 x2-1 y1-1 | x1-2 x2-2 | x1-3",
	    "by-member: member k of every farm");
	cut(BF_STRATEGY_BY_FARM, "x1-1 x1-2 x1-3 | x2-1 x2-2 | y1-1",
	    "by-farm: one farm after the other");
	cut(BF_STRATEGY_ALL, "x1-1 x1-2 x1-3 x2-1 x2-2 y1-1", "all: one wave");
	/* No node of the channel has the profile: refused. */
	load_inventory(&ns);
	bf_release_init(&rel);
	snprintf(rel.channel, sizeof(rel.channel), "prod");
	bf_release_add_target(&rel, "other", A, B, &e);
	is_int(bf_release_cut_waves(&rel, &ns, &e), -BF_ENOTFOUND,
	    "no node with a target: ENOTFOUND");
	ok(strstr(e.msg, "no node") != NULL, "and says so");
	bf_release_free(&rel);
	bf_nodes_release(&ns);
}

static const char relfile[] =
    "release 3\nchannel prod\nstrategy by-member\nstate running\n"
    "allow-downgrade no\nstarted 1700000000 alice\n"
    "target web " A " " B "\n"
    "wave 1 x1-1=web x2-1=web\nwave 2 x1-2=web\nwave 3 x1-3=web\n";

static void
fetched(struct bf_fetches *f, const char *node, const char *id)
{
	struct bf_fetch *r = bf_fetches_find(f, node);

	if (r == NULL)
		r = bf_fetches_add(f, node);
	snprintf(r->profile, sizeof(r->profile), "web");
	snprintf(r->channel, sizeof(r->channel), "prod");
	snprintf(r->snapshot, sizeof(r->snapshot), "%s", id);
}

static void
test_progress(void)
{
	struct bf_release rel;
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf b = BF_BUF_INIT;

	bf_release_init(&rel);
	is_int(bf_release_parse(&rel, "r", relfile, strlen(relfile), &e), 0,
	    "a release file parses");
	bf_release_format(&rel, &b);
	is_str(b.buf, relfile, "and formats back the same");
	is_int(bf_release_open_waves(&rel, &f), 1, "the first wave is open");
	fetched(&f, "x1-1", B);
	fetched(&f, "x2-1", A);
	is_int(bf_release_open_waves(&rel, &f), 1, "one node on the old one");
	fetched(&f, "x2-1", B);
	is_int(bf_release_open_waves(&rel, &f), 2, "wave 1 done: 2 open");
	ok(!bf_release_complete(&rel, &f), "not complete");
	rel.state = BF_RELEASE_PAUSED;
	rel.paused_open = 2;
	fetched(&f, "x1-2", B);
	is_int(bf_release_open_waves(&rel, &f), 2, "paused: no third wave");
	rel.state = BF_RELEASE_RUNNING;
	is_int(bf_release_open_waves(&rel, &f), 3, "resumed: the third");
	rel.waves[2].advanced = 1700000100;
	snprintf(rel.waves[2].advanced_by, sizeof(rel.waves[2].advanced_by),
	    "Grace Hopper");
	ok(bf_release_complete(&rel, &f), "advanced by hand: complete");
	is_int(bf_release_wave_of(&rel, "x1-3"), 2, "wave of x1-3");
	is_int(bf_release_wave_of(&rel, "b1"), -1, "b1 is in none");
	bf_buf_reset(&b);
	bf_release_format(&rel, &b);
	ok(strstr(b.buf, "advanced 3 1700000100 Grace Hopper\n") != NULL,
	    "advanced is written");
	{
		struct bf_release back;

		bf_release_init(&back);
		is_int(bf_release_parse(&back, "r", b.buf, b.len, &e), 0,
		    "and read back");
		is_str(back.waves[2].advanced_by, "Grace Hopper",
		    "a name with a space survives");
		bf_release_free(&back);
	}
	rel.state = BF_RELEASE_DONE;
	is_int(bf_release_open_waves(&rel, &f), 0, "done: none open");
	bf_buf_release(&b);
	bf_release_free(&rel);
	bf_fetches_release(&f);
}

static void
bad(const char *text, const char *want, const char *what)
{
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	bf_release_init(&rel);
	rc = bf_release_parse(&rel, "r", text, strlen(text), &e);
	if (!ok(rc == -BF_ECONFIG && strstr(e.msg, want) != NULL, what))
		printf("#   rc %d '%s', want '%s'\n", rc, e.msg, want);
	bf_release_free(&rel);
}

static void
test_bad(void)
{
	bad("release 1\nchannel prod\nstrategy sideways\nstate running\n",
	    "r:3: an unknown strategy", "an unknown strategy");
	bad("release 1\nchannel prod\nstrategy all\n", "missing",
	    "state missing");
	bad("release 1\nchannel prod\nstrategy all\nstate running\n"
	    "wave 2 a=web\n", "numbered 1, 2", "waves out of order");
	bad("release 1\nchannel prod\nstrategy all\nstate running\n"
	    "wave 1 a\n", "<name>=<profile>", "a node without its profile");
	bad("release 1\nchannel ../x\nstrategy all\nstate running\n",
	    "a bad channel", "a bad channel name");
	bad("release 1\nchannel prod\nstrategy all\nstate running\n"
	    "target web nope " B "\n", "a bad target", "a bad snapshot id");
	bad("release 1\nchannel prod\nstrategy all\nstate running\n"
	    "frobnicate\n", "r:5: an unknown", "an unknown line");
	bad("release 1\nchannel prod\nstrategy all\nstate running\n"
	    "advanced 1 5 bob\n", "names a wave", "advanced before its wave");
}

static void
test_fetches(void)
{
	static const char good[] = BF_FLEET_MAGIC "\n"
	    "n1\tweb\tprod\t" A "\t10\t5\t2\t300\t9\nn2\tweb\tprod\t-\t0\t0\t0\t0\t0\n";
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf b = BF_BUF_INIT;
	size_t i;

	is_int(bf_fetches_parse(&f, "s", good, strlen(good), &e), 0,
	    "records parse");
	is_int(f.n, 2, "two records");
	ok(bf_fetches_find(&f, "n1") != NULL &&
	    bf_fetches_find(&f, "n1")->bytes == 300, "n1 found, its bytes");
	ok(bf_fetches_find(&f, "n2")->snapshot[0] == '\0', "'-': none yet");
	bf_buf_adds(&b, BF_FLEET_MAGIC "\n");
	for (i = 0; i < f.n; i++)
		bf_fetch_format(&f.v[i], &b);
	is_str(b.buf, good, "format gives the text back");
	bf_fetches_release(&f);
	is_int(bf_fetches_parse(&f, "s", "n1\tweb\n", 7, &e), -BF_ECONFIG,
	    "too few fields: refused");
	bf_fetches_release(&f);
	bf_err_clear(&e);
	is_int(bf_fetches_parse(&f, "s", "n1\tweb\tprod\t-\t0\t0\t0\t0\t0\n"
	    "n1\tweb\tprod\t-\t0\t0\t0\t0\t0\n", 52, &e), -BF_ECONFIG,
	    "a node twice: refused");
	ok(strstr(e.msg, "s:2: node 'n1' twice") != NULL, "with its line");
	bf_fetches_release(&f);
	bf_buf_release(&b);
}

static void
propose(const char *key, enum bf_change kind, enum bf_strategy want,
    const char *why, const char *what)
{
	struct bf_diff_item it = { kind, (char *)key, NULL, NULL, 0, 0 };
	struct bf_diff d = { &it, 1, { 0, 0, 0, 0, 0 } };
	struct bf_buf w = BF_BUF_INIT;

	is_int(bf_release_propose(&d, BF_RELEASE_DISRUPTIVE_DEFAULT,
	    "www-apps/shop dev-php/shop-*", &w), want, what);
	if (!ok(strstr(w.buf, why) != NULL, what))
		printf("#   why '%s'\n", w.buf);
	bf_buf_release(&w);
}

static void
test_propose(void)
{
	struct bf_diff none = BF_DIFF_INIT;
	struct bf_buf w = BF_BUF_INIT;

	propose("sys-kernel/gentoo-kernel:6.6", BF_CHG_UPGRADED,
	    BF_STRATEGY_BY_MEMBER, "on the disruptive list (sys-kernel/*)",
	    "a kernel: by-member");
	propose("sys-libs/glibc:2.2", BF_CHG_REBUILT, BF_STRATEGY_BY_MEMBER,
	    "glibc rebuilt", "glibc rebuilt: by-member");
	propose("dev-php/shop-core:0", BF_CHG_ADDED, BF_STRATEGY_BY_FARM,
	    "on the application list (dev-php/shop-*)", "the app: by-farm");
	propose("sys-apps/man-db:0", BF_CHG_UPGRADED, BF_STRATEGY_ALL,
	    "no change is on", "man-db: all");
	is_int(bf_release_propose(&none, "", "", &w), BF_STRATEGY_ALL,
	    "no change: all");
	bf_buf_release(&w);
}

int
main(void)
{
	test_cut();
	test_progress();
	test_bad();
	test_fetches();
	test_propose();
	return tap_done();
}
