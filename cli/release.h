/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CLI_RELEASE_H
#define BF_CLI_RELEASE_H

#include "json.h"
#include "repocli.h"

struct bf_fetches;
struct bf_nodes;
struct bf_release;

/*
 * What binfarm release (cmd-release.c) and binfarm fleet (cmd-fleet.c)
 * share (release-view.c): how far a release has gone, as text or JSON.
 */

/* "done", "open" or "waiting": wave w of rel given the records. */
const char *release_wave_state(const struct bf_release *rel, size_t w,
	    size_t open, const struct bf_fetches *f);
/* Prints rel's progress (text, or a JSON object with --json): an exit status. */
int	release_print(const struct bf_cli *cli, const struct bf_release *rel,
	    const struct bf_fetches *f, int json);
/* A release as --json shows it (NULL if out of memory). */
json_t	*release_json(const struct bf_release *rel, const struct bf_fetches *f);
/* "2026-12-07 12:00:00Z" of unix time t ("-" for 0). */
const char *release_time(long long t, char *buf, size_t n);

int	cmd_release(struct bf_cli *cli, int argc, char **argv);
int	cmd_fleet(struct bf_cli *cli, int argc, char **argv);

#endif
