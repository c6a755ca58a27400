/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CLI_PROMOTE_H
#define BF_CLI_PROMOTE_H

#include <getopt.h>

#include "repocli.h"

struct bf_err;
struct bf_move_opts;
struct bf_move_result;

/*
 * What the channel commands share: promote, rollback (cmd-promote.c,
 * cmd-rollback.c), history and waves (cmd-history.c, cmd-waves.c).
 */

/*
 * The long options of promote and rollback (rollback refuses --from,
 * --next, --all-waves and --allow-downgrade as usage errors).
 */
extern const struct option promote_longopts[];
/*
 * Opens `dir` (or $BINFARM_REPO) for a move: mo->by is who moves (in
 * `who`), the unsigned warning printed, the writer lock taken.  NULL
 * after printing why not.
 */
struct bf_repo *promote_open(struct bf_cli *cli, const char *dir,
	    struct bf_move_opts *mo, char *who, size_t whosz);
/* Prints one move (its diff and outcome); the exit status it means. */
int	promote_report(struct bf_cli *cli, const char *action,
	    const char *channel, const char *profile,
	    const struct bf_move_opts *mo, const struct bf_move_result *res,
	    int rc, struct bf_err *e);
/*
 * The options of history and waves: -R DIR, --profile P, --channel C.
 * Returns -1 to go on, or the exit status (usage, help).
 */
int	promote_view_opts(struct bf_cli *cli, int argc, char **argv,
	    const char *usage, const char *help, const char **dir,
	    const char **profile, const char **channel);
/* The same, with --json (*json set to 1). */
int	promote_view_opts_json(struct bf_cli *cli, int argc, char **argv,
	    const char *usage, const char *help, const char **dir,
	    const char **profile, const char **channel, int *json);

#endif
