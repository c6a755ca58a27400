/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BINHOST_H
#define BF_BINHOST_H

/*
 * binfarm-binhost: a read-only HTTP server of a binfarm repository.
 *
 *   binhostd.c  main: options, configuration, bind, privileges, signals
 *   http.c      libmicrohttpd: routing, conditional GET, Range, auth,
 *               access log (the only user of microhttpd.h)
 *   serve.c     URL to file descriptor, beneath the root, no symlinks
 *               but the channel link
 *   metrics.c   Prometheus counters per channel and profile
 *   fcache.c    a file-loop thread's open package files
 *   fleet.c     node URLs: identities, release waves, fetch records
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "base/buf.h"
#include "base/map.h"
#include "net/penalty.h"
#include "store/chgen.h"
#include "store/fleet.h"
#include "store/nodes.h"

struct bf_err;
struct bh_frel;
struct bh_fnode;
struct bh_ncred;
struct bh_back;

/* Configuration: the file first, then flags over it. */
struct bh_conf {
	char		*file;		/* -f, or NULL */
	char		*root;
	char		*listen;	/* "host:port", "[v6]:port" or ":port" */
	char		*port_file;
	char		*pid_file;
	char		*access_log;	/* path, "stderr", or NULL for none */
	char		*user;
	char		*tls_cert;
	char		*tls_key;
	char		*auth_file;
	char		*auth_realm;
	long long	 threads;	/* 0: one per CPU */
	long long	 max_connections;
	long long	 max_per_ip;	/* 0: no limit */
	long long	 timeout;	/* idle connection timeout, seconds */
	long long	 request_timeout; /* a whole request in this long, seconds */
	long long	 index_max_age;
	long long	 file_max_age;
	long long	 shutdown_timeout;
	long long	 auth_failures;	/* per address and minute; 0: off */
	long long	 auth_penalty;	/* seconds */
	char		*auth_exempt;	/* address ranges, blank-separated */
	struct bf_cidr	*exempt;	/* ... parsed by the check */
	size_t		 nexempt;
	/* Where each setting came from, for messages: "file:line" or "--flag". */
	char		*where_root;
	char		*where_tls;
	char		*where_auth;
	char		*where_user;
	char		*where_listen;
};

void	bh_conf_init(struct bh_conf *c);
void	bh_conf_release(struct bh_conf *c);

/* Status-code slots counted by the metrics. */
#define BH_NCODES	14
/* Latency histogram upper bounds, seconds; one more bucket for +Inf. */
#define BH_NBUCKETS	14

/* Counters of one (channel, profile); updated with atomics. */
struct bh_series {
	char		 channel[64];
	char		 profile[64];
	uint64_t	 requests[BH_NCODES];
	uint64_t	 bytes;
	uint64_t	 hist[BH_NBUCKETS + 1];
	uint64_t	 sum_ns;
	/* Last-Modified guard for the channel's two index files. */
	pthread_mutex_t	 lm_mu;
	uint64_t	 lm_id[2];
	time_t		 lm[2];
};

#define BH_MAX_SERIES	512

struct bh_metrics {
	pthread_mutex_t	 mu;
	struct bh_series *v[BH_MAX_SERIES];
	size_t		 n;
	struct bh_series other;		/* requests outside any channel */
	time_t		 started;
	uint64_t	 request_timeouts; /* connections closed by the deadline */
	uint64_t	 floop_requests;   /* answered by http.c's file loop */
	uint64_t	 floop_handoffs;   /* connections it gave libmicrohttpd */
	uint64_t	 fcache_hits;	   /* package files from fcache.c */
	uint64_t	 fcache_misses;    /* ... opened */
};

int	bh_metrics_init(struct bh_metrics *m);
void	bh_metrics_release(struct bh_metrics *m);
/* The series of (channel, profile); never NULL (falls back to `other`). */
struct bh_series *bh_metrics_series(struct bh_metrics *m,
	    const char *channel, const char *profile);
void	bh_metrics_count(struct bh_series *s, int status, uint64_t bytes,
	    uint64_t ns);
/* Appends the Prometheus text exposition. */
void	bh_metrics_render(struct bh_metrics *m, struct bf_buf *out,
	    unsigned connections);
/* The penalties for wrong credentials (auth-failures), as metrics. */
void	bh_metrics_render_penalty(struct bf_penalty *p, struct bf_buf *out);
/*
 * Last-Modified of a channel's index `which` (0 Packages, 1 Packages.gz)
 * that never goes backwards while this process runs: when the snapshot
 * identity `id` changes and `lm` is not later than what was served
 * before, the previous value plus one second is served instead.
 */
time_t	bh_metrics_index_lm(struct bh_series *s, int which, uint64_t id,
	    time_t lm);

/* HTTP Basic credentials, from the auth file. */
struct bh_user {
	char		*name;
	unsigned char	 salt[32];
	size_t		 saltlen;
	unsigned char	 hash[32];	/* SHA-256(salt || password) */
};

struct bh_auth {
	struct bh_user	*v;
	size_t		 n, alloc;
	char		*realm;
};

int	bh_auth_load(struct bh_auth *a, const char *path, const char *realm,
	    struct bf_err *e);
void	bh_auth_release(struct bh_auth *a);
/* 1 if the pair is valid, else 0; constant time in the password. */
int	bh_auth_check(const struct bh_auth *a, const char *user,
	    const char *pass);
/* "user:$sha256$<salt hex>$<hash hex>" for the auth file. */
int	bh_auth_hash(const char *user, const char *pass, struct bf_buf *out);

/*
 * Channel cache: what a channel link resolved to, per (channel,
 * profile), so that a request does one fstatat() of the link instead of
 * readlinkat() + fstatat() + opening the index.  An entry is trusted
 * while the link's lstat (device, inode, size, mtime, ctime) is what it
 * was when the link was read; a promotion replaces the link (symlink +
 * rename: a new inode and a new ctime), so the very next request sees
 * it.  While the link's ctime is less than BH_CHAN_FRESH seconds old the
 * link text is read again on every request as well: two replacements
 * within one timestamp tick could otherwise reuse an inode number with
 * an identical lstat.  The index files' own fstat is remembered for 304
 * answers (snapshots are immutable) and re-read from the file at least
 * every BH_CHAN_RECHECK seconds.  Bounded (BH_CHAN_MAX entries, least
 * recently used replaced), under one mutex.
 *
 * No request needs even the fstatat() while the channel generation
 * (channels/.generation, store/chgen.h), which every binfarm command
 * that moves a channel increments after the move, is what it was when
 * the entry was last checked, and that check was in the current second:
 * the counter is read from a shared mapping, without a system call.  A
 * promotion is still seen by the very next request; a link replaced by
 * other means (ln -sfn by hand) within a second.  A truncated counter
 * file (SIGBUS on its page) turns the short cut off until the file is
 * whole again.
 */
#define BH_CHAN_MAX	64
#define BH_CHAN_FRESH	2
#define BH_CHAN_RECHECK	1
#define BH_SNAP_MAX	(2 * 64 + 16)	/* "snapshots/<profile>/<id>" */

struct bh_chan {
	char		 channel[64];	/* "" when the slot is free */
	char		 profile[64];
	uint64_t	 used;		/* LRU clock */
	/* The link's lstat when its text was read. */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim, ctim;
	char		 snap[BH_SNAP_MAX];
	uint64_t	 snap_hash;
	struct bh_series *series;
	/* The channel generation before that lstat, and its second. */
	uint64_t	 gen;
	time_t		 gen_seen;
	/* Packages and Packages.gz: fstat of the last open, and when. */
	int		 have[2];
	struct stat	 st[2];
	time_t		 checked[2];
};

struct bh_chan_cache {
	pthread_mutex_t	 mu;
	int		 fresh;		/* BH_CHAN_FRESH; tests may lower it */
	struct bh_chan	 v[BH_CHAN_MAX];
	uint64_t	 clock;
	uint64_t	 hits, misses;	/* under mu; for /metrics */
	uint64_t	 unchecked;	/* hits without a look at the link */
	/* The channel generation's mapping, looked for once a second. */
	struct bf_chgen	 gen;
	time_t		 gen_checked;
	unsigned	 gen_maps;	/* mappings made; old ones stay mapped */
	/*
	 * Moves (under mu) whenever a channel link is seen to point
	 * elsewhere or to have been replaced: open files kept by the file
	 * loop's caches (fcache.c) are good only under the epoch they were
	 * opened in.
	 */
	uint64_t	 epoch;
};

/*
 * Cached 304 answers (http.c): one immutable libmicrohttpd response
 * per set of validators, queued on any number of connections.  Bounded
 * (BH_R304_MAX, least recently used replaced), under one mutex.
 */
#define BH_R304_MAX	32

struct bh_r304 {
	void		*resp;		/* struct MHD_Response, or NULL */
	uint64_t	 used;
	/* The key: what the validators are made of. */
	ino_t		 ino;
	off_t		 size;
	time_t		 lm;
	long		 nsec;
	int		 immutable;
	char		 etag[96];
	char		 lm_str[64];
	char		 cc[96];
};

struct bh_r304_cache {
	pthread_mutex_t	 mu;
	struct bh_r304	 v[BH_R304_MAX];
	uint64_t	 clock;
};

int	bh_chan_cache_init(struct bh_chan_cache *c);
void	bh_chan_cache_release(struct bh_chan_cache *c);
/* Appends the cache's counters to a Prometheus exposition. */
void	bh_chan_cache_render(struct bh_chan_cache *c, struct bf_buf *out);

/*
 * The request deadline (http.c): every open connection, from
 * libmicrohttpd's connection notifications.  A connection must deliver
 * a whole request (head, and body if any) within request-timeout
 * seconds of its start or of the end of its previous response; a
 * reaper thread shuts down, once a second, the sockets of those that
 * did not (libmicrohttpd's own timeout counts from the last byte
 * received, so a client sending one byte every few seconds would hold
 * its connection for ever).  A connection whose request is in and whose
 * response is being sent is never cut by it: a slow download is the
 * idle timeout's business.  `since` and `busy` are written by the
 * connection's thread with atomics; the list and `fd` under `mu`, which
 * the close notification takes before libmicrohttpd closes the fd, so
 * the reaper never shuts down a descriptor that was reused.
 */
struct bh_conn {
	struct bh_conn	*prev, *next;
	int		 fd;
	int		 busy;		/* a request is in, its answer not done */
	int		 answered;	/* bytes of answered heads still unread */
	int		 reaped;
	int64_t		 since;		/* monotonic ms: start or last answer */
};

struct bh_conns {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct bh_conn	*head;
	size_t		 n;
	int64_t		 limit_ms;	/* request-timeout */
	int		 stop;
	int		 running;	/* the reaper thread was started */
	pthread_t	 reaper;
};

/*
 * fleet.c: node URLs (/node/<name>/...), see there.  One mutex; a writer
 * thread puts the records in fleet/.
 */
struct bh_fleet {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 inited, running, stop;
	int		 root_fd;
	const char	*root;		/* for the inventory's messages */
	struct bf_nodes	 nodes;
	struct bf_map	 by_name;	/* node name -> index in nodes */
	struct bh_ncred	*creds;		/* per node: what last proved it */
	struct bf_node	 nobody;	/* for names not in the inventory */
	struct bh_back	*backs;		/* history.log: channels moved back */
	size_t		 nbacks;
	struct stat	 hist_st;
	size_t		 ncreds;
	struct stat	 nodes_st;
	time_t		 nodes_checked;
	struct bf_fetches recs;		/* what each node fetched */
	struct bh_fnode	*rt;		/* per record, beside it */
	size_t		 rt_alloc;
	struct bh_frel	*rels;		/* per channel */
	size_t		 nrels, rels_alloc;
	uint64_t	 gen;		/* moves when a node's snapshot does */
	int		 dirty, urgent;
	struct bf_buf	 dl;		/* downloads.log lines to write */
	pthread_t	 th;
	uint64_t	 index_fetches, files, bytes, denied, held;
};

/* A node URL's request, and what bh_fleet_resolve() made of it. */
struct bh_node_req {
	const char	*name;
	const char	*authz;		/* the Authorization field, or NULL */
	size_t		 authz_len;
	int		 index;		/* 0/1 Packages/Packages.gz, -1 a package
					   file, -2 SNAPSHOT or trees/ */
	/* Out. */
	int		 rec;		/* the node's record */
	char		 id[32];	/* its snapshot; "" the channel's */
	char		 channel[64];
	char		 profile[64];
};

int	bh_fleet_init(struct bh_fleet *f, int root_fd, const char *root,
	    struct bf_err *e);
int	bh_fleet_start(struct bh_fleet *f, struct bf_err *e);
/* Stops the writer after a last write of the records. */
void	bh_fleet_stop(struct bh_fleet *f);
void	bh_fleet_release(struct bh_fleet *f);
/* Who the node is and which snapshot it gets: 200, 401 or 503. */
int	bh_fleet_resolve(struct bh_fleet *f, struct bh_node_req *q);
/*
 * The downgrade guard for a node answered from its channel (q->id its
 * snapshot): when that is older than the node's own snapshot (a node
 * moved to another channel, say), q->id becomes the node's own, unless
 * since the node got it an operator moved the channel back (history.log:
 * a rollback, or a promote to an older snapshot, which needs
 * --allow-downgrade) or rolled back a release of the channel.
 */
void	bh_fleet_hold(struct bh_fleet *f, struct bh_node_req *q);
/*
 * The node was answered with index of snapshot `id`: recorded.  Returns
 * the Last-Modified floor for it, which moves forward whenever the
 * node's snapshot changes (a rollback included).
 */
time_t	bh_fleet_fetched(struct bh_fleet *f, const struct bh_node_req *q,
	    const char *id);
/* Package file `path` (beneath the root) was sent to record `rec`. */
void	bh_fleet_sent(struct bh_fleet *f, int rec, const char *path,
	    uint64_t bytes);
void	bh_fleet_render(struct bh_fleet *f, struct bf_buf *out);

/*
 * The running server: shared by every thread once started; the caches
 * and the metrics carry their own locks, the rest is read-only.
 */
struct bh_server {
	const struct bh_conf *conf;
	int		 root_fd;
	char		*root_real;	/* realpath of the root */
	int		 no_openat2;	/* set when the kernel lacks it */
	int		 access_fd;	/* -1: no access log */
	int		 auth_on;
	struct bh_auth	 auth;
	struct bf_penalty penalty;	/* wrong credentials, per address */
	char		*tls_cert_pem;
	char		*tls_key_pem;
	struct bh_metrics metrics;
	struct bh_chan_cache chans;
	struct bh_r304_cache r304;
	struct bh_conns	 conns;
	struct bh_fleet	 fleet;
	void		*mhd;		/* struct MHD_Daemon, http.c's */
	void		*floop;		/* http.c's own file loop, or NULL */
	int		 no_floop;	/* everything through libmicrohttpd */
	int		 no_fcache;	/* the file loop keeps no file open */
	int		 no_peekoff;	/* the file loop reads each head out */
};

/* What a URL names. */
enum bh_kind {
	BH_HEALTHZ = 1,
	BH_METRICS,
	BH_CHANNEL,	/* /<channel>/<profile>/... */
	BH_SNAPSHOT,	/* /snapshots/<profile>/<id>/... */
	BH_KEY,		/* /keys/... */
	BH_NODE		/* /node/<name>/... */
};

#define BH_PATH_MAX	1024	/* longest URL path we look at */
#define BH_NODE_REALM	"binfarm node"	/* Basic auth realm of node URLs */
#define BH_SEG_MAX	32	/* most path components */

struct bh_target {
	enum bh_kind	 kind;
	int		 fd;		/* the open file, or -1 */
	int		 lazy;		/* 200 with fd -1: st is from the cache */
	struct stat	 st;
	int		 index;		/* 0/1: Packages/Packages.gz of a channel, else -1 */
	int		 immutable;	/* long cache lifetime */
	time_t		 lm;		/* Last-Modified */
	uint64_t	 snap_id;	/* identity of the channel's target */
	time_t		 link_mtime;	/* of the channel link (an index) */
	uint64_t	 snap_hash;	/* of "snapshots/<profile>/<id>" */
	uint64_t	 epoch;		/* the channel cache's, when resolved */
	const char	*ctype;
	struct bh_series *series;	/* the channel's, or NULL */
	char		 channel[64];	/* metric labels, "" when none */
	char		 profile[64];
	int		 node;		/* BH_NODE: the node's record, else -1 */
	char		 node_name[BF_NODE_NAME_MAX + 1];
	int		 deny;		/* 401 for a node URL (not the auth file's) */
	/* Last: bh_resolve() clears what comes before it. */
	char		 rel[BH_PATH_MAX + BH_SNAP_MAX + 2];	/* beneath the root */
};

/*
 * Resolves the raw (still percent-encoded) URL path `raw` and, for a
 * file, opens it.  Returns an HTTP status: 200 with t->fd open (the
 * caller closes it), or 400, 403, 404, 500 or 503 with t->fd == -1.
 * Hostile paths are 400 or 404, never 500.  A node URL needs the node's
 * identity in `authz` (the Authorization field, NUL-terminated, or NULL):
 * 401 with t->deny set without it.
 */
int	bh_resolve(struct bh_server *s, const char *raw, const char *authz,
	    struct bh_target *t);
/*
 * As bh_resolve(), but with BH_RESOLVE_DEFER a package file of a channel
 * is not opened: 200 with t->lazy set, t->fd == -1 and t->st unset; the
 * caller finds it in its open-file cache or calls bh_target_open().
 */
#define BH_RESOLVE_DEFER	0x1
int	bh_resolve_ex(struct bh_server *s, const char *raw, const char *authz,
	    size_t authz_len, struct bh_target *t,
	    unsigned flags);
/*
 * A channel's index may come back from bh_resolve() as a 200 with
 * t->lazy set and t->fd == -1: its validators (t->st, t->lm, t->snap_id)
 * are the cached ones, enough for a 304.  To send the body, this opens
 * t->rel (the snapshot the request resolved to, whatever the channel
 * says by now), refreshes t->st and t->lm and the cache from the file,
 * and returns 200 with t->fd open, or an error status as bh_resolve().
 */
int	bh_target_open(struct bh_server *s, struct bh_target *t);

/* FNV-1a of the string s, continuing from h (0xcbf29ce484222325 to start). */
uint64_t bh_fnv1a(const char *s, uint64_t h);

/* Splits and decodes `raw`; exported for the unit test.  0 or a status. */
int	bh_path_split(const char *raw, char *buf, size_t bufsz,
	    char **seg, size_t *nseg);

/*
 * fcache.c: a file-loop thread's open package files, for the next request
 * of the same file (see there).  Not locked: one per thread.
 */
#define BH_FCACHE_MAX	64	/* entries per thread */
#define BH_FCACHE_TTL	10	/* seconds an entry is trusted */

struct bh_fcent {
	char		*key;		/* t->rel; NULL when the slot is free */
	uint64_t	 hash;		/* bh_fnv1a(key) */
	uint64_t	 epoch;		/* the channel cache's, when opened */
	uint64_t	 used;		/* the cache's clock, when last used */
	time_t		 born;
	int		 fd;
	unsigned	 users;		/* responses in flight from it */
	int		 dead;		/* stale: close when users drops to 0 */
	struct stat	 st;
};

struct bh_fcache {
	size_t		 n, cap;
	uint64_t	 clock;
	struct bh_fcent	 v[BH_FCACHE_MAX];
};

void	bh_fcache_init(struct bh_fcache *fc, size_t cap);
/* The entry for t->rel opened under t->epoch (one more user), or -1. */
int	bh_fcache_get(struct bh_fcache *fc, const struct bh_target *t,
	    uint64_t hash, time_t now);
/*
 * Keeps t->fd (open, t->st its fstat) as the entry for t->rel, with one
 * user; returns its index, or -1 when it cannot (then t->fd is still the
 * caller's to close).
 */
int	bh_fcache_put(struct bh_fcache *fc, const struct bh_target *t,
	    uint64_t hash, time_t now);
/* Closes the idle entries older than BH_FCACHE_TTL (or stale). */
void	bh_fcache_expire(struct bh_fcache *fc, time_t now);
/* A response from entry i ended. */
void	bh_fcache_unuse(struct bh_fcache *fc, int i);
/* Closes everything (the thread ends). */
void	bh_fcache_release_all(struct bh_fcache *fc);

/* http.c */
int	bh_http_start(struct bh_server *s, int listen_fd, struct bf_err *e);
unsigned bh_http_connections(struct bh_server *s);
/* Stops accepting; returns the listen fd MHD gave back, or -1. */
int	bh_http_quiesce(struct bh_server *s);
void	bh_http_stop(struct bh_server *s);
/* Reopens the access log named in the configuration (SIGHUP). */
int	bh_access_log_open(struct bh_server *s, struct bf_err *e);

#endif
