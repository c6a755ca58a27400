/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PKGINDEX_H
#define BF_PKGINDEX_H

#include <stddef.h>
#include <stdint.h>

struct bf_buf;
struct bf_err;

/*
 * Portage's binary package index, $PKGDIR/Packages, read and written as
 * lib/portage/getbinpkg.py PackageIndex does with the configuration of
 * lib/portage/dbapi/bintree.py (shared/formats.md section 3).
 *
 * Keys are held under their *internal* names: DESC is DESCRIPTION,
 * MTIME is _mtime_ and REPO is repository, both in the header and in
 * package stanzas.  The writer translates them back and sorts by the
 * internal name, which is why MTIME and REPO end every stanza.
 *
 * Values are held as read: defaults (EAPI 0, SLOT 0, empty values) and
 * keys inherited from the header (CHOST, REPO) are not filled in, since
 * the writer would drop them again; bf_pkgindex_value() applies them.
 *
 * Strings belong to the index (an arena freed by bf_pkgindex_release()).
 */
struct bf_pkgindex_field {
	const char	*key;		/* internal name */
	const char	*val;
};

struct bf_pkgindex_entry {
	struct bf_pkgindex_field *f;	/* sorted by key (strcmp) */
	size_t			  n;
	size_t			  alloc;
	/*
	 * With BF_PKGINDEX_KEEP_STANZAS: the stanza's bytes as read, when
	 * they are exactly what the writer makes of the entry (else NULL).
	 * Setting a key clears it.  Borrowed from the index.
	 */
	const char		 *raw;
	size_t			  rawlen;
	/*
	 * Read with BF_PKGINDEX_PARTIAL: only CPV, PATH and BUILD_ID are
	 * held, and the entry can only be written through `raw`.
	 */
	int			  partial;
};

struct bf_pkgindex_arena;

struct bf_pkgindex {
	struct bf_pkgindex_entry	  header;
	struct bf_pkgindex_entry	 *pkgs;
	size_t				  npkgs;
	size_t				  alloc;
	struct bf_pkgindex_arena	 *arena;
	/*
	 * The header's CHOST and repository when the stanzas were kept:
	 * a kept stanza is written as it is only while they are unchanged.
	 */
	const char			 *raw_chost;
	const char			 *raw_repo;
};

#define BF_PKGINDEX_ENTRY_INIT { NULL, 0, 0, NULL, 0, 0 }
#define BF_PKGINDEX_INIT { BF_PKGINDEX_ENTRY_INIT, NULL, 0, 0, NULL, NULL, NULL }

enum {
	/*
	 * Keep stanza keys Portage does not know (REPO_REVISIONS, SHA256,
	 * ...) instead of dropping them as PackageIndex(allowed_pkg_keys)
	 * does.  For faithful round trips of foreign files only.
	 */
	BF_PKGINDEX_KEEP_UNKNOWN = 1 << 0,
	/*
	 * Keep each package stanza's bytes (entry->raw) when the writer
	 * would write the entry back byte for byte: a line per key, in the
	 * writer's order and names, ": " between key and value, no empty,
	 * default or inherited value, "\n" line ends, no NUL, ended by an
	 * empty line.  bf_pkgindex_format_packages() then copies it instead
	 * of formatting the entry, for the same bytes at less cost.
	 * The stanzas are not copied: `data` must stay as it is for as
	 * long as the index is used (this flag and the next).
	 */
	BF_PKGINDEX_KEEP_STANZAS = 1 << 1,
	/*
	 * For a text bf_pkgindex_canonical() vouches for only: the header
	 * is read in full, each package stanza is kept (as with
	 * KEEP_STANZAS) with only its CPV, PATH and BUILD_ID, which makes
	 * reading a large index several times faster.  bf_pkgindex_complete()
	 * reads the rest of an entry.  Formatting fails with -EINVAL if a
	 * partial entry cannot be copied (a key was set, or the header's
	 * CHOST or REPO changed).
	 */
	BF_PKGINDEX_PARTIAL = 1 << 2,
};

void	bf_pkgindex_init(struct bf_pkgindex *idx);
void	bf_pkgindex_release(struct bf_pkgindex *idx);

/*
 * Parses the text of a Packages file into `idx` (which must be empty),
 * accepting exactly what Portage's reader accepts: universal newlines,
 * "KEY:VALUE" split on the first ':' with one character dropped, lines
 * without ':' ignored, the body ends at the first empty stanza, stanzas
 * without CPV skipped, keys outside the allowed set dropped, later
 * duplicates win, and invalid UTF-8 replaced by U+FFFD.  `data` is
 * copied (but see BF_PKGINDEX_KEEP_STANZAS).  Never fails on content;
 * only -ENOMEM (and -EINVAL for BF_PKGINDEX_PARTIAL).
 */
int	bf_pkgindex_parse(struct bf_pkgindex *idx, const char *data, size_t len,
	    unsigned flags, struct bf_err *e);

/*
 * Reads the rest of a partial entry of `idx` from its stanza.  Returns
 * 0 or -ENOMEM.
 */
int	bf_pkgindex_complete(struct bf_pkgindex *idx,
	    struct bf_pkgindex_entry *ent);

/*
 * Whether `text`, the output of bf_pkgindex_format() for `idx`, is in
 * the form BF_PKGINDEX_PARTIAL needs: every package stanza is what the
 * writer makes of its entry (no value holds a line break), no "\r",
 * valid UTF-8.  bf_pkgindex_write() records it with BF_PKGINDEX_CANON.
 */
int	bf_pkgindex_text_canonical(const struct bf_pkgindex *idx,
	    const char *text, size_t len);

/*
 * Is `text`, the Packages of directory `dirfd`, the very text a
 * bf_pkgindex_write() with BF_PKGINDEX_CANON wrote (same length, CRC-32
 * and TIMESTAMP as recorded in the sidecar BF_PKGINDEX_CANONFILE)?
 * Returns 1 or 0; with 1, sets *crc (if not NULL) to the text's CRC-32.
 */
int	bf_pkgindex_canonical(int dirfd, const char *text, size_t len,
	    uint32_t *crc);

/*
 * The index's own copy of an allowed key (internal name), or NULL.
 * Lookups with it skip a search of the key table, so callers that look
 * up the same key in many entries should use it.
 */
const char *bf_pkgindex_key(const char *key);
/* Is `key` (internal name) one Portage keeps in a package stanza? */
int	bf_pkgindex_key_allowed(const char *key);
/* The written name of an internal key ("_mtime_" -> "MTIME"). */
const char *bf_pkgindex_key_external(const char *key);
/* The internal name of a written key ("REPO" -> "repository"). */
const char *bf_pkgindex_key_internal(const char *key);

/* The raw value of `key` in `ent`, or NULL. */
const char *bf_pkgindex_get(const struct bf_pkgindex_entry *ent,
	    const char *key);
/*
 * The value as Portage sees it after reading: the stanza's value, else
 * the header's for CHOST/repository, else the default ("0" for EAPI and
 * SLOT, "" for the other defaulted keys), else NULL.
 */
const char *bf_pkgindex_value(const struct bf_pkgindex *idx,
	    const struct bf_pkgindex_entry *ent, const char *key);

/*
 * Sets `key` to a copy of `val` in `ent` (the header or a package of
 * `idx`); val == NULL removes the key.  Returns 0 or -ENOMEM.
 */
int	bf_pkgindex_set(struct bf_pkgindex *idx, struct bf_pkgindex_entry *ent,
	    const char *key, const char *val);
/*
 * Sets header key `key` as bf_pkgindex_set() does.  When `key` is one
 * the packages inherit (CHOST, repository) and its value changes, each
 * package without the key first gets the old value: Portage's reader
 * gives every package the header's value as it reads the index, so a
 * new header value is not inherited by entries already read.
 */
int	bf_pkgindex_set_header(struct bf_pkgindex *idx, const char *key,
	    const char *val);
/* Same, with a value that is not NUL-terminated. */
int	bf_pkgindex_setn(struct bf_pkgindex *idx, struct bf_pkgindex_entry *ent,
	    const char *key, const char *val, size_t len);
/* Appends an empty package entry; NULL on ENOMEM.  Invalidates pointers. */
struct bf_pkgindex_entry *bf_pkgindex_add(struct bf_pkgindex *idx);
/*
 * Copies `src` (an entry of another index, or of this one) into a new
 * entry of `idx`.  Returns the entry or NULL on ENOMEM.
 */
struct bf_pkgindex_entry *bf_pkgindex_add_copy(struct bf_pkgindex *idx,
	    const struct bf_pkgindex_entry *src);
/* Removes package `i`, keeping the order of the others. */
void	bf_pkgindex_remove(struct bf_pkgindex *idx, size_t i);

/*
 * Appends the Packages text to `out` as PackageIndex.write() does with
 * modified=False (the caller sets TIMESTAMP and PACKAGES): header keys
 * sorted, empty values omitted; packages stably sorted by CPV (plain
 * string comparison); per stanza, keys equal to the header's inherited
 * CHOST/repository and values equal to the defaults are omitted, empty
 * values omitted, keys sorted by internal name and written translated;
 * every stanza ends with an empty line.
 */
int	bf_pkgindex_format(const struct bf_pkgindex *idx, struct bf_buf *out);
/* The same in two parts: the header stanza, and the package stanzas. */
int	bf_pkgindex_format_header(const struct bf_pkgindex *idx,
	    struct bf_buf *out);
int	bf_pkgindex_format_packages(const struct bf_pkgindex *idx,
	    struct bf_buf *out);

/*
 * Packages.gz as Python's GzipFile(filename="", mode="wb", mtime=mtime)
 * writes it at level 9: byte-identical to Portage's file given the same
 * zlib.  Appends to `out`.
 */
int	bf_pkgindex_gzip(const void *data, size_t len, long long mtime,
	    struct bf_buf *out, struct bf_err *e);

/*
 * Writing Packages and Packages.gz into a directory.
 *
 * By default Packages.gz is one gzip member whose deflate stream is cut
 * into independent segments (level 9, each ended by a sync flush with a
 * fresh dictionary) at stanza boundaries chosen from the content (a hash
 * of the CPV and PATH lines), so that an unchanged run of stanzas
 * compresses to the same bytes wherever it moves.  A
 * small sidecar, .Packages.gz.idx, records where each segment lies; the
 * next write reuses the compressed bytes of every segment whose text is
 * unchanged (verified byte for byte against the previous Packages), so
 * adding one package to a large index recompresses one segment.  The
 * gzip header is the one Python writes (no name, mtime = TIMESTAMP,
 * XFL 2, OS 255) and the file gunzips to exactly the Packages bytes.
 *
 * With BF_PKGINDEX_GZ_PORTAGE, Packages.gz is one continuous deflate
 * stream, byte-identical to Portage's, and no sidecar is kept.
 */
enum {
	BF_PKGINDEX_GZ_PORTAGE = 1 << 0,
	BF_PKGINDEX_NO_GZ = 1 << 1,	/* remove Packages.gz (no compress-index) */
	/*
	 * The text is bf_pkgindex_text_canonical(): record so in
	 * BF_PKGINDEX_CANONFILE (else that sidecar is removed).
	 */
	BF_PKGINDEX_CANON = 1 << 2,
};

#define BF_PKGINDEX_GZIDX	".Packages.gz.idx"
#define BF_PKGINDEX_CANONFILE	".Packages.canonical"

/*
 * Removes what a killed writer left in the index directory `dirfd`:
 * the temporary files (bf_lockfile names, ".<name>.tmp-XXXXXX") of
 * Packages, Packages.gz, BF_PKGINDEX_GZIDX, BF_PKGINDEX_CANONFILE and
 * the directory cache ".Packages.dircache", and nothing else.  The
 * caller must hold the index's lock, so no live writer owns them.
 * Returns the number removed, or -errno.
 */
int	bf_pkgindex_remove_temps(int dirfd, struct bf_err *e);

struct bf_pkgindex_write_opts {
	unsigned	 flags;
	int		 threads;	/* compression threads; 0 or 1: none */
	long long	 timestamp;	/* file mtimes; must match the TIMESTAMP key */
	/* Previous Packages text of this directory, for segment reuse. */
	const char	*old_text;
	size_t		 old_len;
	/* Its CRC-32, if known (bf_pkgindex_canonical() gives it). */
	int		 old_crc_known;
	uint32_t	 old_crc;
};

struct bf_pkgindex_write_stats {
	size_t		 segments;
	size_t		 reused;	/* segments copied from the old file */
	uint64_t	 gz_bytes;
};

/*
 * Atomically replaces Packages and Packages.gz (and the sidecar) in the
 * directory `dirfd` with `text`, both files' mtime = opts->timestamp.
 */
int	bf_pkgindex_write(int dirfd, const char *text, size_t len,
	    const struct bf_pkgindex_write_opts *opts,
	    struct bf_pkgindex_write_stats *st, struct bf_err *e);

#endif
