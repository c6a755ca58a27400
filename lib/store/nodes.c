/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory of nodes: nodes.conf, parsed with base/conf.c's INI
 * reader, checked as a whole (names, farms numbered 1..n), and written
 * back atomically under the repository's writer lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/nodes.h"
#include "store/repo.h"
#include "base/banned.h"

#define NAME_RULE	"letters, digits, '.', '_' and '-', at most 64, " \
			"not starting with '.' or '-'"
#define GAP_RULE	"members are numbered from 1 without a gap"

/* The keys of a node's section, in the order they are written. */
enum nkey { K_SITE, K_FARM, K_MEMBER, K_PROFILE, K_CHANNEL, K_TOKEN, K_N };

static const char *const key_names[K_N] = {
	"site", "farm", "member", "profile", "channel", "token-sha256",
};

/* A user's value, escaped and cut short, for a message. */
struct qbuf {
	char	s[4][96];
	int	i;
};

static const char *
q(struct qbuf *qb, const char *s)
{
	char *d = qb->s[qb->i++ & 3];

	bf_escape_line(d, sizeof(qb->s[0]), s != NULL ? s : "");
	return d;
}

static void
node_release(struct bf_node *nd)
{
	free(nd->name);
	free(nd->site);
	free(nd->farm);
	free(nd->profile);
	free(nd->channel);
	memset(nd, 0, sizeof(*nd));
}

void
bf_nodes_release(struct bf_nodes *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		node_release(&ns->v[i]);
	free(ns->v);
	free(ns->file);
	ns->v = NULL;
	ns->file = NULL;
	ns->n = ns->alloc = 0;
}

int
bf_node_name_valid(const char *s)
{
	size_t n;

	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' &&
		    s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	return n <= BF_NODE_NAME_MAX;
}

static int
sha_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' &&
		    s[n] <= 'f')))
			return 0;
	return n == BF_NODE_TOKEN_HEX;
}

/* A member number: decimal digits, no sign, no leading zero; else 0. */
static long
member_parse(const char *s)
{
	long v = 0;

	if (*s < '1' || *s > '9')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
		if (v > BF_NODE_MEMBER_MAX)
			return 0;
	}
	return v;
}

/* "file:line: ", "file: " or "" before a message about node `nd`. */
static void
where(struct bf_buf *b, const struct bf_nodes *ns, const struct bf_node *nd)
{
	if (ns->file != NULL && nd != NULL && nd->line > 0)
		bf_buf_addf(b, "%s:%u: ", ns->file, nd->line);
	else if (ns->file != NULL)
		bf_buf_addf(b, "%s: ", ns->file);
}

/* ------------------------------------------------------------------ */
/* Order and the whole inventory's rules.                              */

static int
farm_cmp(const struct bf_node *a, const struct bf_node *b)
{
	int c;

	if ((c = strcmp(a->site, b->site)) != 0)
		return c;
	return strcmp(a->farm, b->farm);
}

static int
node_cmp(const void *pa, const void *pb)
{
	const struct bf_node *a = pa, *b = pb;
	int c;

	if ((c = farm_cmp(a, b)) != 0)
		return c;
	if (a->member != b->member)
		return a->member < b->member ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int
nodep_cmp(const void *pa, const void *pb)
{
	return node_cmp(*(const struct bf_node *const *)pa,
	    *(const struct bf_node *const *)pb);
}

static int
namep_cmp(const void *pa, const void *pb)
{
	const struct bf_node *a = *(const struct bf_node *const *)pa;
	const struct bf_node *b = *(const struct bf_node *const *)pb;
	int c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

void
bf_nodes_sort(struct bf_nodes *ns)
{
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), node_cmp);
}

struct bf_node *
bf_nodes_find(const struct bf_nodes *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i].name, name) == 0)
			return &ns->v[i];
	return NULL;
}

static int
check_fail(const struct bf_nodes *ns, const struct bf_node *nd, int code,
    struct bf_buf *msg, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	int rc;

	where(&b, ns, nd);
	bf_buf_add(&b, msg->buf, msg->len);
	if (bf_buf_error(&b) < 0 || bf_buf_error(msg) < 0)
		rc = bf_err_nomem(e);
	else
		rc = bf_err_set(e, code, "%s", b.buf);
	bf_buf_release(&b);
	return rc;
}

/* Two nodes with one name. */
static int
check_names(const struct bf_nodes *ns, const struct bf_node **p,
    struct bf_err *e)
{
	struct bf_buf msg = BF_BUF_INIT;
	struct qbuf qb = { .i = 0 };
	size_t i;
	int rc = 0;

	qsort(p, ns->n, sizeof(*p), namep_cmp);
	for (i = 1; i < ns->n; i++) {
		if (strcmp(p[i - 1]->name, p[i]->name) != 0)
			continue;
		bf_buf_addf(&msg, "node '%s' is named twice",
		    q(&qb, p[i]->name));
		if (p[i - 1]->line > 0)
			bf_buf_addf(&msg, " (also on line %u)", p[i - 1]->line);
		rc = check_fail(ns, p[i], BF_ECONFIG, &msg, e);
		break;
	}
	bf_buf_release(&msg);
	return rc;
}

/* Every farm's members are 1..n: no gap, no number twice. */
static int
check_farms(const struct bf_nodes *ns, const struct bf_node **p,
    struct bf_err *e)
{
	struct bf_buf msg = BF_BUF_INIT;
	struct qbuf qb = { .i = 0 };
	long want = 1;
	size_t i;
	int rc = 0;

	qsort(p, ns->n, sizeof(*p), nodep_cmp);
	for (i = 0; i < ns->n && rc == 0; i++) {
		if (i == 0 || farm_cmp(p[i - 1], p[i]) != 0)
			want = 1;
		if (p[i]->member == want) {
			want++;
			continue;
		}
		bf_buf_addf(&msg, "farm '%s' of site '%s': ",
		    q(&qb, p[i]->farm), q(&qb, p[i]->site));
		if (p[i]->member < want)
			bf_buf_addf(&msg, "member %ld is given twice (nodes "
			    "'%s' and '%s')", p[i]->member,
			    q(&qb, p[i - 1]->name), q(&qb, p[i]->name));
		else
			bf_buf_addf(&msg, "member %ld is missing (%s; node "
			    "'%s' is member %ld)", want, GAP_RULE,
			    q(&qb, p[i]->name), p[i]->member);
		rc = check_fail(ns, p[i], BF_ECONFIG, &msg, e);
	}
	bf_buf_release(&msg);
	return rc;
}

/* The values of one node (a parsed one is checked as it is read). */
static int
check_values(const struct bf_nodes *ns, const struct bf_node *nd, int code,
    struct bf_err *e)
{
	struct bf_buf msg = BF_BUF_INIT;
	struct qbuf qb = { .i = 0 };
	int rc = 0;

	if (!bf_node_name_valid(nd->name))
		bf_buf_addf(&msg, "invalid node name '%s' (%s)",
		    q(&qb, nd->name), NAME_RULE);
	else if (!bf_node_name_valid(nd->site))
		bf_buf_addf(&msg, "node '%s': invalid site name '%s' (%s)",
		    nd->name, q(&qb, nd->site), NAME_RULE);
	else if (!bf_node_name_valid(nd->farm))
		bf_buf_addf(&msg, "node '%s': invalid farm name '%s' (%s)",
		    nd->name, q(&qb, nd->farm), NAME_RULE);
	else if (nd->member < 1 || nd->member > BF_NODE_MEMBER_MAX)
		bf_buf_addf(&msg, "node '%s': member %ld is not a number from "
		    "1 to %d", nd->name, nd->member, BF_NODE_MEMBER_MAX);
	else if (!bf_repo_name_valid(nd->profile))
		bf_buf_addf(&msg, "node '%s': invalid profile name '%s'",
		    nd->name, q(&qb, nd->profile));
	else if (!bf_repo_name_valid(nd->channel))
		bf_buf_addf(&msg, "node '%s': invalid channel name '%s'",
		    nd->name, q(&qb, nd->channel));
	else if (!sha_valid(nd->token_sha256))
		bf_buf_addf(&msg, "node '%s': token-sha256 is not 64 "
		    "lower-case hex digits", nd->name);
	if (msg.len > 0 || bf_buf_error(&msg) < 0)
		rc = check_fail(ns, nd, code, &msg, e);
	bf_buf_release(&msg);
	return rc;
}

int
bf_nodes_check(const struct bf_nodes *ns, struct bf_err *e)
{
	const struct bf_node **p;
	size_t i;
	int rc = 0;

	for (i = 0; i < ns->n; i++)
		if ((rc = check_values(ns, &ns->v[i], BF_ECONFIG, e)) < 0)
			return rc;
	if (ns->n == 0)
		return 0;
	if ((p = calloc(ns->n, sizeof(*p))) == NULL)
		return bf_err_nomem(e);
	for (i = 0; i < ns->n; i++)
		p[i] = &ns->v[i];
	if ((rc = check_names(ns, p, e)) == 0)
		rc = check_farms(ns, p, e);
	free(p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing.                                                            */

/* A "[...]" line: where it is and what it says between the brackets. */
struct header {
	unsigned	 line;
	char		*text;		/* NULL if malformed: conf.c says so */
};

struct parse {
	struct bf_nodes	*ns;
	struct header	*h;
	size_t		 nh;
	size_t		 hdr_alloc;
	size_t		 next;		/* the next header to enter */
	long		 cur;		/* node of the current section, or -1 */
	unsigned	 keyline[K_N];	/* where each key of it was set */
};

#define ISSP(c)	((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\f' || \
		 (c) == '\v')

/*
 * Finds the section headers, as conf.c reads them, with their line
 * numbers: the INI callback sees only keys, and a section without keys
 * or one given twice must be seen too.
 */
static int
find_headers(struct parse *ps, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl, *s, *t;
	unsigned line = 0;
	struct header *h;

	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (s = p; s < nl && ISSP(*s); s++)
			;
		for (t = nl; t > s && ISSP(t[-1]); t--)
			;
		if (s == t || *s != '[')
			continue;
		if (bf_grow(&ps->h, &ps->hdr_alloc, ps->nh + 1, sizeof(*ps->h),
		    16) < 0)
			return -ENOMEM;
		h = &ps->h[ps->nh++];
		h->line = line;
		h->text = NULL;
		if (t - s < 3 || t[-1] != ']' || memchr(s, '\0',
		    (size_t)(t - s)) != NULL)
			continue;
		for (s++, t--; s < t && ISSP(*s); s++)
			;
		for (; t > s && ISSP(t[-1]); t--)
			;
		if ((h->text = malloc((size_t)(t - s) + 1)) == NULL)
			return -ENOMEM;
		memcpy(h->text, s, (size_t)(t - s));
		h->text[t - s] = '\0';
	}
	return 0;
}

/* The section just left must have had every key. */
static int
section_end(struct parse *ps, struct bf_err *e)
{
	struct bf_node *nd;
	int k;

	if (ps->cur < 0)
		return 0;
	nd = &ps->ns->v[ps->cur];
	for (k = 0; k < K_N; k++)
		if (ps->keyline[k] == 0)
			return bf_err_set(e, BF_ECONFIG, "%s:%u: node '%s' has "
			    "no '%s'", ps->ns->file, nd->line, nd->name,
			    key_names[k]);
	ps->cur = -1;
	return 0;
}

/* Enters the section of header `h`: "[node NAME]". */
static int
section_begin(struct parse *ps, const struct header *h, struct bf_err *e)
{
	struct bf_nodes *ns = ps->ns;
	struct qbuf qb = { .i = 0 };
	struct bf_node *nd;
	const char *name;
	int rc;

	if ((rc = section_end(ps, e)) < 0)
		return rc;
	if (h->text == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: invalid section "
		    "header", ns->file, h->line);
	if (strncmp(h->text, "node", 4) != 0 || !ISSP(h->text[4]))
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown section "
		    "'[%s]' (a node's section is [node NAME])", ns->file,
		    h->line, q(&qb, h->text));
	for (name = h->text + 4; ISSP(*name); name++)
		;
	if (!bf_node_name_valid(name))
		return bf_err_set(e, BF_ECONFIG, "%s:%u: invalid node name "
		    "'%s' (%s)", ns->file, h->line, q(&qb, name), NAME_RULE);
	if (bf_grow(&ns->v, &ns->alloc, ns->n + 1, sizeof(*ns->v), 16) < 0)
		return bf_err_nomem(e);
	nd = &ns->v[ns->n];
	memset(nd, 0, sizeof(*nd));
	if ((nd->name = strdup(name)) == NULL)
		return bf_err_nomem(e);
	nd->line = h->line;
	ps->cur = (long)ns->n++;
	memset(ps->keyline, 0, sizeof(ps->keyline));
	return 0;
}

/* Enters every section that starts before `line`. */
static int
sections_upto(struct parse *ps, unsigned line, struct bf_err *e)
{
	int rc;

	while (ps->next < ps->nh && ps->h[ps->next].line < line)
		if ((rc = section_begin(ps, &ps->h[ps->next++], e)) < 0)
			return rc;
	return 0;
}

static int
set_value(struct bf_node *nd, enum nkey k, const char *v, const char *file,
    unsigned line, struct bf_err *e)
{
	struct qbuf qb = { .i = 0 };
	const char *what = NULL;
	char **dst = NULL;

	switch (k) {
	case K_SITE:
	case K_FARM:
		if (!bf_node_name_valid(v))
			what = NAME_RULE;
		dst = k == K_SITE ? &nd->site : &nd->farm;
		break;
	case K_MEMBER:
		if ((nd->member = member_parse(v)) == 0)
			return bf_err_set(e, BF_ECONFIG, "%s:%u: member must "
			    "be a whole number from 1 to %d, not '%s'", file,
			    line, BF_NODE_MEMBER_MAX, q(&qb, v));
		return 0;
	case K_PROFILE:
	case K_CHANNEL:
		if (!bf_repo_name_valid(v))
			what = "letters, digits, '.', '_', '+' and '-', not "
			    "starting with '.' or '-'";
		dst = k == K_PROFILE ? &nd->profile : &nd->channel;
		break;
	case K_TOKEN:
		if (!sha_valid(v))
			return bf_err_set(e, BF_ECONFIG, "%s:%u: token-sha256 "
			    "must be 64 lower-case hex digits (the SHA-256 of "
			    "the node's token)", file, line);
		memcpy(nd->token_sha256, v, BF_NODE_TOKEN_HEX + 1);
		return 0;
	case K_N:
		break;
	}
	if (what != NULL)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: invalid %s '%s' (%s)",
		    file, line, key_names[k], q(&qb, v), what);
	if (dst == NULL || (*dst = strdup(v)) == NULL)
		return bf_err_nomem(e);
	return 0;
}

static int
ini_cb(void *ctx, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct parse *ps = ctx;
	struct qbuf qb = { .i = 0 };
	struct bf_node *nd;
	int rc, k;

	(void)section;
	if ((rc = sections_upto(ps, line, e)) < 0)
		return rc;
	if (ps->cur < 0)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: '%s' outside a "
		    "[node NAME] section", file, line, q(&qb, key));
	nd = &ps->ns->v[ps->cur];
	if (value == NULL)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: no '=' after '%s'",
		    file, line, q(&qb, key));
	for (k = 0; k < K_N; k++)
		if (strcmp(key, key_names[k]) == 0)
			break;
	if (k == K_N)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: unknown key '%s' in "
		    "node '%s'", file, line, q(&qb, key), nd->name);
	if (ps->keyline[k] != 0)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: '%s' of node '%s' is "
		    "set twice (first on line %u)", file, line, key_names[k],
		    nd->name, ps->keyline[k]);
	ps->keyline[k] = line;
	return set_value(nd, (enum nkey)k, value, file, line, e);
}

int
bf_nodes_parse(struct bf_nodes *ns, const char *file, const char *text,
    size_t len, struct bf_err *e)
{
	struct parse ps;
	size_t i;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.ns = ns;
	ps.cur = -1;
	free(ns->file);
	if ((ns->file = strdup(file)) == NULL)
		return bf_err_nomem(e);
	if ((rc = find_headers(&ps, text, len)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = bf_conf_parse_ini(ns->file, text, len, ini_cb, &ps, e)) != 0)
		goto out;
	if ((rc = sections_upto(&ps, (unsigned)-1, e)) < 0 ||
	    (rc = section_end(&ps, e)) < 0)
		goto out;
	rc = bf_nodes_check(ns, e);
out:
	for (i = 0; i < ps.nh; i++)
		free(ps.h[i].text);
	free(ps.h);
	return rc < 0 ? rc : 0;
}

int
bf_nodes_load(struct bf_repo *r, struct bf_nodes *ns, struct bf_err *e)
{
	struct stat st;
	char *path, *data = NULL;
	size_t len = 0;
	int rc;

	if ((path = bf_repo_path(r, BF_NODES_FILE)) == NULL)
		return bf_err_nomem(e);
	if (fstatat(r->root_fd, BF_NODES_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT) {
		/* No inventory yet: no nodes. */
		free(ns->file);
		ns->file = path;
		return 0;
	}
	/*
	 * Beneath the root's descriptor: a binhost that dropped root reads
	 * it even where it could not walk the path to the root any more.
	 */
	if ((rc = bf_read_file(r->root_fd, BF_NODES_FILE, &data, &len,
	    e)) == 0)
		rc = bf_nodes_parse(ns, path, data, len, e);
	free(path);
	free(data);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Writing.                                                            */

/* Removes what a killed writer of nodes.conf left (the lock is held). */
static int
clean_leftovers(struct bf_repo *r, struct bf_err *e)
{
	static const char pfx[] = "." BF_NODES_FILE ".tmp-";
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = bf_list_dir(r->root_fd, ".", &names, &n)) < 0)
		return bf_err_set(e, -rc, "cannot list '%s': %s", r->root,
		    strerror(-rc));
	for (i = 0; i < n; i++)
		if (strncmp(names[i], pfx, sizeof(pfx) - 1) == 0 &&
		    bf_lockfile_is_temp(names[i]) &&
		    unlinkat(r->root_fd, names[i], 0) < 0 && errno != ENOENT) {
			rc = bf_err_errno(e, "cannot remove '%s/%s'", r->root,
			    names[i]);
			break;
		}
	bf_names_free(names, n);
	return rc;
}

static void
format_nodes(const struct bf_nodes *ns, struct bf_buf *b)
{
	const struct bf_node *nd;
	size_t i;

	bf_buf_adds(b, "# The inventory of nodes: binfarm-nodes.conf(5).\n"
	    "# binfarm node add/remove rewrite this file, sorted by site,\n"
	    "# farm and member; comments are not kept.\n");
	for (i = 0; i < ns->n; i++) {
		nd = &ns->v[i];
		bf_buf_addf(b, "\n[node %s]\nsite = %s\nfarm = %s\n"
		    "member = %ld\nprofile = %s\nchannel = %s\n"
		    "token-sha256 = %s\n", nd->name, nd->site, nd->farm,
		    nd->member, nd->profile, nd->channel, nd->token_sha256);
	}
}

int
bf_nodes_save(struct bf_repo *r, struct bf_nodes *ns, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT;
	int rc;

	if (r->lock_fd < 0)
		return bf_err_set(e, BF_EUSAGE, "writing %s without the "
		    "repository's lock", BF_NODES_FILE);
	bf_nodes_sort(ns);
	if ((rc = bf_nodes_check(ns, e)) < 0)
		return rc;
	format_nodes(ns, &b);
	if (bf_buf_error(&b) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = clean_leftovers(r, e)) < 0 || (rc = bf_lockfile_open(&lf,
	    r->root_fd, BF_NODES_FILE, 0644, e)) < 0)
		goto out;
	bf_lockfile_write(&lf, b.buf, b.len);
	rc = bf_lockfile_commit(&lf, -1, e);
out:
	bf_lockfile_rollback(&lf);
	bf_buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Adding and removing.                                                */

/* How many members the farm of `nd` has (the inventory being valid). */
static long
farm_size(const struct bf_nodes *ns, const struct bf_node *nd)
{
	long n = 0;
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (&ns->v[i] != nd && farm_cmp(&ns->v[i], nd) == 0)
			n++;
	return n;
}

static int
node_copy(struct bf_node *dst, const struct bf_node *src)
{
	memset(dst, 0, sizeof(*dst));
	if ((dst->name = strdup(src->name)) == NULL ||
	    (dst->site = strdup(src->site)) == NULL ||
	    (dst->farm = strdup(src->farm)) == NULL ||
	    (dst->profile = strdup(src->profile)) == NULL ||
	    (dst->channel = strdup(src->channel)) == NULL) {
		node_release(dst);
		return -ENOMEM;
	}
	dst->member = src->member;
	memcpy(dst->token_sha256, src->token_sha256, sizeof(dst->token_sha256));
	return 0;
}

/* May `nd` join its farm as member nd->member (0: the next one)? */
static int
add_member(const struct bf_nodes *ns, struct bf_node *nd, struct bf_err *e)
{
	struct qbuf qb = { .i = 0 };
	long n = farm_size(ns, nd);
	size_t i;

	if (nd->member == 0)
		nd->member = n + 1;
	if (nd->member > n + 1)
		return bf_err_set(e, BF_ECONFLICT, "farm '%s' of site '%s' has "
		    "%ld member(s): the next is member %ld, not %ld (%s)",
		    q(&qb, nd->farm), q(&qb, nd->site), n, n + 1, nd->member,
		    GAP_RULE);
	for (i = 0; i < ns->n; i++)
		if (farm_cmp(&ns->v[i], nd) == 0 &&
		    ns->v[i].member == nd->member)
			return bf_err_set(e, BF_ECONFLICT, "farm '%s' of site "
			    "'%s' already has member %ld: node '%s' (the next "
			    "is member %ld)", q(&qb, nd->farm),
			    q(&qb, nd->site), nd->member, ns->v[i].name, n + 1);
	return 0;
}

int
bf_nodes_add(struct bf_nodes *ns, struct bf_repo *r,
    const struct bf_node *nd, struct bf_err *e)
{
	struct bf_node probe = *nd, cp;
	struct bf_nodes one = { &probe, 1, 1, NULL };
	const struct bf_node *old;
	int rc;

	/* A member 0 is "the next one": any number passes here. */
	if (probe.member == 0)
		probe.member = 1;
	if ((rc = check_values(&one, &probe, BF_EUSAGE, e)) < 0)
		return rc;
	if ((old = bf_nodes_find(ns, nd->name)) != NULL)
		return bf_err_set(e, BF_ECONFLICT, "node '%s' is already in "
		    "the inventory (site '%s', farm '%s', member %ld)",
		    nd->name, old->site, old->farm, old->member);
	if (r != NULL && !bf_repo_profile_exists(r, nd->profile))
		return bf_err_set(e, BF_ENOTFOUND, "no profile '%s' in this "
		    "repository (neither snapshots/%s nor pool/%s exists: add "
		    "its packages first)", nd->profile, nd->profile,
		    nd->profile);
	if (node_copy(&cp, nd) < 0)
		return bf_err_nomem(e);
	if ((rc = add_member(ns, &cp, e)) == 0 &&
	    bf_grow(&ns->v, &ns->alloc, ns->n + 1, sizeof(*ns->v), 16) < 0)
		rc = bf_err_nomem(e);
	if (rc < 0) {
		node_release(&cp);
		return rc;
	}
	ns->v[ns->n++] = cp;
	return 0;
}

int
bf_nodes_remove(struct bf_nodes *ns, const char *name, int force,
    bf_nodes_renumber_cb cb, void *arg, struct bf_err *e)
{
	struct qbuf qb = { .i = 0 };
	struct bf_node *nd;
	char higher[64];
	size_t i, at;
	long n, from;

	if ((nd = bf_nodes_find(ns, name)) == NULL)
		return bf_err_set(e, BF_ENOTFOUND, "no node '%s' in the "
		    "inventory", q(&qb, name));
	n = farm_size(ns, nd) + 1;
	if (nd->member < n && !force) {
		if (nd->member + 1 == n)
			snprintf(higher, sizeof(higher), "member %ld", n);
		else
			snprintf(higher, sizeof(higher), "members %ld..%ld",
			    nd->member + 1, n);
		return bf_err_set(e, BF_ECONFLICT, "removing node '%s' would "
		    "leave a gap in farm '%s' of site '%s': it is member %ld "
		    "of %ld (%s); remove member %ld first, or use --force to "
		    "number %s down by one", nd->name, nd->farm, nd->site,
		    nd->member, n, GAP_RULE, n, higher);
	}
	bf_nodes_sort(ns);
	nd = bf_nodes_find(ns, name);
	at = (size_t)(nd - ns->v);
	for (i = at + 1; i < ns->n && farm_cmp(&ns->v[i], nd) == 0; i++) {
		from = ns->v[i].member--;
		if (cb != NULL)
			cb(arg, &ns->v[i], from);
	}
	node_release(nd);
	memmove(&ns->v[at], &ns->v[at + 1], (ns->n - at - 1) * sizeof(*ns->v));
	ns->n--;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tokens.                                                             */

int
bf_node_token_hash(const char *token, char sha256[BF_NODE_TOKEN_HEX + 1],
    struct bf_err *e)
{
	struct bf_digest d;
	int rc;

	if ((rc = bf_digest_mem(&d, BF_DIGEST_BIT(BF_SHA256), token,
	    strlen(token), e)) < 0)
		return rc;
	memcpy(sha256, d.hex[BF_SHA256], BF_NODE_TOKEN_HEX);
	sha256[BF_NODE_TOKEN_HEX] = '\0';
	return 0;
}

int
bf_node_token_new(char token[BF_NODE_TOKEN_HEX + 1],
    char sha256[BF_NODE_TOKEN_HEX + 1], struct bf_err *e)
{
	int rc;

	if ((rc = bf_random_hex(token, BF_NODE_TOKEN_HEX / 2)) < 0)
		return bf_err_set(e, -rc, "cannot get random bytes for a "
		    "token: %s", strerror(-rc));
	return bf_node_token_hash(token, sha256, e);
}

int
bf_nodes_retoken(struct bf_nodes *ns, const char *name,
    char token[BF_NODE_TOKEN_HEX + 1], struct bf_err *e)
{
	char sha[BF_NODE_TOKEN_HEX + 1];
	struct qbuf qb = { .i = 0 };
	struct bf_node *nd;
	int rc;

	if ((nd = bf_nodes_find(ns, name)) == NULL)
		return bf_err_set(e, BF_ENOTFOUND, "no node '%s' in the "
		    "inventory", q(&qb, name));
	if ((rc = bf_node_token_new(token, sha, e)) < 0)
		return rc;
	memcpy(nd->token_sha256, sha, sizeof(sha));
	return 0;
}

int
bf_node_token_matches(const struct bf_node *nd, const char *token)
{
	char sha[BF_NODE_TOKEN_HEX + 1];
	unsigned char diff = 0;
	size_t i;

	if (bf_node_token_hash(token, sha, NULL) < 0)
		return 0;
	for (i = 0; i < BF_NODE_TOKEN_HEX; i++)
		diff |= (unsigned char)(sha[i] ^ nd->token_sha256[i]);
	return diff == 0;
}
