/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "portage/tree.h"
#include "base/banned.h"

struct bf_tree {
	git_repository	*repo;
	git_commit	*commit;
	git_tree	*root;
	git_tree	*cache;		/* metadata/md5-cache */
	char		*name;
	char		 hex[BF_OID_HEXSZ + 1];
};

/*
 * Records a libgit2 failure: "<what>: <libgit2's message>".  libgit2
 * keeps its last error per thread; we copy it out at once, here only.
 */
static int
err_git(struct bf_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
err_git(struct bf_err *e, int code, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ge != NULL && ge->message != NULL && ge->message[0] != '\0')
		return bf_err_set(e, code, "%s: %s", what, ge->message);
	return bf_err_set(e, code, "%s", what);
}

static void
oid_to_bf(struct bf_oid *o, const git_oid *g)
{
	memset(o, 0, sizeof(*o));
	memcpy(o->id, g->id, sizeof(g->id) < sizeof(o->id) ?
	    sizeof(g->id) : sizeof(o->id));
}

static void
oid_from_bf(git_oid *g, const struct bf_oid *o)
{
	memcpy(g->id, o->id, sizeof(g->id) < sizeof(o->id) ?
	    sizeof(g->id) : sizeof(o->id));
}

static int
open_mirror(git_repository **repo, const char *mirror, struct bf_err *e)
{
	int rc;

	rc = git_repository_open_ext(repo, mirror,
	    GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, NULL);
	if (rc == GIT_ENOTFOUND)
		return err_git(e, BF_ENOTFOUND, "'%s' is not a git repository",
		    mirror);
	if (rc < 0)
		return err_git(e, BF_EGIT, "cannot open repository '%s'",
		    mirror);
	return 0;
}

int
bf_tree_fetch(const char *mirror, const char *uri, struct bf_err *e)
{
	git_fetch_options opts;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_buf head = { NULL, 0, 0 };
	int rc, grc;

	git_libgit2_init();
	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	grc = git_repository_open_ext(&repo, mirror,
	    GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, NULL);
	if (grc == GIT_ENOTFOUND)
		grc = git_repository_init(&repo, mirror, 1);
	if (grc < 0) {
		rc = err_git(e, BF_EGIT, "cannot open mirror '%s'", mirror);
		goto out;
	}
	grc = git_remote_lookup(&remote, repo, "origin");
	if (grc == GIT_ENOTFOUND) {
		if (git_remote_create_with_fetchspec(&remote, repo, "origin",
		    uri, "+refs/heads/*:refs/heads/*") < 0 ||
		    git_remote_add_fetch(repo, "origin",
		    "+refs/tags/*:refs/tags/*") < 0) {
			rc = err_git(e, BF_EGIT, "cannot fetch '%s'", uri);
			goto out;
		}
		git_remote_free(remote);
		remote = NULL;
		grc = git_remote_lookup(&remote, repo, "origin");
	} else if (grc == 0 && strcmp(git_remote_url(remote), uri) != 0) {
		git_remote_free(remote);
		remote = NULL;
		if (git_remote_set_url(repo, "origin", uri) < 0) {
			rc = err_git(e, BF_EGIT, "cannot fetch '%s'", uri);
			goto out;
		}
		grc = git_remote_lookup(&remote, repo, "origin");
	}
	if (grc < 0) {
		rc = err_git(e, BF_EGIT, "cannot fetch '%s'", uri);
		goto out;
	}
	opts.prune = GIT_FETCH_PRUNE;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &opts.callbacks,
	    NULL, NULL) < 0) {
		rc = err_git(e, BF_EGIT, "cannot fetch '%s'", uri);
		goto out;
	}
	/* An empty remote has no default branch; that is not an error. */
	grc = git_remote_default_branch(&head, remote);
	if (git_remote_download(remote, NULL, &opts) < 0 ||
	    git_remote_update_tips(remote, &opts.callbacks, 1,
	    GIT_REMOTE_DOWNLOAD_TAGS_NONE, "binfarm: fetch") < 0 ||
	    git_remote_prune(remote, &opts.callbacks) < 0) {
		rc = err_git(e, BF_EGIT, "cannot fetch '%s'", uri);
		goto out;
	}
	git_remote_disconnect(remote);
	if (grc == 0 && head.ptr != NULL &&
	    git_repository_set_head(repo, head.ptr) < 0) {
		rc = err_git(e, BF_EGIT, "cannot set HEAD of '%s' to '%s'",
		    mirror, head.ptr);
		goto out;
	}
	rc = 0;
out:
	git_buf_dispose(&head);
	git_remote_free(remote);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int
bf_tree_resolve(const char *mirror, const char *ref,
    char hex[BF_OID_HEXSZ + 1], struct bf_err *e)
{
	git_repository *repo = NULL;
	git_object *obj = NULL, *commit = NULL;
	int rc, grc;

	git_libgit2_init();
	if ((rc = open_mirror(&repo, mirror, e)) < 0)
		goto out;
	grc = git_revparse_single(&obj, repo, ref);
	if (grc == GIT_ENOTFOUND || grc == GIT_EINVALIDSPEC ||
	    grc == GIT_EAMBIGUOUS) {
		rc = bf_err_set(e, BF_ENOTFOUND, "unknown ref '%s'%s", ref,
		    grc == GIT_EAMBIGUOUS ? " (ambiguous)" : "");
		goto out;
	}
	if (grc < 0) {
		rc = err_git(e, BF_EGIT, "cannot resolve '%s' in '%s'", ref,
		    mirror);
		goto out;
	}
	if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		rc = err_git(e, BF_ENOTFOUND, "ref '%s' is not a commit", ref);
		goto out;
	}
	git_oid_tostr(hex, BF_OID_HEXSZ + 1, git_object_id(commit));
	rc = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

void
bf_tree_close(struct bf_tree *t)
{
	if (t == NULL)
		return;
	git_tree_free(t->cache);
	git_tree_free(t->root);
	git_commit_free(t->commit);
	git_repository_free(t->repo);
	free(t->name);
	free(t);
	git_libgit2_shutdown();
}

const char *
bf_tree_repo_name(const struct bf_tree *t)
{
	return t->name;
}

const char *
bf_tree_commit(const struct bf_tree *t)
{
	return t->hex;
}

int
bf_tree_is_dir(struct bf_tree *t, const char *path)
{
	git_tree_entry *ent = NULL;
	int dir;

	if (git_tree_entry_bypath(&ent, t->root, path) < 0)
		return 0;
	dir = git_tree_entry_type(ent) == GIT_OBJECT_TREE;
	git_tree_entry_free(ent);
	return dir;
}

int
bf_tree_read_path(struct bf_tree *t, const char *path, struct bf_buf *out,
    struct bf_err *e)
{
	git_tree_entry *ent = NULL;
	git_blob *blob = NULL;
	int rc, grc;

	grc = git_tree_entry_bypath(&ent, t->root, path);
	if (grc == GIT_ENOTFOUND)
		return bf_err_set(e, BF_ENOTFOUND, "%s: no '%s' at %s",
		    t->name, path, t->hex);
	if (grc < 0)
		return err_git(e, BF_EGIT, "%s: cannot read '%s'", t->name,
		    path);
	if (git_tree_entry_type(ent) != GIT_OBJECT_BLOB) {
		rc = bf_err_set(e, BF_EFORMAT, "%s: '%s' is not a file",
		    t->name, path);
		goto out;
	}
	if (git_blob_lookup(&blob, t->repo, git_tree_entry_id(ent)) < 0) {
		rc = err_git(e, BF_EGIT, "%s: cannot read '%s' at %s", t->name,
		    path, t->hex);
		goto out;
	}
	bf_buf_add(out, git_blob_rawcontent(blob),
	    (size_t)git_blob_rawsize(blob));
	if ((rc = bf_buf_error(out)) < 0)
		bf_err_nomem(e);
out:
	git_blob_free(blob);
	git_tree_entry_free(ent);
	return rc;
}

int
bf_tree_open(struct bf_tree **tp, const char *mirror, const char *hex,
    const char *name, struct bf_err *e)
{
	struct bf_buf rn = BF_BUF_INIT;
	git_tree_entry *ent = NULL;
	struct bf_tree *t;
	git_oid oid;
	int rc, grc;

	*tp = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return bf_err_nomem(e);
	git_libgit2_init();
	if ((t->name = strdup(name)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = open_mirror(&t->repo, mirror, e)) < 0)
		goto out;
	if (strlen(hex) != BF_OID_HEXSZ || git_oid_fromstr(&oid, hex) < 0) {
		rc = bf_err_set(e, BF_EUSAGE, "'%s' is not a commit id", hex);
		goto out;
	}
	grc = git_commit_lookup(&t->commit, t->repo, &oid);
	if (grc == GIT_ENOTFOUND) {
		rc = bf_err_set(e, BF_ENOTFOUND, "%s: commit %s is not in the "
		    "mirror '%s' (pin again, or the mirror is damaged)", name,
		    hex, mirror);
		goto out;
	}
	if (grc < 0 || git_commit_tree(&t->root, t->commit) < 0) {
		rc = err_git(e, BF_EGIT, "%s: cannot read commit %s "
		    "(corrupt repository '%s'?)", name, hex, mirror);
		goto out;
	}
	git_oid_tostr(t->hex, sizeof(t->hex), &oid);
	grc = git_tree_entry_bypath(&ent, t->root, "metadata/md5-cache");
	if (grc == GIT_ENOTFOUND ||
	    (grc == 0 && git_tree_entry_type(ent) != GIT_OBJECT_TREE)) {
		rc = bf_err_set(e, BF_ENOTFOUND, "%s: commit %s has no "
		    "metadata/md5-cache; generate it with 'egencache --update "
		    "--repo=%s' and commit it, or use a tree that carries it "
		    "(such as the gentoo-mirror repositories)", name, t->hex,
		    name);
		goto out;
	}
	if (grc < 0 || git_tree_lookup(&t->cache, t->repo,
	    git_tree_entry_id(ent)) < 0) {
		rc = err_git(e, BF_EGIT, "%s: cannot read metadata/md5-cache "
		    "at %s (corrupt repository '%s'?)", name, t->hex, mirror);
		goto out;
	}
	/* The name the repository gives itself, if it does. */
	if (bf_tree_read_path(t, "profiles/repo_name", &rn, NULL) == 0) {
		bf_buf_rtrim(&rn);
		if (rn.len > 0 && strchr(rn.buf, '\n') == NULL) {
			free(t->name);
			if ((t->name = bf_buf_detach(&rn, NULL)) == NULL) {
				rc = bf_err_nomem(e);
				goto out;
			}
		}
	}
	*tp = t;
	t = NULL;
	rc = 0;
out:
	bf_buf_release(&rn);
	git_tree_entry_free(ent);
	bf_tree_close(t);
	return rc;
}

int
bf_tree_walk_cache(struct bf_tree *t, bf_tree_cache_cb cb, void *ctx,
    struct bf_err *e)
{
	size_t i, j, n, m;
	git_tree *cat = NULL;
	struct bf_oid o;
	int rc = 0;

	n = git_tree_entrycount(t->cache);
	for (i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *ce = git_tree_entry_byindex(t->cache, i);

		if (git_tree_entry_type(ce) != GIT_OBJECT_TREE)
			continue;
		if (git_tree_lookup(&cat, t->repo, git_tree_entry_id(ce)) < 0)
			return err_git(e, BF_EGIT, "%s: cannot read "
			    "metadata/md5-cache/%s at %s", t->name,
			    git_tree_entry_name(ce), t->hex);
		m = git_tree_entrycount(cat);
		for (j = 0; j < m && rc == 0; j++) {
			const git_tree_entry *pe = git_tree_entry_byindex(cat, j);

			if (git_tree_entry_type(pe) != GIT_OBJECT_BLOB)
				continue;
			oid_to_bf(&o, git_tree_entry_id(pe));
			rc = cb(ctx, git_tree_entry_name(ce),
			    git_tree_entry_name(pe), &o, e);
		}
		git_tree_free(cat);
		cat = NULL;
	}
	return rc;
}

int
bf_tree_read_blob(struct bf_tree *t, const struct bf_oid *id,
    struct bf_buf *out, struct bf_err *e)
{
	char hex[BF_OID_HEXSZ + 1];
	git_blob *blob = NULL;
	git_oid oid;
	int rc;

	oid_from_bf(&oid, id);
	if (git_blob_lookup(&blob, t->repo, &oid) < 0) {
		git_oid_tostr(hex, sizeof(hex), &oid);
		return err_git(e, BF_EGIT, "%s: cannot read object %s "
		    "(corrupt repository?)", t->name, hex);
	}
	bf_buf_add(out, git_blob_rawcontent(blob),
	    (size_t)git_blob_rawsize(blob));
	if ((rc = bf_buf_error(out)) < 0)
		bf_err_nomem(e);
	git_blob_free(blob);
	return rc;
}

void
bf_pins_release(struct bf_pins *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].uri);
		free(ps->v[i].ref);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->alloc = 0;
}

static int
valid_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == BF_OID_HEXSZ;
}

int
bf_pins_add(struct bf_pins *ps, const char *name, const char *uri,
    const char *ref, const char *commit, struct bf_err *e)
{
	struct bf_pin *p;
	size_t i, nl = strlen(name);

	if (nl == 0 || strchr(name, '/') != NULL || name[0] == '.' ||
	    strpbrk(name, " \t\n") != NULL)
		return bf_err_set(e, BF_EUSAGE, "invalid repository name '%s'",
		    name);
	if (*uri == '\0' || strpbrk(uri, "\t\n") != NULL ||
	    *ref == '\0' || strpbrk(ref, " \t\n") != NULL)
		return bf_err_set(e, BF_EUSAGE, "invalid location or ref for "
		    "'%s'", name);
	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].name, name) == 0)
			return bf_err_set(e, BF_EUSAGE, "repository '%s' given "
			    "twice", name);
	if (bf_grow(&ps->v, &ps->alloc, ps->n + 1, sizeof(*ps->v), 4) < 0)
		return bf_err_nomem(e);
	p = &ps->v[ps->n];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL || (p->uri = strdup(uri)) == NULL ||
	    (p->ref = strdup(ref)) == NULL) {
		free(p->name);
		free(p->uri);
		return bf_err_nomem(e);
	}
	if (commit != NULL)
		snprintf(p->commit, sizeof(p->commit), "%s", commit);
	ps->n++;
	return 0;
}

int
bf_pins_add_spec(struct bf_pins *ps, const char *spec, struct bf_err *e)
{
	const char *eq = strchr(spec, '='), *at;
	char *name = NULL, *uri = NULL;
	const char *ref = "HEAD";
	int rc;

	if (eq == NULL || eq == spec || eq[1] == '\0')
		return bf_err_set(e, BF_EUSAGE, "'%s' is not NAME=URI[@REF]",
		    spec);
	at = strrchr(eq + 1, '@');
	if (at != NULL && strpbrk(at, "/:") == NULL && at[1] != '\0') {
		ref = at + 1;
		uri = strndup(eq + 1, (size_t)(at - eq - 1));
	} else
		uri = strdup(eq + 1);
	name = strndup(spec, (size_t)(eq - spec));
	if (name == NULL || uri == NULL)
		rc = bf_err_nomem(e);
	else
		rc = bf_pins_add(ps, name, uri, ref, NULL, e);
	free(name);
	free(uri);
	return rc;
}

int
bf_pins_parse(struct bf_pins *ps, const char *file, const char *text,
    size_t len, struct bf_err *e)
{
	const char *p = text, *end = text + len, *nl;
	char *line = NULL, *f[4], *s;
	unsigned lineno = 0;
	int rc = 0, nf;

	for (; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		free(line);
		if ((line = strndup(p, (size_t)(nl - p))) == NULL)
			return bf_err_nomem(e);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		for (nf = 0, s = line; nf < 4; nf++) {
			f[nf] = s;
			if ((s = strchr(s, '\t')) == NULL) {
				nf++;
				break;
			}
			*s++ = '\0';
		}
		if (nf != 4 || s != NULL || !valid_hex(f[1])) {
			rc = bf_err_set(e, BF_EFORMAT, "%s:%u: expected "
			    "'NAME<TAB>COMMIT<TAB>URI<TAB>REF'", file, lineno);
			break;
		}
		if ((rc = bf_pins_add(ps, f[0], f[2], f[3], f[1], e)) < 0) {
			bf_err_prefix(e, "%s:%u", file, lineno);
			break;
		}
	}
	free(line);
	return rc;
}

void
bf_pins_format(const struct bf_pins *ps, struct bf_buf *out)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		bf_buf_addf(out, "%s\t%s\t%s\t%s\n", ps->v[i].name,
		    ps->v[i].commit, ps->v[i].uri, ps->v[i].ref);
}

void
bf_tree_mirror_path(const char *mirrors, const char *name, struct bf_buf *out)
{
	bf_buf_addf(out, "%s/%s.git", mirrors, name);
}

int
bf_pins_resolve(struct bf_pins *ps, const char *mirrors, struct bf_err *e)
{
	struct bf_buf m = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < ps->n && rc == 0; i++) {
		bf_buf_reset(&m);
		bf_tree_mirror_path(mirrors, ps->v[i].name, &m);
		if ((rc = bf_buf_error(&m)) < 0) {
			bf_err_nomem(e);
			break;
		}
		if ((rc = bf_tree_fetch(m.buf, ps->v[i].uri, e)) < 0)
			break;
		if ((rc = bf_tree_resolve(m.buf, ps->v[i].ref,
		    ps->v[i].commit, e)) < 0)
			bf_err_prefix(e, "%s (%s)", ps->v[i].name, ps->v[i].uri);
	}
	bf_buf_release(&m);
	return rc;
}

/* Writes the entries of `tree` into the directory `dfd`, recursively. */
static int
export_tree(struct bf_tree *t, git_tree *tree, int dfd, const char *where,
    struct bf_err *e)
{
	size_t i, n = git_tree_entrycount(tree);
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *ent = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(ent);
		git_filemode_t mode = git_tree_entry_filemode(ent);
		git_tree *sub = NULL;
		git_blob *blob = NULL;
		int fd, sfd;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strchr(name, '/') != NULL || *name == '\0')
			return bf_err_set(e, BF_EUNSAFE, "%s: unsafe name '%s' "
			    "in '%s'", t->name, name, where);
		switch (mode) {
		case GIT_FILEMODE_TREE:
			if (git_tree_lookup(&sub, t->repo,
			    git_tree_entry_id(ent)) < 0)
				return err_git(e, BF_EGIT, "%s: cannot read "
				    "'%s/%s'", t->name, where, name);
			if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
				rc = bf_err_errno(e, "cannot create '%s'", name);
			else if ((sfd = openat(dfd, name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = bf_err_errno(e, "cannot open '%s'", name);
			else {
				rc = export_tree(t, sub, sfd, name, e);
				close(sfd);
			}
			git_tree_free(sub);
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
		case GIT_FILEMODE_LINK:
			if (git_blob_lookup(&blob, t->repo,
			    git_tree_entry_id(ent)) < 0)
				return err_git(e, BF_EGIT, "%s: cannot read "
				    "'%s/%s'", t->name, where, name);
			if (mode == GIT_FILEMODE_LINK) {
				struct bf_buf tg = BF_BUF_INIT;

				bf_buf_add(&tg, git_blob_rawcontent(blob),
				    (size_t)git_blob_rawsize(blob));
				if (symlinkat(tg.buf, dfd, name) < 0)
					rc = bf_err_errno(e, "cannot create "
					    "'%s'", name);
				bf_buf_release(&tg);
			} else if ((fd = openat(dfd, name, O_WRONLY | O_CREAT |
			    O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			    mode == GIT_FILEMODE_BLOB ? 0644 : 0755)) < 0)
				rc = bf_err_errno(e, "cannot create '%s'", name);
			else {
				if (bf_write_full(fd, git_blob_rawcontent(blob),
				    (size_t)git_blob_rawsize(blob)) < 0)
					rc = bf_err_errno(e, "cannot write "
					    "'%s'", name);
				if (close(fd) < 0 && rc == 0)
					rc = bf_err_errno(e, "cannot write "
					    "'%s'", name);
			}
			git_blob_free(blob);
			break;
		default:
			/* Submodules (commits) are left out. */
			break;
		}
	}
	return rc;
}

/* Calls `cb` for every entry of `tree` below `path` (a bf_buf), recursively. */
static int
walk_files(struct bf_tree *t, git_tree *tree, struct bf_buf *path,
    bf_tree_file_cb cb, void *ctx, struct bf_err *e)
{
	size_t i, n = git_tree_entrycount(tree), len = path->len;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *ent = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(ent);
		git_filemode_t mode = git_tree_entry_filemode(ent);
		git_tree *sub = NULL;
		git_blob *blob = NULL;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strchr(name, '/') != NULL || *name == '\0')
			return bf_err_set(e, BF_EUNSAFE, "%s: unsafe name '%s' "
			    "in '%s'", t->name, name, path->buf);
		bf_buf_setlen(path, len);
		bf_buf_addf(path, "%s%s", len > 0 ? "/" : "", name);
		if (bf_buf_error(path) < 0)
			return bf_err_nomem(e);
		switch (mode) {
		case GIT_FILEMODE_TREE:
			if (git_tree_lookup(&sub, t->repo,
			    git_tree_entry_id(ent)) < 0)
				return err_git(e, BF_EGIT, "%s: cannot read "
				    "'%s'", t->name, path->buf);
			if ((rc = cb(ctx, path->buf, 040755, NULL, 0, e)) == 0)
				rc = walk_files(t, sub, path, cb, ctx, e);
			git_tree_free(sub);
			break;
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
		case GIT_FILEMODE_LINK:
			if (git_blob_lookup(&blob, t->repo,
			    git_tree_entry_id(ent)) < 0)
				return err_git(e, BF_EGIT, "%s: cannot read "
				    "'%s'", t->name, path->buf);
			rc = cb(ctx, path->buf, mode == GIT_FILEMODE_LINK ?
			    0120777 : mode == GIT_FILEMODE_BLOB ? 0100644 :
			    0100755, git_blob_rawcontent(blob),
			    (size_t)git_blob_rawsize(blob), e);
			git_blob_free(blob);
			break;
		default:
			/* Submodules (commits) are left out. */
			break;
		}
	}
	bf_buf_setlen(path, len);
	return rc;
}

int
bf_tree_walk_files(struct bf_tree *t, bf_tree_file_cb cb, void *ctx,
    struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	int rc;

	rc = walk_files(t, t->root, &path, cb, ctx, e);
	bf_buf_release(&path);
	return rc;
}

long long
bf_tree_commit_time(const struct bf_tree *t)
{
	return (long long)git_commit_time(t->commit);
}

int
bf_tree_export(struct bf_tree *t, const char *path, const char *dest,
    struct bf_err *e)
{
	git_tree_entry *ent = NULL;
	git_tree *sub = NULL;
	int dfd = -1, rc, grc;

	if (*path == '\0') {
		/* The whole tree: a checkout without .git. */
		if (mkdir(dest, 0755) < 0 && errno != EEXIST)
			return bf_err_errno(e, "cannot create '%s'", dest);
		if ((dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return bf_err_errno(e, "cannot open '%s'", dest);
		rc = export_tree(t, t->root, dfd, "/", e);
		close(dfd);
		return rc;
	}
	grc = git_tree_entry_bypath(&ent, t->root, path);
	if (grc == GIT_ENOTFOUND)
		return bf_err_set(e, BF_ENOTFOUND, "%s: no '%s' at %s",
		    t->name, path, t->hex);
	if (grc < 0)
		return err_git(e, BF_EGIT, "%s: cannot read '%s'", t->name,
		    path);
	if (git_tree_entry_type(ent) != GIT_OBJECT_TREE) {
		rc = bf_err_set(e, BF_EFORMAT, "%s: '%s' is not a directory",
		    t->name, path);
		goto out;
	}
	if (git_tree_lookup(&sub, t->repo, git_tree_entry_id(ent)) < 0) {
		rc = err_git(e, BF_EGIT, "%s: cannot read '%s'", t->name, path);
		goto out;
	}
	if (mkdir(dest, 0755) < 0 && errno != EEXIST) {
		rc = bf_err_errno(e, "cannot create '%s'", dest);
		goto out;
	}
	if ((dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = bf_err_errno(e, "cannot open '%s'", dest);
		goto out;
	}
	rc = export_tree(t, sub, dfd, path, e);
out:
	if (dfd >= 0)
		close(dfd);
	git_tree_free(sub);
	git_tree_entry_free(ent);
	return rc;
}

int
bf_repo_revisions(const char *const *names, const char *const *commits,
    size_t n, struct bf_buf *out)
{
	json_t *o = json_object();
	char *s = NULL;
	size_t i;
	int rc = -ENOMEM;

	for (i = 0; o != NULL && i < n; i++) {
		if (json_object_get(o, names[i]) != NULL) {
			rc = -EEXIST;
			goto out;
		}
		if (json_object_set_new(o, names[i], json_string(commits[i])) < 0)
			goto out;
	}
	if (o != NULL && (s = json_dumps(o, JSON_SORT_KEYS)) != NULL) {
		bf_buf_adds(out, s);
		rc = bf_buf_error(out);
	}
out:
	free(s);
	json_decref(o);
	return rc;
}

int
bf_repo_revisions_parse(const char *text, struct bf_strv *names,
    struct bf_strv *commits)
{
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *v;
	const char *k;
	int rc = 0;

	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	json_object_foreach(o, k, v) {
		const char *c = json_string_value(v);

		if (bf_strv_push(names, k) < 0 ||
		    bf_strv_push(commits, c != NULL ? c : "") < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	json_decref(o);
	return rc;
}
