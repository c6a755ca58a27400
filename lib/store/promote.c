/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Channels, the history log, promotion and rollback, gc and fsck.
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
#include "format/gpkg.h"
#include "store/gpkgsign.h"
#include "base/lockfile.h"
#include "format/pkgindex.h"
#include "store/promote.h"
#include "store/repo.h"
#include "base/strmap.h"
#include "base/banned.h"

static void
say(void (*fn)(void *, const char *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(void (*fn)(void *, const char *), void *arg, const char *fmt, ...)
{
	struct bf_buf b = BF_BUF_INIT;
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	bf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	fn(arg, b.buf);
	bf_buf_release(&b);
}

/* ------------------------------------------------------------------ */
/* Channels.                                                           */

/* Parses "../../snapshots/<profile>/<id>". */
static int
parse_link(const char *target, const char *profile, char id[32])
{
	static const char pre[] = "../../snapshots/";
	size_t pl = strlen(profile);
	const char *p;

	if (strncmp(target, pre, sizeof(pre) - 1) != 0)
		return -1;
	p = target + sizeof(pre) - 1;
	if (strncmp(p, profile, pl) != 0 || p[pl] != '/' ||
	    !bf_snapshot_id_valid(p + pl + 1))
		return -1;
	snprintf(id, 32, "%s", p + pl + 1);
	return 0;
}

int
bf_channel_get(struct bf_repo *r, const char *channel, const char *profile,
    char id[32], struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	char target[512];
	ssize_t n;
	int rc = 0;

	id[0] = '\0';
	bf_buf_addf(&path, "channels/%s/%s", channel, profile);
	n = readlinkat(r->root_fd, path.buf, target, sizeof(target) - 1);
	if (n < 0) {
		rc = errno == ENOENT ? bf_err_set(e, BF_ENOTFOUND, "channel '%s' "
		    "has no snapshot of profile '%s'", channel, profile) :
		    bf_err_errno(e, "cannot read '%s'", path.buf);
		goto out;
	}
	target[n] = '\0';
	if (parse_link(target, profile, id) < 0)
		rc = bf_err_set(e, BF_EFORMAT, "'%s' points at '%s', not at a "
		    "snapshot of '%s'", path.buf, target, profile);
out:
	bf_buf_release(&path);
	return rc;
}

int
bf_channel_set(struct bf_repo *r, const char *channel, const char *profile,
    const char *id, struct bf_err *e)
{
	struct bf_buf dir = BF_BUF_INIT, tmp = BF_BUF_INIT, dst = BF_BUF_INIT;
	struct bf_buf target = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&dir, "channels/%s", channel);
	if ((rc = bf_mkdirs(r->root_fd, dir.buf, 0755, NULL, e)) < 0)
		goto out;
	bf_buf_addf(&target, "../../snapshots/%s/%s", profile, id);
	/* bf_lockfile_is_temp() names, which recovery removes. */
	bf_buf_addf(&tmp, "%s/.%s.tmp-%06lx", dir.buf, profile,
	    (unsigned long)getpid() & 0xffffff);
	bf_buf_addf(&dst, "%s/%s", dir.buf, profile);
	unlinkat(r->root_fd, tmp.buf, 0);
	if (symlinkat(target.buf, r->root_fd, tmp.buf) < 0) {
		rc = bf_err_errno(e, "cannot create '%s'", tmp.buf);
		goto out;
	}
	if (renameat(r->root_fd, tmp.buf, r->root_fd, dst.buf) < 0) {
		rc = bf_err_errno(e, "cannot replace '%s'", dst.buf);
		unlinkat(r->root_fd, tmp.buf, 0);
		goto out;
	}
	rc = bf_fsync_path(r->root_fd, dir.buf, e);
out:
	bf_buf_release(&dir);
	bf_buf_release(&tmp);
	bf_buf_release(&dst);
	bf_buf_release(&target);
	return rc;
}

int
bf_channel_each(struct bf_repo *r,
    int (*cb)(void *, const char *, const char *, const char *), void *arg,
    struct bf_err *e)
{
	struct dirent *de, *de2;
	DIR *d, *d2;
	char id[32];
	int fd, fd2, rc = 0;

	if ((fd = openat(r->root_fd, "channels", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : bf_err_errno(e, "cannot open 'channels'");
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return bf_err_errno(e, "cannot read 'channels'");
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!bf_repo_name_valid(de->d_name))
			continue;
		if ((fd2 = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue;
		if ((d2 = fdopendir(fd2)) == NULL) {
			close(fd2);
			continue;
		}
		while (rc == 0 && (de2 = readdir(d2)) != NULL) {
			if (!bf_repo_name_valid(de2->d_name))
				continue;
			if (bf_channel_get(r, de->d_name, de2->d_name, id, NULL) < 0)
				rc = cb(arg, de->d_name, de2->d_name, NULL);
			else
				rc = cb(arg, de->d_name, de2->d_name, id);
		}
		closedir(d2);
	}
	closedir(d);
	return rc;
}

/* ------------------------------------------------------------------ */
/* History.                                                            */

static int
parse_line(char *line, struct bf_history_entry *h)
{
	char *f[8], *save = NULL, *p;
	int n = 0;

	for (p = strtok_r(line, "\t", &save); p != NULL && n < 8;
	    p = strtok_r(NULL, "\t", &save))
		f[n++] = p;
	if (n != 8)
		return -1;
	memset(h, 0, sizeof(*h));
	h->time = strtoll(f[0], NULL, 10);
	snprintf(h->action, sizeof(h->action), "%s", f[2]);
	snprintf(h->profile, sizeof(h->profile), "%s", f[3]);
	snprintf(h->channel, sizeof(h->channel), "%s", f[4]);
	snprintf(h->from, sizeof(h->from), "%s", strcmp(f[5], "-") == 0 ? "" : f[5]);
	snprintf(h->to, sizeof(h->to), "%s", f[6]);
	snprintf(h->by, sizeof(h->by), "%s", f[7]);
	return bf_snapshot_id_valid(h->to) ? 0 : -1;
}

int
bf_history_load(struct bf_repo *r, struct bf_history_entry **vp, size_t *np,
    struct bf_err *e)
{
	struct bf_history_entry *v = NULL, *nv;
	char *text = NULL, *line, *next;
	size_t len, n = 0, alloc = 0;
	int rc;

	*vp = NULL;
	*np = 0;
	if (faccessat(r->root_fd, BF_REPO_HISTORY, F_OK, 0) < 0)
		return 0;
	if ((rc = bf_read_file(r->root_fd, BF_REPO_HISTORY, &text, &len, e)) < 0)
		return rc;
	/* Only whole lines count: a torn last line is ignored. */
	for (line = text; (next = strchr(line, '\n')) != NULL; line = next + 1) {
		*next = '\0';
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			if ((nv = realloc(v, alloc * sizeof(*v))) == NULL) {
				free(v);
				free(text);
				return bf_err_set(e, ENOMEM, "out of memory");
			}
			v = nv;
		}
		if (parse_line(line, &v[n]) == 0)
			n++;
	}
	free(text);
	*vp = v;
	*np = n;
	return 0;
}

static void
clean_field(struct bf_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		bf_buf_addch(b, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

int
bf_history_append(struct bf_repo *r, const struct bf_history_entry *h,
    struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	char ts[32];
	time_t t = (time_t)h->time;
	struct tm tm;
	int fd, rc = 0;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bf_buf_addf(&b, "%lld\t%s\t%s\t%s\t%s\t%s\t%s\t", h->time, ts, h->action,
	    h->profile, h->channel, h->from[0] ? h->from : "-", h->to);
	clean_field(&b, h->by[0] ? h->by : "unknown");
	bf_buf_addch(&b, '\n');
	if (bf_buf_error(&b) < 0)
		return bf_err_set(e, ENOMEM, "out of memory");
	fd = openat(r->root_fd, BF_REPO_HISTORY, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = bf_err_errno(e, "cannot open '%s'", BF_REPO_HISTORY);
		goto out;
	}
	/* One write(): a line is there whole or not at all. */
	if ((rc = bf_write_full(fd, b.buf, b.len)) < 0) {
		errno = -rc;
		rc = bf_err_errno(e, "cannot write '%s'", BF_REPO_HISTORY);
	} else if (fsync(fd) < 0)
		rc = bf_err_errno(e, "cannot fsync '%s'", BF_REPO_HISTORY);
	close(fd);
out:
	bf_buf_release(&b);
	return rc;
}

/* Replays the log for one channel: the stack of snapshots it went through. */
static int
channel_stack(const struct bf_history_entry *v, size_t n, const char *profile,
    const char *channel, char (**stack)[32], size_t *depth)
{
	char (*s)[32];
	size_t i, d = 0;

	if ((s = calloc(n + 1, sizeof(*s))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].profile, profile) != 0 ||
		    strcmp(v[i].channel, channel) != 0)
			continue;
		if (strcmp(v[i].action, "rollback") == 0) {
			if (d > 0)
				d--;
			if (d == 0 || strcmp(s[d - 1], v[i].to) != 0)
				snprintf(s[d++], 32, "%s", v[i].to);
		} else
			snprintf(s[d++], 32, "%s", v[i].to);
	}
	*stack = s;
	*depth = d;
	return 0;
}

struct reconcile {
	struct bf_repo			*r;
	struct bf_history_entry		*v;
	size_t				 n;
	void				(*report)(void *, const char *);
	void				*arg;
	struct bf_err			*e;
};

static int
reconcile_one(void *arg, const char *channel, const char *profile,
    const char *id)
{
	struct reconcile *rc = arg;
	struct bf_history_entry h;
	const char *last = "";
	size_t i;

	if (id == NULL)
		return 0;	/* fsck reports broken links */
	for (i = rc->n; i-- > 0;) {
		if (strcmp(rc->v[i].profile, profile) == 0 &&
		    strcmp(rc->v[i].channel, channel) == 0) {
			last = rc->v[i].to;
			break;
		}
	}
	if (strcmp(last, id) == 0)
		return 0;
	memset(&h, 0, sizeof(h));
	h.time = (long long)time(NULL);
	snprintf(h.action, sizeof(h.action), "recover");
	snprintf(h.profile, sizeof(h.profile), "%s", profile);
	snprintf(h.channel, sizeof(h.channel), "%s", channel);
	snprintf(h.from, sizeof(h.from), "%s", last);
	snprintf(h.to, sizeof(h.to), "%s", id);
	snprintf(h.by, sizeof(h.by), "binfarm-recovery");
	say(rc->report, rc->arg, "channel '%s' of '%s' moved to %s without a "
	    "history line (writer killed); recorded it", channel, profile, id);
	return bf_history_append(rc->r, &h, rc->e);
}

int
bf_history_reconcile(struct bf_repo *r, void (*report)(void *, const char *),
    void *arg, struct bf_err *e)
{
	struct reconcile rc = { r, NULL, 0, report, arg, e };
	int ret;

	if ((ret = bf_history_load(r, &rc.v, &rc.n, e)) < 0)
		return ret;
	ret = bf_channel_each(r, reconcile_one, &rc, e);
	free(rc.v);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Moves.                                                              */

void
bf_move_result_release(struct bf_move_result *res)
{
	bf_diff_release(&res->diff);
}

static int
do_move(struct bf_repo *r, const char *action, const char *profile,
    const char *channel, const char *id, int check_downgrade,
    const struct bf_move_opts *opts, struct bf_move_result *res,
    struct bf_err *e)
{
	struct bf_pkgindex a = BF_PKGINDEX_INIT, b = BF_PKGINDEX_INIT;
	struct bf_history_entry h;
	int rc;

	snprintf(res->to, sizeof(res->to), "%s", id);
	if ((rc = bf_snapshot_load_index(r, profile, id, &b, e)) < 0)
		goto out;
	if (res->from[0] != '\0' &&
	    (rc = bf_snapshot_load_index(r, profile, res->from, &a, e)) < 0) {
		bf_err_prefix(e, "current snapshot of channel '%s'", channel);
		goto out;
	}
	if ((rc = bf_diff_compute(&a, &b, &res->diff, e)) < 0)
		goto out;
	if (strcmp(res->from, id) == 0)
		goto out;	/* already there */
	if (check_downgrade && res->diff.count[BF_CHG_DOWNGRADED] > 0 &&
	    !opts->allow_downgrade) {
		rc = bf_err_set(e, BF_ECONFLICT, "refusing to move channel '%s' of "
		    "'%s' from %s to %s: it would downgrade %zu package(s) "
		    "(use --allow-downgrade)", channel, profile, res->from, id,
		    res->diff.count[BF_CHG_DOWNGRADED]);
		goto out;
	}
	if (opts->dry_run)
		goto out;
	if ((rc = bf_channel_set(r, channel, profile, id, e)) < 0)
		goto out;
	res->moved = 1;
	memset(&h, 0, sizeof(h));
	h.time = (long long)time(NULL);
	snprintf(h.action, sizeof(h.action), "%s", action);
	snprintf(h.profile, sizeof(h.profile), "%s", profile);
	snprintf(h.channel, sizeof(h.channel), "%s", channel);
	snprintf(h.from, sizeof(h.from), "%s", res->from);
	snprintf(h.to, sizeof(h.to), "%s", id);
	snprintf(h.by, sizeof(h.by), "%s", opts->by != NULL ? opts->by : "unknown");
	rc = bf_history_append(r, &h, e);
out:
	bf_pkgindex_release(&a);
	bf_pkgindex_release(&b);
	return rc;
}

int
bf_repo_waves(const struct bf_repo *r, const char *channel,
    struct bf_strv *waves)
{
	const char *v = bf_conf_get(&r->waves, channel);

	return v != NULL ? bf_strv_split(waves, v) : 0;
}

/* Whether channel `ch` of `profile` is at `id` (a missing link is not). */
static int
channel_at(struct bf_repo *r, const char *ch, const char *profile,
    const char *id, char cur[32], struct bf_err *e)
{
	int rc = bf_channel_get(r, ch, profile, cur, e);

	if (rc == -BF_ENOTFOUND) {
		bf_err_clear(e);
		cur[0] = '\0';
		return 0;
	}
	return rc < 0 ? rc : strcmp(cur, id) == 0;
}

int
bf_wave_target(struct bf_repo *r, const char *profile, const char *channel,
    enum bf_wave_mode mode, const char *wave, const char *id,
    char target[BF_CHANNEL_MAX], struct bf_err *e)
{
	struct bf_strv w = BF_STRV_INIT;
	char cur[32], ch[BF_CHANNEL_MAX];
	size_t i;
	long at = -1;
	int rc;

	snprintf(target, BF_CHANNEL_MAX, "%s", channel);
	if ((rc = bf_repo_waves(r, channel, &w)) < 0)
		return bf_err_set(e, -rc, "out of memory");
	if (w.n == 0) {
		rc = mode == BF_WAVE_CHANNEL ? 0 : bf_err_set(e, BF_ENOTFOUND,
		    "channel '%s' has no waves (waves.%s in %s)", channel,
		    channel, BF_REPO_CONF);
		goto out;
	}
	/* The channel itself already there: nothing to order. */
	if (mode == BF_WAVE_CHANNEL &&
	    (rc = channel_at(r, channel, profile, id, cur, e)) != 0)
		goto out;
	if (mode == BF_WAVE_ONE &&
	    (at = bf_strv_find(&w, wave)) < 0) {
		rc = bf_err_set(e, BF_ENOTFOUND, "channel '%s' has no wave "
		    "'%s' (its waves: %s)", channel, wave,
		    bf_conf_get(&r->waves, channel));
		goto out;
	}
	/* Every wave before the one to move (all of them for the channel). */
	for (i = 0; i < w.n && (mode != BF_WAVE_ONE || (long)i <= at); i++) {
		snprintf(ch, sizeof(ch), "%s.%s", channel, w.v[i]);
		if ((rc = channel_at(r, ch, profile, id, cur, e)) < 0)
			goto out;
		if (rc == 1 && !(mode == BF_WAVE_ONE && (long)i == at))
			continue;
		if (mode == BF_WAVE_NEXT || (mode == BF_WAVE_ONE &&
		    (long)i == at)) {
			snprintf(target, BF_CHANNEL_MAX, "%s", ch);
			rc = 0;
			goto out;
		}
		rc = bf_err_set(e, BF_ECONFLICT, "channel '%s' of '%s' goes out "
		    "in waves (%s): wave '%s' is at %s, not %s; promote it "
		    "first (--wave %s or --next)", channel, profile,
		    bf_conf_get(&r->waves, channel), w.v[i], cur[0] ? cur :
		    "(none)", id, w.v[i]);
		goto out;
	}
	rc = 0;
	if (mode == BF_WAVE_NEXT) {
		/* Every wave has it: the channel itself, or nothing to do. */
		if ((rc = channel_at(r, channel, profile, id, cur, e)) >= 0)
			rc = rc == 1;
	}
out:
	bf_strv_release(&w);
	return mode == BF_WAVE_CHANNEL && rc == 1 ? 0 : rc;
}

static int
check_names(struct bf_repo *r, const char *profile, const char *channel,
    struct bf_err *e)
{
	if (!bf_repo_name_valid(channel))
		return bf_err_set(e, BF_EUSAGE, "invalid channel name '%s'", channel);
	if (!bf_repo_name_valid(profile))
		return bf_err_set(e, BF_EUSAGE, "invalid profile name '%s'", profile);
	if (!bf_repo_profile_exists(r, profile))
		return bf_err_set(e, BF_ENOTFOUND, "no profile '%s' in this "
		    "repository", profile);
	return 0;
}

int
bf_repo_promote(struct bf_repo *r, const char *profile, const char *channel,
    const char *id, const struct bf_move_opts *opts, struct bf_move_result *res,
    struct bf_err *e)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_names(r, profile, channel, e)) < 0)
		return rc;
	if (!bf_snapshot_exists(r, profile, id))
		return bf_err_set(e, BF_ENOTFOUND, "no snapshot '%s' in profile '%s'",
		    id, profile);
	rc = bf_channel_get(r, channel, profile, res->from, e);
	if (rc < 0 && rc != -BF_ENOTFOUND)
		return rc;
	bf_err_clear(e);
	return do_move(r, "promote", profile, channel, id, 1, opts, res, e);
}

int
bf_repo_rollback(struct bf_repo *r, const char *profile, const char *channel,
    const struct bf_move_opts *opts, struct bf_move_result *res,
    struct bf_err *e)
{
	struct bf_history_entry *v = NULL;
	char (*stack)[32] = NULL;
	size_t n = 0, depth = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_names(r, profile, channel, e)) < 0)
		return rc;
	if ((rc = bf_channel_get(r, channel, profile, res->from, e)) < 0)
		return rc;
	if ((rc = bf_history_load(r, &v, &n, e)) < 0)
		return rc;
	if (channel_stack(v, n, profile, channel, &stack, &depth) < 0) {
		rc = bf_err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (depth < 2 || strcmp(stack[depth - 1], res->from) != 0) {
		rc = bf_err_set(e, BF_ENOTFOUND, "channel '%s' of '%s' has no "
		    "earlier snapshot to return to", channel, profile);
		goto out;
	}
	if (!bf_snapshot_exists(r, profile, stack[depth - 2])) {
		rc = bf_err_set(e, BF_ENOTFOUND, "the previous snapshot %s of "
		    "channel '%s' is gone (garbage-collected)", stack[depth - 2],
		    channel);
		goto out;
	}
	rc = do_move(r, "rollback", profile, channel, stack[depth - 2], 0, opts,
	    res, e);
out:
	free(v);
	free(stack);
	return rc;
}

/* ------------------------------------------------------------------ */
/* gc.                                                                 */

struct refs {
	struct bf_strmap	 paths;		/* PATHs referenced */
};

static int
add_refs(struct refs *refs, const struct bf_pkgindex *idx)
{
	size_t i;

	for (i = 0; i < idx->npkgs; i++) {
		const char *p = bf_pkgindex_get(&idx->pkgs[i], "PATH");

		if (p != NULL && bf_strmap_put(&refs->paths, p, 1) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct chlist {
	char		(*chan)[130];
	char		(*prof)[130];
	char		(*id)[32];
	size_t		 n;
	size_t		 alloc;
};

static int
chlist_add(void *arg, const char *channel, const char *profile, const char *id)
{
	struct chlist *c = arg;

	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 16;
		void *p1 = realloc(c->chan, na * sizeof(*c->chan));

		if (p1 == NULL)
			return -ENOMEM;
		c->chan = p1;
		if ((p1 = realloc(c->prof, na * sizeof(*c->prof))) == NULL)
			return -ENOMEM;
		c->prof = p1;
		if ((p1 = realloc(c->id, na * sizeof(*c->id))) == NULL)
			return -ENOMEM;
		c->id = p1;
		c->alloc = na;
	}
	snprintf(c->chan[c->n], 130, "%s", channel);
	snprintf(c->prof[c->n], 130, "%s", profile);
	snprintf(c->id[c->n], 32, "%s", id != NULL ? id : "");
	c->n++;
	return 0;
}

static void
chlist_release(struct chlist *c)
{
	free(c->chan);
	free(c->prof);
	free(c->id);
}

static int
list_dir(int dirfd, const char *path, char ***namesp, size_t *np)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t n = 0, alloc = 0;
	DIR *d;
	int fd;

	*namesp = NULL;
	*np = 0;
	if ((fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			if ((nv = realloc(v, alloc * sizeof(*v))) == NULL)
				goto oom;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
	}
	closedir(d);
	*namesp = v;
	*np = n;
	return 0;
oom:
	closedir(d);
	bf_snapshot_list_free(v, n);
	return -ENOMEM;
}

static void
gc_say(const struct bf_gc_opts *o, const char *what, const char *path)
{
	if (o->report != NULL)
		o->report(o->arg, what, path);
}

int
bf_repo_gc(struct bf_repo *r, const struct bf_gc_opts *o, struct bf_gc_stats *st,
    struct bf_err *e)
{
	struct bf_history_entry *hv = NULL;
	struct chlist ch = { NULL, NULL, NULL, 0, 0 };
	struct bf_buf path = BF_BUF_INIT;
	char **profiles = NULL, **ids = NULL, **cats = NULL, **pns = NULL;
	char **files = NULL;
	size_t nprof = 0, nids = 0, nh = 0, p, i, k, c, q, f;
	size_t ncats = 0, npns = 0, nfiles = 0;
	long long now = o->now >= 0 ? o->now : (long long)time(NULL);
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = bf_history_load(r, &hv, &nh, e)) < 0)
		goto out;
	if ((rc = bf_channel_each(r, chlist_add, &ch, e)) < 0) {
		rc = bf_err_set(e, -rc, "cannot list channels");
		goto out;
	}
	if ((rc = list_dir(r->root_fd, "pool", &profiles, &nprof)) < 0) {
		rc = bf_err_set(e, -rc, "cannot read 'pool'");
		goto out;
	}
	/* Profiles with snapshots but no pool are gc'd too. */
	{
		char **sp = NULL;
		size_t ns = 0;

		if ((rc = list_dir(r->root_fd, "snapshots", &sp, &ns)) < 0) {
			rc = bf_err_set(e, -rc, "cannot read 'snapshots'");
			goto out;
		}
		for (i = 0; i < ns; i++) {
			for (k = 0; k < nprof; k++)
				if (strcmp(profiles[k], sp[i]) == 0)
					break;
			if (k < nprof)
				continue;
			char **np2 = realloc(profiles, (nprof + 1) * sizeof(*profiles));
			if (np2 == NULL) {
				bf_snapshot_list_free(sp, ns);
				rc = bf_err_set(e, ENOMEM, "out of memory");
				goto out;
			}
			profiles = np2;
			profiles[nprof++] = sp[i];
			sp[i] = NULL;
		}
		bf_snapshot_list_free(sp, ns);
	}
	for (p = 0; p < nprof; p++) {
		struct refs refs = { BF_STRMAP_INIT };
		struct bf_workset w;
		const char *prof = profiles[p];

		if (!bf_repo_name_valid(prof))
			continue;
		if ((rc = bf_snapshot_list(r, prof, &ids, &nids, e)) < 0)
			goto out;
		for (i = 0; i < nids; i++) {
			int keep = i + (size_t)o->keep >= nids;

			for (k = 0; !keep && k < ch.n; k++)
				keep = strcmp(ch.prof[k], prof) == 0 &&
				    strcmp(ch.id[k], ids[i]) == 0;
			for (k = 0; !keep && k < nh; k++)
				keep = strcmp(hv[k].profile, prof) == 0 &&
				    hv[k].time > now - o->grace &&
				    (strcmp(hv[k].from, ids[i]) == 0 ||
				    strcmp(hv[k].to, ids[i]) == 0);
			if (keep) {
				struct bf_pkgindex idx = BF_PKGINDEX_INIT;

				st->snapshots_kept++;
				if ((rc = bf_snapshot_load_index(r, prof, ids[i], &idx,
				    e)) < 0 || (rc = add_refs(&refs, &idx)) < 0) {
					bf_pkgindex_release(&idx);
					bf_strmap_release(&refs.paths);
					if (rc == -ENOMEM)
						rc = bf_err_set(e, ENOMEM, "out of memory");
					goto out;
				}
				bf_pkgindex_release(&idx);
				continue;
			}
			bf_buf_reset(&path);
			bf_buf_addf(&path, "snapshots/%s/%s", prof, ids[i]);
			gc_say(o, "delete snapshot", path.buf);
			st->snapshots_deleted++;
			if (o->dry_run)
				continue;
			{
				/* Disappears in one rename, then is removed. */
				struct bf_buf t = BF_BUF_INIT;

				bf_buf_addf(&t, "tmp/gc-%s-%s", prof, ids[i]);
				if (renameat(r->root_fd, path.buf, r->root_fd, t.buf) < 0) {
					rc = bf_err_errno(e, "cannot remove '%s'", path.buf);
					bf_buf_release(&t);
					bf_strmap_release(&refs.paths);
					goto out;
				}
				rc = bf_rmtree(r->root_fd, t.buf, e);
				bf_buf_release(&t);
				if (rc < 0) {
					bf_strmap_release(&refs.paths);
					goto out;
				}
			}
		}
		bf_snapshot_list_free(ids, nids);
		ids = NULL;
		nids = 0;
		/* The working set is referenced too. */
		if ((rc = bf_workset_load(r, prof, &w, e)) < 0) {
			bf_strmap_release(&refs.paths);
			goto out;
		}
		rc = add_refs(&refs, &w.idx);
		bf_workset_release(&w);
		if (rc < 0) {
			bf_strmap_release(&refs.paths);
			rc = bf_err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		/* Pool files nothing retained references. */
		bf_buf_reset(&path);
		bf_buf_addf(&path, "pool/%s", prof);
		if ((rc = list_dir(r->root_fd, path.buf, &cats, &ncats)) < 0) {
			bf_strmap_release(&refs.paths);
			rc = bf_err_set(e, -rc, "cannot read '%s'", path.buf);
			goto out;
		}
		for (c = 0; c < ncats; c++) {
			bf_buf_reset(&path);
			bf_buf_addf(&path, "pool/%s/%s", prof, cats[c]);
			if (list_dir(r->root_fd, path.buf, &pns, &npns) < 0)
				continue;
			for (q = 0; q < npns; q++) {
				struct bf_buf rel = BF_BUF_INIT;
				size_t left = 0;

				bf_buf_reset(&path);
				bf_buf_addf(&path, "pool/%s/%s/%s", prof, cats[c], pns[q]);
				if (list_dir(r->root_fd, path.buf, &files, &nfiles) < 0)
					continue;
				for (f = 0; f < nfiles; f++) {
					struct stat fst;
					size_t dummy;

					bf_buf_reset(&rel);
					bf_buf_addf(&rel, "%s/%s/%s", cats[c], pns[q], files[f]);
					if (bf_strmap_get(&refs.paths, rel.buf, &dummy)) {
						st->files_kept++;
						left++;
						continue;
					}
					bf_buf_reset(&path);
					bf_buf_addf(&path, "pool/%s/%s", prof, rel.buf);
					gc_say(o, "delete", path.buf);
					st->files_deleted++;
					if (fstatat(r->root_fd, path.buf, &fst,
					    AT_SYMLINK_NOFOLLOW) == 0)
						st->bytes_deleted += (unsigned long long)fst.st_size;
					if (!o->dry_run && unlinkat(r->root_fd, path.buf, 0) < 0 &&
					    errno != ENOENT) {
						rc = bf_err_errno(e, "cannot remove '%s'", path.buf);
						bf_buf_release(&rel);
						bf_strmap_release(&refs.paths);
						goto out;
					}
				}
				bf_snapshot_list_free(files, nfiles);
				files = NULL;
				nfiles = 0;
				bf_buf_release(&rel);
				if (left == 0 && !o->dry_run) {
					bf_buf_reset(&path);
					bf_buf_addf(&path, "pool/%s/%s/%s", prof, cats[c], pns[q]);
					unlinkat(r->root_fd, path.buf, AT_REMOVEDIR);
				}
			}
			bf_snapshot_list_free(pns, npns);
			pns = NULL;
			npns = 0;
		}
		bf_snapshot_list_free(cats, ncats);
		cats = NULL;
		ncats = 0;
		bf_strmap_release(&refs.paths);
	}
	if (!o->dry_run)
		rc = bf_repo_sync(r, e);
out:
	free(hv);
	chlist_release(&ch);
	bf_snapshot_list_free(profiles, nprof);
	bf_snapshot_list_free(ids, nids);
	bf_snapshot_list_free(cats, ncats);
	bf_snapshot_list_free(pns, npns);
	bf_snapshot_list_free(files, nfiles);
	bf_buf_release(&path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* fsck.                                                               */

struct fsck {
	struct bf_repo			*r;
	const struct bf_fsck_opts	*o;
	int				 problems;
	struct bf_strmap		 checked;	/* "dev:ino" -> ok */
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
	size_t dummy;
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
	if (bf_strmap_get(&f->checked, key.buf, &dummy))
		goto out;	/* same file, already checked */
	bf_strmap_put(&f->checked, key.buf, 1);
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

int
bf_repo_fsck(struct bf_repo *r, const struct bf_fsck_opts *o, struct bf_err *e)
{
	struct fsck f = { r, o, 0, BF_STRMAP_INIT };
	struct bf_buf path = BF_BUF_INIT;
	char **profiles = NULL, **ents = NULL;
	size_t nprof = 0, nents = 0, p, i, k;
	int rc;

	if ((rc = list_dir(r->root_fd, "snapshots", &profiles, &nprof)) < 0) {
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
		if ((rc = list_dir(r->root_fd, path.buf, &ents, &nents)) < 0) {
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
	if ((rc = bf_channel_each(r, fsck_channel, &f, e)) < 0)
		goto out;
	/* Temporary files a reader might trip on (recovery removes them). */
	if ((rc = list_dir(r->root_fd, "tmp", &ents, &nents)) == 0) {
		for (i = 0; i < nents; i++)
			problem(&f, "tmp/%s: leftover temporary file", ents[i]);
	}
	rc = f.problems;
out:
	bf_strmap_release(&f.checked);
	bf_snapshot_list_free(profiles, nprof);
	bf_snapshot_list_free(ents, nents);
	bf_buf_release(&path);
	return rc;
}
