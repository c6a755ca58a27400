/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's pages of the repository the builder publishes to:
 * a profile's snapshots and channels, the diff between any two
 * snapshots, and promotion of a snapshot to a channel, as `binfarm
 * promote` does it (the channel's waves in order, the downgrade guard,
 * history.log recording who), after a confirmation page.  Each request
 * opens the repository on its own (its own lock descriptor); names
 * from the request are checked before any path is made of them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "format/pkgindex.h"
#include "store/channel.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "builder.h"
#include "console.h"
#include "base/banned.h"

/* A configured profile named by the request, or NULL after an error page. */
static const char *
want_profile(struct cpage *p, const char *name)
{
	if (name == NULL || *name == '\0')
		name = p->b->cfg.nprofiles > 0 ? p->b->cfg.profiles[0].name :
		    NULL;
	if (name == NULL || !bf_repo_name_valid(name) ||
	    bcfg_profile(&p->b->cfg, name) == NULL) {
		cp_error(p, 404, "no such profile in builder.conf");
		return NULL;
	}
	return bcfg_profile(&p->b->cfg, name)->name;
}

struct bf_repo *
console_repo_open(struct cpage *p)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r = NULL;
	int rc;

	if ((rc = bf_repo_open(&r, p->b->cfg.repository, &e)) < 0) {
		cp_error(p, 500, bf_err_msg(&e, rc));
		return NULL;
	}
	return r;
}

/* The channels of a profile: "name=id" each, in `chans`. */
struct chan_list {
	const char	*profile;
	struct bf_strv	 v;
};

static int
chan_cb(void *arg, const char *channel, const char *profile, const char *id)
{
	struct chan_list *l = arg;
	struct bf_buf s = BF_BUF_INIT;

	if (strcmp(profile, l->profile) == 0 && id != NULL) {
		bf_buf_addf(&s, "%s=%s", channel, id);
		bf_strv_push(&l->v, s.buf);
	}
	bf_buf_release(&s);
	return 0;
}

/* The channels pointing at `id`, comma-separated. */
static void
channels_at(struct cpage *p, const struct chan_list *l, const char *id)
{
	struct bf_buf ch = BF_BUF_INIT;
	const char *eq;
	size_t i, n = 0;

	for (i = 0; i < l->v.n; i++) {
		eq = strrchr(l->v.v[i], '=');
		if (strcmp(eq + 1, id) != 0)
			continue;
		bf_buf_reset(&ch);
		bf_buf_add(&ch, l->v.v[i], (size_t)(eq - l->v.v[i]));
		cp_addf(p, "%s<span class=\"channel\">%s</span>", n++ ? ", " :
		    "", ch.buf);
	}
	bf_buf_release(&ch);
}

static void
snapshot_row(struct cpage *p, struct bf_repo *r, const char *profile,
    const char *id, const struct chan_list *chans)
{
	struct bf_snapshot_info si;
	struct bf_err e = BF_ERR_INIT;

	memset(&si, 0, sizeof(si));
	if (bf_snapshot_info_load(r, profile, id, &si, &e) < 0) {
		cp_addf(p, "<tr><td>%s</td><td colspan=\"6\">%s</td></tr>", id,
		    bf_err_msg(&e, -1));
		return;
	}
	cp_addf(p, "<tr class=\"snapshot\" data-id=\"%s\"><td><a href=\""
	    "/console/diff?profile=%s&amp;from=%s&amp;to=%s\">%s</a></td><td>",
	    id, cp_u(p, profile), si.parent ? si.parent : "", id, id);
	cp_time(p, si.created);
	cp_addf(p, "</td><td>%s</td><td>%lld</td><td class=\"message\">%s"
	    "</td><td>", si.by ? si.by : "", si.packages,
	    si.message ? si.message : "");
	channels_at(p, chans, id);
	cp_addf(p, "</td><td><form class=\"inline\" method=\"post\" action=\""
	    "/console/promote\"><input type=\"hidden\" name=\"profile\" "
	    "value=\"%s\"><input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<input name=\"channel\" value=\"production\" list=\"channels\" "
	    "size=\"12\">", profile, id);
	cp_csrf_input(p);
	cp_addf(p, "<button class=\"promote\">Promote&hellip;</button></form>"
	    "</td></tr>");
	bf_snapshot_info_release(&si);
}

static void
diff_form(struct cpage *p, const char *profile, char **ids, size_t n)
{
	size_t i, k;

	cp_addf(p, "<form method=\"get\" action=\"/console/diff\" id=\""
	    "diff-form\"><input type=\"hidden\" name=\"profile\" value=\"%s\">"
	    "Diff ", profile);
	for (k = 0; k < 2; k++) {
		cp_addf(p, "<select name=\"%s\" id=\"diff-%s\">", k ? "to" :
		    "from", k ? "to" : "from");
		for (i = n; i-- > 0;)
			cp_addf(p, "<option%s>%s</option>", (k == 0 && i + 2 ==
			    n) || (k == 1 && i + 1 == n) ? " selected" : "",
			    ids[i]);
		cp_addf(p, "</select>%s", k ? " " : " to ");
	}
	cp_addf(p, "<button id=\"diff\">Show the diff</button></form>");
}

static void
profile_links(struct cpage *p, const char *profile)
{
	const char *n;
	size_t i;

	cp_addf(p, "<p>Profiles:");
	for (i = 0; i < p->b->cfg.nprofiles; i++) {
		n = p->b->cfg.profiles[i].name;
		cp_addf(p, " <a href=\"/console/snapshots?profile=%s\">%s</a>"
		    "%s", cp_u(p, n), n, strcmp(n, profile) == 0 ? " (this)" :
		    "");
	}
	cp_addf(p, "</p>");
}

static void
channel_list(struct cpage *p, const struct chan_list *chans)
{
	size_t i;

	cp_addf(p, "<datalist id=\"channels\">");
	for (i = 0; i < chans->v.n; i++) {
		struct bf_buf ch = BF_BUF_INIT;

		bf_buf_add(&ch, chans->v.v[i], (size_t)(strrchr(chans->v.v[i],
		    '=') - chans->v.v[i]));
		cp_addf(p, "<option value=\"%s\">", ch.buf);
		bf_buf_release(&ch);
	}
	cp_addf(p, "</datalist>");
}

void
console_snapshots(struct cpage *p)
{
	const char *profile = want_profile(p, cp_arg(p, "profile"));
	struct chan_list chans = { NULL, BF_STRV_INIT };
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	char **ids = NULL;
	size_t n = 0, i;
	int rc;

	if (profile == NULL || (r = console_repo_open(p)) == NULL)
		return;
	chans.profile = profile;
	p->title = "Snapshots";
	if ((rc = bf_snapshot_list(r, profile, &ids, &n, &e)) < 0 ||
	    (rc = bf_channel_each(r, chan_cb, &chans, &e)) < 0) {
		cp_error(p, 500, bf_err_msg(&e, rc));
		goto out;
	}
	cp_addf(p, "<h1>Snapshots of %s</h1>", profile);
	profile_links(p, profile);
	if (n > 0)
		diff_form(p, profile, ids, n);
	channel_list(p, &chans);
	cp_addf(p, "<table id=\"snapshots\"><tr><th>snapshot</th><th>created"
	    "</th><th>by</th><th>packages</th><th>message</th><th>channels"
	    "</th><th>promote to</th></tr>");
	for (i = n; i-- > 0;)
		snapshot_row(p, r, profile, ids[i], &chans);
	cp_addf(p, "</table>");
out:
	bf_snapshot_list_free(ids, n);
	bf_strv_release(&chans.v);
	bf_repo_free(r);
}

static void
diff_table(struct cpage *p, const struct bf_diff *d)
{
	size_t i;

	cp_addf(p, "<p id=\"diff-counts\">%zu added, %zu removed, %zu "
	    "upgraded, %zu downgraded, %zu rebuilt</p>", d->count[BF_CHG_ADDED],
	    d->count[BF_CHG_REMOVED], d->count[BF_CHG_UPGRADED],
	    d->count[BF_CHG_DOWNGRADED], d->count[BF_CHG_REBUILT]);
	if (d->n == 0) {
		cp_addf(p, "<p id=\"diff-none\">no difference</p>");
		return;
	}
	cp_addf(p, "<table id=\"diff-table\"><tr><th>change</th><th>package"
	    "</th><th>from</th><th>to</th></tr>");
	for (i = 0; i < d->n; i++) {
		const struct bf_diff_item *it = &d->v[i];

		cp_addf(p, "<tr class=\"%s\"><td>%s</td><td>%s</td><td>%s",
		    bf_change_name(it->kind), bf_change_name(it->kind),
		    it->key, it->old_cpv ? it->old_cpv : "");
		if (it->old_cpv != NULL)
			cp_addf(p, " (build %lld)", it->old_build);
		cp_addf(p, "</td><td>%s", it->new_cpv ? it->new_cpv : "");
		if (it->new_cpv != NULL)
			cp_addf(p, " (build %lld)", it->new_build);
		cp_addf(p, "</td></tr>");
	}
	cp_addf(p, "</table>");
}

/* The diff between snapshots `a` and `b` of `profile` into a table. */
static int
show_diff(struct cpage *p, struct bf_repo *r, const char *profile,
    const char *a, const char *b)
{
	struct bf_pkgindex ia = BF_PKGINDEX_INIT, ib = BF_PKGINDEX_INIT;
	struct bf_diff d = BF_DIFF_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc = 0;

	if ((a[0] != '\0' && (rc = bf_snapshot_load_index(r, profile, a, &ia,
	    &e)) < 0) || (rc = bf_snapshot_load_index(r, profile, b, &ib,
	    &e)) < 0 || (rc = bf_diff_compute(&ia, &ib, &d, &e)) < 0)
		cp_error(p, 500, bf_err_msg(&e, rc));
	else
		diff_table(p, &d);
	bf_diff_release(&d);
	bf_pkgindex_release(&ia);
	bf_pkgindex_release(&ib);
	return rc;
}

/* One side of a diff: its id, who made it, its message. */
static void
diff_side(struct cpage *p, struct bf_repo *r, const char *profile,
    const char *id, const char *label)
{
	struct bf_snapshot_info si;
	struct bf_err e = BF_ERR_INIT;

	memset(&si, 0, sizeof(si));
	if (*id == '\0' || bf_snapshot_info_load(r, profile, id, &si, &e) < 0)
		return;
	cp_addf(p, "<tr><th>%s</th><td>%s</td><td>", label, id);
	cp_time(p, si.created);
	cp_addf(p, "</td><td>%s</td><td class=\"message\">%s</td></tr>",
	    si.by ? si.by : "", si.message ? si.message : "");
	bf_snapshot_info_release(&si);
}

/* A snapshot id from the request that names an existing snapshot. */
static int
snapshot_ok(struct bf_repo *r, const char *profile, const char *id)
{
	return id != NULL && bf_snapshot_id_valid(id) &&
	    bf_snapshot_exists(r, profile, id);
}

void
console_diff(struct cpage *p)
{
	const char *profile = want_profile(p, cp_arg(p, "profile"));
	const char *a = cp_arg(p, "from"), *b = cp_arg(p, "to");
	struct bf_repo *r;

	if (profile == NULL || (r = console_repo_open(p)) == NULL)
		return;
	if (a == NULL || *a == '\0')
		a = "";
	if ((*a != '\0' && !snapshot_ok(r, profile, a)) ||
	    !snapshot_ok(r, profile, b))
		cp_error(p, 404, "no such snapshot");
	else {
		p->title = "Diff";
		cp_addf(p, "<h1>%s: <span id=\"diff-from\">%s</span> &rarr; "
		    "<span id=\"diff-to\">%s</span></h1><p><a href=\""
		    "/console/snapshots?profile=%s\">back to the snapshots</a>"
		    "</p>", profile, *a ? a : "(nothing)", b, cp_u(p, profile));
		cp_addf(p, "<table id=\"diff-sides\"><tr><th></th><th>snapshot"
		    "</th><th>created</th><th>by</th><th>message</th></tr>");
		diff_side(p, r, profile, a, "from");
		diff_side(p, r, profile, b, "to");
		cp_addf(p, "</table>");
		show_diff(p, r, profile, a, b);
	}
	bf_repo_free(r);
}

/* What a promotion form asks for, checked. */
struct promo {
	const char	*profile;
	struct bf_buf	 id, channel;
	int		 confirm, downgrade;
};

static int
promo_read(struct cpage *p, struct promo *m)
{
	struct bf_buf t = BF_BUF_INIT;

	cp_form(p, "id", &m->id);
	cp_form(p, "channel", &m->channel);
	m->confirm = cp_form(p, "confirm", &t) && strcmp(t.buf, "yes") == 0;
	m->downgrade = cp_form(p, "allow_downgrade", &t) &&
	    strcmp(t.buf, "yes") == 0;
	cp_form(p, "profile", &t);
	m->profile = want_profile(p, t.len ? t.buf : "-");
	bf_buf_release(&t);
	if (m->profile == NULL)
		return -1;
	if (m->id.buf == NULL || !bf_snapshot_id_valid(m->id.buf) ||
	    m->channel.buf == NULL || !bf_repo_name_valid(m->channel.buf)) {
		cp_error(p, 400, "give a snapshot id (20261125T101500Z-0001) "
		    "and a channel name ([A-Za-z0-9._+-])");
		return -1;
	}
	return 0;
}

/* The confirmation form: the same fields, confirm=yes. */
static void
confirm_form(struct cpage *p, const struct promo *m, const char *from)
{
	cp_addf(p, "<form method=\"post\" action=\"/console/promote\" id=\""
	    "confirm-form\"><input type=\"hidden\" name=\"profile\" value=\"%s"
	    "\"><input type=\"hidden\" name=\"id\" value=\"%s\"><input type=\""
	    "hidden\" name=\"channel\" value=\"%s\"><input type=\"hidden\" "
	    "name=\"confirm\" value=\"yes\">", m->profile, m->id.buf,
	    m->channel.buf);
	cp_csrf_input(p);
	cp_addf(p, "<p><label><input type=\"checkbox\" name=\"allow_downgrade\""
	    " value=\"yes\"%s> allow downgrades</label></p><p><button id=\""
	    "confirm\">Promote %s to %s</button> <a href=\"/console/snapshots?"
	    "profile=%s\" id=\"cancel\">Cancel</a></p></form>", m->downgrade ?
	    " checked" : "", m->id.buf, m->channel.buf, cp_u(p, m->profile));
	(void)from;
}

/* Moves (or, dry_run, previews) the channel under the repository lock. */
static int
promo_move(struct cpage *p, struct bf_repo *r, const struct promo *m,
    int dry_run, struct bf_move_result *res, struct bf_err *e)
{
	struct bf_move_opts mo;
	char target[BF_CHANNEL_MAX];
	int rc;

	memset(&mo, 0, sizeof(mo));
	memset(res, 0, sizeof(*res));
	mo.by = p->s.name;
	mo.dry_run = dry_run;
	mo.allow_downgrade = m->downgrade;
	if ((rc = bf_repo_lock(r, NULL, NULL, e)) < 0)
		return rc;
	if ((rc = bf_wave_target(r, m->profile, m->channel.buf,
	    BF_WAVE_CHANNEL, NULL, m->id.buf, target, e)) == 0)
		rc = bf_repo_promote(r, m->profile, target, m->id.buf, &mo, res,
		    e);
	bf_repo_unlock(r);
	return rc;
}

static void
promo_preview(struct cpage *p, struct bf_repo *r, const struct promo *m)
{
	struct bf_move_result res;
	struct bf_err e = BF_ERR_INIT;
	int rc = promo_move(p, r, m, 1, &res, &e);

	p->title = "Confirm the promotion";
	cp_addf(p, "<h1>Promote snapshot <span id=\"promote-id\">%s</span> of "
	    "%s to channel <span id=\"promote-channel\">%s</span>?</h1><p>The "
	    "channel is now at <span id=\"promote-from\">%s</span>. Recorded "
	    "in history.log as done by <strong>%s</strong>.</p>", m->id.buf,
	    m->profile, m->channel.buf, res.from[0] ? res.from : "(none: a "
	    "new channel)", p->s.name);
	if (rc < 0)
		cp_addf(p, "<p class=\"error\" id=\"error\">%s</p>",
		    bf_err_msg(&e, rc));
	else
		diff_table(p, &res.diff);
	confirm_form(p, m, res.from);
	bf_move_result_release(&res);
}

static void
promo_do(struct cpage *p, struct bf_repo *r, const struct promo *m)
{
	struct bf_move_result res;
	struct bf_err e = BF_ERR_INIT;
	int rc = promo_move(p, r, m, 0, &res, &e);

	if (rc < 0) {
		log_warnx("console: %s could not promote %s of %s to %s: %s",
		    p->s.name, m->id.buf, m->profile, m->channel.buf,
		    bf_err_msg(&e, rc));
		cp_error(p, 409, bf_err_msg(&e, rc));
		confirm_form(p, m, res.from);
	} else {
		log_info("console: %s promoted %s of %s to %s (was %s)",
		    p->s.name, m->id.buf, m->profile, m->channel.buf,
		    res.from[0] ? res.from : "none");
		p->title = "Promoted";
		cp_addf(p, "<h1 id=\"promoted\">Channel %s of %s: %s &rarr; %s"
		    "</h1><p>Recorded as done by %s.</p>", m->channel.buf,
		    m->profile, res.from[0] ? res.from : "(none)", res.to,
		    p->s.name);
		diff_table(p, &res.diff);
		cp_addf(p, "<p><a href=\"/console/snapshots?profile=%s\">"
		    "back to the snapshots</a></p>", cp_u(p, m->profile));
	}
	bf_move_result_release(&res);
}

void
console_promote(struct cpage *p)
{
	struct promo m;
	struct bf_repo *r;

	memset(&m, 0, sizeof(m));
	m.id = (struct bf_buf)BF_BUF_INIT;
	m.channel = (struct bf_buf)BF_BUF_INIT;
	if (promo_read(p, &m) == 0 && (r = console_repo_open(p)) != NULL) {
		if (!bf_snapshot_exists(r, m.profile, m.id.buf))
			cp_error(p, 404, "no such snapshot");
		else if (m.confirm)
			promo_do(p, r, &m);
		else
			promo_preview(p, r, &m);
		bf_repo_free(r);
	}
	bf_buf_release(&m.id);
	bf_buf_release(&m.channel);
}
