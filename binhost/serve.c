/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * URL path to file descriptor, beneath the repository root.
 *
 * The path is decoded once, strictly: a '%' must be followed by two hex
 * digits; NUL and control bytes are a 400; a backslash, an encoded '/',
 * an empty component (a doubled slash), "." and ".." and any component
 * starting with '.' are a 404.  What is left is opened relative to the
 * root's fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or, on a
 * kernel without it, one component at a time with O_NOFOLLOW.  The only
 * symbolic link ever followed is a channel link, by hand: its target is
 * read, resolved lexically, and must be snapshots/<profile>/<id> under
 * the root.
 *
 * What is served is an allow-list, checked on the decoded components
 * before anything is opened (no system call for a refused name):
 *
 *	/<channel>/<profile>/Packages, Packages.gz, <PATH>
 *	/snapshots/<profile>/<id>/Packages, Packages.gz, <PATH>
 *	/keys/binfarm.asc
 *	/healthz, /metrics
 *
 * where <PATH> has one of the forms Portage gives a package's PATH:
 * CAT/PF.EXT or CAT/PN/PN-<version...>.EXT, EXT being .gpkg.tar, .tbz2
 * or .xpak, each component a Portage name.  Everything else is a 404,
 * whatever the files in the tree and whoever runs the server: the
 * repository's configuration, history, SNAPSHOT metadata, work/, tmp/,
 * pool/, and anything under keys/ but the public key.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "binhost.h"
#include "base/buf.h"
#include "base/banned.h"

/*
 * Decodes `raw` into `buf` and splits it at '/'.  seg[] points into buf.
 * Returns 0, 400 (malformed) or 404 (names nothing we serve).
 */
int
bh_path_split(const char *raw, char *buf, size_t bufsz, char **seg,
    size_t *nseg)
{
	const char *p;
	size_t n = 0, len = 0, start;
	int c, hi, lo;

	*nseg = 0;
	if (raw[0] != '/')
		return 400;
	if (strlen(raw) > BH_PATH_MAX || bufsz < 2)
		return 400;
	p = raw + 1;
	start = 0;
	for (;;) {
		c = (unsigned char)*p;
		if (c == '/' || c == '\0') {
			buf[len] = '\0';
			if (len == start)
				return 404;	/* "//", trailing '/', "/" */
			if (buf[start] == '.')
				return 404;	/* ".", "..", hidden files */
			if (len - start > NAME_MAX)
				return 404;
			if (n == BH_SEG_MAX)
				return 404;
			seg[n++] = buf + start;
			if (c == '\0')
				break;
			p++;
			start = ++len;
			if (len >= bufsz)
				return 400;
			continue;
		}
		if (c == '%') {
			if ((hi = bf_hexval(p[1])) < 0 || (lo = bf_hexval(p[2])) < 0)
				return 400;
			c = hi << 4 | lo;
			p += 3;
			if (c == '/')
				return 404;	/* never a separator */
			if (c == '\0')
				return 400;
		} else
			p++;
		if (c < 0x20 || c == 0x7f)
			return 400;
		if (c == '\\')
			return 404;	/* no file we serve has one */
		if (len + 1 >= bufsz)
			return 400;
		buf[len++] = (char)c;
	}
	*nseg = n;
	return 0;
}

/* A Portage name of any length (NAME_MAX is checked when splitting). */
static int
portage_name(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-' || *p == '+'))
			return 0;
	return 1;
}

/* Channel, profile and snapshot names: what binfarm repo accepts too. */
static int
valid_name(const char *s)
{
	return portage_name(s) && strlen(s) < 64;
}

static int
has_suffix(const char *s, size_t n, const char *suf, size_t k)
{
	return n > k && memcmp(s + n - k, suf, k) == 0;
}

/*
 * A package file name: a Portage name ending in .gpkg.tar,
 * .tbz2 or .xpak, with a version ("-" and a digit) in its stem.  With
 * `pn`, the stem must start with "<pn>-".
 */
static int
pkg_file_ok(const char *f, const char *pn)
{
	size_t n = strlen(f), stem, k;
	const char *p;

	if (!portage_name(f))
		return 0;
	if (has_suffix(f, n, ".gpkg.tar", 9))
		stem = n - 9;
	else if (has_suffix(f, n, ".tbz2", 5))
		stem = n - 5;
	else if (has_suffix(f, n, ".xpak", 5))
		stem = n - 5;
	else
		return 0;
	if (pn != NULL) {
		k = strlen(pn);
		if (stem <= k + 1 || memcmp(f, pn, k) != 0 || f[k] != '-')
			return 0;
	}
	for (p = f; p + 1 < f + stem; p++)
		if (p[0] == '-' && p[1] >= '0' && p[1] <= '9')
			return 1;
	return 0;
}

/*
 * The files of a snapshot for binfarm-node (binfarm-node(8)): SNAPSHOT
 * (its record: the hw-profile's x86-64 level, the tree commit; no
 * secret) and trees/ (the pinned ebuild trees as signed tarballs,
 * lib/store/treesnap.h): trees/TREES and trees/<repo>.tar.xz with its
 * .md5sum and .gpgsig.  BH_REST_SNAPFILE or -1.  Below a channel URL
 * their content changes when the channel moves: not immutable.
 */
#define BH_REST_SNAPFILE	3
static int
allowed_snapshot_file(char **seg, size_t n)
{
	size_t k;
	const char *f;

	if (n == 1 && strcmp(seg[0], "SNAPSHOT") == 0)
		return BH_REST_SNAPFILE;
	if (n != 2 || strcmp(seg[0], "trees") != 0)
		return -1;
	f = seg[1];
	if (strcmp(f, "TREES") == 0)
		return BH_REST_SNAPFILE;
	if (!portage_name(f))
		return -1;
	k = strlen(f);
	if (has_suffix(f, k, ".tar.xz", 7) ||
	    has_suffix(f, k, ".tar.xz.md5sum", 14) ||
	    has_suffix(f, k, ".tar.xz.gpgsig", 14))
		return BH_REST_SNAPFILE;
	return -1;
}

/*
 * The part of a URL after <channel>/<profile>/ or snapshots/<profile>/
 * <id>/: 0 or 1 for Packages or Packages.gz, 2 for a package PATH,
 * BH_REST_SNAPFILE for a file of allowed_snapshot_file(), -1 for
 * anything else.
 */
static int
allowed_rest(char **seg, size_t n)
{
	if (n == 1 && strcmp(seg[0], "Packages") == 0)
		return 0;
	if (n == 1 && strcmp(seg[0], "Packages.gz") == 0)
		return 1;
	if (n == 2 && portage_name(seg[0]) && pkg_file_ok(seg[1], NULL))
		return 2;
	if (n == 3 && portage_name(seg[0]) && portage_name(seg[1]) &&
	    pkg_file_ok(seg[2], seg[1]))
		return 2;
	return allowed_snapshot_file(seg, n);
}

#ifdef HAVE_LINUX_OPENAT2_H
static int
sys_openat2(int dirfd, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}
#endif

/*
 * Opens `path` (components already checked: no "", ".", ".." and no
 * symlink may be crossed) beneath `dirfd`.  -1 with errno on failure.
 */
static int
open_beneath(struct bh_server *s, int dirfd, const char *path, int flags)
{
	char tmp[BH_PATH_MAX + 1];
	char *comp, *slash;
	int fd, cur, saved;

	flags |= O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
#ifdef HAVE_LINUX_OPENAT2_H
	if (!__atomic_load_n(&s->no_openat2, __ATOMIC_RELAXED)) {
		fd = sys_openat2(dirfd, path, flags);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM &&
		    errno != E2BIG))
			return fd;
		/* No openat2 (or a seccomp filter refusing it). */
		__atomic_store_n(&s->no_openat2, 1, __ATOMIC_RELAXED);
	}
#endif
	if (strlen(path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s", path);
	cur = dirfd;
	comp = tmp;
	for (;;) {
		if ((slash = strchr(comp, '/')) != NULL)
			*slash = '\0';
		if (*comp == '\0' || strcmp(comp, ".") == 0 ||
		    strcmp(comp, "..") == 0) {
			fd = -1;
			errno = EXDEV;
		} else if (slash != NULL)
			fd = openat(cur, comp, O_RDONLY | O_CLOEXEC |
			    O_DIRECTORY | O_NOFOLLOW);
		else
			fd = openat(cur, comp, flags);
		saved = errno;
		if (cur != dirfd)
			close(cur);
		errno = saved;
		if (fd < 0 || slash == NULL)
			return fd;
		cur = fd;
		comp = slash + 1;
	}
}

static const char *
content_type(const char *name)
{
	size_t n = strlen(name);
	static const struct {
		const char *suffix, *type;
	} types[] = {
		{ "/Packages", "text/plain; charset=utf-8" },
		{ ".gz", "application/gzip" },
		{ ".tar", "application/x-tar" },
		{ ".xpak", "application/octet-stream" },
		{ ".tbz2", "application/x-bzip2" },
		{ ".asc", "application/pgp-keys" },
		{ ".sig", "application/pgp-signature" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".json", "application/json" },
	};
	size_t i, k;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		k = strlen(types[i].suffix);
		if (types[i].suffix[0] == '/') {
			if (strcmp(name, types[i].suffix + 1) == 0)
				return types[i].type;
		} else if (n > k && strcmp(name + n - k, types[i].suffix) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* Joins seg[from..n) with '/' into out. */
static int
join(char *out, size_t outsz, char **seg, size_t from, size_t n)
{
	size_t i, len = 0, k;

	out[0] = '\0';
	for (i = from; i < n; i++) {
		k = strlen(seg[i]);
		if (len + k + 2 > outsz)
			return -1;
		if (i > from)
			out[len++] = '/';
		memcpy(out + len, seg[i], k);
		len += k;
		out[len] = '\0';
	}
	return 0;
}

uint64_t
bh_fnv1a(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Reads the link channels/<channel>/<profile> and checks that it names
 * snapshots/<profile>/<id> under the root.  On success writes
 * "snapshots/<profile>/<id>" to out.
 */
static int
read_channel(struct bh_server *s, const char *channel, const char *profile,
    char *out, size_t outsz)
{
	char rel[2 * NAME_MAX + 16], target[PATH_MAX];
	char *stack[8], *p, *comp, *next;
	size_t depth = 0, rl;
	ssize_t n;

	/*
	 * readlinkat() on the whole path rather than an open of
	 * channels/<channel> first.  Should channels/<channel> be a
	 * symlink, it only changes where the link text is read from; the
	 * text itself is checked below and whatever it says is then
	 * opened beneath the root, so nothing outside can be reached.
	 */
	snprintf(rel, sizeof(rel), "channels/%s/%s", channel, profile);
	n = readlinkat(s->root_fd, rel, target, sizeof(target) - 1);
	if (n < 0 || (size_t)n >= sizeof(target) - 1)
		return errno == EACCES ? 403 : 404;
	target[n] = '\0';

	p = target;
	if (*p == '/') {
		/* An absolute link is accepted only into this root. */
		rl = strlen(s->root_real);
		if (strncmp(p, s->root_real, rl) != 0 || p[rl] != '/')
			goto bad;
		p += rl;
	} else {
		stack[depth++] = (char *)"channels";
		stack[depth++] = (char *)channel;
	}
	for (comp = p; comp != NULL; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (*comp == '\0' || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth == 0)
				goto bad;
			depth--;
			continue;
		}
		if (depth == sizeof(stack) / sizeof(stack[0]))
			goto bad;
		stack[depth++] = comp;
	}
	if (depth != 3 || strcmp(stack[0], "snapshots") != 0 ||
	    strcmp(stack[1], profile) != 0 || !valid_name(stack[2]))
		goto bad;
	if ((size_t)snprintf(out, outsz, "snapshots/%s/%s", profile,
	    stack[2]) >= outsz)
		goto bad;
	return 0;
bad:
	return 404;
}

/*
 * The channel generation's pages, for the SIGBUS handler: a page whose
 * file was truncated under it becomes a page of zeros and the short cut
 * is off (chgen_faulted) until the file is mapped again.  Process-wide,
 * as a signal handler is; written under the channel cache's mutex
 * before the mapping is used.
 */
#define CHGEN_PAGES_MAX	16
static void *chgen_pages[CHGEN_PAGES_MAX];
static size_t chgen_pgsz;
static volatile sig_atomic_t chgen_faulted;

static void
chgen_sigbus(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr, *p;
	size_t i;

	(void)uc;
	for (i = 0; i < CHGEN_PAGES_MAX; i++) {
		p = __atomic_load_n(&chgen_pages[i], __ATOMIC_ACQUIRE);
		if (p != NULL && a >= p && a < p + chgen_pgsz &&
		    mmap(p, chgen_pgsz, PROT_READ, MAP_FIXED | MAP_PRIVATE |
		    MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
			chgen_faulted = 1;
			return;
		}
	}
	/* Not ours: the fault comes again, and kills as it would have. */
	signal(sig, SIG_DFL);
}

/*
 * Once a second, under c->mu: maps the channel generation when it is
 * not mapped, or the file was replaced, or its page faulted.  Old
 * mappings stay (a thread may be reading one); at most CHGEN_PAGES_MAX.
 */
static void
chgen_check(struct bh_server *s, struct bh_chan_cache *c, time_t now)
{
	struct sigaction sa;
	struct bf_chgen g;

	if (now == c->gen_checked)
		return;
	c->gen_checked = now;
	if (!chgen_faulted && bf_chgen_current(s->root_fd, &c->gen))
		return;
	if (c->gen_maps >= CHGEN_PAGES_MAX || bf_chgen_map(s->root_fd, &g) < 0) {
		c->gen.p = NULL;
		return;
	}
	if (c->gen_maps == 0) {
		chgen_pgsz = (size_t)sysconf(_SC_PAGESIZE);
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = chgen_sigbus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
	}
	__atomic_store_n(&chgen_pages[c->gen_maps++], (void *)(uintptr_t)g.p,
	    __ATOMIC_RELEASE);
	chgen_faulted = 0;
	c->gen = g;
}

int
bh_chan_cache_init(struct bh_chan_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->fresh = BH_CHAN_FRESH;
	return pthread_mutex_init(&c->mu, NULL) != 0 ? -ENOMEM : 0;
}

void
bh_chan_cache_release(struct bh_chan_cache *c)
{
	pthread_mutex_destroy(&c->mu);
}

static int
same_link(const struct bh_chan *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino &&
	    e->size == st->st_size &&
	    e->mtim.tv_sec == st->st_mtim.tv_sec &&
	    e->mtim.tv_nsec == st->st_mtim.tv_nsec &&
	    e->ctim.tv_sec == st->st_ctim.tv_sec &&
	    e->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/* The entry of (channel, profile), or NULL; under c->mu. */
static struct bh_chan *
chan_find(struct bh_chan_cache *c, const char *channel, const char *profile)
{
	size_t i;

	for (i = 0; i < BH_CHAN_MAX; i++)
		if (c->v[i].channel[0] != '\0' &&
		    strcmp(c->v[i].channel, channel) == 0 &&
		    strcmp(c->v[i].profile, profile) == 0)
			return &c->v[i];
	return NULL;
}

/* A slot for a new entry: a free one, else the least recently used. */
static struct bh_chan *
chan_slot(struct bh_chan_cache *c)
{
	struct bh_chan *victim = &c->v[0];
	size_t i;

	for (i = 0; i < BH_CHAN_MAX; i++) {
		if (c->v[i].channel[0] == '\0')
			return &c->v[i];
		if (c->v[i].used < victim->used)
			victim = &c->v[i];
	}
	return victim;
}

/* A request answered from entry e (under c->mu). */
static void
chan_hit(struct bh_chan_cache *c, struct bh_chan *e, int which, time_t now,
    char *snap, size_t snapsz, uint64_t *snap_hash,
    struct bh_series **series, struct stat *ist, int *have, uint64_t *epoch)
{
	e->used = ++c->clock;
	c->hits++;
	snprintf(snap, snapsz, "%s", e->snap);
	*snap_hash = e->snap_hash;
	*series = e->series;
	*epoch = c->epoch;
	if (which >= 0 && e->have[which] &&
	    now - e->checked[which] < BH_CHAN_RECHECK &&
	    now >= e->checked[which]) {
		*ist = e->st[which];
		*have = 1;
	}
}

/*
 * Resolves the channel link of (channel, profile) to snap, through the
 * cache.  `which` is 0 or 1 for Packages or Packages.gz, else -1; for an
 * index whose fstat the cache holds (and checked less than
 * BH_CHAN_RECHECK seconds ago), copies it to *ist and sets *have.
 * Returns 0 or an HTTP status.
 */
static int
resolve_channel(struct bh_server *s, const char *channel,
    const char *profile, int which, char *snap, size_t snapsz,
    time_t *link_mtime, uint64_t *snap_hash, struct bh_series **series,
    struct stat *ist, int *have, uint64_t *epoch)
{
	struct bh_chan_cache *c = &s->chans;
	struct bh_chan *e;
	struct stat lst;
	char rel[2 * NAME_MAX + 16], fresh[BH_SNAP_MAX];
	struct bh_series *ser;
	time_t now = time(NULL);
	uint64_t gen;
	int rc, recent;

	*have = 0;
	pthread_mutex_lock(&c->mu);
	chgen_check(s, c, now);
	gen = bf_chgen_load(&c->gen);
	if (c->gen.p != NULL && !chgen_faulted &&
	    (e = chan_find(c, channel, profile)) != NULL &&
	    e->gen_seen == now && e->gen == gen) {
		/* No channel moved since the link was seen, this second. */
		c->unchecked++;
		chan_hit(c, e, which, now, snap, snapsz, snap_hash, series,
		    ist, have, epoch);
		*link_mtime = e->mtim.tv_sec;
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	pthread_mutex_unlock(&c->mu);
	snprintf(rel, sizeof(rel), "channels/%s/%s", channel, profile);
	/*
	 * lstat first, then the text: should the link be replaced between
	 * the two, the entry keeps the older lstat with the newer text and
	 * the next request, seeing another lstat, reads the link again.
	 * The other order could pair a new lstat with an old text for good.
	 */
	if (fstatat(s->root_fd, rel, &lst, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == EACCES ? 403 : 404;
	if (!S_ISLNK(lst.st_mode))
		return 404;
	/* Also a ctime in the future: the clock went back. */
	recent = lst.st_ctim.tv_sec >= now - c->fresh;

	pthread_mutex_lock(&c->mu);
	e = chan_find(c, channel, profile);
	if (e != NULL && same_link(e, &lst) && !recent) {
		chan_hit(c, e, which, now, snap, snapsz, snap_hash, series,
		    ist, have, epoch);
		e->gen = gen;
		e->gen_seen = now;
		pthread_mutex_unlock(&c->mu);
		*link_mtime = lst.st_mtime;
		return 0;
	}
	c->misses++;
	pthread_mutex_unlock(&c->mu);

	if ((rc = read_channel(s, channel, profile, fresh, sizeof(fresh))) != 0)
		return rc;
	/* Outside the lock: it may create the series. */
	ser = bh_metrics_series(&s->metrics, channel, profile);

	pthread_mutex_lock(&c->mu);
	if ((e = chan_find(c, channel, profile)) == NULL) {
		e = chan_slot(c);
		memset(e, 0, sizeof(*e));
		snprintf(e->channel, sizeof(e->channel), "%s", channel);
		snprintf(e->profile, sizeof(e->profile), "%s", profile);
	}
	if (same_link(e, &lst) && strcmp(e->snap, fresh) == 0) {
		/* Read again (a recent link), and unchanged. */
		if (which >= 0 && e->have[which] &&
		    now - e->checked[which] < BH_CHAN_RECHECK &&
		    now >= e->checked[which]) {
			*ist = e->st[which];
			*have = 1;
		}
	} else {
		e->have[0] = e->have[1] = 0;
		e->dev = lst.st_dev;
		e->ino = lst.st_ino;
		e->size = lst.st_size;
		e->mtim = lst.st_mtim;
		e->ctim = lst.st_ctim;
		snprintf(e->snap, sizeof(e->snap), "%s", fresh);
		e->snap_hash = bh_fnv1a(fresh, 0xcbf29ce484222325ULL);
		c->epoch++;
	}
	e->series = ser;
	e->used = ++c->clock;
	/* A link read again while recent is looked at on every request. */
	e->gen = gen;
	e->gen_seen = recent ? 0 : now;
	*epoch = c->epoch;
	pthread_mutex_unlock(&c->mu);

	snprintf(snap, snapsz, "%s", fresh);
	*snap_hash = bh_fnv1a(fresh, 0xcbf29ce484222325ULL);
	*series = ser;
	*link_mtime = lst.st_mtime;
	return 0;
}

/* Remembers the fstat of index `which` of snapshot `snap` of a channel. */
static void
chan_remember(struct bh_server *s, const char *channel, const char *profile,
    const char *snap, int which, const struct stat *st)
{
	struct bh_chan_cache *c = &s->chans;
	struct bh_chan *e;

	pthread_mutex_lock(&c->mu);
	/* Only while the entry still names the snapshot that was opened. */
	if ((e = chan_find(c, channel, profile)) != NULL &&
	    strcmp(e->snap, snap) == 0) {
		e->st[which] = *st;
		e->have[which] = 1;
		e->checked[which] = time(NULL);
	}
	pthread_mutex_unlock(&c->mu);
}

void
bh_chan_cache_render(struct bh_chan_cache *c, struct bf_buf *out)
{
	uint64_t hits, misses, unchecked;

	pthread_mutex_lock(&c->mu);
	hits = c->hits;
	misses = c->misses;
	unchecked = c->unchecked;
	pthread_mutex_unlock(&c->mu);
	bf_buf_addf(out, "# HELP binhost_channel_cache_hits_total Requests "
	    "whose channel link was resolved from the cache.\n"
	    "# TYPE binhost_channel_cache_hits_total counter\n"
	    "binhost_channel_cache_hits_total %llu\n"
	    "# HELP binhost_channel_cache_misses_total Requests that read "
	    "the channel link.\n"
	    "# TYPE binhost_channel_cache_misses_total counter\n"
	    "binhost_channel_cache_misses_total %llu\n"
	    "# HELP binhost_channel_cache_unchecked_total Cache hits that "
	    "did not look at the link: no channel moved (channels/.generation)."
	    "\n"
	    "# TYPE binhost_channel_cache_unchecked_total counter\n"
	    "binhost_channel_cache_unchecked_total %llu\n",
	    (unsigned long long)hits, (unsigned long long)misses,
	    (unsigned long long)unchecked);
}

static int
errno_status(int err)
{
	switch (err) {
	case EACCES:
		return 403;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return 503;
	case EIO:
		return 500;
	default:
		/* ENOENT, ENOTDIR, ELOOP, EXDEV, ENAMETOOLONG, ENXIO, ... */
		return 404;
	}
}

static int
open_file(struct bh_server *s, const char *rel, struct bh_target *t)
{
	int fd;

	/* O_NONBLOCK: a FIFO in the tree must not hang a thread. */
	if ((fd = open_beneath(s, s->root_fd, rel, O_NONBLOCK)) < 0)
		return errno_status(errno);
	if (fstat(fd, &t->st) < 0) {
		close(fd);
		return 500;
	}
	if (!S_ISREG(t->st.st_mode)) {
		close(fd);
		return 404;
	}
	t->fd = fd;
	t->lm = t->st.st_mtime;
	return 200;
}

/* t->lm and t->snap_id of a channel's index, from t->st. */
static void
index_validators(struct bh_target *t)
{
	t->lm = t->st.st_mtime;
	if (t->link_mtime > t->lm)
		t->lm = t->link_mtime;
	t->snap_id = t->snap_hash ^ (uint64_t)t->st.st_ino;
}

int
bh_resolve(struct bh_server *s, const char *raw, const char *authz,
    struct bh_target *t)
{
	return bh_resolve_ex(s, raw, authz, authz != NULL ? strlen(authz) : 0,
	    t, 0);
}

/* The snapshot part of t->rel ("snapshots/<profile>/<id>"), then the rest. */
static int
set_rel(struct bh_target *t, const char *snap, char **seg, size_t from,
    size_t n)
{
	char rest[BH_PATH_MAX + 1];

	if (join(rest, sizeof(rest), seg, from, n) < 0 ||
	    (size_t)snprintf(t->rel, sizeof(t->rel), "%s/%s", snap, rest) >=
	    sizeof(t->rel))
		return 404;
	t->ctype = content_type(seg[n - 1]);
	return 0;
}

/*
 * A node gets its channel's snapshot (q->id), unless that is older
 * than the one it has and nobody moved the channel back since
 * (fleet.c: bh_fleet_hold()).
 */
static int
node_channel(struct bh_server *s, struct bh_node_req *q)
{
	char snap[BH_SNAP_MAX];
	int rc;

	if ((rc = read_channel(s, q->channel, q->profile, snap,
	    sizeof(snap))) != 0)
		return rc;
	snprintf(q->id, sizeof(q->id), "%s", strrchr(snap, '/') + 1);
	if (q->index != -1)
		bh_fleet_hold(&s->fleet, q);
	return 0;
}

/*
 * /node/<name>/<PATH>: the node's identity checked, then its snapshot
 * (fleet.c): a release's target once its wave is open, else its
 * channel's.  An index answered is recorded as the node's snapshot.
 */
static int
resolve_node(struct bh_server *s, char **seg, size_t n, const char *authz,
    size_t authz_len, struct bh_target *t, unsigned flags)
{
	struct bh_node_req q;
	char snap[BH_SNAP_MAX];
	int rc, which;

	t->kind = BH_NODE;
	if (n < 3 || !valid_name(seg[1]) ||
	    (which = allowed_rest(seg + 2, n - 2)) < 0)
		return 404;
	memset(&q, 0, sizeof(q));
	q.name = seg[1];
	q.authz = authz;
	q.authz_len = authz_len;
	/* SNAPSHOT and trees/: from the snapshot its index would be. */
	q.index = which < 2 ? which : which == BH_REST_SNAPFILE ? -2 : -1;
	if ((rc = bh_fleet_resolve(&s->fleet, &q)) != 200) {
		t->deny = rc == 401;
		return rc;
	}
	t->node = q.rec;
	snprintf(t->node_name, sizeof(t->node_name), "%s", q.name);
	if (q.id[0] == '\0' && (rc = node_channel(s, &q)) != 0)
		return rc;
	snprintf(snap, sizeof(snap), "snapshots/%s/%s", q.profile, q.id);
	snprintf(t->channel, sizeof(t->channel), "%s", q.channel);
	snprintf(t->profile, sizeof(t->profile), "%s", q.profile);
	if ((rc = set_rel(t, snap, seg, 2, n)) != 0)
		return rc;
	if (q.index < 0) {
		t->immutable = q.index == -1;
		/* Open files kept by the file loop hold under this epoch. */
		pthread_mutex_lock(&s->chans.mu);
		t->epoch = s->chans.epoch;
		pthread_mutex_unlock(&s->chans.mu);
		if (flags & BH_RESOLVE_DEFER) {
			t->lazy = 1;
			return 200;
		}
		return open_file(s, t->rel, t);
	}
	t->index = q.index;
	if ((rc = open_file(s, t->rel, t)) != 200)
		return rc;
	t->link_mtime = bh_fleet_fetched(&s->fleet, &q, strrchr(snap, '/') + 1);
	t->snap_hash = bh_fnv1a(snap, 0xcbf29ce484222325ULL);
	index_validators(t);
	return 200;
}

int
bh_resolve_ex(struct bh_server *s, const char *raw, const char *authz,
    size_t authz_len, struct bh_target *t, unsigned flags)
{
	char buf[BH_PATH_MAX + 1], snap[BH_SNAP_MAX];
	char rest[BH_PATH_MAX + 1];
	char *seg[BH_SEG_MAX];
	size_t n;
	time_t link_mtime = 0;
	uint64_t snap_hash = 0;
	int rc, have = 0, snapfile;

	/* All but the path buffer, which is long and written before use. */
	memset(t, 0, offsetof(struct bh_target, rel));
	t->rel[0] = '\0';
	t->fd = -1;
	t->index = -1;
	t->node = -1;
	if ((rc = bh_path_split(raw, buf, sizeof(buf), seg, &n)) != 0)
		return rc;
	if (n == 1 && strcmp(seg[0], "healthz") == 0) {
		t->kind = BH_HEALTHZ;
		return 200;
	}
	if (n == 1 && strcmp(seg[0], "metrics") == 0) {
		t->kind = BH_METRICS;
		return 200;
	}
	if (strcmp(seg[0], "keys") == 0) {
		/* The public key; never anything else under keys/. */
		t->kind = BH_KEY;
		if (n != 2 || strcmp(seg[1], "binfarm.asc") != 0)
			return 404;
		if ((rc = open_file(s, "keys/binfarm.asc", t)) != 200)
			return rc;
		t->ctype = content_type(seg[n - 1]);
		return 200;
	}
	if (strcmp(seg[0], "snapshots") == 0) {
		t->kind = BH_SNAPSHOT;
		if (n < 4 || !valid_name(seg[1]) || !valid_name(seg[2]) ||
		    allowed_rest(seg + 3, n - 3) < 0)
			return 404;
		if (join(rest, sizeof(rest), seg, 0, n) < 0)
			return 404;
		if ((rc = open_file(s, rest, t)) != 200)
			return rc;
		snprintf(t->channel, sizeof(t->channel), "snapshots");
		snprintf(t->profile, sizeof(t->profile), "%s", seg[1]);
		t->immutable = 1;
		t->ctype = content_type(seg[n - 1]);
		return 200;
	}
	if (strcmp(seg[0], "node") == 0)
		return resolve_node(s, seg, n, authz, authz_len, t, flags);
	/* /<channel>/<profile>/<PATH> */
	t->kind = BH_CHANNEL;
	if (n < 3 || !valid_name(seg[0]) || !valid_name(seg[1]) ||
	    strcmp(seg[0], "channels") == 0 || strcmp(seg[0], "pool") == 0 ||
	    (rc = allowed_rest(seg + 2, n - 2)) < 0)
		return 404;
	if (rc < 2)
		t->index = rc;
	snapfile = rc == BH_REST_SNAPFILE;
	if ((rc = resolve_channel(s, seg[0], seg[1], t->index, snap,
	    sizeof(snap), &link_mtime, &snap_hash, &t->series, &t->st,
	    &have, &t->epoch)) != 0)
		return rc;
	/* Labels only for channels that exist: bounded cardinality. */
	snprintf(t->channel, sizeof(t->channel), "%s", seg[0]);
	snprintf(t->profile, sizeof(t->profile), "%s", seg[1]);
	if ((rc = set_rel(t, snap, seg, 2, n)) != 0)
		return rc;
	if (t->index < 0) {
		if (flags & BH_RESOLVE_DEFER)
			t->lazy = 1;
		else if ((rc = open_file(s, t->rel, t)) != 200)
			return rc;
		t->immutable = !snapfile;	/* package files never change */
		return 200;
	}
	/*
	 * Last-Modified of a channel's index: the later of the file's
	 * mtime (its TIMESTAMP) and the channel link's (when it was last
	 * promoted), so that a rollback to an older snapshot still moves
	 * it forward.
	 */
	t->link_mtime = link_mtime;
	t->snap_hash = snap_hash;
	if (have) {
		/* Validators from the cache; the file is opened if needed. */
		t->lazy = 1;
		index_validators(t);
		return 200;
	}
	return bh_target_open(s, t);
}

int
bh_target_open(struct bh_server *s, struct bh_target *t)
{
	char snap[BH_SNAP_MAX], *slash;
	int rc;

	if (t->fd >= 0)
		return 200;
	t->lazy = 0;
	if ((rc = open_file(s, t->rel, t)) != 200)
		return rc;
	if (t->index >= 0) {
		index_validators(t);
		/* snapshots/<profile>/<id>/Packages: the snapshot part. */
		if ((slash = strrchr(t->rel, '/')) != NULL &&
		    (size_t)(slash - t->rel) < sizeof(snap)) {
			memcpy(snap, t->rel, (size_t)(slash - t->rel));
			snap[slash - t->rel] = '\0';
			chan_remember(s, t->channel, t->profile, snap, t->index,
			    &t->st);
		}
	}
	return 200;
}
