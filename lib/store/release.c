/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Releases: the file (releases/<channel>), its waves cut from the
 * inventory, how far it has gone given what the nodes fetched, and the
 * strategy a diff asks for.  See release.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/fleet.h"
#include "format/pkgindex.h"
#include "store/channel.h"
#include "store/nodes.h"
#include "store/promote.h"
#include "store/release.h"
#include "store/repo.h"
#include "base/banned.h"

static const char *const strategy_names[] = { "all", "by-farm", "by-member" };
static const char *const state_names[] = {
	"running", "paused", "done", "rolled-back",
};

void
bf_release_init(struct bf_release *rel)
{
	memset(rel, 0, sizeof(*rel));
}

static void
wave_free(struct bf_wave *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		free(w->v[i].name);
		free(w->v[i].profile);
	}
	free(w->v);
}

void
bf_release_free(struct bf_release *rel)
{
	size_t i;

	for (i = 0; i < rel->nwaves; i++)
		wave_free(&rel->waves[i]);
	free(rel->waves);
	free(rel->targets);
	bf_release_init(rel);
}

const char *
bf_strategy_name(enum bf_strategy s)
{
	return (unsigned)s < 3 ? strategy_names[s] : "?";
}

int
bf_strategy_parse(const char *s, enum bf_strategy *out)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, strategy_names[i]) == 0) {
			*out = (enum bf_strategy)i;
			return 0;
		}
	return -1;
}

const char *
bf_release_state_name(enum bf_release_state s)
{
	return (unsigned)s < 4 ? state_names[s] : "?";
}

static int
state_parse(const char *s, enum bf_release_state *out)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum bf_release_state)i;
			return 0;
		}
	return -1;
}

int
bf_release_active(const struct bf_release *rel)
{
	return rel->state == BF_RELEASE_RUNNING ||
	    rel->state == BF_RELEASE_PAUSED;
}

const struct bf_release_target *
bf_release_target(const struct bf_release *rel, const char *profile)
{
	size_t i;

	for (i = 0; i < rel->ntargets; i++)
		if (strcmp(rel->targets[i].profile, profile) == 0)
			return &rel->targets[i];
	return NULL;
}

int
bf_release_add_target(struct bf_release *rel, const char *profile,
    const char *from, const char *to, struct bf_err *e)
{
	struct bf_release_target *t;

	if (!bf_repo_name_valid(profile) || !bf_snapshot_id_valid(to) ||
	    (from[0] != '\0' && !bf_snapshot_id_valid(from)))
		return bf_err_set(e, BF_EUSAGE, "a bad profile or snapshot id "
		    "in a release target");
	if (bf_release_target(rel, profile) != NULL)
		return bf_err_set(e, BF_EUSAGE, "profile '%s' has two targets",
		    profile);
	if (bf_grow(&rel->targets, &rel->talloc, rel->ntargets + 1,
	    sizeof(*rel->targets), 4) < 0)
		return bf_err_nomem(e);
	t = &rel->targets[rel->ntargets++];
	memset(t, 0, sizeof(*t));
	bf_str_copy(t->profile, sizeof(t->profile), profile);
	bf_str_copy(t->from, sizeof(t->from), from);
	bf_str_copy(t->to, sizeof(t->to), to);
	return 0;
}

static struct bf_wave *
wave_new(struct bf_release *rel)
{
	struct bf_wave *w;

	if (bf_grow(&rel->waves, &rel->walloc, rel->nwaves + 1,
	    sizeof(*rel->waves), 8) < 0)
		return NULL;
	w = &rel->waves[rel->nwaves++];
	memset(w, 0, sizeof(*w));
	return w;
}

static int
wave_add(struct bf_wave *w, const char *name, const char *profile)
{
	struct bf_wave_node *wn;

	if (bf_grow(&w->v, &w->alloc, w->n + 1, sizeof(*w->v), 8) < 0)
		return -ENOMEM;
	wn = &w->v[w->n];
	if ((wn->name = strdup(name)) == NULL)
		return -ENOMEM;
	if ((wn->profile = strdup(profile)) == NULL) {
		free(wn->name);
		return -ENOMEM;
	}
	w->n++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The file.                                                           */

struct rparse {
	struct bf_release *rel;
	const char	*file;
	unsigned	 line;
	unsigned	 seen;	/* bit per required keyword */
	struct bf_err	*e;
};

static int
bad(struct rparse *p, const char *what)
{
	return bf_err_set(p->e, BF_ECONFIG, "%s:%u: %s", p->file, p->line,
	    what);
}

/* "<keyword> <time> <who...>": who is the rest, words joined by a space. */
static int
parse_time_by(struct rparse *p, char **w, size_t n, long long *t, char *by,
    size_t bysz)
{
	size_t i, k = 0;
	char *ep;

	if (n < 3)
		return bad(p, "expected a time and who");
	errno = 0;
	*t = strtoll(w[1], &ep, 10);
	if (errno != 0 || *ep != '\0' || *t < 0)
		return bad(p, "a bad time");
	by[0] = '\0';
	for (i = 2; i < n; i++) {
		if (k + strlen(w[i]) + 2 > bysz)
			return bad(p, "a name too long");
		k += (size_t)snprintf(by + k, bysz - k, "%s%s", i > 2 ? " " : "",
		    w[i]);
	}
	return 0;
}

static int
parse_wave(struct rparse *p, char **w, size_t n)
{
	struct bf_wave *wv;
	char *eq;
	size_t i;

	if (n < 2 || strtoul(w[1], NULL, 10) != p->rel->nwaves + 1)
		return bad(p, "waves must be numbered 1, 2, ... in order");
	if ((wv = wave_new(p->rel)) == NULL)
		return bf_err_nomem(p->e);
	for (i = 2; i < n; i++) {
		if ((eq = strchr(w[i], '=')) == NULL)
			return bad(p, "a wave's node is <name>=<profile>");
		*eq = '\0';
		if (!bf_node_name_valid(w[i]) || !bf_repo_name_valid(eq + 1))
			return bad(p, "a bad node or profile name");
		if (wave_add(wv, w[i], eq + 1) < 0)
			return bf_err_nomem(p->e);
	}
	return 0;
}

static int
parse_advanced(struct rparse *p, char **w, size_t n)
{
	unsigned long k;
	struct bf_wave *wv;

	if (n < 4 || (k = strtoul(w[1], NULL, 10)) < 1 ||
	    k > p->rel->nwaves)
		return bad(p, "'advanced' names a wave given before it");
	wv = &p->rel->waves[k - 1];
	return parse_time_by(p, w + 1, n - 1, &wv->advanced, wv->advanced_by,
	    sizeof(wv->advanced_by));
}

/* One line's words; 0 or an error. */
static int
parse_words(struct rparse *p, char **w, size_t n)
{
	struct bf_release *rel = p->rel;
	const char *k = w[0];

	if (strcmp(k, "release") == 0 && n == 2) {
		p->seen |= 1;
		rel->id = strtoull(w[1], NULL, 10);
		return rel->id == 0 ? bad(p, "a bad release number") : 0;
	}
	if (strcmp(k, "channel") == 0 && n == 2) {
		p->seen |= 2;
		return !bf_repo_name_valid(w[1]) || bf_str_copy(rel->channel,
		    sizeof(rel->channel), w[1]) < 0 ? bad(p, "a bad channel") : 0;
	}
	if (strcmp(k, "strategy") == 0 && n == 2) {
		p->seen |= 4;
		return bf_strategy_parse(w[1], &rel->strategy) < 0 ?
		    bad(p, "an unknown strategy") : 0;
	}
	if (strcmp(k, "state") == 0 && n == 2) {
		p->seen |= 8;
		return state_parse(w[1], &rel->state) < 0 ?
		    bad(p, "an unknown state") : 0;
	}
	if (strcmp(k, "allow-downgrade") == 0 && n == 2) {
		rel->allow_downgrade = strcmp(w[1], "yes") == 0;
		return rel->allow_downgrade || strcmp(w[1], "no") == 0 ? 0 :
		    bad(p, "allow-downgrade is yes or no");
	}
	if (strcmp(k, "started") == 0)
		return parse_time_by(p, w, n, &rel->started, rel->started_by,
		    sizeof(rel->started_by));
	if (strcmp(k, "ended") == 0)
		return parse_time_by(p, w, n, &rel->ended, rel->ended_by,
		    sizeof(rel->ended_by));
	if (strcmp(k, "paused") == 0 && n == 2) {
		rel->paused_open = strtoul(w[1], NULL, 10);
		return 0;
	}
	if (strcmp(k, "target") == 0 && n == 4)
		return bf_release_add_target(rel, w[1], strcmp(w[2], "-") == 0 ?
		    "" : w[2], w[3], NULL) < 0 ? bad(p, "a bad target") : 0;
	if (strcmp(k, "wave") == 0)
		return parse_wave(p, w, n);
	if (strcmp(k, "advanced") == 0)
		return parse_advanced(p, w, n);
	return bad(p, "an unknown or malformed line");
}

#define MAXWORDS	4096

int
bf_release_parse(struct bf_release *rel, const char *file, const char *text,
    size_t len, struct bf_err *e)
{
	struct rparse p = { rel, file, 0, 0, e };
	struct bf_buf line = BF_BUF_INIT;
	const char *s = text, *end = text + len, *eol;
	char **w, *q, *save;
	size_t n;
	int rc = 0;

	if ((w = calloc(MAXWORDS, sizeof(*w))) == NULL)
		return bf_err_nomem(e);
	for (; s < end && rc == 0; s = eol + 1) {
		p.line++;
		if ((eol = memchr(s, '\n', (size_t)(end - s))) == NULL)
			eol = end;
		bf_buf_reset(&line);
		bf_buf_add(&line, s, (size_t)(eol - s));
		if (bf_buf_error(&line)) {
			rc = bf_err_nomem(e);
			break;
		}
		for (n = 0, q = strtok_r(line.buf, " \t", &save); q != NULL &&
		    n < MAXWORDS; q = strtok_r(NULL, " \t", &save))
			w[n++] = q;
		if (n == 0 || w[0][0] == '#')
			continue;
		rc = n == MAXWORDS ? bad(&p, "too many words") :
		    parse_words(&p, w, n);
	}
	if (rc == 0 && p.seen != 15)
		rc = bf_err_set(e, BF_ECONFIG, "%s: release, channel, strategy "
		    "or state missing", file);
	if (rc == 0 && rel->state == BF_RELEASE_PAUSED &&
	    rel->paused_open > rel->nwaves)
		rc = bf_err_set(e, BF_ECONFIG, "%s: paused beyond its waves",
		    file);
	free(w);
	bf_buf_release(&line);
	return rc;
}

static void
format_waves(const struct bf_release *rel, struct bf_buf *out)
{
	const struct bf_wave *w;
	size_t i, j;

	for (i = 0; i < rel->nwaves; i++) {
		w = &rel->waves[i];
		bf_buf_addf(out, "wave %zu", i + 1);
		for (j = 0; j < w->n; j++)
			bf_buf_addf(out, " %s=%s", w->v[j].name,
			    w->v[j].profile);
		bf_buf_addch(out, '\n');
	}
	for (i = 0; i < rel->nwaves; i++)
		if (rel->waves[i].advanced > 0)
			bf_buf_addf(out, "advanced %zu %lld %s\n", i + 1,
			    rel->waves[i].advanced, rel->waves[i].advanced_by);
}

void
bf_release_format(const struct bf_release *rel, struct bf_buf *out)
{
	const struct bf_release_target *t;
	size_t i;

	bf_buf_addf(out, "release %llu\nchannel %s\nstrategy %s\nstate %s\n"
	    "allow-downgrade %s\nstarted %lld %s\n", rel->id, rel->channel,
	    bf_strategy_name(rel->strategy), bf_release_state_name(rel->state),
	    rel->allow_downgrade ? "yes" : "no", rel->started,
	    rel->started_by);
	if (rel->ended > 0)
		bf_buf_addf(out, "ended %lld %s\n", rel->ended, rel->ended_by);
	if (rel->state == BF_RELEASE_PAUSED)
		bf_buf_addf(out, "paused %zu\n", rel->paused_open);
	for (i = 0; i < rel->ntargets; i++) {
		t = &rel->targets[i];
		bf_buf_addf(out, "target %s %s %s\n", t->profile,
		    t->from[0] != '\0' ? t->from : "-", t->to);
	}
	format_waves(rel, out);
}

int
bf_release_load(int dirfd, const char *channel, struct bf_release *rel,
    struct bf_err *e)
{
	char path[sizeof(BF_RELEASES_DIR) + 132];
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (!bf_repo_name_valid(channel))
		return bf_err_set(e, BF_EUSAGE, "a bad channel name");
	snprintf(path, sizeof(path), "%s/%s", BF_RELEASES_DIR, channel);
	rc = bf_read_file(dirfd, path, &data, &len, e);
	if (rc == -ENOENT) {
		free(data);
		bf_err_clear(e);
		return bf_err_set(e, BF_ENOTFOUND, "channel '%s' has had no "
		    "release", channel);
	}
	if (rc == 0)
		rc = bf_release_parse(rel, path, data, len, e);
	if (rc == 0 && strcmp(rel->channel, channel) != 0)
		rc = bf_err_set(e, BF_ECONFIG, "%s: names channel '%s'", path,
		    rel->channel);
	free(data);
	return rc;
}

static int
log_action(struct bf_repo *r, const struct bf_release *rel,
    const char *action, const char *by, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	time_t now = time(NULL);
	struct tm tm;
	char utc[32];
	int fd, rc = 0;

	gmtime_r(&now, &tm);
	strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bf_buf_addf(&b, "%lld\t%s\t%llu\t%s\t%s\t%s\t%s\n", (long long)now,
	    utc, rel->id, rel->channel, action, bf_strategy_name(rel->strategy),
	    by);
	fd = openat(r->root_fd, BF_RELEASES_LOG, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || bf_buf_error(&b) || bf_write_full(fd, b.buf, b.len) < 0 ||
	    fsync(fd) < 0)
		rc = bf_err_errno(e, "cannot append to '%s'", BF_RELEASES_LOG);
	if (fd >= 0)
		close(fd);
	bf_buf_release(&b);
	return rc;
}

/* Removes what a killed writer left in releases/ (the lock is held). */
static void
clean_leftovers(struct bf_repo *r)
{
	char **names = NULL, path[sizeof(BF_RELEASES_DIR) + 300];
	size_t n = 0, i;

	if (bf_list_dir(r->root_fd, BF_RELEASES_DIR, &names, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (bf_lockfile_is_temp(names[i]) &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s",
		    BF_RELEASES_DIR, names[i]) < sizeof(path))
			unlinkat(r->root_fd, path, 0);
	bf_names_free(names, n);
}

int
bf_release_save(struct bf_repo *r, const struct bf_release *rel,
    const char *action, const char *by, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT;
	char path[sizeof(BF_RELEASES_DIR) + 132];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", BF_RELEASES_DIR, rel->channel);
	if ((rc = bf_mkdirs(r->root_fd, BF_RELEASES_DIR, 0755, NULL, e)) < 0)
		return rc;
	clean_leftovers(r);
	bf_release_format(rel, &b);
	if (bf_buf_error(&b)) {
		bf_buf_release(&b);
		return bf_err_nomem(e);
	}
	if ((rc = bf_lockfile_open(&lf, r->root_fd, path, 0644, e)) == 0) {
		bf_lockfile_write(&lf, b.buf, b.len);
		rc = bf_lockfile_commit(&lf, -1, e);
	}
	bf_lockfile_rollback(&lf);
	bf_buf_release(&b);
	if (rc == 0 && action != NULL)
		rc = log_action(r, rel, action, by, e);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Waves.                                                              */

/* Node pointers of the release, in inventory order (site, farm, member). */
static int
release_nodes(const struct bf_release *rel, const struct bf_nodes *ns,
    const struct bf_node ***out, size_t *n)
{
	const struct bf_node **v;
	size_t i;

	if ((v = calloc(ns->n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	*n = 0;
	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i].channel, rel->channel) == 0 &&
		    bf_release_target(rel, ns->v[i].profile) != NULL)
			v[(*n)++] = &ns->v[i];
	*out = v;
	return 0;
}

static int
same_farm(const struct bf_node *a, const struct bf_node *b)
{
	return strcmp(a->site, b->site) == 0 && strcmp(a->farm, b->farm) == 0;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct bf_node *x = *(const struct bf_node *const *)a;
	const struct bf_node *y = *(const struct bf_node *const *)b;
	int c;

	if ((c = strcmp(x->site, y->site)) != 0 ||
	    (c = strcmp(x->farm, y->farm)) != 0)
		return c;
	return x->member < y->member ? -1 : x->member > y->member;
}

static int
cut(struct bf_release *rel, const struct bf_node **v, size_t n)
{
	struct bf_wave *w = NULL;
	long member, top = 0;
	size_t i;

	if (rel->strategy == BF_STRATEGY_BY_MEMBER) {
		for (i = 0; i < n; i++)
			top = v[i]->member > top ? v[i]->member : top;
		for (member = 1; member <= top; member++) {
			if ((w = wave_new(rel)) == NULL)
				return -ENOMEM;
			for (i = 0; i < n; i++)
				if (v[i]->member == member && wave_add(w,
				    v[i]->name, v[i]->profile) < 0)
					return -ENOMEM;
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (w == NULL || (rel->strategy == BF_STRATEGY_BY_FARM &&
		    !same_farm(v[i - 1], v[i])))
			if ((w = wave_new(rel)) == NULL)
				return -ENOMEM;
		if (wave_add(w, v[i]->name, v[i]->profile) < 0)
			return -ENOMEM;
	}
	return 0;
}

int
bf_release_cut_waves(struct bf_release *rel, const struct bf_nodes *ns,
    struct bf_err *e)
{
	const struct bf_node **v;
	size_t n;
	int rc;

	if (release_nodes(rel, ns, &v, &n) < 0)
		return bf_err_nomem(e);
	qsort(v, n, sizeof(*v), node_cmp);
	if (n == 0)
		rc = bf_err_set(e, BF_ENOTFOUND, "no node of the inventory is "
		    "on channel '%s' with a profile this release has a "
		    "snapshot for", rel->channel);
	else if ((rc = cut(rel, v, n)) < 0)
		rc = bf_err_nomem(e);
	free(v);
	return rc;
}

int
bf_release_node_done(const struct bf_release *rel, const char *node,
    const char *profile, const struct bf_fetches *f)
{
	const struct bf_release_target *t = bf_release_target(rel, profile);
	const struct bf_fetch *r = bf_fetches_find(f, node);

	return t != NULL && r != NULL && strcmp(r->profile, profile) == 0 &&
	    strcmp(r->snapshot, t->to) == 0;
}

int
bf_release_wave_done(const struct bf_release *rel, size_t w,
    const struct bf_fetches *f)
{
	const struct bf_wave *wv = &rel->waves[w];
	size_t i;

	if (wv->advanced > 0)
		return 1;
	for (i = 0; i < wv->n; i++)
		if (bf_release_target(rel, wv->v[i].profile) != NULL &&
		    !bf_release_node_done(rel, wv->v[i].name, wv->v[i].profile,
		    f))
			return 0;
	return 1;
}

size_t
bf_release_open_waves(const struct bf_release *rel,
    const struct bf_fetches *f)
{
	size_t open = 1;

	if (!bf_release_active(rel) || rel->nwaves == 0)
		return 0;
	while (open < rel->nwaves && bf_release_wave_done(rel, open - 1, f))
		open++;
	if (rel->state == BF_RELEASE_PAUSED && open > rel->paused_open)
		open = rel->paused_open;
	return open;
}

int
bf_release_complete(const struct bf_release *rel, const struct bf_fetches *f)
{
	size_t i;

	if (rel->state != BF_RELEASE_RUNNING)
		return 0;
	for (i = 0; i < rel->nwaves; i++)
		if (!bf_release_wave_done(rel, i, f))
			return 0;
	return 1;
}

long
bf_release_wave_of(const struct bf_release *rel, const char *node)
{
	size_t i, j;

	for (i = 0; i < rel->nwaves; i++)
		for (j = 0; j < rel->waves[i].n; j++)
			if (strcmp(rel->waves[i].v[j].name, node) == 0)
				return (long)i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* The strategy a diff asks for.                                       */

/* Does "cat/pn" match a word of `list` ("cat/pn", or an fnmatch(3) glob)? */
static const char *
list_match(const char *list, const char *cp, char *word, size_t wsz)
{
	const char *p = list, *q;
	size_t k;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		for (q = p; *q != '\0' && *q != ' ' && *q != '\t'; q++)
			;
		k = (size_t)(q - p);
		if (k > 0 && k < wsz) {
			memcpy(word, p, k);
			word[k] = '\0';
			if (fnmatch(word, cp, 0) == 0)
				return word;
		}
		p = q;
	}
	return NULL;
}

/* "cat/pn" of a diff key "cat/pn:slot". */
static void
key_cp(const char *key, char *cp, size_t n)
{
	size_t k = strcspn(key, ":");

	if (k >= n)
		k = n - 1;
	memcpy(cp, key, k);
	cp[k] = '\0';
}

enum bf_strategy
bf_release_propose(const struct bf_diff *d, const char *disruptive,
    const char *application, struct bf_buf *why)
{
	enum bf_strategy s = BF_STRATEGY_ALL;
	char cp[256], word[256];
	const char *m;
	size_t i;

	for (i = 0; i < d->n && s != BF_STRATEGY_BY_MEMBER; i++) {
		key_cp(d->v[i].key, cp, sizeof(cp));
		if ((m = list_match(disruptive, cp, word, sizeof(word))) !=
		    NULL) {
			s = BF_STRATEGY_BY_MEMBER;
			bf_buf_reset(why);
			bf_buf_addf(why, "%s %s: on the disruptive list (%s)",
			    cp, bf_change_name(d->v[i].kind), m);
		} else if (s == BF_STRATEGY_ALL && (m = list_match(application,
		    cp, word, sizeof(word))) != NULL) {
			s = BF_STRATEGY_BY_FARM;
			bf_buf_addf(why, "%s %s: on the application list (%s)",
			    cp, bf_change_name(d->v[i].kind), m);
		}
	}
	if (s == BF_STRATEGY_ALL)
		bf_buf_adds(why, d->n == 0 ? "no package changes" :
		    "no change is on the disruptive or application list");
	return s;
}

void
bf_release_lists(const struct bf_repo *r, const char *profile,
    const char **disruptive, const char **application)
{
	char key[160];

	snprintf(key, sizeof(key), "disruptive.%s", profile);
	if ((*disruptive = bf_conf_get(&r->release, key)) == NULL &&
	    (*disruptive = bf_conf_get(&r->release, "disruptive")) == NULL)
		*disruptive = BF_RELEASE_DISRUPTIVE_DEFAULT;
	snprintf(key, sizeof(key), "application.%s", profile);
	if ((*application = bf_conf_get(&r->release, key)) == NULL &&
	    (*application = bf_conf_get(&r->release, "application")) == NULL)
		*application = BF_RELEASE_APPLICATION_DEFAULT;
}

/* ------------------------------------------------------------------ */
/* Operations on a repository.                                         */

int
bf_release_targets_from(struct bf_repo *r, struct bf_release *rel,
    const struct bf_nodes *ns, const char *from_channel, struct bf_err *e)
{
	char to[32], cur[32];
	size_t i;
	int rc;

	for (i = 0; i < ns->n; i++) {
		if (strcmp(ns->v[i].channel, rel->channel) != 0 ||
		    bf_release_target(rel, ns->v[i].profile) != NULL)
			continue;
		rc = bf_channel_get(r, from_channel, ns->v[i].profile, to, e);
		if (rc == -BF_ENOTFOUND) {
			bf_err_clear(e);
			continue;
		}
		if (rc < 0)
			return rc;
		rc = bf_channel_get(r, rel->channel, ns->v[i].profile, cur, e);
		if (rc == -BF_ENOTFOUND) {
			bf_err_clear(e);
			cur[0] = '\0';
		} else if (rc < 0)
			return rc;
		if ((rc = bf_release_add_target(rel, ns->v[i].profile, cur, to,
		    e)) < 0)
			return rc;
	}
	if (rel->ntargets == 0)
		return bf_err_set(e, BF_ENOTFOUND, "channel '%s' has nothing for "
		    "the profiles of channel '%s''s nodes", from_channel,
		    rel->channel);
	return 0;
}

int
bf_release_diff(struct bf_repo *r, const struct bf_release_target *t,
    struct bf_diff *d, struct bf_err *e)
{
	struct bf_pkgindex a, b;
	int rc;

	bf_pkgindex_init(&a);
	bf_pkgindex_init(&b);
	if ((rc = bf_snapshot_load_index(r, t->profile, t->to, &b, e)) == 0 &&
	    (t->from[0] == '\0' || (rc = bf_snapshot_load_index(r, t->profile,
	    t->from, &a, e)) == 0))
		rc = bf_diff_compute(&a, &b, d, e);
	bf_pkgindex_release(&a);
	bf_pkgindex_release(&b);
	return rc;
}

int
bf_release_next_id(struct bf_repo *r, unsigned long long *id,
    struct bf_err *e)
{
	const char *p, *end;
	unsigned long long v;
	char *data = NULL, *ep;
	size_t len = 0;
	int rc;

	*id = 1;
	rc = bf_read_file(r->root_fd, BF_RELEASES_LOG, &data, &len, e);
	if (rc == -ENOENT) {
		bf_err_clear(e);
		return 0;
	}
	if (rc < 0)
		return rc;
	/* Field 3 of each line: <unix>\t<utc>\t<id>\t... */
	for (p = data, end = data + len; p < end; p++) {
		if ((p = memchr(p, '\t', (size_t)(end - p))) == NULL ||
		    (p = memchr(p + 1, '\t', (size_t)(end - p - 1))) == NULL)
			break;
		v = strtoull(p + 1, &ep, 10);
		if (v >= *id)
			*id = v + 1;
		if ((p = memchr(ep, '\n', (size_t)(end - ep))) == NULL)
			break;
	}
	free(data);
	return 0;
}

static int
move_channels(struct bf_repo *r, struct bf_release *rel, int back,
    const char *by, struct bf_err *e)
{
	const struct bf_release_target *t;
	struct bf_move_opts mo;
	struct bf_move_result res;
	size_t i;
	int rc = 0;

	memset(&mo, 0, sizeof(mo));
	mo.allow_downgrade = back || rel->allow_downgrade;
	mo.by = by;
	for (i = 0; i < rel->ntargets && rc == 0; i++) {
		t = &rel->targets[i];
		if (back && t->from[0] == '\0')
			continue;	/* the channel had nothing before */
		rc = bf_repo_promote(r, t->profile, rel->channel,
		    back ? t->from : t->to, &mo, &res, e);
		bf_move_result_release(&res);
	}
	return rc;
}

static void
set_ended(struct bf_release *rel, enum bf_release_state st, const char *by)
{
	rel->state = st;
	rel->ended = (long long)time(NULL);
	snprintf(rel->ended_by, sizeof(rel->ended_by), "%s", by);
}

int
bf_release_finish(struct bf_repo *r, struct bf_release *rel, const char *by,
    struct bf_err *e)
{
	int rc;

	if (rel->state != BF_RELEASE_RUNNING)
		return bf_err_set(e, BF_ECONFLICT, "release %llu of '%s' is %s, "
		    "not running", rel->id, rel->channel,
		    bf_release_state_name(rel->state));
	if ((rc = move_channels(r, rel, 0, by, e)) < 0)
		return rc;
	set_ended(rel, BF_RELEASE_DONE, by);
	return bf_release_save(r, rel, "finish", by, e);
}

int
bf_release_rollback(struct bf_repo *r, struct bf_release *rel, const char *by,
    struct bf_err *e)
{
	int rc;

	if (rel->state == BF_RELEASE_ROLLED_BACK)
		return bf_err_set(e, BF_ECONFLICT, "release %llu of '%s' is "
		    "already rolled back", rel->id, rel->channel);
	if (rel->state == BF_RELEASE_DONE &&
	    (rc = move_channels(r, rel, 1, by, e)) < 0)
		return rc;
	set_ended(rel, BF_RELEASE_ROLLED_BACK, by);
	return bf_release_save(r, rel, "rollback", by, e);
}

/* An operator's action on a release (release.h). */
int
bf_release_act(struct bf_repo *r, struct bf_release *rel,
    const struct bf_fetches *f, const char *sub, const char *who,
    struct bf_err *e)
{
	size_t open = bf_release_open_waves(rel, f), w;

	if (strcmp(sub, "rollback") == 0)
		return bf_release_rollback(r, rel, who, e);
	if (strcmp(sub, "finish") == 0)
		return bf_release_complete(rel, f) ?
		    bf_release_finish(r, rel, who, e) :
		    bf_err_set(e, BF_ECONFLICT, "release %llu of '%s' has "
		    "waves not done (binfarm release status)", rel->id,
		    rel->channel);
	if (!bf_release_active(rel))
		return bf_err_set(e, BF_ECONFLICT, "release %llu of '%s' is %s",
		    rel->id, rel->channel, bf_release_state_name(rel->state));
	if (strcmp(sub, "pause") == 0) {
		if (rel->state == BF_RELEASE_PAUSED)
			return bf_err_set(e, BF_ECONFLICT, "already paused");
		rel->state = BF_RELEASE_PAUSED;
		rel->paused_open = open;
	} else if (strcmp(sub, "resume") == 0) {
		if (rel->state != BF_RELEASE_PAUSED)
			return bf_err_set(e, BF_ECONFLICT, "not paused");
		rel->state = BF_RELEASE_RUNNING;
		rel->paused_open = 0;
	} else if (strcmp(sub, "advance") == 0) {
		for (w = 0; w < rel->nwaves && bf_release_wave_done(rel, w, f);
		    w++)
			;
		if (w == rel->nwaves)
			return bf_err_set(e, BF_ECONFLICT, "every wave is done");
		rel->waves[w].advanced = (long long)time(NULL);
		snprintf(rel->waves[w].advanced_by,
		    sizeof(rel->waves[w].advanced_by), "%s", who);
		if (rel->state == BF_RELEASE_PAUSED && rel->paused_open < w + 2)
			rel->paused_open = w + 2 < rel->nwaves ? w + 2 :
			    rel->nwaves;
	} else
		return bf_err_set(e, BF_EUSAGE, "no action '%s' (pause, resume, "
		    "advance, rollback, finish)", sub);
	return bf_release_save(r, rel, sub, who, e);
}
