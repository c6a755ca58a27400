/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_TREESNAP_H
#define BF_TREESNAP_H

struct bf_err;
struct bf_repo;
struct bf_signer;

/*
 * The pinned ebuild trees of a snapshot, served the way Gentoo serves
 * its own tree to emerge-webrsync (man/binfarm-repository.5):
 *
 *	snapshots/<profile>/<id>/trees/
 *		TREES			"NAME COMMIT FILE" per repository
 *		<name>.tar.xz		the repository at COMMIT, under a
 *					top directory <name>-<commit>/
 *		<name>.tar.xz.md5sum	"<md5>  <name>.tar.xz"
 *		<name>.tar.xz.gpgsig	ASCII-armoured detached signature
 *
 * The repositories and commits are the snapshot's REPO_REVISIONS (its
 * Packages header), else its tree-commit as repository "gentoo".  Each
 * is read from the bare mirror <mirrors>/<name>.git with libgit2 (no
 * checkout, no git program); each tarball holds every file of the
 * commit (modes from git, owner root, mtime the commit time) and, when
 * the tree has none, metadata/timestamp.x (the commit time) as Gentoo's
 * snapshots do.  The directory is built in tmp/ and renamed into the
 * snapshot at once; a snapshot that has its trees keeps them
 * (-BF_ECONFLICT).  `signer` NULL (an unsigned repository): no .gpgsig.
 * The lock must be held.  The names written are appended to `names`
 * (space separated) when it is not NULL.
 */
struct bf_buf;
int	bf_treesnap_create(struct bf_repo *r, const char *profile,
	    const char *id, const char *mirrors, struct bf_signer *signer,
	    struct bf_buf *names, struct bf_err *e);

#define BF_TREESNAP_DIR		"trees"
#define BF_TREESNAP_INDEX	"TREES"

#endif
