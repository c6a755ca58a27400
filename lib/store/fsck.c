/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fsck: checks the repository: channels, snapshots, every package a
 * snapshot names (size, digests, signatures), the working sets, the
 * inventory of nodes (nodes.conf).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "base/map.h"
#include "format/gpkg.h"
#include "format/pkgindex.h"
#include "store/channel.h"
#include "store/fleet.h"
#include "store/fsck.h"
#include "store/gpkgsign.h"
#include "store/nodes.h"
#include "store/release.h"
#include "store/repo.h"
#include "base/banned.h"

/* ------------------------------------------------------------------ */
/* fsck.                                                               */

struct fsck {
	struct bf_repo			*r;
	const struct bf_fsck_opts	*o;
	int				 problems;
	struct bf_map		 checked;	/* "dev:ino" -> ok */
};

static void
problem(struct fsck *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct fsck *f, const char *fmt, ...)
{
	struct bf_buf b = BF_BUF_INIT;
	va_list ap;

	f->problems++;
	if (f->o->problem == NULL)
		return;
	va_start(ap, fmt);
	bf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	f->o->problem(f->o->arg, b.buf);
	bf_buf_release(&b);
}

/* Checks one package file of a snapshot; returns 0 or a problem was reported. */
static void
fsck_package(struct fsck *f, const char *prof, const char *id,
    const struct bf_pkgindex *idx, const struct bf_pkgindex_entry *ent)
{
	const char *path = bf_pkgindex_get(ent, "PATH");
	const char *size = bf_pkgindex_get(ent, "SIZE");
	const char *md5 = bf_pkgindex_get(ent, "MD5");
	const char *sha1 = bf_pkgindex_get(ent, "SHA1");
	const char *cpv = bf_pkgindex_get(ent, "CPV");
	struct bf_buf sp = BF_BUF_INIT, pp = BF_BUF_INIT, key = BF_BUF_INIT;
	struct stat ss, ps;
	int fd = -1;

	(void)idx;
	if (path == NULL || size == NULL || cpv == NULL) {
		problem(f, "snapshots/%s/%s: entry %s lacks PATH, SIZE or CPV", prof,
		    id, cpv != NULL ? cpv : "?");
		goto out;
	}
	if (*path == '/' || strstr(path, "..") != NULL) {
		problem(f, "snapshots/%s/%s: %s has unsafe PATH '%s'", prof, id, cpv,
		    path);
		goto out;
	}
	bf_buf_addf(&sp, "snapshots/%s/%s/%s", prof, id, path);
	bf_buf_addf(&pp, "pool/%s/%s", prof, path);
	if (fstatat(f->r->root_fd, sp.buf, &ss, AT_SYMLINK_NOFOLLOW) < 0) {
		problem(f, "%s: missing (%s)", sp.buf, strerror(errno));
		goto out;
	}
	if (fstatat(f->r->root_fd, pp.buf, &ps, AT_SYMLINK_NOFOLLOW) < 0) {
		problem(f, "%s: missing from the pool (%s)", pp.buf, strerror(errno));
		goto out;
	}
	if (ss.st_ino != ps.st_ino || ss.st_dev != ps.st_dev)
		problem(f, "%s: not a hard link of %s", sp.buf, pp.buf);
	if (!S_ISREG(ss.st_mode) || strtoll(size, NULL, 10) != (long long)ss.st_size) {
		problem(f, "%s: size %lld, index says %s", sp.buf,
		    (long long)ss.st_size, size);
		goto out;
	}
	bf_buf_addf(&key, "%llu:%llu", (unsigned long long)ss.st_dev,
	    (unsigned long long)ss.st_ino);
	if (bf_map_add(&f->checked, key.buf, 1) == 0)
		goto out;	/* same file, already checked */
	if (f->o->no_digests)
		goto out;
	if ((fd = openat(f->r->root_fd, sp.buf, O_RDONLY | O_CLOEXEC)) < 0) {
		problem(f, "%s: cannot open (%s)", sp.buf, strerror(errno));
		goto out;
	}
	{
		struct bf_digest d;
		struct bf_err e = BF_ERR_INIT;

		if (bf_digest_fd(&d, BF_DIGEST_INDEX, fd, 0, -1, &e) < 0)
			problem(f, "%s: %s", sp.buf, bf_err_msg(&e, -EIO));
		else {
			if (md5 == NULL || strcmp(md5, d.hex[BF_MD5]) != 0)
				problem(f, "%s: MD5 %s, index says %s", sp.buf,
				    d.hex[BF_MD5], md5 != NULL ? md5 : "nothing");
			if (sha1 == NULL || strcmp(sha1, d.hex[BF_SHA1]) != 0)
				problem(f, "%s: SHA1 %s, index says %s", sp.buf,
				    d.hex[BF_SHA1], sha1 != NULL ? sha1 : "nothing");
		}
	}
	{
		struct bf_gpkg_verify_result vr;
		struct bf_err e = BF_ERR_INIT;
		int rc = bf_gpkg_verify(fd, sp.buf, BF_GPKG_VERIFY_NO_IMAGE_SCAN,
		    &vr, &e);

		if (rc < 0)
			problem(f, "%s: %s", sp.buf, bf_err_msg(&e, rc));
		else if (f->r->signed_repo && !vr.signed_pkg)
			problem(f, "%s: not signed, in a signed repository", sp.buf);
		bf_gpkg_verify_result_release(&vr);
		if (rc == 0 && f->r->signed_repo && f->o->verifier != NULL) {
			bf_err_clear(&e);
			rc = bf_gpkg_check_signatures(fd, sp.buf, f->o->verifier, &e);
			if (rc < 0)
				problem(f, "%s: %s", sp.buf, bf_err_msg(&e, rc));
		}
	}
out:
	if (fd >= 0)
		close(fd);
	bf_buf_release(&sp);
	bf_buf_release(&pp);
	bf_buf_release(&key);
}

static int
fsck_channel(void *arg, const char *channel, const char *profile,
    const char *id)
{
	struct fsck *f = arg;

	if (id == NULL)
		problem(f, "channels/%s/%s: not a link to a snapshot of '%s'",
		    channel, profile, profile);
	else if (!bf_snapshot_exists(f->r, profile, id))
		problem(f, "channels/%s/%s: points at missing snapshot %s", channel,
		    profile, id);
	return 0;
}

/*
 * The inventory, nodes.conf, read and checked whole as every command
 * that uses it does: what is wrong in it ("FILE:LINE: ...") is a
 * problem of the repository, not a failure of fsck.
 */
static int
fsck_nodes(struct fsck *f, struct bf_err *e)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err le = BF_ERR_INIT;
	int rc;

	rc = bf_nodes_load(f->r, &ns, &le);
	bf_nodes_release(&ns);
	if (rc == -ENOMEM)
		return bf_err_nomem(e);
	if (rc < 0)
		problem(f, "%s", bf_err_msg(&le, rc));
	return 0;
}

/*
 * Each release file (releases/<channel>) parses, and its targets'
 * snapshots exist while it runs; fleet/nodes.state parses.
 */
static int
fsck_releases(struct fsck *f, struct bf_err *e)
{
	struct bf_fetches fe = BF_FETCHES_INIT;
	struct bf_release rel;
	struct bf_err le = BF_ERR_INIT;
	char **names = NULL;
	size_t n = 0, i, k;
	int rc;

	if (bf_list_dir(f->r->root_fd, BF_RELEASES_DIR, &names, &n) < 0)
		return bf_err_set(e, EIO, "cannot read '%s'", BF_RELEASES_DIR);
	for (i = 0; i < n; i++) {
		bf_release_init(&rel);
		bf_err_clear(&le);
		if (bf_lockfile_is_temp(names[i]))
			continue;	/* a killed writer's: recovery's */
		if ((rc = bf_release_load(f->r->root_fd, names[i], &rel,
		    &le)) < 0)
			problem(f, "%s", bf_err_msg(&le, rc));
		for (k = 0; rc == 0 && bf_release_active(&rel) &&
		    k < rel.ntargets; k++)
			if (!bf_snapshot_exists(f->r, rel.targets[k].profile,
			    rel.targets[k].to))
				problem(f, "%s/%s: release %llu names snapshot "
				    "%s of %s, which does not exist",
				    BF_RELEASES_DIR, names[i], rel.id,
				    rel.targets[k].to, rel.targets[k].profile);
		bf_release_free(&rel);
	}
	bf_names_free(names, n);
	bf_err_clear(&le);
	if ((rc = bf_fetches_load(f->r->root_fd, &fe, &le)) < 0)
		problem(f, "%s", bf_err_msg(&le, rc));
	bf_fetches_release(&fe);
	return 0;
}

int
bf_repo_fsck(struct bf_repo *r, const struct bf_fsck_opts *o, struct bf_err *e)
{
	struct fsck f = { r, o, 0, BF_MAP_INIT };
	struct bf_buf path = BF_BUF_INIT;
	char **profiles = NULL, **ents = NULL;
	size_t nprof = 0, nents = 0, p, i, k;
	int rc;

	if ((rc = bf_list_dir(r->root_fd, "snapshots", &profiles, &nprof)) < 0) {
		rc = bf_err_set(e, -rc, "cannot read 'snapshots'");
		goto out;
	}
	for (p = 0; p < nprof; p++) {
		const char *prof = profiles[p];

		bf_buf_reset(&path);
		bf_buf_addf(&path, "snapshots/%s", prof);
		if (!bf_repo_name_valid(prof)) {
			problem(&f, "%s: not a valid profile name", path.buf);
			continue;
		}
		if ((rc = bf_list_dir(r->root_fd, path.buf, &ents, &nents)) < 0) {
			rc = bf_err_set(e, -rc, "cannot read '%s'", path.buf);
			goto out;
		}
		for (i = 0; i < nents; i++) {
			struct bf_pkgindex idx = BF_PKGINDEX_INIT;
			struct bf_err le = BF_ERR_INIT;
			const char *ts;
			struct stat st;

			if (!bf_snapshot_id_valid(ents[i])) {
				problem(&f, "snapshots/%s/%s: not a snapshot id", prof,
				    ents[i]);
				continue;
			}
			if (bf_snapshot_load_index(r, prof, ents[i], &idx, &le) < 0) {
				problem(&f, "snapshots/%s/%s: %s", prof, ents[i],
				    bf_err_msg(&le, -EIO));
				bf_pkgindex_release(&idx);
				continue;
			}
			bf_buf_reset(&path);
			bf_buf_addf(&path, "snapshots/%s/%s/Packages.gz", prof, ents[i]);
			if (fstatat(r->root_fd, path.buf, &st, 0) < 0)
				problem(&f, "%s: missing", path.buf);
			bf_buf_reset(&path);
			bf_buf_addf(&path, "snapshots/%s/%s/%s", prof, ents[i],
			    BF_SNAPSHOT_META);
			if (fstatat(r->root_fd, path.buf, &st, 0) < 0)
				problem(&f, "%s: missing", path.buf);
			ts = bf_pkgindex_get(&idx.header, "TIMESTAMP");
			if (ts == NULL || bf_pkgindex_get(&idx.header, "VERSION") == NULL)
				problem(&f, "snapshots/%s/%s/Packages: no VERSION or "
				    "TIMESTAMP", prof, ents[i]);
			for (k = 0; k < idx.npkgs; k++)
				fsck_package(&f, prof, ents[i], &idx, &idx.pkgs[k]);
			bf_pkgindex_release(&idx);
		}
		bf_snapshot_list_free(ents, nents);
		ents = NULL;
		nents = 0;
	}
	if ((rc = bf_channel_each(r, fsck_channel, &f, e)) < 0 ||
	    (rc = fsck_nodes(&f, e)) < 0 || (rc = fsck_releases(&f, e)) < 0)
		goto out;
	/* Temporary files a reader might trip on (recovery removes them). */
	if ((rc = bf_list_dir(r->root_fd, "tmp", &ents, &nents)) == 0) {
		for (i = 0; i < nents; i++)
			problem(&f, "tmp/%s: leftover temporary file", ents[i]);
	}
	rc = f.problems;
out:
	bf_map_release(&f.checked);
	bf_snapshot_list_free(profiles, nprof);
	bf_snapshot_list_free(ents, nents);
	bf_buf_release(&path);
	return rc;
}
