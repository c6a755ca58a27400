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
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct bf_err;
struct bf_buf;

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
	long long	 index_max_age;
	long long	 file_max_age;
	long long	 shutdown_timeout;
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
#define BH_NCODES	13
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
	size_t		 n;
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

/* The running server: shared read-only by every thread once started. */
struct bh_server {
	const struct bh_conf *conf;
	int		 root_fd;
	char		*root_real;	/* realpath of the root */
	int		 no_openat2;	/* set when the kernel lacks it */
	int		 access_fd;	/* -1: no access log */
	int		 auth_on;
	struct bh_auth	 auth;
	char		*tls_cert_pem;
	char		*tls_key_pem;
	struct bh_metrics metrics;
	void		*mhd;		/* struct MHD_Daemon, http.c's */
};

/* What a URL names. */
enum bh_kind {
	BH_HEALTHZ = 1,
	BH_METRICS,
	BH_CHANNEL,	/* /<channel>/<profile>/... */
	BH_SNAPSHOT,	/* /snapshots/<profile>/<id>/... */
	BH_KEY		/* /keys/... */
};

#define BH_PATH_MAX	1024	/* longest URL path we look at */
#define BH_SEG_MAX	32	/* most path components */

struct bh_target {
	enum bh_kind	 kind;
	int		 fd;		/* the open file, or -1 */
	struct stat	 st;
	int		 index;		/* 0/1: Packages/Packages.gz of a channel, else -1 */
	int		 immutable;	/* long cache lifetime */
	time_t		 lm;		/* Last-Modified */
	uint64_t	 snap_id;	/* identity of the channel's target */
	const char	*ctype;
	char		 channel[64];	/* metric labels, "" when none */
	char		 profile[64];
};

/*
 * Resolves the raw (still percent-encoded) URL path `raw` and, for a
 * file, opens it.  Returns an HTTP status: 200 with t->fd open (the
 * caller closes it), or 400, 403, 404, 500 or 503 with t->fd == -1.
 * Hostile paths are 400 or 404, never 500.
 */
int	bh_resolve(struct bh_server *s, const char *raw, struct bh_target *t);

/* Splits and decodes `raw`; exported for the unit test.  0 or a status. */
int	bh_path_split(const char *raw, char *buf, size_t bufsz,
	    char **seg, size_t *nseg);

/* http.c */
int	bh_http_start(struct bh_server *s, int listen_fd, struct bf_err *e);
unsigned bh_http_connections(struct bh_server *s);
/* Stops accepting; returns the listen fd MHD gave back, or -1. */
int	bh_http_quiesce(struct bh_server *s);
void	bh_http_stop(struct bh_server *s);
/* Reopens the access log named in the configuration (SIGHUP). */
int	bh_access_log_open(struct bh_server *s, struct bf_err *e);

#endif
