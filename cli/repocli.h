/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_REPOCLI_H
#define BF_REPOCLI_H

#include "cli.h"

struct bf_repo;
struct bf_diff;

/*
 * Helpers shared by the repository commands (repo-add.c, repo-snapshot.c,
 * ...): which repository (-R DIR or BINFARM_REPO), who is acting, and
 * how diffs and warnings look.
 */

/* Opens `dir` (or $BINFARM_REPO); prints the error and returns NULL. */
struct bf_repo *repocli_open(const struct bf_cli *cli, const char *dir);
/* Takes the writer lock, printing any recovery it did. */
int	repocli_lock(const struct bf_cli *cli, struct bf_repo *r);
/* $SUDO_USER, $USER, or the uid: who made a snapshot or a move. */
const char *repocli_who(char *buf, size_t len);
/* The loud warning every publishing command prints for an unsigned repository. */
void	repocli_warn_unsigned(const struct bf_cli *cli, const struct bf_repo *r);
/* Prints a diff, one line per change, then a summary line. */
void	repocli_print_diff(const struct bf_diff *d, const char *indent);
/* Parses "90", "30s", "15m", "12h", "7d" into seconds; -1 if invalid. */
long long repocli_duration(const char *s);

/* Makes the repository's signing key (binfarm key init). */
int	repocli_key_init(const struct bf_cli *cli, struct bf_repo *r,
	    const char *home, const char *name, const char *algo);

int	cmd_repo(struct bf_cli *cli, int argc, char **argv);
int	cmd_key(struct bf_cli *cli, int argc, char **argv);
int	cmd_add(struct bf_cli *cli, int argc, char **argv);
int	cmd_remove(struct bf_cli *cli, int argc, char **argv);
int	cmd_snapshot(struct bf_cli *cli, int argc, char **argv);
int	cmd_promote(struct bf_cli *cli, int argc, char **argv);
int	cmd_rollback(struct bf_cli *cli, int argc, char **argv);
int	cmd_history(struct bf_cli *cli, int argc, char **argv);
int	cmd_waves(struct bf_cli *cli, int argc, char **argv);
int	cmd_gc(struct bf_cli *cli, int argc, char **argv);
int	cmd_fsck(struct bf_cli *cli, int argc, char **argv);
int	cmd_node(struct bf_cli *cli, int argc, char **argv);

#endif
