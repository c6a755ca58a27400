/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The store through its library calls (lib/store): a repository is
 * created, packages are added (BUILD_IDs allocated), snapshots cut,
 * a channel promoted, a downgrade refused, rolled back, the history
 * kept; gc keeps what a channel or the keep count needs and deletes
 * the rest; fsck finds nothing wrong, then a missing pool file.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "format/gpkg.h"
#include "store/channel.h"
#include "store/chgen.h"
#include "store/fsck.h"
#include "store/gc.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "tap.h"

static char top[64];

static int
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* A tiny real gpkg of app-misc/<pf>, as t/lib-index.sh's mkpkg makes. */
static int
mkpkg(const char *pf, char *out, size_t outsz)
{
	static const char *const keys[][2] = {
		{ "CATEGORY", "app-misc\n" }, { "SLOT", "0\n" },
		{ "EAPI", "8\n" }, { "KEYWORDS", "amd64\n" },
		{ "LICENSE", "MIT\n" }, { "USE", "\n" },
		{ "repository", "gentoo\n" },
		{ "CHOST", "x86_64-pc-linux-gnu\n" },
		{ "BUILD_TIME", "1700000000\n" },
	};
	struct bf_gpkg_pack_opts po;
	struct bf_gpkg_pack_result pr;
	struct bf_err e = BF_ERR_INIT;
	char img[256], info[256], p[512];
	size_t i;
	int fd, rc;

	snprintf(img, sizeof(img), "%s/img-%s", top, pf);
	snprintf(info, sizeof(info), "%s/info-%s", top, pf);
	snprintf(p, sizeof(p), "%s/usr/share", img);
	if (bf_mkdirs(AT_FDCWD, p, 0755, NULL, &e) < 0 ||
	    mkdir(info, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/usr/share/README-%s", img, pf);
	put(p, pf);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", info, keys[i][0]);
		put(p, keys[i][1]);
	}
	snprintf(p, sizeof(p), "%s/PF", info);
	put(p, pf);
	snprintf(out, outsz, "%s/%s.gpkg.tar", top, pf);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	memset(&po, 0, sizeof(po));
	po.build_id = -1;
	po.mtime = 1700000000;
	po.threads = 1;
	rc = bf_gpkg_pack(img, info, fd, &po, &pr, &e);
	close(fd);
	if (rc < 0)
		printf("# pack: %s\n", bf_err_msg(&e, rc));
	return rc;
}

/* Adds `file` to profile amd64 and cuts a snapshot into `id`. */
static int
add_and_snapshot(struct bf_repo *r, const char *file, char id[32])
{
	struct bf_repo_add_opts ao;
	struct bf_repo_added res;
	struct bf_snapshot_opts so;
	struct bf_workset w;
	struct bf_err e = BF_ERR_INIT;
	size_t n;
	int rc;

	memset(&ao, 0, sizeof(ao));
	ao.mtime = -1;
	memset(&so, 0, sizeof(so));
	so.by = "u-store";
	so.threads = 1;
	if ((rc = bf_workset_load(r, "amd64", &w, &e)) < 0)
		goto out;
	if ((rc = bf_repo_add(r, "amd64", file, &ao, &w, &res, &e)) == 0)
		rc = bf_workset_save(r, "amd64", &w, &e);
	bf_workset_release(&w);
	if (rc == 0)
		rc = bf_snapshot_create(r, "amd64", &so, id, &n, &e);
out:
	if (rc < 0)
		printf("# %s\n", bf_err_msg(&e, rc));
	return rc;
}

static int
exists(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/repo/%s", top, rel);
	return stat(p, &st) == 0;
}

static void
count_problem(void *arg, const char *msg)
{
	(void)msg;
	(*(int *)arg)++;
}

int
main(void)
{
	struct bf_repo *r = NULL;
	struct bf_err e = BF_ERR_INIT;
	struct bf_move_opts mo;
	struct bf_move_result mr;
	struct bf_gc_opts go;
	struct bf_gc_stats gs;
	struct bf_fsck_opts fo;
	struct bf_history_entry *hv = NULL;
	struct bf_chgen g;
	char f10[512], f11[512], s1[32], s2[32], s3[32], at[32], dir[512];
	char cmd[600];
	size_t nh = 0;
	int problems = 0;

	snprintf(top, sizeof(top), "/tmp/u-store.XXXXXX");
	if (mkdtemp(top) == NULL)
		return 2;
	snprintf(dir, sizeof(dir), "%s/repo", top);
	ok(bf_repo_create(dir, BF_REPO_UNSIGNED, &e) == 0, "repository created");
	ok(bf_repo_open(&r, dir, &e) == 0, "and opened");
	ok(bf_repo_lock(r, NULL, NULL, &e) == 0, "locked");
	ok(mkpkg("foo-1.0", f10, sizeof(f10)) == 0 &&
	    mkpkg("foo-1.1", f11, sizeof(f11)) == 0, "two packages packed");

	ok(add_and_snapshot(r, f10, s1) == 0, "foo-1.0 added, snapshot 1");
	ok(add_and_snapshot(r, f11, s2) == 0, "foo-1.1 added, snapshot 2");
	ok(add_and_snapshot(r, f11, s3) == 0, "foo-1.1 again, snapshot 3");
	ok(exists("pool/amd64/app-misc/foo/foo-1.1-2.gpkg.tar"),
	    "the second foo-1.1 got BUILD_ID 2");
	ok(strcmp(s1, s2) < 0 && strcmp(s2, s3) < 0, "snapshot ids increase");

	memset(&mo, 0, sizeof(mo));
	mo.by = "u-store";
	memset(&mr, 0, sizeof(mr));
	ok(bf_chgen_map(r->root_fd, &g) < 0 && bf_chgen_load(&g) == 0,
	    "no channel moved yet: no channel generation to map");
	ok(bf_repo_promote(r, "amd64", "production", s2, &mo, &mr, &e) == 0 &&
	    mr.moved, "production promoted to snapshot 2");
	bf_move_result_release(&mr);
	ok(bf_chgen_map(r->root_fd, &g) == 0 && bf_chgen_load(&g) == 1 &&
	    bf_chgen_current(r->root_fd, &g),
	    "the move made channels/.generation, at 1, mapped");
	ok(bf_channel_get(r, "production", "amd64", at, &e) == 0 &&
	    strcmp(at, s2) == 0, "production points at snapshot 2");
	memset(&mr, 0, sizeof(mr));
	ok(bf_repo_promote(r, "amd64", "production", s1, &mo, &mr, &e) < 0 &&
	    !mr.moved, "a downgrade to snapshot 1 is refused");
	bf_move_result_release(&mr);
	bf_err_clear(&e);
	ok(bf_channel_get(r, "production", "amd64", at, &e) == 0 &&
	    strcmp(at, s2) == 0, "... and production did not move");
	memset(&mr, 0, sizeof(mr));
	ok(bf_repo_promote(r, "amd64", "production", s3, &mo, &mr, &e) == 0 &&
	    mr.diff.count[BF_CHG_REBUILT] == 1, "snapshot 3: foo rebuilt");
	bf_move_result_release(&mr);
	memset(&mr, 0, sizeof(mr));
	ok(bf_repo_rollback(r, "amd64", "production", &mo, &mr, &e) == 0 &&
	    strcmp(mr.to, s2) == 0, "rollback returns to snapshot 2");
	bf_move_result_release(&mr);
	ok(bf_chgen_load(&g) == 3,
	    "the mapping saw every move but the refused one (3)");
	ok(unlinkat(r->root_fd, BF_CHGEN_PATH, 0) == 0 &&
	    !bf_chgen_current(r->root_fd, &g) && bf_chgen_bump(r->root_fd) == 0 &&
	    !bf_chgen_current(r->root_fd, &g) && bf_chgen_load(&g) == 3,
	    "a generation file removed and made again is another mapping's");
	bf_chgen_unmap(&g);
	ok(bf_chgen_map(r->root_fd, &g) == 0 && bf_chgen_load(&g) == 1 &&
	    bf_chgen_current(r->root_fd, &g), "which maps, at 1");
	bf_chgen_unmap(&g);
	ok(bf_history_load(r, &hv, &nh, &e) == 0 && nh == 3,
	    "the history has the three moves");
	ok(nh == 3 && strcmp(hv[2].action, "rollback") == 0 &&
	    strcmp(hv[2].to, s2) == 0, "the last one is the rollback");
	free(hv);

	/* gc with keep 1: snapshot 1 goes, 2 (production) and 3 stay. */
	memset(&go, 0, sizeof(go));
	go.keep = 1;
	go.grace = 0;
	go.now = -1;
	ok(bf_repo_gc(r, &go, &gs, &e) == 0, "gc");
	is_int(gs.snapshots_deleted, 1, "gc deleted one snapshot");
	is_int(gs.snapshots_kept, 2, "kept two");
	snprintf(cmd, sizeof(cmd), "snapshots/amd64/%s", s1);
	ok(!exists(cmd), "snapshot 1 is gone");
	snprintf(cmd, sizeof(cmd), "snapshots/amd64/%s", s2);
	ok(exists(cmd), "snapshot 2 (production) stays");
	ok(!exists("pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar"),
	    "foo-1.0 left the pool with it");
	ok(exists("pool/amd64/app-misc/foo/foo-1.1-1.gpkg.tar") &&
	    exists("pool/amd64/app-misc/foo/foo-1.1-2.gpkg.tar"),
	    "the foo-1.1 builds stay");

	memset(&fo, 0, sizeof(fo));
	fo.problem = count_problem;
	fo.arg = &problems;
	ok(bf_repo_fsck(r, &fo, &e) == 0 && problems == 0, "fsck: clean");
	snprintf(cmd, sizeof(cmd), "%s/repo/pool/amd64/app-misc/foo/"
	    "foo-1.1-1.gpkg.tar", top);
	unlink(cmd);
	ok(bf_repo_fsck(r, &fo, &e) > 0 && problems > 0,
	    "fsck: a missing pool file is a problem");

	bf_repo_unlock(r);
	bf_repo_free(r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		return 2;
	return tap_done();
}
