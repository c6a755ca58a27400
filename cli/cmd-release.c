/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm release: a snapshot per hw-profile to the nodes of a channel,
 * in waves cut from the inventory by a strategy the diff proposes
 * (store/release.h).  The binhost opens each wave once the one before
 * it has fetched; this command plans, starts, shows, pauses, resumes,
 * advances, rolls back, waits for and finishes releases.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "store/channel.h"
#include "store/fleet.h"
#include "store/nodes.h"
#include "store/release.h"
#include "store/repo.h"
#include "release.h"
#include "base/banned.h"

static const char release_usage[] =
    "[-R DIR] plan|start|status|pause|resume|advance|rollback|finish|wait\n"
    "       --channel C [--from CHANNEL | --snapshot PROFILE=ID ...]\n"
    "       [--strategy all|by-farm|by-member [--force]] [--allow-downgrade]\n"
    "       [--wait] [--timeout DURATION] [--json]";

static const char release_help[] =
    "Releases a snapshot per hw-profile to the nodes of channel C (the\n"
    "inventory, nodes.conf) in waves.  The strategy is proposed from the\n"
    "diff against what C has now: a package on the disruptive list\n"
    "(release.disruptive in binfarm-repo.conf; default kernels, libc,\n"
    "OpenSSL, web servers, PHP, databases) needs by-member (member 1 of\n"
    "every farm, then member 2, ...); one on the application list\n"
    "(release.application) needs by-farm (one whole farm, then the next);\n"
    "anything else may go to all at once.  A node's URL on the binhost\n"
    "(/node/NAME/) answers with the release's snapshot once its wave is\n"
    "open; a wave opens when every node of the one before it has fetched\n"
    "its index (or an operator advances it).\n"
    "\n"
    "  plan       show the targets, diffs, proposed strategy and waves\n"
    "  start      start a release (refused while C has one running)\n"
    "  status     where C's release stands (every channel's without -c)\n"
    "  pause      open no more waves;  resume: carry on\n"
    "  advance    end the first unfinished wave by hand (a node that\n"
    "             never fetches)\n"
    "  rollback   stop a running release (nodes go back to what C has);\n"
    "             a finished one moves C back to the snapshots it had\n"
    "  finish     once every wave is done: move C itself\n"
    "  wait       wait until every wave is done, then finish\n"
    "\n"
    "  -R DIR                 the repository (default: $BINFARM_REPO)\n"
    "  -c, --channel C        the channel whose nodes get the release\n"
    "      --from CHANNEL     release what CHANNEL has (e.g. testing)\n"
    "      --snapshot P=ID    release snapshot ID of profile P (repeatable)\n"
    "      --strategy S       all, by-farm or by-member (default: proposed)\n"
    "      --force            take a strategy less careful than proposed\n"
    "      --allow-downgrade  release even if that downgrades packages\n"
    "      --wait             start: then wait and finish\n"
    "      --timeout D        wait: give up after D (90, 30s, 15m, 2h)\n"
    "      --json             plan, status: JSON on stdout\n"
    "\n"
    "Exit status: 0 done, 1 refused (a release running, a downgrade, a\n"
    "strategy less careful than proposed without --force, waves not done,\n"
    "a wait that timed out or saw the release rolled back), 2 error.\n";

struct rargs {
	const char		*dir;
	const char		*channel;
	const char		*from;
	struct bf_strv		 snaps;		/* "P=ID" */
	int			 strategy;	/* -1: the proposed one */
	int			 force, allow_downgrade, wait, json;
	long long		 timeout;	/* seconds; 0 none */
	char			 who[128];
};

static int
parse_opts(struct bf_cli *cli, int argc, char **argv, struct rargs *a)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'R' },
		{ "channel", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "strategy", required_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'F' },
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "wait", no_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum bf_strategy s;
	int c;

	while ((c = getopt_long(argc, argv, "R:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R': a->dir = optarg; break;
		case 'c': a->channel = optarg; break;
		case 'f': a->from = optarg; break;
		case 's':
			if (strchr(optarg, '=') == NULL ||
			    bf_strv_push(&a->snaps, optarg) < 0)
				return cli_usage(cli, release_usage);
			break;
		case 'S':
			if (bf_strategy_parse(optarg, &s) < 0) {
				cli_error(cli, "unknown strategy '%s' (all, "
				    "by-farm, by-member)", optarg);
				return BF_EXIT_ERROR;
			}
			a->strategy = (int)s;
			break;
		case 'F': a->force = 1; break;
		case 'D': a->allow_downgrade = 1; break;
		case 'W': a->wait = 1; break;
		case 'T':
			if ((a->timeout = repocli_duration(optarg)) < 0) {
				cli_error(cli, "--timeout: '%s' is not a "
				    "duration", optarg);
				return BF_EXIT_ERROR;
			}
			break;
		case 'j': a->json = 1; break;
		case 'h': return cli_help(cli, release_usage, release_help);
		default: return cli_usage(cli, release_usage);
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Plan and start.                                                     */

/* Targets from --snapshot P=ID; `from` is what the channel has now. */
static int
targets_given(struct bf_repo *r, struct bf_release *rel,
    const struct bf_strv *snaps, struct bf_err *e)
{
	char prof[130], cur[32];
	const char *eq;
	size_t i;
	int rc;

	for (i = 0; i < snaps->n; i++) {
		eq = strchr(snaps->v[i], '=');
		if ((size_t)(eq - snaps->v[i]) >= sizeof(prof))
			return bf_err_set(e, BF_EUSAGE, "a bad profile in '%s'",
			    snaps->v[i]);
		memcpy(prof, snaps->v[i], (size_t)(eq - snaps->v[i]));
		prof[eq - snaps->v[i]] = '\0';
		if (!bf_snapshot_exists(r, prof, eq + 1))
			return bf_err_set(e, BF_ENOTFOUND, "no snapshot '%s' in "
			    "profile '%s'", eq + 1, prof);
		rc = bf_channel_get(r, rel->channel, prof, cur, e);
		if (rc == -BF_ENOTFOUND) {
			bf_err_clear(e);
			cur[0] = '\0';
		} else if (rc < 0)
			return rc;
		if ((rc = bf_release_add_target(rel, prof, cur, eq + 1, e)) < 0)
			return rc;
	}
	return 0;
}

/*
 * The proposed strategy over every target's diff (printed unless
 * quiet); -BF_ECONFLICT for a downgrade not allowed.
 */
static int
propose(struct bf_repo *r, const struct bf_release *rel, int print,
    enum bf_strategy *out, struct bf_buf *why, struct bf_err *e)
{
	const struct bf_release_target *t;
	struct bf_buf w = BF_BUF_INIT;
	const char *dis, *app;
	enum bf_strategy s;
	size_t i;
	int rc = 0;

	*out = BF_STRATEGY_ALL;
	for (i = 0; i < rel->ntargets && rc == 0; i++) {
		struct bf_diff d = BF_DIFF_INIT;

		t = &rel->targets[i];
		if ((rc = bf_release_diff(r, t, &d, e)) < 0)
			break;
		if (print) {
			printf("%s: %s -> %s\n", t->profile, t->from[0] ?
			    t->from : "(none)", t->to);
			repocli_print_diff(&d, "  ");
		}
		bf_release_lists(r, t->profile, &dis, &app);
		bf_buf_reset(&w);
		s = bf_release_propose(&d, dis, app, &w);
		if (s > *out || why->len == 0) {
			bf_buf_reset(why);
			bf_buf_addf(why, "%s: %s", t->profile, w.buf);
			*out = s > *out ? s : *out;
		}
		if (d.count[BF_CHG_DOWNGRADED] > 0 && !rel->allow_downgrade)
			rc = bf_err_set(e, BF_ECONFLICT, "%s: %s -> %s would "
			    "downgrade %zu package(s) (use --allow-downgrade)",
			    t->profile, t->from, t->to,
			    d.count[BF_CHG_DOWNGRADED]);
		bf_diff_release(&d);
	}
	bf_buf_release(&w);
	return rc;
}

/* Fills rel from the options; prints the plan unless --json. */
static int
make_release(struct bf_cli *cli, struct bf_repo *r, const struct rargs *a,
    struct bf_release *rel, struct bf_err *e)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_buf why = BF_BUF_INIT;
	enum bf_strategy proposed;
	int rc;

	snprintf(rel->channel, sizeof(rel->channel), "%s", a->channel);
	rel->allow_downgrade = a->allow_downgrade;
	if ((rc = bf_nodes_load(r, &ns, e)) < 0 ||
	    (rc = a->from != NULL ? bf_release_targets_from(r, rel, &ns,
	    a->from, e) : targets_given(r, rel, &a->snaps, e)) < 0 ||
	    (rc = propose(r, rel, !a->json, &proposed, &why, e)) < 0)
		goto out;
	rel->strategy = a->strategy >= 0 ? (enum bf_strategy)a->strategy :
	    proposed;
	if (!a->json)
		printf("proposed strategy: %s (%s)\n",
		    bf_strategy_name(proposed), why.buf);
	if (rel->strategy < proposed && !a->force) {
		rc = bf_err_set(e, BF_ECONFLICT, "strategy %s is less careful "
		    "than the proposed %s (%s): use --force to take it",
		    bf_strategy_name(rel->strategy),
		    bf_strategy_name(proposed), why.buf);
		goto out;
	}
	if (rel->strategy != proposed)
		cli_warn(cli, "taking strategy %s over the proposed %s",
		    bf_strategy_name(rel->strategy), bf_strategy_name(proposed));
	rc = bf_release_cut_waves(rel, &ns, e);
out:
	bf_nodes_release(&ns);
	bf_buf_release(&why);
	return rc;
}

static int
exit_for(struct bf_cli *cli, struct bf_err *e, int rc)
{
	if (rc >= 0)
		return BF_EXIT_OK;
	cli_error(cli, "%s", bf_err_msg(e, rc));
	return rc == -BF_ECONFLICT || rc == -BF_ENOTFOUND ? BF_EXIT_FAIL :
	    BF_EXIT_ERROR;
}

static int
sub_plan(struct bf_cli *cli, struct bf_repo *r, const struct rargs *a)
{
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	bf_release_init(&rel);
	rel.state = BF_RELEASE_RUNNING;
	if ((rc = make_release(cli, r, a, &rel, &e)) == 0)
		release_print(cli, &rel, &f, a->json);
	bf_release_free(&rel);
	return exit_for(cli, &e, rc);
}

static int sub_wait(struct bf_cli *cli, struct bf_repo *r,
    const struct rargs *a);

static int
sub_start(struct bf_cli *cli, struct bf_repo *r, const struct rargs *a)
{
	struct bf_release rel, cur;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	bf_release_init(&rel);
	bf_release_init(&cur);
	if ((rc = repocli_lock(cli, r)) < 0)
		return BF_EXIT_ERROR;
	rc = bf_release_load(r->root_fd, a->channel, &cur, &e);
	if (rc == 0 && bf_release_active(&cur))
		rc = bf_err_set(&e, BF_ECONFLICT, "release %llu of '%s' is %s "
		    "(started by %s): finish, roll back or wait for it first",
		    cur.id, cur.channel, bf_release_state_name(cur.state),
		    cur.started_by);
	else if (rc == -BF_ENOTFOUND || rc == 0) {
		bf_err_clear(&e);
		rc = 0;
	}
	if (rc == 0 && (rc = make_release(cli, r, a, &rel, &e)) == 0 &&
	    (rc = bf_release_next_id(r, &rel.id, &e)) == 0) {
		rel.state = BF_RELEASE_RUNNING;
		rel.started = (long long)time(NULL);
		snprintf(rel.started_by, sizeof(rel.started_by), "%s", a->who);
		rc = bf_release_save(r, &rel, "start", a->who, &e);
	}
	bf_repo_unlock(r);
	if (rc == 0)
		printf("release %llu of %s started: %s, %zu wave(s)\n", rel.id,
		    rel.channel, bf_strategy_name(rel.strategy), rel.nwaves);
	bf_release_free(&rel);
	bf_release_free(&cur);
	if (rc == 0 && a->wait)
		return sub_wait(cli, r, a);
	return exit_for(cli, &e, rc);
}

/* ------------------------------------------------------------------ */
/* Status, wait.                                                       */

static int
load_state(struct bf_repo *r, const char *channel, struct bf_release *rel,
    struct bf_fetches *f, struct bf_err *e)
{
	int rc;

	bf_release_free(rel);
	bf_fetches_release(f);
	if ((rc = bf_release_load(r->root_fd, channel, rel, e)) == 0)
		rc = bf_fetches_load(r->root_fd, f, e);
	return rc;
}

/* Prints the release of `channel`, or (arr not NULL) appends its JSON. */
static int
status_one(struct bf_cli *cli, struct bf_repo *r, const char *channel,
    int json, json_t *arr)
{
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	int rc, ret;

	bf_release_init(&rel);
	if ((rc = load_state(r, channel, &rel, &f, &e)) < 0)
		ret = exit_for(cli, &e, rc);
	else if (arr != NULL)
		ret = json_array_append_new(arr, release_json(&rel, &f)) < 0 ?
		    BF_EXIT_ERROR : BF_EXIT_OK;
	else
		ret = release_print(cli, &rel, &f, json);
	bf_release_free(&rel);
	bf_fetches_release(&f);
	return ret;
}

static int
sub_status(struct bf_cli *cli, struct bf_repo *r, const struct rargs *a)
{
	char **names = NULL;
	json_t *arr = NULL;
	size_t n = 0, i;
	int ret = BF_EXIT_OK, rc;

	if (a->channel != NULL)
		return status_one(cli, r, a->channel, a->json, NULL);
	if (bf_list_dir(r->root_fd, BF_RELEASES_DIR, &names, &n) < 0) {
		cli_error(cli, "cannot list %s/", BF_RELEASES_DIR);
		return BF_EXIT_ERROR;
	}
	qsort(names, n, sizeof(*names), (int (*)(const void *,
	    const void *))strcmp);
	if (n == 0 && !a->json)
		printf("no release yet\n");
	if (a->json)
		arr = json_array();
	for (i = 0; i < n; i++)
		if (bf_repo_name_valid(names[i]) &&
		    (rc = status_one(cli, r, names[i], a->json, arr)) != 0)
			ret = rc;
	bf_names_free(names, n);
	if (a->json && ret == BF_EXIT_OK)
		ret = cli_json_print(cli, json_pack("{s:o}", "releases", arr));
	else if (arr != NULL)
		json_decref(arr);
	return ret;
}

/* One line when the picture changes. */
static void
progress(const struct bf_release *rel, const struct bf_fetches *f,
    struct bf_buf *last)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t open = bf_release_open_waves(rel, f), i, done = 0;

	for (i = 0; i < rel->nwaves; i++)
		done += bf_release_wave_done(rel, i, f);
	bf_buf_addf(&b, "release %llu of %s: %s, %zu of %zu wave(s) done, "
	    "%zu open", rel->id, rel->channel, bf_release_state_name(rel->state),
	    done, rel->nwaves, open);
	if (last->len == 0 || strcmp(last->buf, b.buf) != 0) {
		fprintf(stderr, "%s\n", b.buf);
		bf_buf_reset(last);
		bf_buf_adds(last, b.buf);
	}
	bf_buf_release(&b);
}

/* 0 complete, 1 not yet, or an error. */
static int
wait_step(struct bf_cli *cli, struct bf_repo *r, const struct rargs *a,
    struct bf_release *rel, struct bf_fetches *f, struct bf_buf *last,
    struct bf_err *e)
{
	int rc;

	if ((rc = load_state(r, a->channel, rel, f, e)) < 0)
		return rc;
	progress(rel, f, last);
	if (rel->state == BF_RELEASE_DONE)
		return 0;
	if (rel->state == BF_RELEASE_ROLLED_BACK)
		return bf_err_set(e, BF_ECONFLICT, "release %llu of '%s' was "
		    "rolled back by %s", rel->id, rel->channel, rel->ended_by);
	if (!bf_release_complete(rel, f))
		return 1;
	/* Every wave done: finish under the lock, on a fresh read. */
	if ((rc = repocli_lock(cli, r)) < 0)
		return bf_err_set(e, -rc, "cannot finish the release");
	if ((rc = load_state(r, a->channel, rel, f, e)) == 0 &&
	    bf_release_complete(rel, f))
		rc = bf_release_finish(r, rel, a->who, e);
	bf_repo_unlock(r);
	return rc;
}

static int
sub_wait(struct bf_cli *cli, struct bf_repo *r, const struct rargs *a)
{
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_buf last = BF_BUF_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	time_t end = a->timeout > 0 ? time(NULL) + a->timeout : 0;
	int rc;

	bf_release_init(&rel);
	while ((rc = wait_step(cli, r, a, &rel, &f, &last, &e)) == 1) {
		if (end != 0 && time(NULL) >= end) {
			rc = bf_err_set(&e, BF_ECONFLICT, "timed out: the "
			    "release is not done");
			release_print(cli, &rel, &f, 0);
			break;
		}
		usleep(500 * 1000);
	}
	if (rc == 0)
		printf("release %llu of %s is done: channel %s moved\n", rel.id,
		    rel.channel, rel.channel);
	bf_release_free(&rel);
	bf_fetches_release(&f);
	bf_buf_release(&last);
	return exit_for(cli, &e, rc);
}

/* ------------------------------------------------------------------ */
/* Pause, resume, advance, rollback, finish.                           */

static int
sub_change(struct bf_cli *cli, struct bf_repo *r, const char *sub,
    const struct rargs *a)
{
	struct bf_fetches f = BF_FETCHES_INIT;
	struct bf_release rel;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	bf_release_init(&rel);
	if (repocli_lock(cli, r) < 0)
		return BF_EXIT_ERROR;
	if ((rc = load_state(r, a->channel, &rel, &f, &e)) == 0 &&
	    (rc = bf_release_act(r, &rel, &f, sub, a->who, &e)) == 0)
		printf("release %llu of %s: %s (%s)\n", rel.id, rel.channel, sub,
		    bf_release_state_name(rel.state));
	bf_repo_unlock(r);
	bf_release_free(&rel);
	bf_fetches_release(&f);
	return exit_for(cli, &e, rc);
}

/* ------------------------------------------------------------------ */

static int
check_args(struct bf_cli *cli, const char *sub, const struct rargs *a)
{
	int makes = strcmp(sub, "plan") == 0 || strcmp(sub, "start") == 0;

	if (a->channel == NULL && strcmp(sub, "status") != 0) {
		cli_error(cli, "%s needs --channel", sub);
		return cli_usage(cli, release_usage);
	}
	if (makes && (a->from == NULL) == (a->snaps.n == 0)) {
		cli_error(cli, "%s needs --from CHANNEL or --snapshot P=ID",
		    sub);
		return cli_usage(cli, release_usage);
	}
	if (!makes && (a->from != NULL || a->snaps.n > 0 ||
	    a->strategy >= 0 || a->allow_downgrade || a->force)) {
		cli_error(cli, "%s takes no snapshot or strategy options", sub);
		return cli_usage(cli, release_usage);
	}
	return -1;
}

int
cmd_release(struct bf_cli *cli, int argc, char **argv)
{
	static const char *const subs[] = { "plan", "start", "status", "pause",
	    "resume", "advance", "rollback", "finish", "wait" };
	struct rargs a;
	struct bf_repo *r;
	const char *sub = NULL;
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	a.strategy = -1;
	if ((rc = parse_opts(cli, argc, argv, &a)) >= 0)
		goto out;
	rc = BF_EXIT_ERROR;
	for (i = 0; optind + 1 == argc && i < sizeof(subs) / sizeof(*subs); i++)
		if (strcmp(argv[optind], subs[i]) == 0)
			sub = subs[i];
	if (sub == NULL) {
		rc = cli_usage(cli, release_usage);
		goto out;
	}
	if ((rc = check_args(cli, sub, &a)) >= 0)
		goto out;
	if ((r = repocli_open(cli, a.dir)) == NULL) {
		rc = BF_EXIT_ERROR;
		goto out;
	}
	repocli_who(a.who, sizeof(a.who));
	if (strcmp(sub, "plan") == 0)
		rc = sub_plan(cli, r, &a);
	else if (strcmp(sub, "start") == 0)
		rc = sub_start(cli, r, &a);
	else if (strcmp(sub, "status") == 0)
		rc = sub_status(cli, r, &a);
	else if (strcmp(sub, "wait") == 0)
		rc = sub_wait(cli, r, &a);
	else
		rc = sub_change(cli, r, sub, &a);
	bf_repo_free(r);
out:
	bf_strv_release(&a.snaps);
	return rc;
}
