/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's releases (binfarm-release(1)): every channel's release
 * with its waves and each node's state, the fleet, and the buttons that
 * pause, resume, advance, roll back and finish one, each through a
 * confirmation page and recorded in releases.log with the engineer's
 * name (store/release.h: bf_release_act(), as `binfarm release` does).
 * Every value goes through cp_addf()'s %s, which escapes it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "store/fleet.h"
#include "store/nodes.h"
#include "store/recover.h"
#include "store/release.h"
#include "store/repo.h"
#include "builder.h"
#include "console.h"
#include "base/banned.h"

static const char *const actions[] = {
	"pause", "resume", "advance", "rollback", "finish",
};

/* Whether `action` applies to `rel` now (the buttons shown). */
static int
applies(const struct bf_release *rel, const struct bf_fetches *f,
    const char *action)
{
	if (strcmp(action, "pause") == 0)
		return rel->state == BF_RELEASE_RUNNING;
	if (strcmp(action, "resume") == 0)
		return rel->state == BF_RELEASE_PAUSED;
	if (strcmp(action, "advance") == 0)
		return bf_release_active(rel) && !bf_release_complete(rel, f) &&
		    bf_release_open_waves(rel, f) > 0;
	if (strcmp(action, "finish") == 0)
		return bf_release_complete(rel, f);
	return rel->state != BF_RELEASE_ROLLED_BACK;	/* rollback */
}

static void
buttons(struct cpage *p, const struct bf_release *rel,
    const struct bf_fetches *f)
{
	size_t i;

	cp_addf(p, "<p class=\"actions\">");
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!applies(rel, f, actions[i]))
			continue;
		cp_addf(p, "<form method=\"post\" action=\"/console/release\" "
		    "class=\"inline\"><input type=\"hidden\" name=\"channel\" "
		    "value=\"%s\"><input type=\"hidden\" name=\"action\" value=\""
		    "%s\">", rel->channel, actions[i]);
		cp_csrf_input(p);
		cp_addf(p, "<button id=\"%s-%s\">%s</button></form> ",
		    actions[i], rel->channel, actions[i]);
	}
	cp_addf(p, "</p>");
}

static void
wave_row(struct cpage *p, const struct bf_release *rel, size_t w,
    size_t open, const struct bf_fetches *f)
{
	const struct bf_wave *wv = &rel->waves[w];
	const struct bf_fetch *r;
	const char *st;
	size_t j;

	st = !bf_release_active(rel) ? "-" : bf_release_wave_done(rel, w, f) ?
	    "done" : w < open ? "open" : "waiting";
	cp_addf(p, "<tr id=\"wave-%s-%zu\"><td>%zu</td><td class=\"wave-state"
	    " state-%s\">%s</td><td>", rel->channel, w + 1, w + 1, st, st);
	for (j = 0; j < wv->n; j++) {
		r = bf_fetches_find(f, wv->v[j].name);
		cp_addf(p, "<span class=\"node %s\" title=\"%s\">%s</span> ",
		    bf_release_node_done(rel, wv->v[j].name, wv->v[j].profile,
		    f) ? "fetched" : "pending", r != NULL && r->snapshot[0] ?
		    r->snapshot : "nothing fetched", wv->v[j].name);
	}
	if (wv->advanced > 0)
		cp_addf(p, "(advanced by %s)", wv->advanced_by);
	cp_addf(p, "</td></tr>");
}

static void
release_section(struct cpage *p, const struct bf_release *rel,
    const struct bf_fetches *f)
{
	size_t open = bf_release_open_waves(rel, f), i;

	cp_addf(p, "<section id=\"release-%s\"><h2>Release %lld of %s: "
	    "<span class=\"release-state\">%s</span>, %s</h2><p>Started ",
	    rel->channel, (long long)rel->id, rel->channel,
	    bf_release_state_name(rel->state), bf_strategy_name(rel->strategy));
	cp_time(p, rel->started);
	cp_addf(p, " by %s", rel->started_by);
	if (rel->ended > 0) {
		cp_addf(p, "; ended ");
		cp_time(p, rel->ended);
		cp_addf(p, " by %s", rel->ended_by);
	}
	cp_addf(p, ".</p><ul>");
	for (i = 0; i < rel->ntargets; i++)
		cp_addf(p, "<li>%s: %s &rarr; %s</li>", rel->targets[i].profile,
		    rel->targets[i].from[0] ? rel->targets[i].from : "(none)",
		    rel->targets[i].to);
	cp_addf(p, "</ul><table class=\"waves\"><tr><th>wave</th><th>state"
	    "</th><th>nodes (fetched or pending)</th></tr>");
	for (i = 0; i < rel->nwaves; i++)
		wave_row(p, rel, i, open, f);
	cp_addf(p, "</table>");
	buttons(p, rel, f);
	cp_addf(p, "</section>");
}

static void
fleet_table(struct cpage *p, const struct bf_nodes *ns,
    const struct bf_fetches *f)
{
	const struct bf_fetch *r;
	size_t i;

	cp_addf(p, "<h2>Nodes</h2>");
	if (ns->n == 0) {
		cp_addf(p, "<p id=\"fleet\">no node in nodes.conf</p>");
		return;
	}
	cp_addf(p, "<table id=\"fleet\"><tr><th>node</th><th>site</th><th>"
	    "farm</th><th>member</th><th>profile</th><th>channel</th><th>"
	    "snapshot</th><th>fetched</th><th>files</th></tr>");
	for (i = 0; i < ns->n; i++) {
		r = bf_fetches_find(f, ns->v[i].name);
		cp_addf(p, "<tr id=\"node-%s\"><td>%s</td><td>%s</td><td>%s</td>"
		    "<td>%lld</td><td>%s</td><td>%s</td><td class=\"snapshot\">"
		    "%s</td><td>", ns->v[i].name, ns->v[i].name, ns->v[i].site,
		    ns->v[i].farm, (long long)ns->v[i].member, ns->v[i].profile,
		    ns->v[i].channel, r != NULL && r->snapshot[0] ?
		    r->snapshot : "(never)");
		if (r != NULL && r->fetched > 0)
			cp_time(p, r->fetched);
		cp_addf(p, "</td><td>%lld</td></tr>", r != NULL ?
		    (long long)r->files : 0LL);
	}
	cp_addf(p, "</table>");
}

void
console_releases(struct cpage *p)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	char **names = NULL;
	size_t n = 0, i;

	if ((r = console_repo_open(p)) == NULL)
		return;
	p->title = "Releases";
	cp_addf(p, "<h1>Releases</h1>");
	if (bf_fetches_load(r->root_fd, &f, &e) < 0 ||
	    bf_nodes_load(r, &ns, &e) < 0)
		cp_addf(p, "<p class=\"error\">%s</p>", e.msg);
	bf_nodes_sort(&ns);
	if (bf_list_dir(r->root_fd, BF_RELEASES_DIR, &names, &n) == 0 && n > 1)
		qsort(names, n, sizeof(*names), (int (*)(const void *,
		    const void *))strcmp);
	if (n == 0)
		cp_addf(p, "<p id=\"no-release\">no release yet</p>");
	for (i = 0; i < n; i++) {
		bf_release_init(&rel);
		bf_err_clear(&e);
		if (bf_repo_name_valid(names[i]) &&
		    bf_release_load(r->root_fd, names[i], &rel, &e) == 0)
			release_section(p, &rel, &f);
		bf_release_free(&rel);
	}
	fleet_table(p, &ns, &f);
	bf_names_free(names, n);
	bf_nodes_release(&ns);
	bf_fetches_release(&f);
	bf_repo_free(r);
}

/* ------------------------------------------------------------------ */
/* The actions.                                                        */

struct ract {
	struct bf_buf	 channel, action;
	int		 confirm;
};

static int
ract_read(struct cpage *p, struct ract *a)
{
	struct bf_buf t = BF_BUF_INIT;
	size_t i;

	cp_form(p, "channel", &a->channel);
	cp_form(p, "action", &a->action);
	a->confirm = cp_form(p, "confirm", &t) && strcmp(t.buf, "yes") == 0;
	bf_buf_release(&t);
	for (i = 0; a->action.buf != NULL &&
	    i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(a->action.buf, actions[i]) == 0)
			break;
	if (a->channel.buf == NULL || !bf_repo_name_valid(a->channel.buf) ||
	    a->action.buf == NULL || i == sizeof(actions) / sizeof(actions[0])) {
		cp_error(p, 400, "give a channel and an action (pause, resume, "
		    "advance, rollback, finish)");
		return -1;
	}
	return 0;
}

static void
ract_confirm(struct cpage *p, const struct bf_release *rel,
    const struct ract *a)
{
	p->title = "Confirm";
	cp_addf(p, "<h1 id=\"confirm-title\">%s release %lld of %s?</h1><p>"
	    "It is %s (%s). Recorded in releases.log as done by <strong>%s"
	    "</strong>.</p><form method=\"post\" action=\"/console/release\" "
	    "id=\"confirm-form\"><input type=\"hidden\" name=\"channel\" "
	    "value=\"%s\"><input type=\"hidden\" name=\"action\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"confirm\" value=\"yes\">",
	    a->action.buf, (long long)rel->id, rel->channel,
	    bf_release_state_name(rel->state), bf_strategy_name(rel->strategy),
	    p->s.name, rel->channel, a->action.buf);
	cp_csrf_input(p);
	cp_addf(p, "<p><button id=\"confirm\">%s</button> <a href=\""
	    "/console/releases\" id=\"cancel\">Cancel</a></p></form>",
	    a->action.buf);
}

/* The action under the repository lock, on a fresh read; 0 or an error. */
static int
ract_do(struct cpage *p, struct bf_repo *r, const struct ract *a,
    struct bf_release *rel, struct bf_err *e)
{
	struct bf_fetches f = BF_FETCHES_INIT;
	int rc;

	if ((rc = bf_repo_lock(r, NULL, NULL, e)) < 0)
		return rc;
	bf_release_free(rel);
	if ((rc = bf_release_load(r->root_fd, a->channel.buf, rel, e)) == 0 &&
	    (rc = bf_fetches_load(r->root_fd, &f, e)) == 0)
		rc = bf_release_act(r, rel, &f, a->action.buf, p->s.name, e);
	bf_repo_unlock(r);
	bf_fetches_release(&f);
	return rc;
}

void
console_release_action(struct cpage *p)
{
	struct ract a;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	a.channel = (struct bf_buf)BF_BUF_INIT;
	a.action = (struct bf_buf)BF_BUF_INIT;
	bf_release_init(&rel);
	if (ract_read(p, &a) < 0 || (r = console_repo_open(p)) == NULL)
		goto out;
	if ((rc = bf_release_load(r->root_fd, a.channel.buf, &rel, &e)) < 0)
		cp_error(p, 404, bf_err_msg(&e, rc));
	else if (!a.confirm)
		ract_confirm(p, &rel, &a);
	else if ((rc = ract_do(p, r, &a, &rel, &e)) < 0) {
		log_warnx("console: %s could not %s release of %s: %s",
		    p->s.name, a.action.buf, a.channel.buf, bf_err_msg(&e, rc));
		cp_error(p, 409, bf_err_msg(&e, rc));
	} else {
		log_info("console: %s: %s release %llu of %s", p->s.name,
		    a.action.buf, rel.id, rel.channel);
		p->title = "Done";
		cp_addf(p, "<h1 id=\"done\">Release %lld of %s: %s (now %s)</h1>"
		    "<p>Recorded as done by %s.</p><p><a href=\"/console/"
		    "releases\">back to the releases</a></p>", (long long)rel.id,
		    rel.channel, a.action.buf, bf_release_state_name(rel.state),
		    p->s.name);
	}
out:
	bf_release_free(&rel);
	bf_repo_free(r);
	bf_buf_release(&a.channel);
	bf_buf_release(&a.action);
}
