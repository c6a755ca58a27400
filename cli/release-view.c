/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How far a release has gone, as `binfarm release status` and
 * `binfarm fleet` print it: per wave done, open or waiting, and the
 * nodes an open wave still waits for.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/fleet.h"
#include "store/release.h"
#include "json.h"
#include "release.h"
#include "base/banned.h"

const char *
release_time(long long t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

const char *
release_wave_state(const struct bf_release *rel, size_t w, size_t open,
    const struct bf_fetches *f)
{
	if (bf_release_wave_done(rel, w, f))
		return "done";
	return w < open ? "open" : "waiting";
}

static void
print_text(const struct bf_release *rel, const struct bf_fetches *f)
{
	const struct bf_wave *w;
	size_t open = bf_release_open_waves(rel, f), i, j, done;
	char tb[64];
	const char *st;

	printf("release %llu of %s: %s, %s%s, started %s by %s\n", rel->id,
	    rel->channel, bf_release_state_name(rel->state),
	    bf_strategy_name(rel->strategy),
	    rel->allow_downgrade ? ", downgrades allowed" : "",
	    release_time(rel->started, tb, sizeof(tb)), rel->started_by);
	if (rel->ended > 0)
		printf("ended %s by %s\n", release_time(rel->ended, tb,
		    sizeof(tb)), rel->ended_by);
	for (i = 0; i < rel->ntargets; i++)
		printf("  %s: %s -> %s\n", rel->targets[i].profile,
		    rel->targets[i].from[0] ? rel->targets[i].from : "(none)",
		    rel->targets[i].to);
	for (i = 0; i < rel->nwaves; i++) {
		w = &rel->waves[i];
		for (j = done = 0; j < w->n; j++)
			done += bf_release_node_done(rel, w->v[j].name,
			    w->v[j].profile, f);
		st = bf_release_active(rel) ?
		    release_wave_state(rel, i, open, f) : "-";
		printf("  wave %zu/%zu  %-7s  %zu/%zu node(s) fetched", i + 1,
		    rel->nwaves, st, done, w->n);
		if (w->advanced > 0)
			printf(" (advanced by %s)", w->advanced_by);
		if (strcmp(st, "open") == 0 && done < w->n) {
			printf("; waiting for:");
			for (j = 0; j < w->n; j++)
				if (!bf_release_node_done(rel, w->v[j].name,
				    w->v[j].profile, f))
					printf(" %s", w->v[j].name);
		}
		putchar('\n');
	}
	if (bf_release_complete(rel, f))
		printf("every wave is done: 'binfarm release finish --channel "
		    "%s' moves the channel\n", rel->channel);
}

static json_t *
wave_node_json(const struct bf_release *rel, const struct bf_wave_node *wn,
    const struct bf_fetches *f)
{
	const struct bf_fetch *r = bf_fetches_find(f, wn->name);
	json_t *o;

	o = json_pack("{s:s, s:s, s:o, s:b}", "name", wn->name, "profile",
	    wn->profile, "snapshot", cli_json_str_or_null(r != NULL ?
	    r->snapshot : NULL), "done", bf_release_node_done(rel, wn->name,
	    wn->profile, f));
	if (o != NULL && cli_json_set_time(o, "fetched", r != NULL ?
	    r->fetched : 0) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static json_t *
wave_json(const struct bf_release *rel, size_t i, size_t open,
    const struct bf_fetches *f)
{
	const struct bf_wave *w = &rel->waves[i];
	json_t *nodes = json_array(), *o;
	size_t j;

	for (j = 0; j < w->n && nodes != NULL; j++)
		json_array_append_new(nodes, wave_node_json(rel, &w->v[j], f));
	o = json_pack("{s:I, s:s, s:o, s:o}", "wave", (json_int_t)i + 1,
	    "state", bf_release_active(rel) ? release_wave_state(rel, i, open,
	    f) : bf_release_state_name(rel->state), "advanced_by",
	    cli_json_str_or_null(w->advanced > 0 ? w->advanced_by : NULL),
	    "nodes", nodes);
	if (o != NULL && cli_json_set_time(o, "advanced", w->advanced) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

json_t *
release_json(const struct bf_release *rel, const struct bf_fetches *f)
{
	size_t open = bf_release_open_waves(rel, f), i;
	json_t *targets = json_array(), *waves = json_array();

	json_t *o;

	for (i = 0; i < rel->ntargets; i++)
		json_array_append_new(targets, json_pack("{s:s, s:o, s:s}",
		    "profile", rel->targets[i].profile, "from",
		    cli_json_str_or_null(rel->targets[i].from), "to",
		    rel->targets[i].to));
	for (i = 0; i < rel->nwaves; i++)
		json_array_append_new(waves, wave_json(rel, i, open, f));
	o = json_pack("{s:I, s:s, s:s, s:s, s:b, s:o, s:o, s:I, s:b, s:o, "
	    "s:o}", "release", (json_int_t)rel->id, "channel", rel->channel,
	    "state", bf_release_state_name(rel->state), "strategy",
	    bf_strategy_name(rel->strategy), "allow_downgrade",
	    rel->allow_downgrade, "started_by",
	    cli_json_str_or_null(rel->started_by), "ended_by",
	    cli_json_str_or_null(rel->ended > 0 ? rel->ended_by : NULL),
	    "open_waves", (json_int_t)open, "complete",
	    bf_release_complete(rel, f), "targets", targets, "waves", waves);
	if (o != NULL && (cli_json_set_time(o, "started", rel->started) < 0 ||
	    cli_json_set_time(o, "ended", rel->ended) < 0)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

int
release_print(const struct bf_cli *cli, const struct bf_release *rel,
    const struct bf_fetches *f, int json)
{
	if (!json) {
		print_text(rel, f);
		return BF_EXIT_OK;
	}
	return cli_json_print(cli, release_json(rel, f));
}
