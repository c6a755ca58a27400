/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_MANIFEST_H
#define BF_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/digest.h"

struct bf_buf;
struct bf_err;

/*
 * The Manifest member of a gpkg (GLEP 74 DATA lines):
 *
 *	DATA <member basename> <size> BLAKE2B <hex> SHA512 <hex>
 *
 * one per member other than the Manifest itself, in container order.
 * Portage writes BLAKE2B and SHA512 in either order; readers look hashes
 * up by name.  A signed Manifest is an OpenPGP cleartext-signed message.
 */
struct bf_manifest_entry {
	char		*name;
	uint64_t	 size;
	char		*hex[BF_DIGEST_NALG];	/* NULL when absent */
	int		 nunknown;		/* hash names we cannot check */
};

struct bf_manifest {
	struct bf_manifest_entry	*v;
	size_t				 n;
	size_t				 alloc;
	int				 signed_msg;	/* PGP cleartext framing */
};

#define BF_MANIFEST_INIT { NULL, 0, 0, 0 }

/*
 * Parses a Manifest (plain or cleartext-signed; the signature itself is
 * not checked here).  Lines other than DATA, duplicate names and bad
 * sizes are errors, as in Portage's _load_manifest().
 */
int	bf_manifest_parse(struct bf_manifest *m, const char *text, size_t len,
	    struct bf_err *e);
const struct bf_manifest_entry *bf_manifest_find(const struct bf_manifest *m,
	    const char *name);
void	bf_manifest_release(struct bf_manifest *m);
/* Appends one DATA line from BLAKE2B and SHA512 in d->hex. */
void	bf_manifest_add_line(struct bf_buf *out, const char *name,
	    uint64_t size, const struct bf_digest *d);

#endif
