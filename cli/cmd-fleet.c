/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm fleet: what every node of the inventory runs, as the binhost
 * saw it fetch (fleet/nodes.state), and where it stands in its
 * channel's release.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/channel.h"
#include "store/fleet.h"
#include "store/nodes.h"
#include "store/release.h"
#include "store/repo.h"
#include "json.h"
#include "release.h"
#include "base/banned.h"

static const char fleet_usage[] = "[-R DIR] [--channel C] [--json]";

static const char fleet_help[] =
    "Prints every node of the inventory (nodes.conf) with its profile and\n"
    "channel, the snapshot it last fetched the index of on its node URL\n"
    "and when, the package files it downloaded since, and, while its\n"
    "channel has a release running, its wave and whether that wave is\n"
    "done, open or waiting.  The binhost writes what nodes fetch to\n"
    "fleet/nodes.state beneath the repository within a second.\n"
    "\n"
    "  -R DIR         the repository (default: $BINFARM_REPO)\n"
    "  -c, --channel C  only the nodes of channel C\n"
    "      --json     {\"nodes\": [{\"name\", \"site\", \"farm\", \"member\",\n"
    "                 \"profile\", \"channel\", \"snapshot\", \"fetched\",\n"
    "                 \"files\", \"bytes\", \"channel_snapshot\", \"release\",\n"
    "                 \"wave\", \"wave_state\", \"done\"}]}\n"
    "\n"
    "Exit status: 0, or 2 for an error.\n";

/* The channels' releases, loaded once. */
struct rels {
	struct bf_release *v;
	size_t		 n, alloc;
};

static const struct bf_release *
rel_of(struct bf_repo *r, struct rels *rs, const char *channel)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_release *rel;
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].channel, channel) == 0)
			return bf_release_active(&rs->v[i]) ? &rs->v[i] : NULL;
	if (bf_grow(&rs->v, &rs->alloc, rs->n + 1, sizeof(*rs->v), 4) < 0)
		return NULL;
	rel = &rs->v[rs->n++];
	bf_release_init(rel);
	if (bf_release_load(r->root_fd, channel, rel, &e) < 0) {
		bf_release_free(rel);
		snprintf(rel->channel, sizeof(rel->channel), "%s", channel);
	}
	return bf_release_active(rel) ? rel : NULL;
}

/* Where a node stands in its channel's release. */
struct standing {
	unsigned long long release;	/* 0: none running */
	long		 wave;		/* 1-based; 0 none */
	const char	*state;
	int		 done;
};

static void
standing(const struct bf_release *rel, const struct bf_node *nd,
    const struct bf_fetches *f, struct standing *st)
{
	long w;

	memset(st, 0, sizeof(*st));
	st->state = "-";
	if (rel == NULL || (w = bf_release_wave_of(rel, nd->name)) < 0)
		return;
	st->release = rel->id;
	st->wave = w + 1;
	st->state = release_wave_state(rel, (size_t)w,
	    bf_release_open_waves(rel, f), f);
	st->done = bf_release_node_done(rel, nd->name, nd->profile, f);
}

static json_t *
node_json(const struct bf_node *nd, const struct bf_fetch *rec,
    const char *chan, const struct standing *st)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:I, s:I, s:o, "
	    "s:I, s:I, s:o, s:b}", "name", nd->name, "site", nd->site,
	    "farm", nd->farm, "member", (json_int_t)nd->member, "profile",
	    nd->profile, "channel", nd->channel, "snapshot",
	    cli_json_str_or_null(rec != NULL ? rec->snapshot : NULL), "files",
	    (json_int_t)(rec != NULL ? rec->files : 0), "bytes",
	    (json_int_t)(rec != NULL ? rec->bytes : 0), "channel_snapshot",
	    cli_json_str_or_null(chan), "release", (json_int_t)st->release,
	    "wave", (json_int_t)st->wave, "wave_state",
	    cli_json_str_or_null(st->release ? st->state : NULL), "done",
	    st->done);
	if (o != NULL && cli_json_set_time(o, "fetched", rec != NULL ?
	    rec->fetched : 0) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static void
node_text(const struct bf_node *nd, const struct bf_fetch *rec,
    const char *chan, const struct standing *st)
{
	char tb[64], wave[64];

	if (st->release > 0)
		snprintf(wave, sizeof(wave), "%llu/%ld %s%s", st->release,
		    st->wave, st->state, st->done ? ", fetched" : "");
	else
		snprintf(wave, sizeof(wave), "%s", rec != NULL &&
		    rec->snapshot[0] && strcmp(rec->snapshot, chan) == 0 ?
		    "current" : "-");
	printf("%-16s %-16s %-10s %-22s %-21s %6llu  %s\n", nd->name,
	    nd->profile, nd->channel, rec != NULL && rec->snapshot[0] ?
	    rec->snapshot : "(never)", release_time(rec != NULL ?
	    rec->fetched : 0, tb, sizeof(tb)), rec != NULL ? rec->files : 0ULL,
	    wave);
}

static int
list(struct bf_cli *cli, struct bf_repo *r, const struct bf_nodes *ns,
    const struct bf_fetches *f, const char *channel, int json)
{
	struct rels rs = { NULL, 0, 0 };
	struct bf_err e = BF_ERR_INIT;
	struct standing st;
	const struct bf_node *nd;
	json_t *arr = json ? json_array() : NULL;
	char chan[32];
	size_t i;
	int rc = 0;

	if (!json)
		printf("%-16s %-16s %-10s %-22s %-21s %6s  %s\n", "NODE",
		    "PROFILE", "CHANNEL", "SNAPSHOT", "FETCHED", "FILES",
		    "RELEASE/WAVE");
	for (i = 0; i < ns->n; i++) {
		nd = &ns->v[i];
		if (channel != NULL && strcmp(nd->channel, channel) != 0)
			continue;
		if (bf_channel_get(r, nd->channel, nd->profile, chan, &e) < 0) {
			bf_err_clear(&e);
			chan[0] = '\0';
		}
		standing(rel_of(r, &rs, nd->channel), nd, f, &st);
		if (json)
			json_array_append_new(arr, node_json(nd,
			    bf_fetches_find(f, nd->name), chan, &st));
		else
			node_text(nd, bf_fetches_find(f, nd->name), chan, &st);
	}
	if (json)
		rc = cli_json_print(cli, json_pack("{s:o}", "nodes", arr));
	for (i = 0; i < rs.n; i++)
		bf_release_free(&rs.v[i]);
	free(rs.v);
	return rc;
}

int
cmd_fleet(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'R' },
		{ "channel", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	const char *dir = NULL, *channel = NULL;
	int c, json = 0, rc;

	while ((c = getopt_long(argc, argv, "R:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R': dir = optarg; break;
		case 'c': channel = optarg; break;
		case 'j': json = 1; break;
		case 'h': return cli_help(cli, fleet_usage, fleet_help);
		default: return cli_usage(cli, fleet_usage);
		}
	}
	if (optind != argc)
		return cli_usage(cli, fleet_usage);
	if ((r = repocli_open(cli, dir)) == NULL)
		return BF_EXIT_ERROR;
	if ((rc = bf_nodes_load(r, &ns, &e)) < 0 ||
	    (rc = bf_fetches_load(r->root_fd, &f, &e)) < 0)
		cli_error(cli, "%s", bf_err_msg(&e, rc));
	else {
		bf_nodes_sort(&ns);
		rc = list(cli, r, &ns, &f, channel, json);
	}
	bf_nodes_release(&ns);
	bf_fetches_release(&f);
	bf_repo_free(r);
	return rc < 0 ? BF_EXIT_ERROR : rc;
}
