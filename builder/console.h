/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BUILDER_CONSOLE_H
#define BF_BUILDER_CONSOLE_H

/*
 * The release console: HTML pages under /console/ served by the
 * builder (binfarm-builder(8), CONSOLE).  console.c routes and
 * authenticates (login, session cookie, CSRF token), console-pages.c
 * draws the queue, jobs and rebuilds, console-repo.c the snapshots,
 * diffs and promotions, console-releases.c the releases and the fleet
 * with their actions; console-html.c and console-session.c hold the
 * pieces without the builder (escaping, forms, sessions), which
 * t/unit/u-console.c tests.
 */

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/conf.h"

struct bf_repo;
struct builder;
struct MHD_Connection;

/* console-html.c */
/* `s` with & < > " ' as character references, appended to `out`. */
void	html_esc(struct bf_buf *out, const char *s);
/* `s` percent-encoded for a URL's query or path segment. */
void	url_esc(struct bf_buf *out, const char *s);
/*
 * The value of `key` in an application/x-www-form-urlencoded body
 * (`body`, `len` bytes) decoded into `out`: 1, or 0 when it is absent.
 * A value with a NUL byte counts as absent.
 */
int	form_get(const char *body, size_t len, const char *key,
	    struct bf_buf *out);
/* Whether `a` and `b` are equal, in time independent of their bytes. */
int	console_str_eq(const char *a, const char *b);

/* console-session.c: the logged-in engineers, in memory only. */
#define CSESS_HEX	64		/* a session id, a CSRF token: hex */
#define CSESS_NAME	64		/* the name an engineer gives */
#define CSESS_MAX	1024

struct csess {
	char		 id[CSESS_HEX + 1];
	char		 csrf[CSESS_HEX + 1];
	char		 name[CSESS_NAME + 1];
	long long	 expires;	/* unix time */
};

struct csess_table {
	pthread_mutex_t	 mu;
	struct csess	 v[CSESS_MAX];
	size_t		 n;
	long long	 ttl;		/* seconds */
};

void	csess_init(struct csess_table *t, long long ttl);
void	csess_destroy(struct csess_table *t);
/* Whether `name` may be recorded as who did an action. */
int	csess_name_valid(const char *name);
/*
 * A new session for `name` with fresh random id and CSRF token, copied
 * into `out` (an expired or, if the table is full, the oldest session
 * makes room): 0, or -1 when no random bytes could be had.
 */
int	csess_create(struct csess_table *t, const char *name, long long now,
	    struct csess *out);
/* The session `id` into `out`: 1, or 0 when there is none or it expired. */
int	csess_lookup(struct csess_table *t, const char *id, long long now,
	    struct csess *out);
void	csess_delete(struct csess_table *t, const char *id);

/* console.c: the page around the content, the answer. */
struct cpage {
	struct builder	*b;
	struct MHD_Connection *c;
	const char	*url;
	const char	*method;
	const char	*body;		/* a POST's form */
	size_t		 len;
	struct csess	 s;		/* who is logged in */
	struct bf_buf	*out;		/* the page's content */
	const char	*title;
	unsigned	 status;
	int		 sent;		/* the handler answered: ret */
	int		 ret;
	struct bf_strv	 tmp;		/* cp_u()'s strings */
};

/* Appends printf-formatted text with every %s argument HTML-escaped. */
void	cp_addf(struct cpage *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A GET argument or a form field; NULL (or "") when absent. */
const char *cp_arg(struct cpage *p, const char *key);
int	cp_form(struct cpage *p, const char *key, struct bf_buf *out);
/* `s` percent-encoded for a link, kept until the page is sent. */
const char *cp_u(struct cpage *p, const char *s);
/* The hidden input with the session's CSRF token. */
void	cp_csrf_input(struct cpage *p);
/* A unix time as "2026-12-07 12:00:00 UTC". */
void	cp_time(struct cpage *p, long long t);
/* An error page's content with `status`. */
void	cp_error(struct cpage *p, unsigned status, const char *msg);

int	console_handle(struct builder *b, struct MHD_Connection *c,
	    const char *method, const char *url, const char *body, size_t len);
struct console *console_new(void);
void	console_free(struct console *co);

/* console-pages.c */
void	console_overview(struct cpage *p);
void	console_job(struct cpage *p);

/* console-rebuilds.c */
void	console_rebuilds(struct cpage *p);
void	console_rebuild(struct cpage *p);

/* console-why.c: why a rebuild built a package (console-rebuilds.c). */
struct why_tree;
struct why_ctx {
	struct builder	*b;
	json_t		*prev;		/* the previous rebuild's plan entries
					   by "cat/pn:slot"; NULL: none */
	json_t		*old_trees;	/* its pins, and this rebuild's */
	json_t		*new_trees;
	struct bf_strv	 env;		/* configuration keys changed */
	struct bf_buf	 moved;		/* "name a..b" of the moved trees */
	struct why_tree	*trees;		/* opened by why_tree() */
	size_t		 ntrees, atrees;
};

/* "cat/pn:slot" of a plan entry, into `out`: 0, or -1. */
int	why_slot_key(json_t *spec, struct bf_buf *out);
/*
 * The reasons job `id` (plan entry `spec`) was built that the database
 * tells, with b->mu held: 1 when the previous rebuild had the same
 * version, whose md5-cache entries why_tree() compares, else 0.
 */
int	why_job(struct why_ctx *w, long long id, json_t *spec,
	    struct bf_strv *why);
/* Its ebuild or eclasses, from md5-cache; with b->plan_mu held. */
void	why_tree(struct why_ctx *w, json_t *spec, struct bf_strv *why);
void	why_release(struct why_ctx *w);

/* console-repo.c */
/* The builder's repository, or NULL after an error page. */
struct bf_repo *console_repo_open(struct cpage *p);
void	console_snapshots(struct cpage *p);
void	console_diff(struct cpage *p);
void	console_promote(struct cpage *p);

/* console-releases.c: releases, their waves, the fleet; their actions. */
void	console_releases(struct cpage *p);
void	console_release_action(struct cpage *p);

#endif
