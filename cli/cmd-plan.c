/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm plan: resolve a hw-profile's world set over pinned ebuild
 * repositories into a build DAG with build keys and reasons.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portage/baseprof.h"
#include "base/buf.h"
#include "cli.h"
#include "base/conf.h"
#include "base/err.h"
#include "portage/plan.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "base/banned.h"

static const char plan_usage[] =
    "--profile DIR [--tree NAME=URI[@REF]... | --pin FILE] [--mirrors DIR]\n"
    "       [--built FILE] [--explain] [--json]";

static const char plan_help[] =
    "Resolves the profile's world set and every DEPEND, BDEPEND, RDEPEND,\n"
    "PDEPEND and IDEPEND over the pinned repositories' metadata/md5-cache\n"
    "and prints the packages in build order with their build keys.\n\n"
    "  --profile DIR   the hw-profile (see binfarm-profile(5))\n"
    "  --tree SPEC     a repository NAME=URI[@REF]; repeat for overlays,\n"
    "                  later ones first; default: the profile's profile.conf\n"
    "  --pin FILE      use the commits of a pin file (binfarm tree pin)\n"
    "  --mirrors DIR   where the mirrors live\n"
    "  --built FILE    build keys already built, one per line\n"
    "  --explain       say why each package is in the plan and is (re)built\n"
    "  --json          print JSON\n";

/* Keys already built: "KEY [CPV]" per line. */
struct built {
	struct bf_strv	keys;
	struct bf_strv	cpvs;		/* "" when not given */
};

static int
built_line(void *ctx, const char *file, unsigned line, char *text,
    struct bf_err *e)
{
	struct built *b = ctx;
	struct bf_strv w = BF_STRV_INIT;
	size_t i;
	int rc;

	if ((rc = bf_strv_split(&w, text)) < 0)
		return bf_err_nomem(e);
	for (i = 0; w.v[0][i] != '\0'; i++)
		if (!((w.v[0][i] >= '0' && w.v[0][i] <= '9') ||
		    (w.v[0][i] >= 'a' && w.v[0][i] <= 'f')))
			break;
	if (w.v[0][i] != '\0' || i != 32 || w.n > 2) {
		bf_strv_release(&w);
		return bf_err_set(e, BF_EFORMAT, "%s:%u: expected 'KEY [CPV]' "
		    "with a 32-digit hex build key", file, line);
	}
	if ((rc = bf_strv_push(&b->keys, w.v[0])) == 0)
		rc = bf_strv_push(&b->cpvs, w.n > 1 ? w.v[1] : "");
	bf_strv_release(&w);
	return rc < 0 ? bf_err_nomem(e) : 0;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* "build", "skip"; *was gets the old key of the same CPV, if known. */
static const char *
action(const struct built *b, const struct bf_plan_node *n, const char **was)
{
	size_t i;

	*was = NULL;
	for (i = 0; i < b->keys.n; i++) {
		if (strcmp(b->keys.v[i], n->key) == 0)
			return "skip";
		if (strcmp(b->cpvs.v[i], n->cpvstr) == 0)
			*was = b->keys.v[i];
	}
	return "build";
}

static void
use_words(const struct bf_plan_node *n, const char *arch, struct bf_buf *out)
{
	size_t i, j = 0;

	for (i = 0; i < n->iuse.n; i++) {
		const char *f = n->iuse.v[i];
		int on = 0;

		if (strcmp(f, arch) == 0)
			continue;
		while (j < n->use.n && strcmp(n->use.v[j], f) < 0)
			j++;
		on = j < n->use.n && strcmp(n->use.v[j], f) == 0;
		bf_buf_addf(out, "%s%s%s", out->len ? " " : "", on ? "" : "-",
		    f);
	}
}

static void
print_text(const struct bf_plan *plan, const struct bf_profile *p,
    const struct bf_pins *pins, const struct built *b, int explain,
    int have_built)
{
	struct bf_buf use = BF_BUF_INIT;
	size_t i, j, n = bf_plan_count(plan), nbuild = 0;
	const struct bf_baseprof *bp;
	const char *was;

	for (i = 0; i < n; i++)
		if (strcmp(action(b, bf_plan_node(plan, i), &was), "build") == 0)
			nbuild++;
	printf("# binfarm plan for hw-profile %s\n", p->name);
	for (i = 0; i < pins->n; i++)
		printf("# tree %s %s (%s %s)\n", pins->v[i].name,
		    pins->v[i].commit, pins->v[i].uri, pins->v[i].ref);
	bp = bf_plan_baseprof(plan);
	if (bp->path != NULL) {
		printf("# portage profile %s (%s), cascade:", bp->path,
		    bp->repo);
		for (i = 0; i < bp->nodes.n; i++)
			printf(" %s", bp->nodes.v[i]);
		printf("\n");
	}
	printf("# %zu packages: %zu to build, %zu already built\n", n, nbuild,
	    n - nbuild);
	for (i = 0; i < n; i++) {
		const struct bf_plan_node *nd = bf_plan_node(plan, i);
		const char *act = action(b, nd, &was);

		bf_buf_reset(&use);
		use_words(nd, p->arch, &use);
		printf("%4zu %-5s %s::%s key=%s slot=%s%s%s USE=\"%s\"\n",
		    nd->order, act, nd->cpvstr, nd->repo, nd->key, nd->slot,
		    strcmp(nd->slot, nd->subslot) ? "/" : "",
		    strcmp(nd->slot, nd->subslot) ? nd->subslot : "", use.buf);
		if (!explain)
			continue;
		for (j = 0; j < nd->nwhy; j++) {
			const struct bf_plan_reason *r = &nd->why[j];

			if (r->parent == NULL)
				printf("       why: %s '%s' (%s:%u)\n", r->set ?
				    r->set : "world", r->atom, r->file, r->line);
			else
				printf("       why: %s '%s' of %s\n",
				    bf_dep_class_name(r->cls), r->atom,
				    r->parent->cpvstr);
		}
		if (nd->nafter > 0) {
			printf("       after:");
			for (j = 0; j < nd->nafter; j++)
				printf(" %s", nd->after[j]->cpvstr);
			printf("\n");
		}
		for (j = 0; j < nd->blockers.n; j++)
			printf("       blocks: %s, not in the plan\n",
			    nd->blockers.v[j]);
		if (strcmp(act, "skip") == 0)
			printf("       build: no, key %s is already built\n",
			    nd->key);
		else if (was != NULL)
			printf("       build: yes, inputs changed since the "
			    "built key %s of this version\n", was);
		else if (have_built)
			printf("       build: yes, no built package of %s\n",
			    nd->cpvstr);
		else
			printf("       build: yes, no list of built keys given\n");
	}
	bf_buf_release(&use);
}

static void
print_json(const struct bf_plan *plan, const struct bf_profile *p,
    const struct bf_pins *pins, const struct built *b)
{
	size_t i, j, n = bf_plan_count(plan);
	const struct bf_baseprof *bp;
	const char *was;

	printf("{\"profile\":");
	json_str(p->name);
	printf(",\"chost\":");
	json_str(p->chost);
	printf(",\"trees\":[");
	for (i = 0; i < pins->n; i++) {
		printf("%s{\"name\":", i ? "," : "");
		json_str(pins->v[i].name);
		printf(",\"commit\":");
		json_str(pins->v[i].commit);
		printf(",\"uri\":");
		json_str(pins->v[i].uri);
		printf(",\"ref\":");
		json_str(pins->v[i].ref);
		printf("}");
	}
	printf("]");
	bp = bf_plan_baseprof(plan);
	if (bp->path != NULL) {
		printf(",\"portage_profile\":{\"path\":");
		json_str(bp->path);
		printf(",\"repo\":");
		json_str(bp->repo);
		printf(",\"cascade\":[");
		for (i = 0; i < bp->nodes.n; i++) {
			printf("%s", i ? "," : "");
			json_str(bp->nodes.v[i]);
		}
		printf("]}");
	}
	printf(",\"packages\":[");
	for (i = 0; i < n; i++) {
		const struct bf_plan_node *nd = bf_plan_node(plan, i);
		const char *act = action(b, nd, &was);

		printf("%s\n{\"order\":%zu,\"cpv\":", i ? "," : "", nd->order);
		json_str(nd->cpvstr);
		printf(",\"repo\":");
		json_str(nd->repo);
		printf(",\"slot\":");
		json_str(nd->slot);
		printf(",\"subslot\":");
		json_str(nd->subslot);
		printf(",\"key\":");
		json_str(nd->key);
		printf(",\"action\":");
		json_str(act);
		if (was != NULL) {
			printf(",\"built_key\":");
			json_str(was);
		}
		printf(",\"use\":[");
		for (j = 0; j < nd->use.n; j++) {
			printf("%s", j ? "," : "");
			json_str(nd->use.v[j]);
		}
		printf("],\"iuse\":[");
		for (j = 0; j < nd->iuse.n; j++) {
			printf("%s", j ? "," : "");
			json_str(nd->iuse.v[j]);
		}
		printf("],\"after\":[");
		for (j = 0; j < nd->nafter; j++) {
			printf("%s", j ? "," : "");
			json_str(nd->after[j]->cpvstr);
		}
		printf("],\"deps\":[");
		for (j = 0; j < nd->nedges; j++) {
			printf("%s{\"class\":", j ? "," : "");
			json_str(bf_dep_class_name(nd->edges[j].cls));
			printf(",\"atom\":");
			json_str(nd->edges[j].atom);
			printf(",\"cpv\":");
			json_str(nd->edges[j].to->cpvstr);
			printf("}");
		}
		printf("],\"why\":[");
		for (j = 0; j < nd->nwhy; j++) {
			const struct bf_plan_reason *r = &nd->why[j];

			printf("%s{\"class\":", j ? "," : "");
			json_str(r->parent ? bf_dep_class_name(r->cls) :
			    r->set ? r->set : "world");
			printf(",\"atom\":");
			json_str(r->atom);
			if (r->parent != NULL) {
				printf(",\"parent\":");
				json_str(r->parent->cpvstr);
			} else {
				printf(",\"file\":");
				json_str(r->file);
				printf(",\"line\":%u", r->line);
			}
			printf("}");
		}
		printf("],\"blockers\":[");
		for (j = 0; j < nd->blockers.n; j++) {
			printf("%s", j ? "," : "");
			json_str(nd->blockers.v[j]);
		}
		printf("]}");
	}
	printf("\n]}\n");
}

/* What the options say. */
struct plan_args {
	const char	*profile;
	const char	*pinfile;	/* --pin FILE */
	const char	*mirrors;	/* --mirrors DIR */
	const char	*builtfile;	/* --built FILE */
	int		 explain;
	int		 json;
	struct bf_pins	 pins;		/* --tree, then the resolved pins */
};

/* -1 to go on, or the exit status. */
static int
plan_args(struct bf_cli *cli, int argc, char **argv, struct plan_args *a)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "tree", required_argument, NULL, 't' },
		{ "pin", required_argument, NULL, 'P' },
		{ "mirrors", required_argument, NULL, 'm' },
		{ "built", required_argument, NULL, 'b' },
		{ "explain", no_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_err e = BF_ERR_INIT;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': a->profile = optarg; break;
		case 't':
			if ((rc = bf_pins_add_spec(&a->pins, optarg, &e)) < 0) {
				cli_error(cli, "%s", bf_err_msg(&e, rc));
				return BF_EXIT_ERROR;
			}
			break;
		case 'P': a->pinfile = optarg; break;
		case 'm': a->mirrors = optarg; break;
		case 'b': a->builtfile = optarg; break;
		case 'x': a->explain = 1; break;
		case 'j': a->json = 1; break;
		case 'h':
			return cli_help(cli, plan_usage, plan_help);
		default:
			return cli_usage(cli, plan_usage);
		}
	}
	if (a->profile == NULL || optind != argc ||
	    (a->pinfile != NULL && a->pins.n))
		return cli_usage(cli, plan_usage);
	return -1;
}

/* The pins: --pin FILE, or --tree (else the profile's repositories)
 * resolved in the mirrors; -1, or the exit status of an error. */
static int
plan_pins(struct bf_cli *cli, struct plan_args *a,
    const struct bf_profile *prof)
{
	struct bf_buf text = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	size_t i, given = a->pins.n;
	int rc = 0, ret = BF_EXIT_ERROR;

	if (a->pinfile != NULL) {
		if ((rc = bf_conf_read_file(a->pinfile, &text, &e)) < 0 ||
		    (rc = bf_pins_parse(&a->pins, a->pinfile, text.buf,
		    text.len, &e)) < 0)
			goto err;
		bf_buf_release(&text);
		if (a->pins.n == 0) {
			cli_error(cli, "%s: no pins", a->pinfile);
			return BF_EXIT_ERROR;
		}
		return -1;
	}
	/* no --tree: the profile's repositories */
	for (i = 0; given == 0 && i < prof->nrepos; i++)
		if ((rc = bf_pins_add(&a->pins, prof->repos[i].name,
		    prof->repos[i].uri, prof->repos[i].ref, NULL, &e)) < 0)
			goto err;
	if (a->pins.n == 0) {
		cli_error(cli, "no repositories: give --tree or --pin, or "
		    "[repo NAME] in %s/profile.conf", prof->dir);
		return BF_EXIT_ERROR;
	}
	if ((rc = bf_pins_resolve(&a->pins, a->mirrors, &e)) < 0) {
		ret = BF_EXIT_FAIL;
		goto err;
	}
	return -1;
err:
	cli_error(cli, "%s", bf_err_msg(&e, rc));
	bf_buf_release(&text);
	return ret;
}

/* Opens the tree of each pin at its commit; -1, or the exit status. */
static int
plan_trees(struct bf_cli *cli, const struct plan_args *a,
    struct bf_tree **trees, size_t *ntrees)
{
	struct bf_buf path = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	const struct bf_pin *pin;
	int rc, ret = -1;

	for (*ntrees = 0; *ntrees < a->pins.n; (*ntrees)++) {
		pin = &a->pins.v[*ntrees];
		bf_buf_reset(&path);
		bf_tree_mirror_path(a->mirrors, pin->name, &path);
		if ((rc = bf_tree_open(&trees[*ntrees], path.buf, pin->commit,
		    pin->name, &e)) < 0) {
			cli_error(cli, "%s", bf_err_msg(&e, rc));
			ret = BF_EXIT_FAIL;
			break;
		}
	}
	bf_buf_release(&path);
	return ret;
}

int
cmd_plan(struct bf_cli *cli, int argc, char **argv)
{
	struct plan_args a = { NULL, NULL, NULL, NULL, 0, 0, BF_PINS_INIT };
	struct bf_buf mbuf = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct built built = { BF_STRV_INIT, BF_STRV_INIT };
	struct bf_profile prof;
	struct bf_tree **trees = NULL;
	struct bf_plan *plan = NULL;
	int rc, loaded = 0, ret = BF_EXIT_ERROR;
	size_t i, ntrees = 0;

	if ((ret = plan_args(cli, argc, argv, &a)) >= 0)
		goto out;
	ret = BF_EXIT_ERROR;
	if (a.mirrors == NULL)
		a.mirrors = cli_mirrors_dir(&mbuf);
	if ((rc = bf_profile_load(&prof, a.profile, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	loaded = 1;
	if (a.builtfile != NULL && (rc = bf_conf_load_lines(a.builtfile, 0,
	    built_line, &built, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		goto out;
	}
	if ((ret = plan_pins(cli, &a, &prof)) >= 0)
		goto out;
	ret = BF_EXIT_ERROR;
	if ((trees = calloc(a.pins.n, sizeof(*trees))) == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	if ((ret = plan_trees(cli, &a, trees, &ntrees)) >= 0)
		goto out;
	ret = BF_EXIT_ERROR;
	if ((rc = bf_plan_run(&plan, &prof, trees, ntrees, &e)) < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		if (rc != -ENOMEM)
			ret = BF_EXIT_FAIL;
		goto out;
	}
	if (a.json)
		print_json(plan, &prof, &a.pins, &built);
	else
		print_text(plan, &prof, &a.pins, &built, a.explain,
		    a.builtfile != NULL);
	ret = fflush(stdout) == 0 ? BF_EXIT_OK : BF_EXIT_ERROR;
out:
	bf_plan_free(plan);
	for (i = 0; i < ntrees; i++)
		bf_tree_close(trees[i]);
	free(trees);
	if (loaded)
		bf_profile_release(&prof);
	bf_pins_release(&a.pins);
	bf_strv_release(&built.keys);
	bf_strv_release(&built.cpvs);
	bf_buf_release(&mbuf);
	return ret;
}
