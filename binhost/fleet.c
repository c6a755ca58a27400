/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node URLs: /node/<name>/... (man/binfarm-binhost.8, NODE URLS).
 *
 * A node proves who it is with HTTP Basic auth (user: its name,
 * password: its token, whose SHA-256 nodes.conf keeps) and is answered
 * with the snapshot its release wave has reached: the release's target
 * for its profile once its wave is open, else what its channel points
 * at.  Package files come from the snapshot whose index the node last
 * fetched, so a wave opening between a node's index and its downloads
 * does not send it files its index does not name.
 *
 * What each node fetched is kept here (store/fleet.h records, under one
 * mutex) and written back by a thread of its own: at once when a
 * node's snapshot changed, else at most once a second; every package
 * file sent to a node is appended to fleet/downloads.log.  A binhost
 * restarted mid-release reads the records back and carries on: how far
 * a release has gone follows from them (store/release.h).
 *
 * The inventory and each channel's release file are read again when
 * they change, looked at no more than once a second.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "binhost.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "base/log.h"
#include "base/map.h"
#include "store/fleet.h"
#include "store/nodes.h"
#include "store/channel.h"
#include "store/release.h"
#include "store/repo.h"
#include "base/banned.h"

#define DL_MAX		(64ULL << 20)	/* downloads.log rotated past this */
#define BH_FLEET_URGENT_MS 100		/* records written this soon after a change */
#define BH_AUTHZ_MAX	256		/* longest Authorization value remembered */

/* One channel's release, as last read. */
struct bh_frel {
	char		 channel[130];
	int		 have;		/* rel holds a release */
	struct stat	 st;		/* of the file when read */
	time_t		 checked;
	struct bf_release rel;
	struct bf_map	 wave;		/* node name -> its wave */
	size_t		 open;		/* open waves, as of gen */
	uint64_t	 gen;
};

/*
 * Per node of the inventory: the Authorization value that last proved
 * it, so that the next request of its connection costs a comparison,
 * not a base64 decoding and a SHA-256.
 */
struct bh_ncred {
	size_t		 len;		/* 0: none */
	char		 v[BH_AUTHZ_MAX];
};

/* Per record: the Last-Modified last served to the node for its index. */
struct bh_fnode {
	char		 lm_id[32];
	time_t		 lm;
};

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* The inventory.                                                      */

static void
creds_free(struct bh_fleet *f)
{
	if (f->creds != NULL)
		explicit_bzero(f->creds, f->ncreds * sizeof(*f->creds));
	free(f->creds);
	f->creds = NULL;
	f->ncreds = 0;
}

static int
index_nodes(struct bh_fleet *f)
{
	size_t i;

	creds_free(f);
	if ((f->creds = calloc(f->nodes.n + 1, sizeof(*f->creds))) == NULL)
		return -ENOMEM;
	f->ncreds = f->nodes.n;
	bf_map_release(&f->by_name);
	for (i = 0; i < f->nodes.n; i++)
		if (bf_map_put(&f->by_name, f->nodes.v[i].name, i) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * Reads nodes.conf again if it changed: looked at on every index
 * request (`always`), else at most once a second.
 */
static void
nodes_refresh(struct bh_fleet *f, time_t now, int always)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo r;
	struct stat st;
	int rc;

	if (!always && now == f->nodes_checked)
		return;
	f->nodes_checked = now;
	if (fstatat(f->root_fd, BF_NODES_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		memset(&st, 0, sizeof(st));
	if (same_stat(&st, &f->nodes_st))
		return;
	memset(&r, 0, sizeof(r));
	r.root_fd = f->root_fd;
	r.root = (char *)f->root;
	if ((rc = bf_nodes_load(&r, &ns, &e)) < 0) {
		/* Keep serving the inventory we have. */
		log_warnx("nodes.conf: %s (the previous inventory stays)",
		    bf_err_msg(&e, rc));
		bf_nodes_release(&ns);
		f->nodes_st = st;
		return;
	}
	bf_nodes_release(&f->nodes);
	f->nodes = ns;
	f->nodes_st = st;
	if (index_nodes(f) < 0)
		log_warnx("nodes.conf: out of memory");
	else
		log_info("nodes.conf: %zu node(s)", f->nodes.n);
}

static const struct bf_node *
node_find(struct bh_fleet *f, const char *name, size_t *idx)
{
	return bf_map_get(&f->by_name, name, idx) == 1 ? &f->nodes.v[*idx] :
	    NULL;
}

/* ------------------------------------------------------------------ */
/* Credentials.                                                        */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes base64 `s` (len bytes) into out; its length, or -1. */
static ssize_t
b64dec(const char *s, size_t len, char *out, size_t outsz)
{
	unsigned acc = 0, bits = 0;
	size_t i, n = 0;
	int v;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= outsz)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	return (ssize_t)n;
}

/* Does "Basic base64(name:token)" prove `nd`?  1 or 0. */
static int
cred_ok(const struct bf_node *nd, const char *authz, size_t len)
{
	char buf[256], *colon;
	ssize_t n;
	int ok;

	if (authz == NULL || len < 7 || strncasecmp(authz, "Basic ", 6) != 0)
		return 0;
	authz += 6;
	len -= 6;
	while (len > 0 && *authz == ' ') {
		authz++;
		len--;
	}
	if ((n = b64dec(authz, len, buf, sizeof(buf))) < 0 ||
	    memchr(buf, '\0', (size_t)n) != NULL ||
	    (colon = strchr(buf, ':')) == NULL) {
		explicit_bzero(buf, sizeof(buf));
		return 0;
	}
	*colon = '\0';
	ok = strcmp(buf, nd->name) == 0 &&
	    bf_node_token_matches(nd, colon + 1);
	explicit_bzero(buf, sizeof(buf));
	return ok;
}

/* Equal, in a time that does not depend on where they differ. */
static int
same_bytes(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* cred_ok(), remembering the value that proved node i. */
static int
node_proved(struct bh_fleet *f, size_t i, const struct bf_node *nd,
    const char *authz, size_t len)
{
	struct bh_ncred *c = i < f->ncreds ? &f->creds[i] : NULL;

	if (authz == NULL || len == 0)
		return 0;
	if (c != NULL && c->len == len && same_bytes(c->v, authz, len))
		return 1;
	if (!cred_ok(nd, authz, len))
		return 0;
	if (c != NULL && len <= sizeof(c->v)) {
		memcpy(c->v, authz, len);
		c->len = len;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* Records.                                                            */

static int
rec_index(struct bh_fleet *f, const struct bf_node *nd)
{
	struct bf_fetch *r;

	if ((r = bf_fetches_find(&f->recs, nd->name)) != NULL)
		return (int)(r - f->recs.v);
	if (bf_grow(&f->rt, &f->rt_alloc, f->recs.n + 1, sizeof(*f->rt),
	    64) < 0 || (r = bf_fetches_add(&f->recs, nd->name)) == NULL)
		return -1;
	snprintf(r->profile, sizeof(r->profile), "%s", nd->profile);
	snprintf(r->channel, sizeof(r->channel), "%s", nd->channel);
	memset(&f->rt[f->recs.n - 1], 0, sizeof(*f->rt));
	return (int)(f->recs.n - 1);
}

/* ------------------------------------------------------------------ */
/* Releases.                                                           */

static void
frel_clear(struct bh_frel *fr)
{
	bf_release_free(&fr->rel);
	bf_map_release(&fr->wave);
	fr->have = 0;
	fr->gen = UINT64_MAX;
}

static void
frel_load(struct bh_fleet *f, struct bh_frel *fr, const struct stat *st)
{
	struct bf_err e = BF_ERR_INIT;
	size_t i, j;
	int rc;

	frel_clear(fr);
	fr->st = *st;
	if (st->st_ino == 0)
		return;		/* no release file */
	if ((rc = bf_release_load(f->root_fd, fr->channel, &fr->rel, &e)) < 0) {
		log_warnx("release of '%s': %s", fr->channel,
		    bf_err_msg(&e, rc));
		bf_release_free(&fr->rel);
		return;
	}
	for (i = 0; i < fr->rel.nwaves; i++)
		for (j = 0; j < fr->rel.waves[i].n; j++)
			if (bf_map_put(&fr->wave, fr->rel.waves[i].v[j].name,
			    i) < 0) {
				frel_clear(fr);
				return;
			}
	fr->have = 1;
	log_info("release %llu of '%s': %s, %s, %zu wave(s)",
	    fr->rel.id, fr->channel, bf_release_state_name(fr->rel.state),
	    bf_strategy_name(fr->rel.strategy), fr->rel.nwaves);
}

/*
 * The channel's release as it is on disk now: looked at on every index
 * request (`always`), else at most once a second.
 */
static struct bh_frel *
frel_get(struct bh_fleet *f, const char *channel, time_t now, int always)
{
	char path[sizeof(BF_RELEASES_DIR) + 132];
	struct bh_frel *fr = NULL;
	struct stat st;
	size_t i;

	for (i = 0; i < f->nrels && fr == NULL; i++)
		if (strcmp(f->rels[i].channel, channel) == 0)
			fr = &f->rels[i];
	if (fr == NULL) {
		if (bf_grow(&f->rels, &f->rels_alloc, f->nrels + 1,
		    sizeof(*f->rels), 4) < 0)
			return NULL;
		fr = &f->rels[f->nrels++];
		memset(fr, 0, sizeof(*fr));
		fr->gen = UINT64_MAX;
		snprintf(fr->channel, sizeof(fr->channel), "%s", channel);
		fr->checked = now - 1;
	}
	if (always || fr->checked != now) {
		fr->checked = now;
		snprintf(path, sizeof(path), "%s/%s", BF_RELEASES_DIR, channel);
		if (fstatat(f->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			memset(&st, 0, sizeof(st));
		if (!same_stat(&st, &fr->st))
			frel_load(f, fr, &st);
	}
	return fr;
}

/* Open waves of fr's release, recomputed when the records moved. */
static size_t
frel_open(struct bh_fleet *f, struct bh_frel *fr)
{
	if (fr->gen != f->gen) {
		fr->open = bf_release_open_waves(&fr->rel, &f->recs);
		fr->gen = f->gen;
	}
	return fr->open;
}

/*
 * Which snapshot id the release gives `nd` (into id), or "" for the
 * channel's own.  The downgrade guard: never older than what the node
 * has unless the release allows it.
 */
static void
decide(struct bh_fleet *f, const struct bf_node *nd,
    const struct bf_fetch *rec, time_t now, int always, char id[32])
{
	const struct bf_release_target *t;
	struct bh_frel *fr;
	size_t w;

	id[0] = '\0';
	if ((fr = frel_get(f, nd->channel, now, always)) == NULL || !fr->have ||
	    !bf_release_active(&fr->rel) ||
	    (t = bf_release_target(&fr->rel, nd->profile)) == NULL ||
	    bf_map_get(&fr->wave, nd->name, &w) != 1 || w >= frel_open(f, fr))
		return;
	if (rec != NULL && rec->snapshot[0] != '\0' && !fr->rel.allow_downgrade &&
	    strcmp(rec->profile, nd->profile) == 0 &&
	    strcmp(t->to, rec->snapshot) < 0) {
		/* Older than what it has: it keeps what it has. */
		snprintf(id, 32, "%s", rec->snapshot);
		f->held++;
		return;
	}
	snprintf(id, 32, "%s", t->to);
}

/* ------------------------------------------------------------------ */
/* Channels moved back on purpose (history.log).                       */

/* The last time an operator moved (channel, profile) to an older snapshot. */
struct bh_back {
	char		 channel[130];
	char		 profile[130];
	time_t		 when;
};

static void
backs_load(struct bh_fleet *f)
{
	struct bf_history_entry *v = NULL;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo r;
	size_t n = 0, i, k;

	free(f->backs);
	f->backs = NULL;
	f->nbacks = 0;
	memset(&r, 0, sizeof(r));
	r.root_fd = f->root_fd;
	r.root = (char *)f->root;
	if (bf_history_load(&r, &v, &n, &e) < 0 ||
	    (f->backs = calloc(n + 1, sizeof(*f->backs))) == NULL) {
		free(v);
		return;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].action, "rollback") != 0 &&
		    !(strcmp(v[i].action, "promote") == 0 && v[i].from[0] &&
		    strcmp(v[i].to, v[i].from) < 0))
			continue;
		for (k = 0; k < f->nbacks; k++)
			if (strcmp(f->backs[k].channel, v[i].channel) == 0 &&
			    strcmp(f->backs[k].profile, v[i].profile) == 0)
				break;
		if (k == f->nbacks) {
			snprintf(f->backs[k].channel, sizeof(f->backs[k].channel),
			    "%s", v[i].channel);
			snprintf(f->backs[k].profile, sizeof(f->backs[k].profile),
			    "%s", v[i].profile);
			f->nbacks++;
		}
		if ((time_t)v[i].time > f->backs[k].when)
			f->backs[k].when = (time_t)v[i].time;
	}
	free(v);
}

/* When (channel, profile) was last moved back; 0 never.  f->mu held. */
static time_t
moved_back(struct bh_fleet *f, const char *channel, const char *profile)
{
	struct stat st;
	size_t k;

	if (fstatat(f->root_fd, BF_REPO_HISTORY, &st, 0) < 0)
		memset(&st, 0, sizeof(st));
	if (!same_stat(&st, &f->hist_st)) {
		f->hist_st = st;
		backs_load(f);
	}
	for (k = 0; k < f->nbacks; k++)
		if (strcmp(f->backs[k].channel, channel) == 0 &&
		    strcmp(f->backs[k].profile, profile) == 0)
			return f->backs[k].when;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The API.                                                            */

void
bh_fleet_hold(struct bh_fleet *f, struct bh_node_req *q)
{
	const struct bf_fetch *rec;
	struct bh_frel *fr;

	pthread_mutex_lock(&f->mu);
	rec = q->rec >= 0 ? &f->recs.v[q->rec] : NULL;
	if (rec == NULL || rec->snapshot[0] == '\0' ||
	    strcmp(rec->profile, q->profile) != 0 ||
	    strcmp(q->id, rec->snapshot) >= 0 ||
	    moved_back(f, q->channel, q->profile) >= rec->since)
		goto out;
	/* A release of the channel rolled back since then lets it go. */
	fr = frel_get(f, q->channel, time(NULL), 0);
	if (fr != NULL && fr->have && fr->rel.state == BF_RELEASE_ROLLED_BACK &&
	    fr->rel.ended >= rec->since)
		goto out;
	snprintf(q->id, sizeof(q->id), "%s", rec->snapshot);
	f->held++;
out:
	pthread_mutex_unlock(&f->mu);
}

int
bh_fleet_resolve(struct bh_fleet *f, struct bh_node_req *q)
{
	const struct bf_node *nd;
	const struct bf_fetch *rec;
	time_t now = time(NULL);
	size_t idx;
	int ri, status = 200;

	q->id[0] = '\0';
	q->rec = -1;
	pthread_mutex_lock(&f->mu);
	nodes_refresh(f, now, q->index != -1);
	if ((nd = node_find(f, q->name, &idx)) == NULL) {
		/* As long as a wrong token: the time tells no names. */
		(void)cred_ok(&f->nobody, q->authz, q->authz_len);
		f->denied++;
		status = 401;
		goto out;
	}
	if (!node_proved(f, idx, nd, q->authz, q->authz_len)) {
		f->denied++;
		status = 401;
		goto out;
	}
	snprintf(q->channel, sizeof(q->channel), "%s", nd->channel);
	snprintf(q->profile, sizeof(q->profile), "%s", nd->profile);
	if ((ri = rec_index(f, nd)) < 0) {
		status = 503;
		goto out;
	}
	q->rec = ri;
	rec = &f->recs.v[ri];
	if (q->index == -1 && rec->snapshot[0] != '\0' &&
	    strcmp(rec->profile, nd->profile) == 0)
		/* A package file: from the index it has. */
		snprintf(q->id, sizeof(q->id), "%s", rec->snapshot);
	else
		decide(f, nd, rec, now, q->index != -1, q->id);
out:
	pthread_mutex_unlock(&f->mu);
	return status;
}

time_t
bh_fleet_fetched(struct bh_fleet *f, const struct bh_node_req *q,
    const char *id)
{
	struct bf_fetch *rec;
	struct bh_fnode *rt;
	time_t now = time(NULL), lm;

	pthread_mutex_lock(&f->mu);
	rec = &f->recs.v[q->rec];
	rt = &f->rt[q->rec];
	if (strcmp(rec->snapshot, id) != 0 ||
	    strcmp(rec->profile, q->profile) != 0) {
		snprintf(rec->snapshot, sizeof(rec->snapshot), "%s", id);
		snprintf(rec->profile, sizeof(rec->profile), "%s", q->profile);
		rec->since = now;
		rec->files = rec->bytes = 0;
		rec->last_file = 0;
		f->gen++;
		f->urgent = 1;
	}
	snprintf(rec->channel, sizeof(rec->channel), "%s", q->channel);
	rec->fetched = now;
	f->dirty = 1;
	f->index_fetches++;
	/* A Last-Modified that moves forward whenever the snapshot does. */
	if (strcmp(rt->lm_id, id) != 0) {
		rt->lm = now > rt->lm ? now : rt->lm + 1;
		snprintf(rt->lm_id, sizeof(rt->lm_id), "%s", id);
	}
	lm = rt->lm;
	if (f->urgent)
		pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return lm;
}

void
bh_fleet_sent(struct bh_fleet *f, int ri, const char *path, uint64_t bytes)
{
	struct bf_fetch *rec;
	time_t now = time(NULL);

	if (ri < 0)
		return;
	pthread_mutex_lock(&f->mu);
	if ((size_t)ri < f->recs.n) {
		rec = &f->recs.v[ri];
		rec->files++;
		rec->bytes += bytes;
		rec->last_file = now;
		f->files++;
		f->bytes += bytes;
		f->dirty = 1;
		if (f->dl.len < (1u << 20))
			bf_buf_addf(&f->dl, "%lld\t%s\t%s\t%" PRIu64 "\n",
			    (long long)now, rec->node, path, bytes);
	}
	pthread_mutex_unlock(&f->mu);
}

/* ------------------------------------------------------------------ */
/* The writer thread.                                                  */

static void
append_downloads(struct bh_fleet *f, struct bf_buf *dl)
{
	static const char path[] = BF_FLEET_DIR "/" BF_FLEET_DOWNLOADS;
	struct stat st;
	int fd;

	if (dl->len == 0)
		return;
	if (fstatat(f->root_fd, path, &st, 0) == 0 &&
	    (unsigned long long)st.st_size > DL_MAX)
		renameat(f->root_fd, path, f->root_fd,
		    BF_FLEET_DIR "/" BF_FLEET_DOWNLOADS ".1");
	fd = openat(f->root_fd, path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || bf_write_full(fd, dl->buf, dl->len) < 0)
		log_warnx("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	bf_buf_reset(dl);
}

/* Writes what changed (called with f->mu held; drops it meanwhile). */
static void
flush(struct bh_fleet *f)
{
	struct bf_fetches copy = BF_FETCHES_INIT;
	struct bf_buf dl = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	if (f->dirty && bf_grow(&copy.v, &copy.alloc, f->recs.n + 1,
	    sizeof(*copy.v), 1) == 0) {
		memcpy(copy.v, f->recs.v, f->recs.n * sizeof(*copy.v));
		copy.n = f->recs.n;
	}
	f->dirty = f->urgent = 0;
	dl = f->dl;
	bf_buf_init(&f->dl);
	pthread_mutex_unlock(&f->mu);
	if (copy.v != NULL && (rc = bf_fetches_save(f->root_fd, &copy, &e)) < 0)
		log_warnx("%s/%s: %s", BF_FLEET_DIR, BF_FLEET_STATE,
		    bf_err_msg(&e, rc));
	append_downloads(f, &dl);
	bf_fetches_release(&copy);
	bf_buf_release(&dl);
	pthread_mutex_lock(&f->mu);
}

static int64_t
real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Writes the records BH_FLEET_URGENT_MS after a node's snapshot
 * changed, else at most once a second: a wave of 500 nodes changing
 * snapshot makes a handful of writes, not 500.
 */
static void *
writer_main(void *arg)
{
	struct bh_fleet *f = arg;
	struct timespec ts;
	int64_t last = 0, now, due;

	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		now = real_ms();
		due = last + (f->urgent ? BH_FLEET_URGENT_MS : 1000);
		if ((f->dirty || f->dl.len > 0) && now >= due) {
			flush(f);
			last = now;
			continue;
		}
		if (!(f->dirty || f->dl.len > 0))
			due = now + 1000;
		ts.tv_sec = (time_t)(due / 1000);
		ts.tv_nsec = (long)(due % 1000) * 1000000;
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	}
	if (f->dirty || f->dl.len > 0)
		flush(f);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* What a killed binhost's writer left in fleet/ (it is the only writer). */
static void
clean_leftovers(struct bh_fleet *f)
{
	char **names = NULL, path[sizeof(BF_FLEET_DIR) + 300];
	size_t n = 0, i;

	if (bf_list_dir(f->root_fd, BF_FLEET_DIR, &names, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (bf_lockfile_is_temp(names[i]) &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", BF_FLEET_DIR,
		    names[i]) < sizeof(path))
			unlinkat(f->root_fd, path, 0);
	bf_names_free(names, n);
}

int
bh_fleet_init(struct bh_fleet *f, int root_fd, const char *root,
    struct bf_err *e)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->root_fd = root_fd;
	f->root = root;
	/* Checked against when a name is unknown: matches no token. */
	f->nobody.name = (char *)"";
	memset(f->nobody.token_sha256, '0', BF_NODE_TOKEN_HEX);
	f->nodes_checked = -1;
	if (pthread_mutex_init(&f->mu, NULL) != 0)
		return bf_err_set(e, ENOMEM, "cannot make a mutex");
	if (pthread_cond_init(&f->cv, NULL) != 0) {
		pthread_mutex_destroy(&f->mu);
		return bf_err_set(e, ENOMEM, "cannot make a condition");
	}
	f->inited = 1;
	clean_leftovers(f);
	if ((rc = bf_fetches_load(root_fd, &f->recs, e)) < 0)
		return rc;
	if (bf_grow(&f->rt, &f->rt_alloc, f->recs.n + 1, sizeof(*f->rt),
	    64) < 0)
		return bf_err_nomem(e);
	memset(f->rt, 0, f->rt_alloc * sizeof(*f->rt));
	nodes_refresh(f, time(NULL), 1);
	return 0;
}

int
bh_fleet_start(struct bh_fleet *f, struct bf_err *e)
{
	if (pthread_create(&f->th, NULL, writer_main, f) != 0)
		return bf_err_set(e, EAGAIN, "cannot start the fleet writer");
	f->running = 1;
	return 0;
}

void
bh_fleet_stop(struct bh_fleet *f)
{
	if (!f->running)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = 1;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->th, NULL);
	f->running = 0;
}

void
bh_fleet_release(struct bh_fleet *f)
{
	size_t i;

	if (!f->inited)
		return;
	bh_fleet_stop(f);
	for (i = 0; i < f->nrels; i++)
		frel_clear(&f->rels[i]);
	free(f->rels);
	bf_nodes_release(&f->nodes);
	bf_map_release(&f->by_name);
	creds_free(f);
	free(f->backs);
	bf_fetches_release(&f->recs);
	free(f->rt);
	bf_buf_release(&f->dl);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	f->inited = 0;
}

void
bh_fleet_render(struct bh_fleet *f, struct bf_buf *out)
{
	struct bh_frel *fr;
	size_t i;

	pthread_mutex_lock(&f->mu);
	bf_buf_addf(out, "# HELP binhost_fleet_nodes Nodes in nodes.conf.\n"
	    "# TYPE binhost_fleet_nodes gauge\nbinhost_fleet_nodes %zu\n",
	    f->nodes.n);
	bf_buf_addf(out, "# HELP binhost_fleet_index_fetches_total Indexes "
	    "answered on node URLs.\n# TYPE binhost_fleet_index_fetches_total "
	    "counter\nbinhost_fleet_index_fetches_total %" PRIu64 "\n",
	    f->index_fetches);
	bf_buf_addf(out, "# HELP binhost_fleet_files_total Package files sent "
	    "on node URLs.\n# TYPE binhost_fleet_files_total counter\n"
	    "binhost_fleet_files_total %" PRIu64 "\n", f->files);
	bf_buf_addf(out, "# HELP binhost_fleet_auth_failures_total Node URL "
	    "requests without a valid node identity.\n# TYPE "
	    "binhost_fleet_auth_failures_total counter\n"
	    "binhost_fleet_auth_failures_total %" PRIu64 "\n", f->denied);
	bf_buf_addf(out, "# HELP binhost_fleet_downgrades_held_total Answers "
	    "that kept a node on a newer snapshot than its release's.\n"
	    "# TYPE binhost_fleet_downgrades_held_total counter\n"
	    "binhost_fleet_downgrades_held_total %" PRIu64 "\n", f->held);
	bf_buf_adds(out, "# HELP binhost_release_waves_open Waves of the "
	    "channel's running release that are open.\n"
	    "# TYPE binhost_release_waves_open gauge\n");
	for (i = 0; i < f->nrels; i++) {
		fr = &f->rels[i];
		if (fr->have && bf_release_active(&fr->rel))
			bf_buf_addf(out, "binhost_release_waves_open{channel=\"%s\","
			    "waves=\"%zu\"} %zu\n", fr->channel, fr->rel.nwaves,
			    frel_open(f, fr));
	}
	pthread_mutex_unlock(&f->mu);
}
