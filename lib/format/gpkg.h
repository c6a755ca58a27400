/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_GPKG_H
#define BF_GPKG_H

#include <stddef.h>
#include <stdint.h>

#include "format/meta.h"

struct bf_err;

/*
 * GLEP 78 binary packages (.gpkg.tar), as lib/portage/gpkg.py writes
 * and reads them, and the plain tar.xz of a pinned tree (bf_tarxz,
 * below).  This is the only module that includes archive.h.
 *
 * Container: an uncompressed ustar tar whose members all sit in one
 * directory, in this order:
 *
 *	<basename>/gpkg-1
 *	<basename>/metadata.tar.zst
 *	<basename>/image.tar.zst
 *	<basename>/Manifest
 *
 * where basename is PF, or PF-BUILD_ID for multi-instance packages.
 */

struct bf_gpkg_pack_opts {
	int		 level;		/* zstd level, 1..19; 0 means 3 */
	int		 threads;	/* zstd workers; 0: one per CPU, 1: none */
	long long	 build_id;	/* < 0: none (basename = PF) */
	long long	 mtime;		/* < 0: now; else SOURCE_DATE_EPOCH */
	/* Progress callback for long packs; may be NULL. */
	void		(*progress)(void *arg, uint64_t in_bytes);
	void		*progress_arg;
};

struct bf_gpkg_pack_result {
	char		 basename[256];
	uint64_t	 image_bytes;	/* uncompressed image tar size */
	uint64_t	 file_bytes;	/* size of the .gpkg.tar written */
	uint64_t	 files;		/* entries in the image */
};

/*
 * Packs `image_dir` (${D}) and `build_info_dir` into a gpkg written to
 * `out_fd` from its current position (a regular file: the container's
 * member headers are rewritten in place once sizes are known).  The
 * build-info must hold CATEGORY, PF and SLOT.  With opts->build_id >= 0
 * a BUILD_ID metadata file with that value is added (or replaced).
 *
 * Reproducible: with opts->mtime >= 0, every timestamp is that value or
 * older (file mtimes are clamped, as tar --clamp-mtime does), entries
 * are sorted by name, and the output is a function of the input only.
 *
 * The image keeps modes, owners (ids and names), symlinks, hard links,
 * empty directories and security.* xattrs (pax SCHILY.xattr records).
 * Device nodes, FIFOs and sockets are refused, since Portage's reader
 * refuses them.
 */
int	bf_gpkg_pack(const char *image_dir, const char *build_info_dir,
	    int out_fd, const struct bf_gpkg_pack_opts *opts,
	    struct bf_gpkg_pack_result *res, struct bf_err *e);

/*
 * Reads the metadata of a gpkg without decompressing its image: the
 * outer tar is walked and only metadata.tar.* is decompressed.  Keys
 * are added to `meta` (caller-initialised).  `basename` (may be NULL)
 * receives the container directory, malloc'd.
 */
int	bf_gpkg_read_metadata(int fd, const char *path, struct bf_meta *meta,
	    char **basename, struct bf_err *e);

/* One line of a bf_gpkg_verify() report. */
struct bf_gpkg_check {
	const char	*name;		/* short id of the check, e.g. "manifest" */
	int		 ok;
	char		 detail[512];
};

enum {
	BF_GPKG_VERIFY_METADATA_ONLY = 1 << 0,	/* skip image members */
	BF_GPKG_VERIFY_NO_IMAGE_SCAN = 1 << 1,	/* hash image, don't untar it */
};

struct bf_gpkg_verify_result {
	int		 signed_pkg;	/* any .sig member or PGP-signed Manifest */
	char		*basename;	/* malloc'd, or NULL */
	uint64_t	 image_entries;
	struct bf_meta	 meta;		/* the metadata, when it could be read */
};

void	bf_gpkg_verify_result_release(struct bf_gpkg_verify_result *r);

/*
 * Runs every check of Portage's gpkg._verify_binpkg() (format magic,
 * gpkg-1 marker, one directory level, no duplicates, Manifest present,
 * every member listed with the right size and matching BLAKE2B/SHA512 in
 * either order, no unlisted or missing member) plus safety checks on the
 * image: no absolute or ".." member, everything under image/, no device
 * node, no hard link to an unseen or outside name, no symlink whose
 * target leaves the image.  And the metadata must have CATEGORY, PF and
 * SLOT.  OpenPGP signatures are detected, not checked.
 *
 * Returns 0 if the package passes, -BF_E* with the first failure in `e`.
 */
int	bf_gpkg_verify(int fd, const char *path, unsigned flags,
	    struct bf_gpkg_verify_result *res, struct bf_err *e);

/*
 * Bounds on what reading a package may hold, so that a small hostile
 * file (millions of empty entries compress to a few MB) cannot take the
 * reader's memory.  The largest Gentoo packages have about 100,000
 * image entries (sys-kernel/gentoo-sources: ~95,000; texlive and
 * firmware packages fewer), so the default leaves ten times that.
 * Beyond a limit the package is refused (-BF_EUNSAFE, "more than N
 * entries").  bf_gpkg_verify(), bf_gpkg_read_metadata() and
 * bf_gpkg_list() use the defaults; the container may hold at most 64
 * members and the metadata 4096 keys whatever the options.
 */
#define BF_GPKG_MAX_ENTRIES	1000000
#define BF_GPKG_MAX_NAME_BYTES	(256ull << 20)	/* entry names held */

struct bf_gpkg_verify_opts {
	unsigned	 flags;		/* BF_GPKG_VERIFY_* */
	uint64_t	 max_entries;	/* image entries; 0: BF_GPKG_MAX_ENTRIES */
	uint64_t	 max_name_bytes; /* 0: BF_GPKG_MAX_NAME_BYTES */
};

/* bf_gpkg_verify() with limits of the caller's; `opts` is required. */
int	bf_gpkg_verify_ext(int fd, const char *path,
	    const struct bf_gpkg_verify_opts *opts,
	    struct bf_gpkg_verify_result *res, struct bf_err *e);

/* Calls `cb` for every entry of the image (decompressing it). */
struct bf_gpkg_entry {
	const char	*path;		/* as in the tar, "image/..." */
	const char	*linkname;	/* symlink target, or NULL */
	const char	*hardlink;	/* hard link target, or NULL */
	unsigned	 mode;		/* with S_IFMT bits */
	long long	 uid, gid;
	const char	*uname, *gname;
	int64_t		 size;
	long long	 mtime;
};

int	bf_gpkg_list(int fd, const char *path,
	    int (*cb)(void *arg, const struct bf_gpkg_entry *ent), void *arg,
	    struct bf_err *e);

/*
 * metadata.tar.zst for `meta` (sorted in place), as bf_gpkg_pack()
 * writes it: ustar, "metadata/<KEY>", 0644, root, mtime `mtime`, zstd
 * `level` (0: 3).  *out is malloc'd.
 */
int	bf_gpkg_metadata_member(struct bf_meta *meta, long long mtime, int level,
	    void **out, size_t *outlen, struct bf_err *e);

/* Is the file at fd a tar whose magic Portage accepts (ustar or GNU)? */
int	bf_gpkg_probe(int fd);

/*
 * A plain xz-compressed tar (pax, ustar where it can be), as Gentoo's
 * tree snapshots are (lib/store/treesnap.h): every entry owned by root
 * (uid 0, "root"), written through the lockfile `lf` (its sticky error
 * is the stream's).  bf_tarxz_add() takes a directory (mode 040xxx), a
 * regular file (0100xxx, `data` its contents) or a symlink (0120xxx,
 * `data` its target, not NUL-terminated).  bf_tarxz_close() writes the
 * end of the archive and flushes; the caller then commits `lf`.
 */
struct bf_lockfile;
struct bf_tarxz;

int	bf_tarxz_open(struct bf_tarxz **tp, struct bf_lockfile *lf,
	    struct bf_err *e);
int	bf_tarxz_add(struct bf_tarxz *t, const char *path, unsigned mode,
	    long long mtime, const void *data, size_t len, struct bf_err *e);
int	bf_tarxz_close(struct bf_tarxz *t, struct bf_err *e);
void	bf_tarxz_free(struct bf_tarxz *t);

#endif
