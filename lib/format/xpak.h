/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_XPAK_H
#define BF_XPAK_H

#include "format/meta.h"

struct bf_err;

/*
 * The legacy binary package format, .tbz2 and .xpak (Portage's
 * lib/portage/xpak.py): a compressed tar of the image followed by
 *
 *	"XPAKPACK" II DD index data "XPAKSTOP" OOOO "STOP"
 *
 * with 4-byte big-endian integers: II the index length, DD the data
 * length, OOOO the length from XPAKPACK to XPAKSTOP inclusive.  An
 * index entry is namelen(4) name dataoffset(4) datalen(4).
 */

/* Does the file end in an XPAK trailer ("XPAKSTOP????STOP")? */
int	bf_xpak_probe(int fd);

/*
 * Reads every metadata entry of the XPAK blob of `fd` into `meta`
 * (caller-initialised; a later duplicate name wins, as in Portage).
 * Truncated or inconsistent blobs and lengths pointing outside the blob
 * fail with -BF_EFORMAT and a message saying what is wrong (without the
 * file name, which the caller adds).  Entries whose name holds a NUL
 * byte are skipped: no key can match them.
 */
int	bf_xpak_read(int fd, struct bf_meta *meta, struct bf_err *e);

#endif
