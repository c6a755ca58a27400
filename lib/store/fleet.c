/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fleet/nodes.state: what each node fetched (see fleet.h).  Read by the
 * binhost at start and by `binfarm fleet` and `binfarm release`;
 * written only by the binhost.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/fleet.h"
#include "store/nodes.h"
#include "store/repo.h"
#include "base/banned.h"

#define NFIELDS	9

void
bf_fetches_release(struct bf_fetches *f)
{
	free(f->v);
	f->v = NULL;
	f->n = f->alloc = 0;
	bf_map_release(&f->by_node);
}

struct bf_fetch *
bf_fetches_find(const struct bf_fetches *f, const char *node)
{
	size_t i;

	return bf_map_get(&f->by_node, node, &i) == 1 ? &f->v[i] : NULL;
}

struct bf_fetch *
bf_fetches_add(struct bf_fetches *f, const char *node)
{
	struct bf_fetch *r;

	if (strlen(node) >= sizeof(r->node) ||
	    bf_grow(&f->v, &f->alloc, f->n + 1, sizeof(*f->v), 16) < 0 ||
	    bf_map_put(&f->by_node, node, f->n) < 0)
		return NULL;
	r = &f->v[f->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->node, node, strlen(node) + 1);
	return r;
}

static int
num(const char *s, long long *out)
{
	char *ep;

	errno = 0;
	*out = strtoll(s, &ep, 10);
	return errno != 0 || ep == s || *ep != '\0' || *out < 0 ? -1 : 0;
}

/* One record from its nine fields; 0 or -1 (the reason in *why). */
static int
parse_fields(char **fl, struct bf_fetch *r, const char **why)
{
	long long v[5];
	int i;

	memset(r, 0, sizeof(*r));
	*why = "a bad node name";
	if (!bf_node_name_valid(fl[0]) || bf_str_copy(r->node, sizeof(r->node),
	    fl[0]) < 0)
		return -1;
	*why = "a bad profile or channel name";
	if (!bf_repo_name_valid(fl[1]) || !bf_repo_name_valid(fl[2]) ||
	    bf_str_copy(r->profile, sizeof(r->profile), fl[1]) < 0 ||
	    bf_str_copy(r->channel, sizeof(r->channel), fl[2]) < 0)
		return -1;
	*why = "a bad snapshot id";
	if (strcmp(fl[3], "-") != 0 && (!bf_snapshot_id_valid(fl[3]) ||
	    bf_str_copy(r->snapshot, sizeof(r->snapshot), fl[3]) < 0))
		return -1;
	*why = "a bad number";
	for (i = 0; i < 5; i++)
		if (num(fl[4 + i], &v[i]) < 0)
			return -1;
	r->fetched = v[0];
	r->since = v[1];
	r->files = (unsigned long long)v[2];
	r->bytes = (unsigned long long)v[3];
	r->last_file = v[4];
	return 0;
}

int
bf_fetches_parse(struct bf_fetches *f, const char *file, const char *text,
    size_t len, struct bf_err *e)
{
	struct bf_buf line = BF_BUF_INIT;
	const char *p = text, *end = text + len, *eol, *why;
	char *fl[NFIELDS + 1], *s;
	unsigned lineno = 0;
	struct bf_fetch r;
	size_t k;
	int rc = 0;

	for (; p < end && rc == 0; p = eol + 1) {
		lineno++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (eol == p || *p == '#')
			continue;
		bf_buf_reset(&line);
		bf_buf_add(&line, p, (size_t)(eol - p));
		if (bf_buf_error(&line))
			return bf_err_nomem(e);
		for (k = 0, s = line.buf; k <= NFIELDS && s != NULL; k++) {
			fl[k] = s;
			if ((s = strchr(s, '\t')) != NULL)
				*s++ = '\0';
		}
		if (k != NFIELDS || s != NULL)
			rc = bf_err_set(e, BF_ECONFIG, "%s:%u: %u fields, not %d",
			    file, lineno, (unsigned)k, NFIELDS);
		else if (parse_fields(fl, &r, &why) < 0)
			rc = bf_err_set(e, BF_ECONFIG, "%s:%u: %s", file,
			    lineno, why);
		else if (bf_fetches_find(f, r.node) != NULL)
			rc = bf_err_set(e, BF_ECONFIG, "%s:%u: node '%s' twice",
			    file, lineno, r.node);
		else if (bf_fetches_add(f, r.node) == NULL)
			rc = bf_err_nomem(e);
		else
			f->v[f->n - 1] = r;
	}
	bf_buf_release(&line);
	return rc;
}

int
bf_fetches_load(int dirfd, struct bf_fetches *f, struct bf_err *e)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = bf_read_file(dirfd, BF_FLEET_DIR "/" BF_FLEET_STATE, &data, &len,
	    e);
	if (rc == -ENOENT) {
		bf_err_clear(e);
		return 0;
	}
	if (rc == 0)
		rc = bf_fetches_parse(f, BF_FLEET_DIR "/" BF_FLEET_STATE, data,
		    len, e);
	free(data);
	return rc;
}

void
bf_fetch_format(const struct bf_fetch *r, struct bf_buf *out)
{
	bf_buf_addf(out, "%s\t%s\t%s\t%s\t%lld\t%lld\t%llu\t%llu\t%lld\n",
	    r->node, r->profile, r->channel,
	    r->snapshot[0] != '\0' ? r->snapshot : "-", r->fetched, r->since,
	    r->files, r->bytes, r->last_file);
}

int
bf_fetches_save(int dirfd, const struct bf_fetches *f, struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf b = BF_BUF_INIT;
	size_t i;
	int rc;

	if ((rc = bf_mkdirs(dirfd, BF_FLEET_DIR, 0755, NULL, e)) < 0)
		return rc;
	bf_buf_adds(&b, BF_FLEET_MAGIC "\n");
	for (i = 0; i < f->n; i++)
		bf_fetch_format(&f->v[i], &b);
	if (bf_buf_error(&b)) {
		bf_buf_release(&b);
		return bf_err_nomem(e);
	}
	if ((rc = bf_lockfile_open(&lf, dirfd, BF_FLEET_DIR "/" BF_FLEET_STATE,
	    0644, e)) == 0) {
		bf_lockfile_write(&lf, b.buf, b.len);
		rc = bf_lockfile_commit(&lf, -1, e);
	}
	bf_lockfile_rollback(&lf);
	bf_buf_release(&b);
	return rc;
}
