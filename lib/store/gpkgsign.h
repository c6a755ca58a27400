/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_GPKGSIGN_H
#define BF_GPKGSIGN_H

#include <stdint.h>
#include <sys/types.h>

struct bf_err;
struct bf_meta;
struct bf_signer;
struct bf_verifier;

/*
 * Re-assembling and signing gpkg containers, and checking their
 * signatures (shared/formats.md sections 1.4-1.6).
 */

/* Where one member of the outer tar lies. */
struct bf_gpkg_loc {
	char		 name[256];	/* basename, e.g. "image.tar.zst" */
	off_t		 off;		/* data offset in the file */
	uint64_t	 size;
};

/*
 * Lists the members of a container (which bf_gpkg_verify() has
 * accepted) with their data offsets: ustar and GNU headers, GNU long
 * names and pax path records.  *v is malloc'd; *basename (may be NULL)
 * receives the directory, malloc'd.
 */
int	bf_gpkg_locate(int fd, struct bf_gpkg_loc **v, size_t *n,
	    char **basename, struct bf_err *e);

struct bf_gpkg_rewrite_opts {
	long long		 build_id;	/* < 1: keep the package's */
	long long		 mtime;		/* container member mtime */
	struct bf_signer	*signer;	/* NULL: write it unsigned */
};

/*
 * Writes a new container for the verified package `in_fd`, whose
 * metadata is `meta`, to `out_fd` (a regular file open for reading and
 * writing, at offset 0), in Portage's order:
 *
 *	<PF>-<BUILD_ID>/gpkg-1
 *	<PF>-<BUILD_ID>/metadata.tar.zst
 *	<PF>-<BUILD_ID>/metadata.tar.zst.sig	(when signing)
 *	<PF>-<BUILD_ID>/image.tar.<comp>
 *	<PF>-<BUILD_ID>/image.tar.<comp>.sig	(when signing)
 *	<PF>-<BUILD_ID>/Manifest		(clearsigned when signing)
 *
 * The image member is copied byte for byte.  The metadata member is
 * copied too unless BUILD_ID must change, in which case only it is
 * rebuilt (with `meta` and the new BUILD_ID).  Old signatures are
 * dropped.  Returns the new file size in *size.
 */
int	bf_gpkg_rewrite(int in_fd, const char *path, struct bf_meta *meta,
	    const struct bf_gpkg_rewrite_opts *opts, int out_fd,
	    uint64_t *size, struct bf_err *e);

/*
 * Checks a package's OpenPGP signatures as Portage does with signature
 * verification on: the Manifest must be a cleartext-signed message with
 * nothing outside it, made with a trusted key, and every member but
 * gpkg-1, the Manifest and the signatures must have an X.sig detached
 * signature that verifies.  Unsigned packages fail.  Digests are
 * bf_gpkg_verify()'s job; run both.
 */
int	bf_gpkg_check_signatures(int fd, const char *path,
	    struct bf_verifier *v, struct bf_err *e);

#endif
