/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm-worker's state and the interfaces of its files.  The calls go
 * one way, down this list: worker.c (main, the loop, the heartbeat)
 * calls build.c and upload.c; build.c calls driver-ebuild.c, which calls
 * root.c (root.h); build.c, driver-ebuild.c and upload.c call job.c and
 * client.c.  No file calls one above it.
 */
#ifndef BF_WORKER_H
#define BF_WORKER_H

#include <sys/types.h>

#include <pthread.h>
#include <jansson.h>

#include "base/conf.h"
#include "net/http.h"

struct bf_err;
struct bf_buf;
struct bf_cpv;

/* The job being built, shared with the heartbeat thread (under wk.mu). */
struct wk_cur {
	long long	 job;		/* 0: none */
	char		 lease[64];
	int		 abandoned;	/* the builder took the lease back */
	int		 logfd;		/* build.log, or -1 */
	off_t		 logsent;	/* bytes of it the builder has */
};

/* A worker: its configuration, its builder and what it is doing. */
struct wk {
	/* the builder */
	struct bf_url	 url;		/* replaced under mu (wk_refresh_url) */
	char		*token;
	const char	*statedir;	/* -s: re-read builder.url on failure */
	struct bf_http_conn conn;	/* the main thread's kept-alive connection */
	int		 hb_interval;	/* seconds between heartbeats */
	/* this worker */
	char		*name;
	json_t		*tags;
	const char	*driver;	/* "sandbox", "ebuild", "noop" */
	char		*workdir;	/* absolute */
	const char	*profiles;	/* ebuild driver: profile directories */
	const char	*sandbox;	/* the sandbox script */
	int		 keep;		/* keep build directories */
	int		 max_jobs;	/* --max-jobs (0: no limit) */
	int		 idle_exit;	/* --idle-exit SECONDS (0: never) */
	/* ebuild driver (driver-ebuild.c, root.c) */
	struct bf_strv	 base_roots;	/* --base-root [PROFILE=]DIR */
	struct bf_strv	 layers;	/* --layer [PROFILE=]DIR */
	const char	*distfiles;	/* --distfiles DIR */
	int		 keep_checkouts;	/* --keep-checkouts N (0: all) */
	const char	*ebuild_driver;	/* bf-ebuild.sh */
	/* shared with the heartbeat thread, under mu */
	pthread_mutex_t	 mu;
	struct wk_cur	 cur;
	pid_t		 child;		/* the driver's process group, or 0 */
};

/* worker.c: runs the loop (register, lease, build, upload). */

/* build.c: prepares the job directory and runs the driver; 0 on success. */
int	build_job(struct wk *w, json_t *job, const char *jobdir,
	    int logfd, struct bf_err *e);

/* upload.c: packs the build and uploads it; 0 once the builder took it. */
int	upload_job(struct wk *w, json_t *job, const char *jobdir,
	    int logfd, struct bf_err *e);

/* driver-ebuild.c: runs the ebuild driver in a build root; 0 on success. */
int	ebuild_job(struct wk *w, json_t *job, const char *jobdir,
	    const struct bf_cpv *cpv, int logfd, struct bf_err *e);
/* Removes the build roots a killed worker left in its work directory. */
void	ebuild_clean_roots(struct wk *w);

/* job.c: helpers of the build drivers. */
/* The string member `k` of `o`, or "" (never NULL). */
const char *job_str(json_t *o, const char *k);
/* Appends `s` quoted for sh(1): '...' with ' written '\''. */
void	sh_quote(struct bf_buf *b, const char *s);
/* Writes `text` to `path` (created or truncated, 0644). */
int	write_text(const char *path, const char *text, struct bf_err *e);
/*
 * Waits for the driver `pid` (the leader of its process group), which
 * the heartbeat kills when the builder takes the lease back; returns its
 * wait status.
 */
int	job_wait(struct wk *w, pid_t pid);

/* client.c: the builder's API. */
/* A JSON request; *status is the HTTP status, *out the JSON answer. */
int	wk_call(struct wk *w, struct bf_http_conn *conn, const char *method,
	    const char *path, json_t *body, json_t **out, int *status,
	    struct bf_err *e);
/* Sends the log written since the last call (job and lease: the job's). */
void	wk_send_log(struct wk *w, struct bf_http_conn *conn, long long job,
	    const char *lease, int fd, off_t *sent);
/* With -s, re-reads the builder's URL (it changes when it restarts on an
 * ephemeral port). */
void	wk_refresh_url(struct wk *w);

#endif
