/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The repository: layout, writer lock, recovery, the working set,
 * adding packages, snapshots and diffs.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "format/gpkg.h"
#include "store/gpkgsign.h"
#include "base/lockfile.h"
#include "format/meta.h"
#include "format/pkgdir.h"
#include "format/pkgindex.h"
#include "portage/tree.h"
#include "store/repo.h"
#include "base/banned.h"

static const char *const layout_dirs[] = {
	"pool", "snapshots", "channels", "work", "tmp", "keys",
};

/* A fingerprint: 40 (v4) or 64 (v5) hex digits. */
static int
fpr_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' &&
		    s[n] <= 'F') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == 40 || n == 64;
}

int
bf_repo_name_valid(const char *s)
{
	return bf_name_valid(s);
}

char *
bf_repo_path(const struct bf_repo *r, const char *rel)
{
	struct bf_buf b = BF_BUF_INIT;

	bf_buf_addf(&b, "%s/%s", r->root, rel);
	return bf_buf_detach(&b, NULL);
}

int
bf_repo_gnupg_default(struct bf_buf *out, struct bf_err *e)
{
	const char *v;

	if ((v = getenv("BINFARM_GNUPG_HOME")) != NULL && *v != '\0')
		bf_buf_adds(out, v);
	else if (geteuid() == 0)
		bf_buf_adds(out, "/var/lib/binfarm/gnupg");
	else if ((v = getenv("XDG_STATE_HOME")) != NULL && *v == '/')
		bf_buf_addf(out, "%s/binfarm/gnupg", v);
	else if ((v = getenv("HOME")) != NULL && *v == '/')
		bf_buf_addf(out, "%s/.local/state/binfarm/gnupg", v);
	else
		return bf_err_set(e, BF_ECONFIG, "no GnuPG home given and none "
		    "to default to (HOME is not set); use --gnupg-home DIR or "
		    "set BINFARM_GNUPG_HOME");
	return bf_buf_error(out) < 0 ? bf_err_nomem(e) : 0;
}

int
bf_repo_contains(const struct bf_repo *r, const char *path)
{
	char *root, *p;
	size_t n;
	int in = 0;

	if ((root = realpath(r->root, NULL)) == NULL)
		return 0;
	if ((p = realpath(path, NULL)) != NULL) {
		n = strlen(root);
		in = strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == '\0' ||
		    n == 1);
	}
	free(root);
	free(p);
	return in;
}

int
bf_repo_key_problem(const struct bf_repo *r, struct bf_buf *why,
    struct bf_err *e)
{
	struct stat st;

	if (fstatat(r->root_fd, BF_REPO_GNUPG, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (r->gnupg_home != NULL && !bf_repo_contains(r, r->gnupg_home))
			bf_buf_addf(why, "secret key material is left inside the "
			    "repository ('%s/%s'), where anything that serves "
			    "the directory hands it out; remove it with "
			    "'binfarm -R %s key migrate'", r->root,
			    BF_REPO_GNUPG, r->root);
		else
			bf_buf_addf(why, "the GnuPG home with the secret signing "
			    "key is inside the repository ('%s/%s'), where "
			    "anything that serves the directory hands it out; "
			    "move it out with 'binfarm -R %s key migrate "
			    "[--gnupg-home DIR]'", r->root, BF_REPO_GNUPG,
			    r->root);
	} else if (errno != ENOENT && errno != ENOTDIR) {
		return bf_err_errno(e, "cannot check '%s/%s'", r->root,
		    BF_REPO_GNUPG);
	} else if (r->gnupg_home != NULL && bf_repo_contains(r, r->gnupg_home)) {
		bf_buf_addf(why, "the GnuPG home '%s' with the secret signing "
		    "key is inside the repository '%s', where anything that "
		    "serves the directory hands it out; move it out with "
		    "'binfarm -R %s key migrate [--gnupg-home DIR]'",
		    r->gnupg_home, r->root, r->root);
	} else
		return 0;
	return bf_buf_error(why) < 0 ? bf_err_nomem(e) : 1;
}

/* Whether `line` sets `key` ("key = ..."). */
static int
line_sets(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key);

	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len < k || memcmp(line, key, k) != 0)
		return 0;
	for (line += k, len -= k; len > 0 && (*line == ' ' || *line == '\t');
	    line++, len--)
		;
	return len > 0 && *line == '=';
}

int
bf_repo_set_key(struct bf_repo *r, const char *home, const char *fpr,
    struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT;
	char *text = NULL, *line, *nl, *h = NULL, *f = NULL;
	size_t len, n;
	int rc;

	if (home[0] != '/' || !fpr_valid(fpr))
		return bf_err_set(e, BF_EUSAGE, "bad GnuPG home '%s' or "
		    "fingerprint '%s'", home, fpr);
	if ((rc = bf_read_file(r->root_fd, BF_REPO_CONF, &text, &len, e)) < 0)
		return rc;
	for (line = text; line < text + len; line = nl) {
		if ((nl = memchr(line, '\n', (size_t)(text + len - line))) == NULL)
			nl = text + len;
		else
			nl++;
		n = (size_t)(nl - line);
		if (line_sets(line, n, "gnupg-home") ||
		    line_sets(line, n, "signing-key"))
			continue;
		bf_buf_add(&b, line, n);
		if (n > 0 && line[n - 1] != '\n')
			bf_buf_addch(&b, '\n');
	}
	bf_buf_addf(&b, "gnupg-home = %s\nsigning-key = %s\n", home, fpr);
	if (bf_buf_error(&b) < 0 || (h = strdup(home)) == NULL ||
	    (f = strdup(fpr)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = bf_lockfile_open(&lf, r->root_fd, BF_REPO_CONF, 0644, e)) < 0)
		goto out;
	bf_lockfile_write(&lf, b.buf, b.len);
	if ((rc = bf_lockfile_commit(&lf, -1, e)) < 0)
		goto out;
	free(r->gnupg_home);
	free(r->signing_key);
	r->gnupg_home = h;
	r->signing_key = f;
	h = f = NULL;
out:
	bf_lockfile_rollback(&lf);
	free(text);
	free(h);
	free(f);
	bf_buf_release(&b);
	return rc;
}

static int
write_conf(int dirfd, int signed_repo, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&b, "# binfarm repository (man 5 binfarm-repository)\n"
	    "format = 1\n"
	    "signing = %s\n"
	    "# gc: newest snapshots kept per profile, and how long a snapshot\n"
	    "# a channel pointed at stays (seconds)\n"
	    "keep = 3\n"
	    "grace = 604800\n", signed_repo ? "yes" : "no");
	if ((rc = bf_lockfile_open(&lf, dirfd, BF_REPO_CONF, 0644, e)) == 0) {
		bf_lockfile_write(&lf, b.buf, b.len);
		rc = bf_lockfile_commit(&lf, -1, e);
	}
	bf_buf_release(&b);
	return rc;
}

int
bf_repo_create(const char *dir, unsigned flags, struct bf_err *e)
{
	struct stat st;
	size_t i;
	int fd = -1, lfd, rc = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create '%s'", dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open '%s'", dir);
	if (fstatat(fd, BF_REPO_CONF, &st, 0) == 0) {
		rc = bf_err_set(e, BF_ECONFLICT, "'%s' is already a binfarm "
		    "repository", dir);
		goto out;
	}
	for (i = 0; i < sizeof(layout_dirs) / sizeof(layout_dirs[0]); i++) {
		if (mkdirat(fd, layout_dirs[i], 0755) < 0 && errno != EEXIST) {
			rc = bf_err_errno(e, "cannot create '%s/%s'", dir,
			    layout_dirs[i]);
			goto out;
		}
	}
	if ((lfd = openat(fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 ||
	    close(lfd) < 0 ||
	    (lfd = openat(fd, BF_REPO_HISTORY, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0644)) < 0 || close(lfd) < 0) {
		rc = bf_err_errno(e, "cannot create files in '%s'", dir);
		goto out;
	}
	/* The configuration last: its presence makes this a repository. */
	if ((rc = write_conf(fd, !(flags & BF_REPO_UNSIGNED), e)) < 0)
		goto out;
	if (fsync(fd) < 0)
		rc = bf_err_errno(e, "cannot fsync '%s'", dir);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * release.disruptive, release.application, and either with
 * ".<profile>": the package lists a release's strategy is proposed
 * from (store/release.h).  Words are "cat/pn" or globs of them.
 */
static int
parse_release_key(struct bf_repo *r, const char *k, const char *v,
    int lineno, struct bf_err *e)
{
	const char *dot = strchr(k, '.');
	size_t kl = dot != NULL ? (size_t)(dot - k) : strlen(k);

	if (!((kl == 10 && strncmp(k, "disruptive", 10) == 0) ||
	    (kl == 11 && strncmp(k, "application", 11) == 0)) ||
	    (dot != NULL && !bf_repo_name_valid(dot + 1)))
		return bf_err_set(e, BF_ECONFIG, "%s: line %d: unknown key "
		    "'release.%s' (release.disruptive or release.application, "
		    "optionally .<profile>)", BF_REPO_CONF, lineno, k);
	if (bf_conf_get(&r->release, k) != NULL)
		return bf_err_set(e, BF_ECONFIG, "%s: line %d: 'release.%s' "
		    "is set twice", BF_REPO_CONF, lineno, k);
	return bf_conf_set(&r->release, k, v, BF_REPO_CONF,
	    (unsigned)lineno) < 0 ? bf_err_nomem(e) : 0;
}

/*
 * waves.<channel> = <wave>...: the channel goes to the nodes of each
 * wave in turn (channel "<channel>.<wave>"), then to all of them.
 */
static int
parse_waves(struct bf_repo *r, const char *channel, const char *v,
    int lineno, struct bf_err *e)
{
	struct bf_strv w = BF_STRV_INIT;
	struct bf_buf name = BF_BUF_INIT;
	size_t i, j;
	int rc = 0;

	if (!bf_name_valid(channel) || strchr(channel, '.') != NULL)
		return bf_err_set(e, BF_ECONFIG, "%s: line %d: 'waves.%s': not "
		    "a channel name (letters, digits, '_', '+', '-')",
		    BF_REPO_CONF, lineno, channel);
	if (bf_conf_get(&r->waves, channel) != NULL)
		return bf_err_set(e, BF_ECONFIG, "%s: line %d: the waves of "
		    "channel '%s' are set twice", BF_REPO_CONF, lineno, channel);
	if ((rc = bf_strv_split(&w, v)) < 0)
		goto oom;
	if (w.n == 0)
		rc = bf_err_set(e, BF_ECONFIG, "%s: line %d: channel '%s' has "
		    "no waves", BF_REPO_CONF, lineno, channel);
	for (i = 0; i < w.n && rc == 0; i++) {
		bf_buf_reset(&name);
		bf_buf_addf(&name, "%s.%s", channel, w.v[i]);
		if (bf_buf_error(&name) < 0)
			goto oom;
		if (!bf_name_valid(w.v[i]) || strchr(w.v[i], '.') != NULL ||
		    !bf_name_valid(name.buf))
			rc = bf_err_set(e, BF_ECONFIG, "%s: line %d: '%s' is "
			    "not a wave name (letters, digits, '_', '+', '-')",
			    BF_REPO_CONF, lineno, w.v[i]);
		for (j = 0; j < i && rc == 0; j++)
			if (strcmp(w.v[i], w.v[j]) == 0)
				rc = bf_err_set(e, BF_ECONFIG, "%s: line %d: wave "
				    "'%s' named twice", BF_REPO_CONF, lineno,
				    w.v[i]);
	}
	if (rc == 0 && (rc = bf_conf_set(&r->waves, channel, v, BF_REPO_CONF,
	    (unsigned)lineno)) < 0)
		goto oom;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	bf_strv_release(&w);
	bf_buf_release(&name);
	return rc;
}

static int
set_str(char **dst, const char *v, struct bf_err *e)
{
	char *p;

	if ((p = strdup(v)) == NULL)
		return bf_err_nomem(e);
	free(*dst);
	*dst = p;
	return 0;
}

/*
 * binfarm-repo.conf: "key = value" lines, '#' comments.  `path` names
 * the file in messages.  The file must say "format = 1"; a NUL byte
 * anywhere is refused (a value cut short at it would be read as
 * something else).
 */
static int
parse_conf(struct bf_repo *r, char *text, size_t len, const char *path,
    struct bf_err *e)
{
	char *line, *next, *eq, *k, *v, *end, *nul;
	int lineno = 0, rc, have_format = 0;

	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (next = text, lineno = 1; next < nul; next++)
			if (*next == '\n')
				lineno++;
		return bf_err_set(e, BF_ECONFIG, "%s: line %d: a NUL byte",
		    path, lineno);
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t' || *line == '\r')
			line++;
		if (*line == '#' || *line == '\0')
			continue;
		if ((eq = strchr(line, '=')) == NULL)
			return bf_err_set(e, BF_ECONFIG, "%s: line %d: no '='",
			    path, lineno);
		k = line;
		v = eq + 1;
		for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		for (end = v + strlen(v); end > v && (end[-1] == ' ' ||
		    end[-1] == '\t' || end[-1] == '\r'); end--)
			;
		*end = '\0';
		if (strcmp(k, "format") == 0) {
			if (strcmp(v, "1") != 0)
				return bf_err_set(e, BF_ECONFIG, "%s: line %d: "
				    "unsupported format '%s'", path, lineno, v);
			have_format = 1;
		} else if (strcmp(k, "signing") == 0) {
			if (strcmp(v, "yes") == 0)
				r->signed_repo = 1;
			else if (strcmp(v, "no") == 0)
				r->signed_repo = 0;
			else
				return bf_err_set(e, BF_ECONFIG, "%s: line %d: "
				    "signing must be yes or no", path, lineno);
		} else if (strcmp(k, "gnupg-home") == 0) {
			if (v[0] != '/')
				return bf_err_set(e, BF_ECONFIG, "%s: line %d: "
				    "gnupg-home must be an absolute path, not '%s'",
				    path, lineno, v);
			if ((rc = set_str(&r->gnupg_home, v, e)) < 0)
				return rc;
		} else if (strcmp(k, "signing-key") == 0) {
			if (!fpr_valid(v))
				return bf_err_set(e, BF_ECONFIG, "%s: line %d: "
				    "signing-key must be a key fingerprint (40 or "
				    "64 hex digits), not '%s'", path, lineno, v);
			if ((rc = set_str(&r->signing_key, v, e)) < 0)
				return rc;
		} else if (strcmp(k, "keep") == 0 || strcmp(k, "grace") == 0) {
			char *ep;
			long long n;

			errno = 0;
			n = strtoll(v, &ep, 10);
			if (errno != 0 || ep == v || *ep != '\0' || n < 0)
				return bf_err_set(e, BF_ECONFIG, "%s: line %d: '%s' "
				    "is not a number", path, lineno, v);
			if (k[0] == 'k')
				r->keep = n;
			else
				r->grace = n;
		} else if (strncmp(k, "waves.", 6) == 0) {
			if ((rc = parse_waves(r, k + 6, v, lineno, e)) < 0)
				return rc;
		} else if (strncmp(k, "release.", 8) == 0) {
			if ((rc = parse_release_key(r, k + 8, v, lineno, e)) < 0)
				return rc;
		} else
			return bf_err_set(e, BF_ECONFIG, "%s: line %d: unknown "
			    "key '%s'", path, lineno, k);
	}
	if (lineno == 0)
		return bf_err_set(e, BF_ECONFIG, "%s: line 1: empty file (a "
		    "repository's configuration says at least 'format = 1'; "
		    "see binfarm-repository(5))", path);
	if (!have_format)
		return bf_err_set(e, BF_ECONFIG, "%s: line %d: end of file "
		    "without 'format = 1' (see binfarm-repository(5))", path,
		    lineno + 1);
	if ((r->gnupg_home == NULL) != (r->signing_key == NULL))
		return bf_err_set(e, BF_ECONFIG, "%s: gnupg-home and signing-key "
		    "go together: one is set without the other", path);
	return 0;
}

int
bf_repo_open(struct bf_repo **rp, const char *dir, struct bf_err *e)
{
	struct bf_repo *r;
	char *text = NULL, *conf = NULL;
	size_t len;
	int rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return bf_err_nomem(e);
	r->lock_fd = -1;
	r->keep = 3;
	r->grace = 604800;
	if ((r->root = strdup(dir)) == NULL) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	if ((r->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = bf_err_errno(e, "cannot open repository '%s'", dir);
		goto fail;
	}
	if (faccessat(r->root_fd, BF_REPO_CONF, F_OK, 0) < 0) {
		rc = bf_err_set(e, BF_ENOTFOUND, "'%s' is not a binfarm repository "
		    "(no %s; see binfarm repo init)", dir, BF_REPO_CONF);
		goto fail;
	}
	if ((rc = bf_read_file(r->root_fd, BF_REPO_CONF, &text, &len, e)) < 0)
		goto fail;
	if ((conf = bf_repo_path(r, BF_REPO_CONF)) == NULL) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	if ((rc = parse_conf(r, text, len, conf, e)) < 0)
		goto fail;
	free(conf);
	free(text);
	*rp = r;
	return 0;
fail:
	free(conf);
	free(text);
	bf_repo_free(r);
	return rc;
}

void
bf_repo_free(struct bf_repo *r)
{
	if (r == NULL)
		return;
	bf_repo_unlock(r);
	if (r->root_fd > 0)
		close(r->root_fd);
	free(r->root);
	free(r->gnupg_home);
	free(r->signing_key);
	bf_conf_release(&r->waves);
	bf_conf_release(&r->release);
	free(r);
}

int
bf_repo_sync(struct bf_repo *r, struct bf_err *e)
{
	if (syncfs(r->root_fd) < 0)
		return bf_err_errno(e, "cannot sync the repository");
	return 0;
}

int
bf_repo_profile_exists(const struct bf_repo *r, const char *profile)
{
	struct bf_buf b = BF_BUF_INIT;
	struct stat st;
	int found;

	if (!bf_repo_name_valid(profile))
		return 0;
	bf_buf_addf(&b, "snapshots/%s", profile);
	found = fstatat(r->root_fd, b.buf, &st, 0) == 0 && S_ISDIR(st.st_mode);
	bf_buf_reset(&b);
	bf_buf_addf(&b, "pool/%s", profile);
	found = found || (fstatat(r->root_fd, b.buf, &st, 0) == 0 &&
	    S_ISDIR(st.st_mode));
	bf_buf_release(&b);
	return found;
}

/* ------------------------------------------------------------------ */
/* Lock and recovery.                                                  */

void
bf_repo_unlock(struct bf_repo *r)
{
	if (r->lock_fd >= 0) {
		close(r->lock_fd);
		r->lock_fd = -1;
	}
}

/* A new scratch name under tmp/. */
static void
tmp_name(struct bf_repo *r, const char *what, struct bf_buf *out)
{
	bf_buf_addf(out, "tmp/%s-%ld-%lu", what, (long)getpid(), r->tmpseq++);
}

/* ------------------------------------------------------------------ */
/* Entries and the working set.                                        */

static long long
num_value(const struct bf_pkgindex *idx, const struct bf_pkgindex_entry *ent,
    const char *key)
{
	const char *v = bf_pkgindex_value(idx, ent, key);

	return v != NULL && *v != '\0' ? strtoll(v, NULL, 10) : 0;
}

int
bf_pkg_slotkey(const struct bf_pkgindex *idx,
    const struct bf_pkgindex_entry *ent, struct bf_buf *out)
{
	struct bf_cpv c = BF_CPV_INIT;
	const char *cpv = bf_pkgindex_get(ent, "CPV");
	const char *slot = bf_pkgindex_value(idx, ent, "SLOT");
	size_t sl;

	if (cpv == NULL || bf_cpv_split(&c, cpv, NULL) < 0)
		return -BF_EFORMAT;
	if (slot == NULL || *slot == '\0')
		slot = "0";
	sl = strcspn(slot, "/");
	bf_buf_addf(out, "%s/%s:%.*s", c.cat, c.pn, (int)sl, slot);
	bf_cpv_release(&c);
	return bf_buf_error(out);
}

static int
workset_index(struct bf_workset *w, struct bf_err *e)
{
	struct bf_buf key = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	bf_map_release(&w->map);
	for (i = 0; i < w->idx.npkgs; i++) {
		bf_buf_reset(&key);
		if (bf_pkg_slotkey(&w->idx, &w->idx.pkgs[i], &key) < 0)
			continue;
		/* The first entry of a slot key stands for it. */
		if (bf_map_add(&w->map, key.buf, i) < 0) {
			rc = bf_err_nomem(e);
			break;
		}
	}
	bf_buf_release(&key);
	return rc;
}

int
bf_workset_load(struct bf_repo *r, const char *profile, struct bf_workset *w,
    struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	char *text = NULL;
	size_t len = 0;
	int rc;

	bf_pkgindex_init(&w->idx);
	w->map = (struct bf_map)BF_MAP_INIT;
	w->dirty = 0;
	bf_buf_addf(&path, "work/%s/Packages", profile);
	if (faccessat(r->root_fd, path.buf, F_OK, 0) == 0) {
		if ((rc = bf_read_file(r->root_fd, path.buf, &text, &len, e)) < 0)
			goto out;
		if ((rc = bf_pkgindex_parse(&w->idx, text, len, 0, e)) < 0)
			goto out;
	}
	rc = workset_index(w, e);
out:
	free(text);
	bf_buf_release(&path);
	return rc;
}

int
bf_workset_save(struct bf_repo *r, const char *profile, struct bf_workset *w,
    struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf path = BF_BUF_INIT, text = BF_BUF_INIT, num = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&num, "%zu", w->idx.npkgs);
	if ((rc = bf_pkgindex_set(&w->idx, &w->idx.header, "VERSION", "0")) < 0 ||
	    (rc = bf_pkgindex_set(&w->idx, &w->idx.header, "PACKAGES", num.buf)) < 0 ||
	    (rc = bf_pkgindex_format(&w->idx, &text)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	bf_buf_addf(&path, "work/%s", profile);
	if ((rc = bf_mkdirs(r->root_fd, path.buf, 0755, NULL, e)) < 0)
		goto out;
	bf_buf_adds(&path, "/Packages");
	if ((rc = bf_lockfile_open(&lf, r->root_fd, path.buf, 0644, e)) < 0)
		goto out;
	bf_lockfile_write(&lf, text.buf, text.len);
	if ((rc = bf_lockfile_commit(&lf, -1, e)) == 0)
		w->dirty = 0;
out:
	bf_buf_release(&path);
	bf_buf_release(&text);
	bf_buf_release(&num);
	return rc;
}

void
bf_workset_release(struct bf_workset *w)
{
	bf_pkgindex_release(&w->idx);
	bf_map_release(&w->map);
}

int
bf_workset_remove(struct bf_workset *w, const char *atom,
    void (*cb)(void *arg, const char *cpv, const char *build_id), void *arg,
    struct bf_err *e)
{
	struct bf_cpv want = BF_CPV_INIT, have = BF_CPV_INIT;
	const char *a = atom[0] == '=' ? atom + 1 : atom;
	const char *slash = strchr(a, '/');
	int exact, removed = 0, rc;
	size_t i;

	if (slash == NULL || strchr(slash + 1, '/') != NULL ||
	    !bf_category_valid(a, (size_t)(slash - a)))
		return bf_err_set(e, BF_EUSAGE, "'%s' is not cat/pn or cat/pn-version",
		    atom);
	exact = bf_cpv_split(&want, a, NULL) == 0;
	if (!exact && !bf_pn_valid(slash + 1, strlen(slash + 1)))
		return bf_err_set(e, BF_EUSAGE, "'%s' is not cat/pn or "
		    "cat/pn-version", atom);
	for (i = w->idx.npkgs; i-- > 0;) {
		const char *cpv = bf_pkgindex_get(&w->idx.pkgs[i], "CPV");
		int match;

		if (cpv == NULL)
			continue;
		if (exact)
			match = strcmp(cpv, a) == 0;
		else {
			if (bf_cpv_split(&have, cpv, NULL) < 0)
				continue;
			match = strncmp(a, have.cat, strlen(have.cat)) == 0 &&
			    a[strlen(have.cat)] == '/' &&
			    strcmp(slash + 1, have.pn) == 0;
			bf_cpv_release(&have);
		}
		if (!match)
			continue;
		if (cb != NULL)
			cb(arg, cpv, bf_pkgindex_value(&w->idx, &w->idx.pkgs[i],
			    "BUILD_ID"));
		bf_pkgindex_remove(&w->idx, i);
		removed++;
	}
	bf_cpv_release(&want);
	if (removed > 0) {
		w->dirty = 1;
		if ((rc = workset_index(w, e)) < 0)
			return rc;
	}
	return removed;
}

/* Copies entry `src` over w's entry `i`. */
static int
entry_replace(struct bf_workset *w, size_t i,
    const struct bf_pkgindex_entry *src)
{
	struct bf_pkgindex_entry *dst = &w->idx.pkgs[i];
	size_t k;
	int rc;

	dst->n = 0;
	for (k = 0; k < src->n; k++)
		if ((rc = bf_pkgindex_set(&w->idx, dst, src->f[k].key,
		    src->f[k].val)) < 0)
			return rc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Adding.                                                             */

static long long
next_build_id(int dirfd, const char *pf)
{
	struct dirent *de;
	size_t pl = strlen(pf);
	long long max = 0, n;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *p = de->d_name + pl + 1;
		char *end;

		if (strncmp(de->d_name, pf, pl) != 0 || de->d_name[pl] != '-' ||
		    *p < '1' || *p > '9')
			continue;
		n = strtoll(p, &end, 10);
		if (strcmp(end, ".gpkg.tar") == 0 && n > max)
			max = n;
	}
	closedir(d);
	return max + 1;
}

/* A package on its way into the pool and the working set. */
struct add {
	struct bf_repo	*r;
	const char	*file;
	int		 in;		/* the file given */
	int		 out;		/* its rewritten copy, at tmp */
	int		 dfd;		/* its pool directory, dir */
	int		 have_in, have_out, linked;
	struct bf_gpkg_verify_result vin, vout;
	struct bf_cpv	 c;
	struct bf_buf	 cat, pf, cpv, dir, tmp, name, rel;
	struct bf_digest d;
	struct stat	 st;		/* of the copy */
};

/* The file given, verified (and its signatures, if required). */
static int
add_verify(struct add *a, const struct bf_repo_add_opts *opts,
    struct bf_err *e)
{
	struct bf_gpkg_verify_opts vo;
	int rc;

	if ((a->in = open(a->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open '%s'", a->file);
	if (fstat(a->in, &a->st) < 0 || !S_ISREG(a->st.st_mode))
		return bf_err_set(e, BF_EUSAGE, "'%s' is not a regular file",
		    a->file);
	memset(&vo, 0, sizeof(vo));
	vo.max_entries = opts->max_entries;
	rc = bf_gpkg_verify_ext(a->in, a->file, &vo, &a->vin, e);
	a->have_in = 1;
	if (rc < 0)
		return rc;
	if (opts->require != NULL &&
	    (rc = bf_gpkg_check_signatures(a->in, a->file, opts->require,
	    e)) < 0)
		return rc;
	return 0;
}

/* CATEGORY/PF, valid. */
static int
add_names(struct add *a, struct bf_err *e)
{
	bf_meta_get(&a->vin.meta, "CATEGORY", &a->cat);
	bf_meta_get(&a->vin.meta, "PF", &a->pf);
	bf_buf_addf(&a->cpv, "%s/%s", a->cat.buf, a->pf.buf);
	if (bf_buf_error(&a->cpv) < 0)
		return bf_err_nomem(e);
	if (bf_cpv_split(&a->c, a->cpv.buf, e) < 0 ||
	    !bf_category_valid(a->cat.buf, a->cat.len))
		return bf_err_set(e, BF_EMETADATA, "invalid CATEGORY/PF '%s'",
		    a->cpv.buf);
	return 0;
}

/* Its directory in the pool, and the next BUILD_ID there. */
static int
add_pool_dir(struct add *a, const char *profile, struct bf_repo_added *res,
    struct bf_err *e)
{
	struct bf_buf bid = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&a->dir, "pool/%s/%s/%s", profile, a->c.cat, a->c.pn);
	if ((rc = bf_mkdirs(a->r->root_fd, a->dir.buf, 0755, NULL, e)) < 0)
		return rc;
	if ((a->dfd = openat(a->r->root_fd, a->dir.buf, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0)
		return bf_err_errno(e, "cannot open '%s'", a->dir.buf);
	if ((res->build_id = next_build_id(a->dfd, a->pf.buf)) < 1)
		return bf_err_errno(e, "cannot read '%s'", a->dir.buf);
	bf_meta_get(&a->vin.meta, "BUILD_ID", &bid);
	res->rewritten = strtoll(bid.buf, NULL, 10) != res->build_id ||
	    bid.len == 0;
	bf_buf_release(&bid);
	return 0;
}

/*
 * The copy with that BUILD_ID (and signed, if a signer is given) in a
 * temporary file, checked again as a reader will, and hashed.
 */
static int
add_rewrite(struct add *a, const struct bf_repo_add_opts *opts,
    long long build_id, struct bf_err *e)
{
	struct bf_gpkg_rewrite_opts ro;
	uint64_t size;
	int rc;

	tmp_name(a->r, "add", &a->tmp);
	if ((a->out = openat(a->r->root_fd, a->tmp.buf, O_RDWR | O_CREAT |
	    O_EXCL | O_CLOEXEC, 0644)) < 0)
		return bf_err_errno(e, "cannot create '%s'", a->tmp.buf);
	memset(&ro, 0, sizeof(ro));
	ro.build_id = build_id;
	ro.mtime = opts->mtime >= 0 ? opts->mtime : (long long)time(NULL);
	ro.signer = opts->signer;
	if ((rc = bf_gpkg_rewrite(a->in, a->file, &a->vin.meta, &ro, a->out,
	    &size, e)) < 0)
		return rc;
	rc = bf_gpkg_verify(a->out, a->tmp.buf, BF_GPKG_VERIFY_NO_IMAGE_SCAN,
	    &a->vout, e);
	a->have_out = 1;
	if (rc < 0) {
		bf_err_prefix(e, "rewritten package");
		return rc;
	}
	if ((rc = bf_digest_fd(&a->d, BF_DIGEST_INDEX, a->out, 0, -1, e)) < 0)
		return rc;
	if (fstat(a->out, &a->st) < 0)
		return bf_err_errno(e, "cannot stat '%s'", a->tmp.buf);
	return 0;
}

/* The copy into the pool as PF-BUILD_ID.gpkg.tar. */
static int
add_place(struct add *a, long long build_id, struct bf_err *e)
{
	bf_buf_addf(&a->name, "%s-%lld.gpkg.tar", a->pf.buf, build_id);
	bf_buf_addf(&a->rel, "%s/%s/%s", a->c.cat, a->c.pn, a->name.buf);
	if (bf_buf_error(&a->rel) < 0)
		return bf_err_nomem(e);
	/* link() never replaces: an existing instance is never overwritten. */
	if (linkat(a->r->root_fd, a->tmp.buf, a->dfd, a->name.buf, 0) < 0)
		return bf_err_errno(e, "cannot place '%s/%s'", a->dir.buf,
		    a->name.buf);
	a->linked = 1;
	unlinkat(a->r->root_fd, a->tmp.buf, 0);
	return 0;
}

/* Its entry into the working set, replacing the one of its slot. */
static int
add_entry(struct add *a, struct bf_workset *w, struct bf_repo_added *res,
    struct bf_err *e)
{
	struct bf_pkgindex scratch = BF_PKGINDEX_INIT;
	struct bf_buf key = BF_BUF_INIT;
	const char *ocpv, *obid;
	size_t slot;
	int rc;

	if ((rc = bf_pkgdir_make_entry(&a->vout.meta, a->rel.buf,
	    (long long)a->st.st_size, (long long)a->st.st_mtime,
	    a->d.hex[BF_MD5], a->d.hex[BF_SHA1], &scratch, e)) < 0)
		goto out;
	rc = -ENOMEM;
	if (bf_pkg_slotkey(&scratch, &scratch.pkgs[0], &key) < 0)
		goto out;
	if (bf_map_get(&w->map, key.buf, &slot)) {
		ocpv = bf_pkgindex_get(&w->idx.pkgs[slot], "CPV");
		obid = bf_pkgindex_value(&w->idx, &w->idx.pkgs[slot],
		    "BUILD_ID");
		snprintf(res->replaced, sizeof(res->replaced), "%s%s%s",
		    ocpv != NULL ? ocpv : "?", obid != NULL && *obid ? "-" : "",
		    obid != NULL ? obid : "");
		if (entry_replace(w, slot, &scratch.pkgs[0]) < 0)
			goto out;
	} else if (bf_pkgindex_add_copy(&w->idx, &scratch.pkgs[0]) == NULL ||
	    bf_map_put(&w->map, key.buf, w->idx.npkgs - 1) < 0)
		goto out;
	w->dirty = 1;
	rc = 0;
out:
	if (rc == -ENOMEM)
		rc = bf_err_nomem(e);
	bf_pkgindex_release(&scratch);
	bf_buf_release(&key);
	return rc;
}

int
bf_repo_add(struct bf_repo *r, const char *profile, const char *file,
    const struct bf_repo_add_opts *opts, struct bf_workset *w,
    struct bf_repo_added *res, struct bf_err *e)
{
	struct add a;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&a, 0, sizeof(a));
	a.r = r;
	a.file = file;
	a.in = a.out = a.dfd = -1;
	a.c = (struct bf_cpv)BF_CPV_INIT;
	bf_buf_init(&a.cat);
	bf_buf_init(&a.pf);
	bf_buf_init(&a.cpv);
	bf_buf_init(&a.dir);
	bf_buf_init(&a.tmp);
	bf_buf_init(&a.name);
	bf_buf_init(&a.rel);
	if ((rc = add_verify(&a, opts, e)) == 0 &&
	    (rc = add_names(&a, e)) == 0 &&
	    (rc = add_pool_dir(&a, profile, res, e)) == 0 &&
	    (rc = add_rewrite(&a, opts, res->build_id, e)) == 0 &&
	    (rc = add_place(&a, res->build_id, e)) == 0 &&
	    (rc = add_entry(&a, w, res, e)) == 0) {
		snprintf(res->path, sizeof(res->path), "%s", a.rel.buf);
		snprintf(res->cpv, sizeof(res->cpv), "%s", a.cpv.buf);
	}
	if (a.out >= 0) {
		close(a.out);
		if (!a.linked || rc < 0)
			unlinkat(r->root_fd, a.tmp.buf, 0);
	}
	if (a.in >= 0)
		close(a.in);
	if (a.dfd >= 0)
		close(a.dfd);
	if (a.have_in)
		bf_gpkg_verify_result_release(&a.vin);
	if (a.have_out)
		bf_gpkg_verify_result_release(&a.vout);
	bf_digest_release(&a.d);
	bf_cpv_release(&a.c);
	bf_buf_release(&a.cat);
	bf_buf_release(&a.pf);
	bf_buf_release(&a.cpv);
	bf_buf_release(&a.dir);
	bf_buf_release(&a.tmp);
	bf_buf_release(&a.name);
	bf_buf_release(&a.rel);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Snapshots.                                                          */

int
bf_snapshot_id_valid(const char *id)
{
	static const char pat[] = "99999999T999999Z-9999";
	size_t i;

	if (strlen(id) != BF_SNAPSHOT_IDLEN)
		return 0;
	for (i = 0; i < BF_SNAPSHOT_IDLEN; i++) {
		if (pat[i] == '9' ? (id[i] < '0' || id[i] > '9') : id[i] != pat[i])
			return 0;
	}
	return 1;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
bf_snapshot_list(struct bf_repo *r, const char *profile, char ***idsp,
    size_t *np, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0, alloc = 0;
	DIR *d = NULL;
	int fd, rc = 0;

	*idsp = NULL;
	*np = 0;
	bf_buf_addf(&path, "snapshots/%s", profile);
	if ((fd = openat(r->root_fd, path.buf, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? 0 : bf_err_errno(e, "cannot open '%s'",
		    path.buf);
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		rc = bf_err_errno(e, "cannot read '%s'", path.buf);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!bf_snapshot_id_valid(de->d_name))
			continue;
		if (bf_grow(&ids, &alloc, n + 1, sizeof(*ids), 16) < 0)
			goto oom;
		if ((ids[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
	}
	qsort(ids, n, sizeof(*ids), strp_cmp);
	*idsp = ids;
	*np = n;
	ids = NULL;
	n = 0;
	goto out;
oom:
	rc = bf_err_nomem(e);
out:
	if (d != NULL)
		closedir(d);
	bf_snapshot_list_free(ids, n);
	bf_buf_release(&path);
	return rc;
}

void
bf_snapshot_list_free(char **ids, size_t n)
{
	bf_names_free(ids, n);
}

int
bf_snapshot_exists(struct bf_repo *r, const char *profile, const char *id)
{
	struct bf_buf path = BF_BUF_INIT;
	int ok;

	if (!bf_repo_name_valid(profile) || !bf_snapshot_id_valid(id))
		return 0;
	bf_buf_addf(&path, "snapshots/%s/%s/Packages", profile, id);
	ok = faccessat(r->root_fd, path.buf, F_OK, 0) == 0;
	bf_buf_release(&path);
	return ok;
}

void
bf_snapshot_info_release(struct bf_snapshot_info *info)
{
	free(info->profile);
	free(info->by);
	free(info->parent);
	free(info->tree_commit);
	free(info->x86_64_level);
	free(info->message);
	memset(info, 0, sizeof(*info));
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
bf_snapshot_info_load(struct bf_repo *r, const char *profile, const char *id,
    struct bf_snapshot_info *info, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	char *text = NULL, *line, *save = NULL;
	size_t len;
	int rc;

	memset(info, 0, sizeof(*info));
	if (!bf_snapshot_exists(r, profile, id)) {
		rc = bf_err_set(e, BF_ENOTFOUND, "no snapshot '%s' in profile '%s'",
		    id, profile);
		goto out;
	}
	snprintf(info->id, sizeof(info->id), "%s", id);
	bf_buf_addf(&path, "snapshots/%s/%s/%s", profile, id, BF_SNAPSHOT_META);
	if ((rc = bf_read_file(r->root_fd, path.buf, &text, &len, e)) < 0)
		goto out;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *v = strstr(line, ": "), **dst = NULL;

		if (v == NULL)
			continue;
		*v = '\0';
		v += 2;
		if (strcmp(line, "profile") == 0)
			dst = &info->profile;
		else if (strcmp(line, "by") == 0)
			dst = &info->by;
		else if (strcmp(line, "parent") == 0)
			dst = &info->parent;
		else if (strcmp(line, "tree-commit") == 0)
			dst = &info->tree_commit;
		else if (strcmp(line, "message") == 0)
			dst = &info->message;
		else if (strcmp(line, "x86-64-level") == 0)
			dst = &info->x86_64_level;
		else if (strcmp(line, "created") == 0)
			info->created = strtoll(v, NULL, 10);
		else if (strcmp(line, "timestamp") == 0)
			info->timestamp = strtoll(v, NULL, 10);
		else if (strcmp(line, "packages") == 0)
			info->packages = strtoll(v, NULL, 10);
		if (dst != NULL) {
			free(*dst);
			if ((*dst = strdup(v)) == NULL) {
				rc = bf_err_nomem(e);
				goto out;
			}
		}
	}
	if ((info->profile == NULL && (info->profile = dup_or_empty(profile)) == NULL) ||
	    (info->by == NULL && (info->by = dup_or_empty(NULL)) == NULL) ||
	    (info->parent == NULL && (info->parent = dup_or_empty(NULL)) == NULL) ||
	    (info->tree_commit == NULL && (info->tree_commit = dup_or_empty(NULL)) == NULL) ||
	    (info->x86_64_level == NULL && (info->x86_64_level = dup_or_empty(NULL)) == NULL) ||
	    (info->message == NULL && (info->message = dup_or_empty(NULL)) == NULL))
		rc = bf_err_nomem(e);
out:
	if (rc < 0)
		bf_snapshot_info_release(info);
	free(text);
	bf_buf_release(&path);
	return rc;
}

int
bf_snapshot_load_index(struct bf_repo *r, const char *profile, const char *id,
    struct bf_pkgindex *idx, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	char *text = NULL;
	size_t len;
	int rc;

	if (!bf_snapshot_exists(r, profile, id)) {
		rc = bf_err_set(e, BF_ENOTFOUND, "no snapshot '%s' in profile '%s'",
		    id, profile);
		goto out;
	}
	bf_buf_addf(&path, "snapshots/%s/%s/Packages", profile, id);
	if ((rc = bf_read_file(r->root_fd, path.buf, &text, &len, e)) == 0)
		rc = bf_pkgindex_parse(idx, text, len, 0, e);
out:
	free(text);
	bf_buf_release(&path);
	return rc;
}

/* The next id after `last` (or none): time-ordered even if the clock steps back. */
static int
new_id(const char *last, time_t now, char id[32], struct bf_err *e)
{
	char ts[32];
	struct tm tm;
	long seq = 1;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	if (last != NULL) {
		int c = strncmp(ts, last, 16);

		if (c <= 0) {
			memcpy(ts, last, 16);
			ts[16] = '\0';
			seq = strtol(last + 17, NULL, 10) + 1;
		}
	}
	if (seq > 9999)
		return bf_err_set(e, BF_ECONFLICT, "too many snapshots in one second");
	snprintf(id, 32, "%s-%04ld", ts, seq);
	return 0;
}

static int
safe_relpath(const char *p)
{
	const char *s = p;
	int parts = 0;

	if (*p == '/' || *p == '\0')
		return 0;
	for (;;) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		parts++;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	return parts == 3;
}

static void
meta_line(struct bf_buf *b, const char *key, const char *val)
{
	const char *c;

	bf_buf_addf(b, "%s: ", key);
	for (c = val; *c != '\0'; c++)
		bf_buf_addch(b, *c == '\n' || *c == '\r' ? ' ' : *c);
	bf_buf_addch(b, '\n');
}

/* The snapshot being made in its temporary directory. */
struct snap {
	struct bf_repo	*r;
	const char	*profile;
	const struct bf_snapshot_opts *opts;
	struct bf_pkgindex *idx;	/* the working set's */
	const char	*parent;	/* the last snapshot's id, or NULL */
	const char	*id;
	time_t		 now;
	long long	 ts;		/* TIMESTAMP, after the parent's */
	int		 tfd;		/* the temporary directory */
};

/* Files first: every PATH as a hard link into the pool. */
static int
snap_link_files(const struct snap *s, struct bf_err *e)
{
	struct bf_buf lastdir = BF_BUF_INIT, src = BF_BUF_INIT;
	const char *path, *slash;
	size_t i;
	int rc = 0;

	for (i = 0; i < s->idx->npkgs; i++) {
		path = bf_pkgindex_get(&s->idx->pkgs[i], "PATH");
		if (path == NULL || !safe_relpath(path)) {
			rc = bf_err_set(e, BF_EUNSAFE, "working set entry %zu has a "
			    "bad PATH '%s'", i, path != NULL ? path : "");
			break;
		}
		slash = strrchr(path, '/');
		if (lastdir.len != (size_t)(slash - path) ||
		    memcmp(lastdir.buf, path, lastdir.len) != 0) {
			bf_buf_reset(&lastdir);
			bf_buf_add(&lastdir, path, (size_t)(slash - path));
			if ((rc = bf_mkdirs(s->tfd, lastdir.buf, 0755, NULL,
			    e)) < 0)
				break;
		}
		bf_buf_reset(&src);
		bf_buf_addf(&src, "pool/%s/%s", s->profile, path);
		if (linkat(s->r->root_fd, src.buf, s->tfd, path, 0) < 0 &&
		    errno != EEXIST) {
			rc = bf_err_errno(e, "cannot link '%s'", src.buf);
			break;
		}
	}
	bf_buf_release(&lastdir);
	bf_buf_release(&src);
	return rc;
}

/* The index header: TIMESTAMP, PACKAGES, VERSION, the caller's keys. */
static int
snap_header(const struct snap *s)
{
	const struct bf_snapshot_opts *opts = s->opts;
	struct bf_pkgindex *idx = s->idx;
	struct bf_buf num = BF_BUF_INIT;
	size_t i;
	int rc;

	bf_buf_addf(&num, "%lld", s->ts);
	if ((rc = bf_pkgindex_set(idx, &idx->header, "TIMESTAMP", num.buf)) < 0)
		goto out;
	bf_buf_reset(&num);
	bf_buf_addf(&num, "%zu", idx->npkgs);
	if ((rc = bf_pkgindex_set(idx, &idx->header, "PACKAGES", num.buf)) < 0 ||
	    (rc = bf_pkgindex_set(idx, &idx->header, "VERSION", "0")) < 0)
		goto out;
	for (i = 0; opts->header != NULL && i < opts->header->n; i++)
		if ((rc = bf_pkgindex_set(idx, &idx->header,
		    opts->header->v[i].key, opts->header->v[i].val)) < 0)
			goto out;
	if (opts->tree_commit != NULL && *opts->tree_commit != '\0' &&
	    (opts->header == NULL ||
	    bf_conf_get(opts->header, "REPO_REVISIONS") == NULL)) {
		const char *name = opts->tree_repo != NULL ? opts->tree_repo :
		    "gentoo";

		bf_buf_reset(&num);
		if ((rc = bf_repo_revisions(&name, &opts->tree_commit, 1,
		    &num)) < 0 || (rc = bf_pkgindex_set(idx, &idx->header,
		    "REPO_REVISIONS", num.buf)) < 0)
			goto out;
	}
out:
	bf_buf_release(&num);
	return rc;
}

/*
 * Then the index, Packages and Packages.gz, reusing the parent's
 * compressed segments (lib/format/pkgindex.h).
 */
static int
snap_write_index(const struct snap *s, struct bf_err *e)
{
	struct bf_pkgindex_write_opts wo;
	struct bf_pkgindex_write_stats ws;
	struct bf_buf text = BF_BUF_INIT, src = BF_BUF_INIT;
	const char *prof = s->profile, *parent = s->parent;
	char *old = NULL;
	size_t oldlen = 0;
	int rc;

	memset(&ws, 0, sizeof(ws));
	memset(&wo, 0, sizeof(wo));
	if (snap_header(s) < 0 || bf_pkgindex_format(s->idx, &text) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	wo.threads = s->opts->threads;
	wo.timestamp = s->ts;
	if (parent != NULL)
		bf_buf_addf(&src, "snapshots/%s/%s/Packages", prof, parent);
	if (parent != NULL &&
	    bf_read_file(s->r->root_fd, src.buf, &old, &oldlen, NULL) == 0) {
		bf_buf_reset(&src);
		bf_buf_addf(&src, "snapshots/%s/%s/Packages.gz", prof, parent);
		linkat(s->r->root_fd, src.buf, s->tfd, "Packages.gz", 0);
		bf_buf_reset(&src);
		bf_buf_addf(&src, "snapshots/%s/%s/%s", prof, parent,
		    BF_PKGINDEX_GZIDX);
		linkat(s->r->root_fd, src.buf, s->tfd, BF_PKGINDEX_GZIDX, 0);
		wo.old_text = old;
		wo.old_len = oldlen;
	}
	rc = bf_pkgindex_write(s->tfd, text.buf, text.len, &wo, &ws, e);
out:
	free(old);
	bf_buf_release(&text);
	bf_buf_release(&src);
	return rc;
}

/* The snapshot's own record (BF_SNAPSHOT_META). */
static int
snap_write_meta(const struct snap *s, struct bf_err *e)
{
	const struct bf_snapshot_opts *opts = s->opts;
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf meta = BF_BUF_INIT;
	char tstr[64];
	struct tm tm;
	int rc;

	gmtime_r(&s->now, &tm);
	strftime(tstr, sizeof(tstr), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bf_buf_addf(&meta, "id: %s\nprofile: %s\ncreated: %lld\ncreated-utc: %s\n",
	    s->id, s->profile, (long long)s->now, tstr);
	meta_line(&meta, "by", opts->by != NULL ? opts->by : "unknown");
	if (s->parent != NULL)
		bf_buf_addf(&meta, "parent: %s\n", s->parent);
	if (opts->tree_commit != NULL && *opts->tree_commit != '\0')
		meta_line(&meta, "tree-commit", opts->tree_commit);
	if (opts->x86_64_level != NULL && *opts->x86_64_level != '\0')
		meta_line(&meta, "x86-64-level", opts->x86_64_level);
	if (opts->message != NULL && *opts->message != '\0')
		meta_line(&meta, "message", opts->message);
	bf_buf_addf(&meta, "packages: %zu\ntimestamp: %lld\n", s->idx->npkgs,
	    s->ts);
	if (bf_buf_error(&meta) < 0)
		rc = bf_err_nomem(e);
	else if ((rc = bf_lockfile_open(&lf, s->tfd, BF_SNAPSHOT_META, 0644,
	    e)) == 0) {
		bf_lockfile_write(&lf, meta.buf, meta.len);
		rc = bf_lockfile_commit(&lf, -1, e);
	}
	bf_buf_release(&meta);
	return rc;
}

/* Everything durable, then the one rename that publishes it. */
static int
snap_publish(const struct snap *s, const char *tmp, struct bf_err *e)
{
	struct bf_buf dst = BF_BUF_INIT;
	int rc;

	if ((rc = bf_repo_sync(s->r, e)) < 0)
		goto out;
	bf_buf_addf(&dst, "snapshots/%s", s->profile);
	if ((rc = bf_mkdirs(s->r->root_fd, dst.buf, 0755, NULL, e)) < 0)
		goto out;
	bf_buf_addf(&dst, "/%s", s->id);
	if (renameat(s->r->root_fd, tmp, s->r->root_fd, dst.buf) < 0) {
		rc = bf_err_errno(e, "cannot publish '%s'", dst.buf);
		goto out;
	}
	bf_buf_reset(&dst);
	bf_buf_addf(&dst, "snapshots/%s", s->profile);
	rc = bf_fsync_path(s->r->root_fd, dst.buf, e);
out:
	bf_buf_release(&dst);
	return rc;
}

int
bf_snapshot_create(struct bf_repo *r, const char *profile,
    const struct bf_snapshot_opts *opts, char id[32], size_t *npkgs,
    struct bf_err *e)
{
	struct bf_workset w;
	struct bf_snapshot_info pinfo;
	struct bf_buf tmp = BF_BUF_INIT;
	struct snap s;
	char **ids = NULL;
	size_t nids = 0;
	int have_w = 0, have_p = 0, rc;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.profile = profile;
	s.opts = opts;
	s.id = id;
	s.tfd = -1;
	s.now = time(NULL);
	if ((rc = bf_workset_load(r, profile, &w, e)) < 0)
		goto out;
	have_w = 1;
	s.idx = &w.idx;
	if ((rc = bf_snapshot_list(r, profile, &ids, &nids, e)) < 0)
		goto out;
	s.ts = (long long)s.now;
	if (nids > 0) {
		s.parent = ids[nids - 1];
		if ((rc = bf_snapshot_info_load(r, profile, s.parent, &pinfo,
		    e)) < 0)
			goto out;
		have_p = 1;
		if (pinfo.timestamp >= s.ts)
			s.ts = pinfo.timestamp + 1;
	}
	if ((rc = new_id(s.parent, s.now, id, e)) < 0)
		goto out;

	tmp_name(r, "snap", &tmp);
	if (mkdirat(r->root_fd, tmp.buf, 0755) < 0 ||
	    (s.tfd = openat(r->root_fd, tmp.buf, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		rc = bf_err_errno(e, "cannot create '%s'", tmp.buf);
		goto out;
	}
	if ((rc = snap_link_files(&s, e)) < 0 ||
	    (rc = snap_write_index(&s, e)) < 0 ||
	    (rc = snap_write_meta(&s, e)) < 0 ||
	    (rc = snap_publish(&s, tmp.buf, e)) < 0)
		goto out;
	*npkgs = w.idx.npkgs;
	rc = 0;
out:
	if (s.tfd >= 0)
		close(s.tfd);
	if (rc < 0 && tmp.len > 0)
		bf_rmtree(r->root_fd, tmp.buf, NULL);
	if (have_w)
		bf_workset_release(&w);
	if (have_p)
		bf_snapshot_info_release(&pinfo);
	bf_snapshot_list_free(ids, nids);
	bf_buf_release(&tmp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Diffs.                                                              */

const char *
bf_change_name(enum bf_change k)
{
	static const char *const names[] = {
		"added", "removed", "upgraded", "downgraded", "rebuilt",
	};

	return (unsigned)k < BF_CHG_NKINDS ? names[k] : "?";
}

struct pkginfo {
	char		*key;
	const char	*cpv;
	struct bf_cpv	 c;
	long long	 build_id, build_time;
};

/* <0, 0, >0 as package a is older, the same build, newer. */
static int
pkg_cmp(const struct pkginfo *a, const struct pkginfo *b)
{
	int v = bf_version_cmp(&a->c.ver, &b->c.ver);

	if (v != 0)
		return v;
	if (a->build_id != b->build_id)
		return a->build_id < b->build_id ? -1 : 1;
	if (a->build_time != b->build_time)
		return a->build_time < b->build_time ? -1 : 1;
	return 0;
}

static void
pkginfo_release(struct pkginfo *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		bf_cpv_release(&v[i].c);
	}
	free(v);
}

/* The best entry of each slot key. */
static int
collect(const struct bf_pkgindex *idx, struct pkginfo **vp, size_t *np,
    struct bf_map *map)
{
	struct bf_buf key = BF_BUF_INIT;
	struct pkginfo *v, p;
	size_t i, n = 0, j;
	int rc = 0;

	if ((v = calloc(idx->npkgs + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < idx->npkgs; i++) {
		const struct bf_pkgindex_entry *ent = &idx->pkgs[i];

		memset(&p, 0, sizeof(p));
		bf_buf_reset(&key);
		p.cpv = bf_pkgindex_get(ent, "CPV");
		if (p.cpv == NULL || bf_pkg_slotkey(idx, ent, &key) < 0 ||
		    bf_cpv_split(&p.c, p.cpv, NULL) < 0)
			continue;
		p.build_id = num_value(idx, ent, "BUILD_ID");
		p.build_time = num_value(idx, ent, "BUILD_TIME");
		if (bf_map_get(map, key.buf, &j)) {
			if (pkg_cmp(&p, &v[j]) > 0) {
				bf_cpv_release(&v[j].c);
				p.key = v[j].key;
				v[j] = p;
			} else
				bf_cpv_release(&p.c);
			continue;
		}
		if ((p.key = strdup(key.buf)) == NULL ||
		    bf_map_put(map, key.buf, n) < 0) {
			free(p.key);
			bf_cpv_release(&p.c);
			rc = -ENOMEM;
			break;
		}
		v[n++] = p;
	}
	bf_buf_release(&key);
	*vp = v;
	*np = n;
	return rc;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct bf_diff_item *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static int
diff_add(struct bf_diff *d, enum bf_change kind, const struct pkginfo *a,
    const struct pkginfo *b)
{
	struct bf_diff_item *it = &d->v[d->n];

	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->key = strdup(a != NULL ? a->key : b->key);
	it->old_cpv = a != NULL ? strdup(a->cpv) : NULL;
	it->new_cpv = b != NULL ? strdup(b->cpv) : NULL;
	it->old_build = a != NULL ? a->build_id : 0;
	it->new_build = b != NULL ? b->build_id : 0;
	d->n++;
	d->count[kind]++;
	if (it->key == NULL || (a != NULL && it->old_cpv == NULL) ||
	    (b != NULL && it->new_cpv == NULL))
		return -ENOMEM;
	return 0;
}

int
bf_diff_compute(const struct bf_pkgindex *a, const struct bf_pkgindex *b,
    struct bf_diff *d, struct bf_err *e)
{
	struct bf_map ma = BF_MAP_INIT, mb = BF_MAP_INIT;
	struct pkginfo *va = NULL, *vb = NULL;
	size_t na = 0, nb = 0, i, j;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = collect(a, &va, &na, &ma)) < 0 ||
	    (rc = collect(b, &vb, &nb, &mb)) < 0)
		goto out;
	if ((d->v = calloc(na + nb + 1, sizeof(*d->v))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nb && rc == 0; i++) {
		if (!bf_map_get(&ma, vb[i].key, &j)) {
			rc = diff_add(d, BF_CHG_ADDED, NULL, &vb[i]);
			continue;
		}
		{
			int v = bf_version_cmp(&va[j].c.ver, &vb[i].c.ver);
			int c = pkg_cmp(&va[j], &vb[i]);

			if (v < 0)
				rc = diff_add(d, BF_CHG_UPGRADED, &va[j], &vb[i]);
			else if (v > 0 || c > 0)
				rc = diff_add(d, BF_CHG_DOWNGRADED, &va[j], &vb[i]);
			else if (c < 0)
				rc = diff_add(d, BF_CHG_REBUILT, &va[j], &vb[i]);
		}
	}
	for (i = 0; i < na && rc == 0; i++)
		if (!bf_map_get(&mb, va[i].key, &j))
			rc = diff_add(d, BF_CHG_REMOVED, &va[i], NULL);
	if (rc == 0)
		qsort(d->v, d->n, sizeof(*d->v), item_cmp);
out:
	if (rc < 0)
		rc = bf_err_nomem(e);
	pkginfo_release(va, na);
	pkginfo_release(vb, nb);
	bf_map_release(&ma);
	bf_map_release(&mb);
	return rc;
}

void
bf_diff_release(struct bf_diff *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].old_cpv);
		free(d->v[i].new_cpv);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
