/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every node fetched, as binfarm-binhost saw it (man/binfarm-fleet.5):
 * fleet/nodes.state beneath the repository, one line per node,
 * tab-separated, after a first line "# binfarm fleet state 1":
 *
 *	<node> <profile> <channel> <snapshot> <fetched> <since> <files> <bytes> <last-file>
 *
 *   snapshot   the id of the last index (Packages or Packages.gz, a
 *              200 or a 304) the node was answered with: the snapshot
 *              it has now;
 *   fetched    unix time of that answer;
 *   since      unix time it first got that snapshot;
 *   files      package files sent to it since then, and their bytes;
 *   last-file  unix time of the last (0: none).
 *
 * The binhost is the only writer and replaces the file whole
 * (temporary file, fsync, rename), so a reader needs no lock and never
 * sees half a file.  Every package file sent to a node is also appended
 * to fleet/downloads.log:
 *
 *	<unix time> <node> <profile>/<snapshot> <path> <bytes>
 */
#ifndef BF_FLEET_H
#define BF_FLEET_H

#include <stddef.h>

#include "base/map.h"

struct bf_buf;
struct bf_err;

#define BF_FLEET_DIR		"fleet"
#define BF_FLEET_STATE		"nodes.state"
#define BF_FLEET_DOWNLOADS	"downloads.log"
#define BF_FLEET_MAGIC		"# binfarm fleet state 1"

struct bf_fetch {
	char			 node[65];
	char			 profile[130];
	char			 channel[130];
	char			 snapshot[32];	/* "" until its first index */
	long long		 fetched;
	long long		 since;
	unsigned long long	 files;
	unsigned long long	 bytes;
	long long		 last_file;
};

struct bf_fetches {
	struct bf_fetch	*v;
	size_t		 n, alloc;
	struct bf_map	 by_node;	/* node name -> index in v */
};

#define BF_FETCHES_INIT { NULL, 0, 0, BF_MAP_INIT }

void	bf_fetches_release(struct bf_fetches *f);
/* Parses the state file's text (`file` names it in messages). */
int	bf_fetches_parse(struct bf_fetches *f, const char *file,
	    const char *text, size_t len, struct bf_err *e);
/* Reads <dirfd>/fleet/nodes.state; a missing file is no record. */
int	bf_fetches_load(int dirfd, struct bf_fetches *f, struct bf_err *e);
/* The record of `node`, or NULL. */
struct bf_fetch *bf_fetches_find(const struct bf_fetches *f, const char *node);
/* A new empty record for `node` (its other fields zero), or NULL. */
struct bf_fetch *bf_fetches_add(struct bf_fetches *f, const char *node);
/* Appends one record's line. */
void	bf_fetch_format(const struct bf_fetch *r, struct bf_buf *out);
/*
 * Replaces <dirfd>/fleet/nodes.state with `f` atomically (fleet/ is
 * made if missing).
 */
int	bf_fetches_save(int dirfd, const struct bf_fetches *f,
	    struct bf_err *e);

#endif
