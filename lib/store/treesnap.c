/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pinned ebuild trees of a snapshot as signed tarballs (treesnap.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "format/gpkg.h"
#include "format/pkgindex.h"
#include "portage/tree.h"
#include "store/repo.h"
#include "store/sign.h"
#include "store/treesnap.h"
#include "base/banned.h"

/* One tarball being written. */
struct tarw {
	struct bf_tarxz		*tx;
	struct bf_buf		 path;
	const char		*top;		/* "<name>-<commit>" */
	long long		 mtime;
	int			 has_timestamp;
};

/* One entry: `rel` below the top directory ("" for the top itself). */
static int
tar_entry(struct tarw *w, const char *rel, unsigned mode, const void *data,
    size_t len, struct bf_err *e)
{
	bf_buf_reset(&w->path);
	bf_buf_addf(&w->path, "%s%s%s", w->top, *rel ? "/" : "", rel);
	if (bf_buf_error(&w->path) < 0)
		return bf_err_nomem(e);
	return bf_tarxz_add(w->tx, w->path.buf, mode, w->mtime, data, len, e);
}

static int
tar_file_cb(void *ctx, const char *path, unsigned mode, const void *data,
    size_t len, struct bf_err *e)
{
	struct tarw *w = ctx;

	if (strcmp(path, "metadata/timestamp.x") == 0)
		w->has_timestamp = 1;
	return tar_entry(w, path, mode, data, len, e);
}

/*
 * metadata/timestamp.x as Gentoo's snapshots carry it (emerge-webrsync
 * reads the first word): the commit time, then the date.
 */
static int
tar_timestamp(struct tarw *w, struct bf_tree *t, struct bf_err *e)
{
	struct bf_buf ts = BF_BUF_INIT;
	time_t tt = (time_t)w->mtime;
	char date[64];
	struct tm tm;
	int rc = 0;

	if (w->has_timestamp)
		return 0;
	gmtime_r(&tt, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	bf_buf_addf(&ts, "%lld %s\n", w->mtime, date);
	if (!bf_tree_is_dir(t, "metadata"))
		rc = tar_entry(w, "metadata", 040755, NULL, 0, e);
	if (rc == 0)
		rc = tar_entry(w, "metadata/timestamp.x", 0100644, ts.buf,
		    ts.len, e);
	bf_buf_release(&ts);
	return rc;
}

/* Writes <name>.tar.xz of commit `commit` into `dfd`. */
static int
write_tarball(int dfd, const char *file, const char *name,
    const char *commit, const char *mirrors, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf mirror = BF_BUF_INIT, top = BF_BUF_INIT;
	struct bf_tree *t = NULL;
	struct tarw w;
	int rc;

	memset(&w, 0, sizeof(w));
	bf_buf_init(&w.path);
	bf_tree_mirror_path(mirrors, name, &mirror);
	bf_buf_addf(&top, "%s-%s", name, commit);
	if ((rc = bf_tree_open(&t, mirror.buf, commit, name, e)) < 0 ||
	    (rc = bf_lockfile_open(&lf, dfd, file, 0644, e)) < 0 ||
	    (rc = bf_tarxz_open(&w.tx, &lf, e)) < 0)
		goto out;
	w.top = top.buf;
	w.mtime = bf_tree_commit_time(t);
	if ((rc = tar_entry(&w, "", 040755, NULL, 0, e)) < 0 ||
	    (rc = bf_tree_walk_files(t, tar_file_cb, &w, e)) < 0 ||
	    (rc = tar_timestamp(&w, t, e)) < 0 ||
	    (rc = bf_tarxz_close(w.tx, e)) < 0)
		goto out;
	rc = bf_lockfile_commit_flags(&lf, w.mtime, BF_LOCKFILE_NO_DIRSYNC, e);
out:
	bf_tarxz_free(w.tx);
	bf_lockfile_rollback(&lf);
	bf_tree_close(t);
	bf_buf_release(&w.path);
	bf_buf_release(&mirror);
	bf_buf_release(&top);
	return rc;
}

static int
write_small(int dfd, const char *file, const struct bf_buf *b,
    struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	int rc;

	if (bf_buf_error(b) < 0)
		return bf_err_nomem(e);
	if ((rc = bf_lockfile_open(&lf, dfd, file, 0644, e)) < 0)
		return rc;
	bf_lockfile_write(&lf, b->buf, b->len);
	rc = bf_lockfile_commit_flags(&lf, -1, BF_LOCKFILE_NO_DIRSYNC, e);
	bf_lockfile_rollback(&lf);
	return rc;
}

/* The .md5sum and .gpgsig of the finished tarball `file`. */
static int
write_checks(int dfd, const char *file, struct bf_signer *signer,
    struct bf_err *e)
{
	struct bf_buf out = BF_BUF_INIT, name = BF_BUF_INIT;
	struct bf_digest d;
	struct stat st;
	int fd, rc;

	if ((fd = openat(dfd, file, O_RDONLY | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open '%s'", file);
	if (fstat(fd, &st) < 0) {
		rc = bf_err_errno(e, "cannot stat '%s'", file);
		goto out;
	}
	if ((rc = bf_digest_fd(&d, BF_DIGEST_BIT(BF_MD5), fd, 0, -1, e)) < 0)
		goto out;
	bf_buf_addf(&out, "%s  %s\n", d.hex[BF_MD5], file);
	bf_buf_addf(&name, "%s.md5sum", file);
	if ((rc = write_small(dfd, name.buf, &out, e)) < 0 || signer == NULL)
		goto out;
	bf_buf_reset(&out);
	bf_buf_reset(&name);
	bf_buf_addf(&name, "%s.gpgsig", file);
	if ((rc = bf_signer_detached(signer, fd, 0, (uint64_t)st.st_size,
	    &out, e)) < 0)
		goto out;
	rc = write_small(dfd, name.buf, &out, e);
out:
	close(fd);
	bf_buf_release(&out);
	bf_buf_release(&name);
	return rc;
}

/* The snapshot's repositories and commits. */
static int
snapshot_trees(struct bf_repo *r, const char *profile, const char *id,
    struct bf_strv *names, struct bf_strv *commits, struct bf_err *e)
{
	struct bf_pkgindex idx = BF_PKGINDEX_INIT;
	struct bf_snapshot_info info;
	const char *rev;
	size_t i;
	int rc;

	if ((rc = bf_snapshot_load_index(r, profile, id, &idx, e)) < 0)
		return rc;
	rev = bf_pkgindex_get(&idx.header, "REPO_REVISIONS");
	if (rev != NULL && *rev != '\0') {
		if ((rc = bf_repo_revisions_parse(rev, names, commits)) < 0)
			rc = bf_err_set(e, BF_EFORMAT, "snapshot %s: bad "
			    "REPO_REVISIONS '%s'", id, rev);
		goto out;
	}
	if ((rc = bf_snapshot_info_load(r, profile, id, &info, e)) < 0)
		goto out;
	if (*info.tree_commit != '\0' &&
	    (bf_strv_push(names, "gentoo") < 0 ||
	    bf_strv_push(commits, info.tree_commit) < 0))
		rc = bf_err_nomem(e);
	bf_snapshot_info_release(&info);
out:
	bf_pkgindex_release(&idx);
	if (rc == 0 && names->n == 0)
		rc = bf_err_set(e, BF_ENOTFOUND, "snapshot %s of '%s' records "
		    "no tree commit (snapshot create --tree-commit)", id,
		    profile);
	for (i = 0; rc == 0 && i < names->n; i++)
		if (!bf_repo_name_valid(names->v[i]) ||
		    strlen(commits->v[i]) != BF_OID_HEXSZ)
			rc = bf_err_set(e, BF_EFORMAT, "snapshot %s: repository "
			    "'%s' at '%s': not a repository name and full "
			    "commit id", id, names->v[i], commits->v[i]);
	return rc;
}

/* Every tarball and TREES into `dfd`. */
static int
write_all(int dfd, const struct bf_strv *names, const struct bf_strv *commits,
    const char *mirrors, struct bf_signer *signer, struct bf_buf *list,
    struct bf_err *e)
{
	struct bf_buf index = BF_BUF_INIT, file = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < names->n && rc == 0; i++) {
		bf_buf_reset(&file);
		bf_buf_addf(&file, "%s.tar.xz", names->v[i]);
		if ((rc = write_tarball(dfd, file.buf, names->v[i],
		    commits->v[i], mirrors, e)) < 0 ||
		    (rc = write_checks(dfd, file.buf, signer, e)) < 0)
			break;
		bf_buf_addf(&index, "%s %s %s\n", names->v[i], commits->v[i],
		    file.buf);
		if (list != NULL)
			bf_buf_addf(list, "%s%s", list->len ? " " : "",
			    file.buf);
	}
	if (rc == 0)
		rc = write_small(dfd, BF_TREESNAP_INDEX, &index, e);
	bf_buf_release(&index);
	bf_buf_release(&file);
	return rc;
}

int
bf_treesnap_create(struct bf_repo *r, const char *profile, const char *id,
    const char *mirrors, struct bf_signer *signer, struct bf_buf *list,
    struct bf_err *e)
{
	struct bf_strv names = BF_STRV_INIT, commits = BF_STRV_INIT;
	struct bf_buf tmp = BF_BUF_INIT, dst = BF_BUF_INIT;
	struct stat st;
	int dfd = -1, rc;

	bf_buf_addf(&dst, "snapshots/%s/%s/%s", profile, id, BF_TREESNAP_DIR);
	bf_buf_addf(&tmp, "tmp/trees-%ld-%s", (long)getpid(), id);
	if (fstatat(r->root_fd, dst.buf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = bf_err_set(e, BF_ECONFLICT, "snapshot %s of '%s' has its "
		    "trees already (%s)", id, profile, dst.buf);
		goto out;
	}
	if ((rc = snapshot_trees(r, profile, id, &names, &commits, e)) < 0)
		goto out;
	if (mkdirat(r->root_fd, tmp.buf, 0755) < 0 ||
	    (dfd = openat(r->root_fd, tmp.buf, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		rc = bf_err_errno(e, "cannot create '%s'", tmp.buf);
		goto out;
	}
	if ((rc = write_all(dfd, &names, &commits, mirrors, signer, list,
	    e)) < 0)
		goto out;
	if (fsync(dfd) < 0) {
		rc = bf_err_errno(e, "cannot sync '%s'", tmp.buf);
		goto out;
	}
	if (renameat(r->root_fd, tmp.buf, r->root_fd, dst.buf) < 0) {
		rc = bf_err_errno(e, "cannot publish '%s'", dst.buf);
		goto out;
	}
	rc = bf_fsync_dir(r->root_fd, dst.buf, e);
out:
	if (dfd >= 0)
		close(dfd);
	if (rc < 0)
		bf_rmtree(r->root_fd, tmp.buf, NULL);
	bf_strv_release(&names);
	bf_strv_release(&commits);
	bf_buf_release(&tmp);
	bf_buf_release(&dst);
	return rc;
}
