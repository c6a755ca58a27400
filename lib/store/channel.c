/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Channels and the history log: where each channel of a profile points,
 * every move recorded, and moves the log lacks after a crash reconciled.
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
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/channel.h"
#include "store/chgen.h"
#include "store/repo.h"
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
	if ((rc = bf_fsync_path(r->root_fd, dir.buf, e)) == 0)
		(void)bf_chgen_bump(r->root_fd);	/* readers look again */
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
	struct bf_history_entry *v = NULL;
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
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 64) < 0) {
			free(v);
			free(text);
			return bf_err_nomem(e);
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
		return bf_err_nomem(e);
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
