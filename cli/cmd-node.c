/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm node: the inventory of nodes (nodes.conf): add, list, show,
 * remove, token.  A node's token is printed once, by add (or token,
 * which replaces it), and never again; only its SHA-256 is kept.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/lockfile.h"
#include "store/nodes.h"
#include "store/repo.h"
#include "json.h"
#include "repocli.h"
#include "base/banned.h"

static const char node_usage[] =
    "[-R DIR] (add NAME --site S --farm F [--member N] --profile P "
    "--channel C [--token-file FILE] | list [--json] [--site S] [--farm F] | "
    "show NAME [--json] | remove NAME [--force] | "
    "token NAME [--token-file FILE])";

static const char exit_help[] =
    "\n"
    "Exit status: 0 done, 1 refused (a bad name or value, a node named\n"
    "twice, a gap in a farm's members, no such node or profile, an invalid\n"
    "nodes.conf), 2 usage or a system error.\n";

static const char node_help[] =
    "The inventory of nodes, DIR/nodes.conf (binfarm-nodes.conf(5)):\n"
    "\n"
    "  add NAME    add a node, with a new token, printed once\n"
    "  list        the nodes, sorted by site, farm and member\n"
    "  show NAME   one node\n"
    "  remove NAME take a node out\n"
    "  token NAME  give a node a new token, printed once\n"
    "\n"
    "  -R, --repo DIR   the repository (default: $BINFARM_REPO)\n"
    "\n"
    "See 'binfarm node <subcommand> --help'.\n";

static const char add_usage[] =
    "[-R DIR] add NAME --site S --farm F [--member N] --profile P "
    "--channel C [--token-file FILE]";

static const char add_help[] =
    "Adds node NAME to the inventory, as member N of farm F of site S\n"
    "(the members of a farm are numbered 1..n without a gap: N is the\n"
    "next one, n + 1, and is that by default), with hw-profile P (which\n"
    "must have packages in the repository) and channel C.  A new random\n"
    "token is made for the node: it is printed once, on standard output,\n"
    "and only its SHA-256 is kept, so it cannot be shown again.\n"
    "\n"
    "  -R, --repo DIR         the repository (default: $BINFARM_REPO)\n"
    "  -s, --site S           the node's site\n"
    "  -f, --farm F           its farm in that site\n"
    "  -m, --member N         its member number in the farm (default: next)\n"
    "  -p, --profile P        its hw-profile\n"
    "  -c, --channel C        its channel\n"
    "      --token-file FILE  write the token to FILE, a new file of mode\n"
    "                         0600, instead of standard output\n";

static const char list_usage[] = "[-R DIR] list [--json] [--site S] [--farm F]";

static const char list_help[] =
    "Lists the nodes, sorted by site, farm and member: a table, or JSON.\n"
    "\n"
    "  -R, --repo DIR   the repository (default: $BINFARM_REPO)\n"
    "  -s, --site S     only the nodes of site S\n"
    "  -f, --farm F     only the nodes of farms called F\n"
    "      --json       {\"nodes\": [{\"name\", \"site\", \"farm\", \"member\",\n"
    "                   \"profile\", \"channel\"}, ...]}\n";

static const char show_usage[] = "[-R DIR] show NAME [--json]";

static const char show_help[] =
    "Shows node NAME: site, farm, member (of how many), profile, channel.\n"
    "\n"
    "  -R, --repo DIR   the repository (default: $BINFARM_REPO)\n"
    "      --json       one object, as in 'list --json', with\n"
    "                   \"farm_members\"\n";

static const char remove_usage[] = "[-R DIR] remove NAME [--force]";

static const char remove_help[] =
    "Removes node NAME from the inventory.  Only the highest member of a\n"
    "farm can go without leaving a gap; removing another one is refused,\n"
    "unless --force, which numbers the farm's higher members down by one\n"
    "(each renumbering is printed).\n"
    "\n"
    "  -R, --repo DIR   the repository (default: $BINFARM_REPO)\n"
    "  -F, --force      remove it and renumber the higher members\n";

static const char token_usage[] = "[-R DIR] token NAME [--token-file FILE]";

static const char token_help[] =
    "Gives node NAME a new random token, in place of its old one, which\n"
    "stops working: the new token is printed once, on standard output,\n"
    "and only its SHA-256 is kept.  Nothing else of the node changes.\n"
    "\n"
    "  -R, --repo DIR         the repository (default: $BINFARM_REPO)\n"
    "      --token-file FILE  write the token to FILE, a new file of mode\n"
    "                         0600, instead of standard output\n";

enum {
	O_SITE = 1 << 0, O_FARM = 1 << 1, O_MEMBER = 1 << 2,
	O_PROFILE = 1 << 3, O_CHANNEL = 1 << 4, O_TOKFILE = 1 << 5,
	O_JSON = 1 << 6, O_FORCE = 1 << 7,
};

struct nodeopts {
	const char	*dir;
	const char	*site, *farm, *profile, *channel, *token_file;
	const char	*name;		/* the one operand */
	long long	 member;
	int		 json, force;
};

struct sub {
	const char	*name;
	int		 (*fn)(struct bf_cli *, struct nodeopts *);
	unsigned	 opts;		/* O_* it takes */
	int		 nargs;		/* operands after the subcommand */
	const char	*usage;
	const char	*help;
};

/* 1 (refused) for what the user gave or the file says, else 2. */
static int
exit_code(int rc)
{
	switch (-rc) {
	case BF_ECONFIG:
	case BF_ECONFLICT:
	case BF_ENOTFOUND:
	case BF_EUSAGE:
		return BF_EXIT_FAIL;
	default:
		return BF_EXIT_ERROR;
	}
}

static int
fail(struct bf_cli *cli, const struct bf_err *e, int rc)
{
	cli_error(cli, "%s", bf_err_msg(e, rc));
	return exit_code(rc);
}

/* ------------------------------------------------------------------ */
/* add                                                                 */

/* Writes the token to a new file of mode 0600. */
static int
write_token_file(struct bf_cli *cli, const char *path, const char *token)
{
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		cli_error(cli, "cannot create token file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	if (bf_write_full(fd, token, strlen(token)) < 0 ||
	    bf_write_full(fd, "\n", 1) < 0 || fsync(fd) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	if (rc < 0) {
		cli_error(cli, "cannot write token file '%s': %s", path,
		    strerror(errno));
		unlink(path);
	}
	return rc;
}

/*
 * The token, once, before the inventory is written: a token that
 * cannot be printed leaves no node behind that nobody can identify.
 */
static int
print_token(struct bf_cli *cli, const struct bf_node *nd, const char *token,
    const char *unsaved)
{
	printf("token: %s\n", token);
	printf("this token will not be shown again: only its SHA-256 is kept "
	    "(in %s)\n", BF_NODES_FILE);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(cli, "cannot print the token of node '%s': %s; %s",
		    nd->name, strerror(errno), unsaved);
		return -1;
	}
	return 0;
}

static int
add_locked(struct bf_cli *cli, struct bf_repo *r, struct nodeopts *o,
    struct bf_node *nd, char *token)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_node *added;
	int rc, ret = BF_EXIT_ERROR, wrote = 0;

	if ((rc = bf_nodes_load(r, &ns, &e)) < 0 ||
	    (rc = bf_node_token_new(token, nd->token_sha256, &e)) < 0 ||
	    (rc = bf_nodes_add(&ns, r, nd, &e)) < 0) {
		ret = fail(cli, &e, rc);
		goto out;
	}
	added = bf_nodes_find(&ns, nd->name);
	nd->member = added->member;
	if (o->token_file != NULL) {
		if (write_token_file(cli, o->token_file, token) < 0)
			goto out;
		wrote = 1;
	} else if (print_token(cli, nd, token, "the node is not added") < 0)
		goto out;
	if ((rc = bf_nodes_save(r, &ns, &e)) < 0) {
		if (wrote)
			unlink(o->token_file);
		ret = fail(cli, &e, rc);
		if (!wrote)
			cli_error(cli, "node '%s' is not added: the token "
			    "printed above is void", nd->name);
		goto out;
	}
	cli_info(cli, "added node '%s': site %s, farm %s, member %ld, profile "
	    "%s, channel %s", nd->name, nd->site, nd->farm, nd->member,
	    nd->profile, nd->channel);
	if (wrote)
		cli_info(cli, "its token is in '%s' (mode 0600), and nowhere "
		    "else", o->token_file);
	ret = BF_EXIT_OK;
out:
	bf_nodes_release(&ns);
	return ret;
}

static int
node_add(struct bf_cli *cli, struct nodeopts *o)
{
	char token[BF_NODE_TOKEN_HEX + 1];
	struct bf_node nd;
	struct bf_repo *r;
	struct stat st;
	int ret;

	if (o->site == NULL || o->farm == NULL || o->profile == NULL ||
	    o->channel == NULL) {
		cli_error(cli, "add needs --site, --farm, --profile and "
		    "--channel");
		return cli_usage(cli, add_usage);
	}
	if (o->token_file != NULL && lstat(o->token_file, &st) == 0) {
		cli_error(cli, "'%s' exists: --token-file writes a new file",
		    o->token_file);
		return BF_EXIT_FAIL;
	}
	memset(&nd, 0, sizeof(nd));
	nd.name = (char *)o->name;
	nd.site = (char *)o->site;
	nd.farm = (char *)o->farm;
	nd.member = (long)o->member;
	nd.profile = (char *)o->profile;
	nd.channel = (char *)o->channel;
	if ((r = repocli_open(cli, o->dir)) == NULL)
		return BF_EXIT_ERROR;
	if (repocli_lock(cli, r) < 0)
		ret = BF_EXIT_ERROR;
	else
		ret = add_locked(cli, r, o, &nd, token);
	explicit_bzero(token, sizeof(token));
	bf_repo_free(r);
	return ret;
}

/* ------------------------------------------------------------------ */
/* token                                                               */

static int
token_locked(struct bf_cli *cli, struct bf_repo *r, struct nodeopts *o,
    char *token)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc, ret = BF_EXIT_ERROR, wrote = 0;

	if ((rc = bf_nodes_load(r, &ns, &e)) < 0 ||
	    (rc = bf_nodes_retoken(&ns, o->name, token, &e)) < 0) {
		ret = fail(cli, &e, rc);
		goto out;
	}
	if (o->token_file != NULL) {
		if (write_token_file(cli, o->token_file, token) < 0)
			goto out;
		wrote = 1;
	} else if (print_token(cli, bf_nodes_find(&ns, o->name), token,
	    "the old token stays") < 0)
		goto out;
	if ((rc = bf_nodes_save(r, &ns, &e)) < 0) {
		if (wrote)
			unlink(o->token_file);
		ret = fail(cli, &e, rc);
		cli_error(cli, "node '%s' keeps its old token%s", o->name,
		    wrote ? "" : ": the token printed above is void");
		goto out;
	}
	cli_info(cli, "node '%s' has a new token; its old one no longer "
	    "works", o->name);
	if (wrote)
		cli_info(cli, "the new token is in '%s' (mode 0600), and "
		    "nowhere else", o->token_file);
	ret = BF_EXIT_OK;
out:
	bf_nodes_release(&ns);
	return ret;
}

static int
node_token(struct bf_cli *cli, struct nodeopts *o)
{
	char token[BF_NODE_TOKEN_HEX + 1];
	struct bf_repo *r;
	struct stat st;
	int ret;

	if (o->token_file != NULL && lstat(o->token_file, &st) == 0) {
		cli_error(cli, "'%s' exists: --token-file writes a new file",
		    o->token_file);
		return BF_EXIT_FAIL;
	}
	if ((r = repocli_open(cli, o->dir)) == NULL)
		return BF_EXIT_ERROR;
	token[0] = '\0';
	if (repocli_lock(cli, r) < 0)
		ret = BF_EXIT_ERROR;
	else
		ret = token_locked(cli, r, o, token);
	explicit_bzero(token, sizeof(token));
	bf_repo_free(r);
	return ret;
}

/* ------------------------------------------------------------------ */
/* list and show                                                       */

static json_t *
node_json(const struct bf_node *nd)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "name", nd->name,
	    "site", nd->site, "farm", nd->farm, "member",
	    (json_int_t)nd->member, "profile", nd->profile, "channel",
	    nd->channel);
}

static int
matches(const struct nodeopts *o, const struct bf_node *nd)
{
	return (o->site == NULL || strcmp(o->site, nd->site) == 0) &&
	    (o->farm == NULL || strcmp(o->farm, nd->farm) == 0);
}

static int
list_json(struct bf_cli *cli, const struct nodeopts *o,
    const struct bf_nodes *ns)
{
	json_t *arr = json_array(), *root = json_pack("{s:o}", "nodes", arr);
	size_t i;

	if (arr == NULL || root == NULL) {
		json_decref(root);
		return cli_json_print(cli, NULL);
	}
	for (i = 0; i < ns->n; i++)
		if (matches(o, &ns->v[i]) &&
		    json_array_append_new(arr, node_json(&ns->v[i])) < 0) {
			json_decref(root);
			return cli_json_print(cli, NULL);
		}
	return cli_json_print(cli, root);
}

static void
widen(int *w, const char *s)
{
	int n = (int)strlen(s);

	if (n > *w)
		*w = n;
}

static int
list_table(struct bf_cli *cli, const struct nodeopts *o,
    const struct bf_nodes *ns)
{
	int wn = 4, ws = 4, wf = 4, wp = 7;
	size_t i, shown = 0;

	for (i = 0; i < ns->n; i++)
		if (matches(o, &ns->v[i])) {
			widen(&wn, ns->v[i].name);
			widen(&ws, ns->v[i].site);
			widen(&wf, ns->v[i].farm);
			widen(&wp, ns->v[i].profile);
			shown++;
		}
	if (shown == 0) {
		cli_info(cli, ns->n == 0 ? "no nodes in the inventory" :
		    "no node matches");
		return BF_EXIT_OK;
	}
	printf("%-*s  %-*s  %-*s  %6s  %-*s  %s\n", wn, "NAME", ws, "SITE", wf,
	    "FARM", "MEMBER", wp, "PROFILE", "CHANNEL");
	for (i = 0; i < ns->n; i++)
		if (matches(o, &ns->v[i]))
			printf("%-*s  %-*s  %-*s  %6ld  %-*s  %s\n", wn,
			    ns->v[i].name, ws, ns->v[i].site, wf,
			    ns->v[i].farm, ns->v[i].member, wp,
			    ns->v[i].profile, ns->v[i].channel);
	if (fflush(stdout) != 0) {
		cli_error(cli, "cannot write the output: %s", strerror(errno));
		return BF_EXIT_ERROR;
	}
	return BF_EXIT_OK;
}

/* Loads the inventory (no lock: the file is only replaced whole). */
static int
load(struct bf_cli *cli, const struct nodeopts *o, struct bf_nodes *ns)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	int rc;

	if ((r = repocli_open(cli, o->dir)) == NULL)
		return BF_EXIT_ERROR;
	rc = bf_nodes_load(r, ns, &e);
	bf_repo_free(r);
	if (rc < 0)
		return fail(cli, &e, rc);
	bf_nodes_sort(ns);
	return BF_EXIT_OK;
}

static int
node_list(struct bf_cli *cli, struct nodeopts *o)
{
	struct bf_nodes ns = BF_NODES_INIT;
	int ret;

	if ((ret = load(cli, o, &ns)) == BF_EXIT_OK)
		ret = o->json ? list_json(cli, o, &ns) :
		    list_table(cli, o, &ns);
	bf_nodes_release(&ns);
	return ret;
}

static int
node_show(struct bf_cli *cli, struct nodeopts *o)
{
	struct bf_nodes ns = BF_NODES_INIT;
	const struct bf_node *nd;
	json_t *j;
	long n = 0;
	size_t i;
	int ret;

	if ((ret = load(cli, o, &ns)) != BF_EXIT_OK)
		goto out;
	if ((nd = bf_nodes_find(&ns, o->name)) == NULL) {
		cli_error(cli, "no node '%s' in the inventory", o->name);
		ret = BF_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < ns.n; i++)
		if (strcmp(ns.v[i].site, nd->site) == 0 &&
		    strcmp(ns.v[i].farm, nd->farm) == 0)
			n++;
	if (o->json) {
		if ((j = node_json(nd)) != NULL &&
		    json_object_set_new(j, "farm_members", json_integer(n)) < 0) {
			json_decref(j);
			j = NULL;
		}
		ret = cli_json_print(cli, j);
		goto out;
	}
	printf("node:     %s\nsite:     %s\nfarm:     %s\nmember:   %ld of %ld\n"
	    "profile:  %s\nchannel:  %s\n", nd->name, nd->site, nd->farm,
	    nd->member, n, nd->profile, nd->channel);
	if (fflush(stdout) != 0) {
		cli_error(cli, "cannot write the output: %s", strerror(errno));
		ret = BF_EXIT_ERROR;
	}
out:
	bf_nodes_release(&ns);
	return ret;
}

/* ------------------------------------------------------------------ */
/* remove                                                              */

static void
renumbered(void *arg, const struct bf_node *nd, long from)
{
	cli_info(arg, "node '%s' is now member %ld of farm %s of site %s "
	    "(was %ld)", nd->name, nd->member, nd->farm, nd->site, from);
}

static int
node_remove(struct bf_cli *cli, struct nodeopts *o)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r;
	int rc, ret = BF_EXIT_ERROR;

	if ((r = repocli_open(cli, o->dir)) == NULL)
		return BF_EXIT_ERROR;
	if (repocli_lock(cli, r) < 0)
		goto out;
	if ((rc = bf_nodes_load(r, &ns, &e)) < 0 ||
	    (rc = bf_nodes_remove(&ns, o->name, o->force, renumbered, cli,
	    &e)) < 0 || (rc = bf_nodes_save(r, &ns, &e)) < 0) {
		ret = fail(cli, &e, rc);
		goto out;
	}
	cli_info(cli, "removed node '%s'", o->name);
	ret = BF_EXIT_OK;
out:
	bf_nodes_release(&ns);
	bf_repo_free(r);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

static const struct sub subs[] = {
	{ "add", node_add, O_SITE | O_FARM | O_MEMBER | O_PROFILE | O_CHANNEL |
	    O_TOKFILE, 1, add_usage, add_help },
	{ "list", node_list, O_SITE | O_FARM | O_JSON, 0, list_usage,
	    list_help },
	{ "show", node_show, O_JSON, 1, show_usage, show_help },
	{ "remove", node_remove, O_FORCE, 1, remove_usage, remove_help },
	{ "token", node_token, O_TOKFILE, 1, token_usage, token_help },
};

static int
sub_usage(struct bf_cli *cli, const struct sub *s)
{
	return cli_usage(cli, s->usage);
}

/* Parses the options of subcommand `s`; argv[0] is its name. */
static int
parse_sub(struct bf_cli *cli, const struct sub *s, int argc, char **argv,
    struct nodeopts *o)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'R' },
		{ "site", required_argument, NULL, 's' },
		{ "farm", required_argument, NULL, 'f' },
		{ "member", required_argument, NULL, 'm' },
		{ "profile", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { unsigned bit; const char *name; } names[] = {
		{ O_SITE, "--site" }, { O_FARM, "--farm" },
		{ O_MEMBER, "--member" }, { O_PROFILE, "--profile" },
		{ O_CHANNEL, "--channel" }, { O_TOKFILE, "--token-file" },
		{ O_JSON, "--json" }, { O_FORCE, "--force" },
	};
	unsigned given = 0;
	size_t i;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "R:s:f:m:p:c:Fh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'R': o->dir = optarg; break;
		case 's': o->site = optarg; given |= O_SITE; break;
		case 'f': o->farm = optarg; given |= O_FARM; break;
		case 'm':
			given |= O_MEMBER;
			if (cli_parse_ll(cli, "--member", optarg, 1,
			    BF_NODE_MEMBER_MAX, &o->member) < 0)
				return BF_EXIT_ERROR;
			break;
		case 'p': o->profile = optarg; given |= O_PROFILE; break;
		case 'c': o->channel = optarg; given |= O_CHANNEL; break;
		case 't': o->token_file = optarg; given |= O_TOKFILE; break;
		case 'j': o->json = 1; given |= O_JSON; break;
		case 'F': o->force = 1; given |= O_FORCE; break;
		case 'h':
			cli_help(cli, s->usage, s->help);
			fputs(exit_help, stdout);
			return -1;
		default:
			return sub_usage(cli, s);
		}
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (given & ~s->opts & names[i].bit) {
			cli_error(cli, "%s does not apply to '%s'",
			    names[i].name, s->name);
			return sub_usage(cli, s);
		}
	if (argc - optind != s->nargs)
		return sub_usage(cli, s);
	o->name = s->nargs > 0 ? argv[optind] : NULL;
	return 0;
}

int
cmd_node(struct bf_cli *cli, int argc, char **argv)
{
	struct nodeopts o;
	size_t k;
	int i = 1, rc;

	memset(&o, 0, sizeof(o));
	/* Options before the subcommand: -R DIR and --help. */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			cli_help(cli, node_usage, node_help);
			fputs(exit_help, stdout);
			return BF_EXIT_OK;
		} else if ((strcmp(argv[i], "-R") == 0 ||
		    strcmp(argv[i], "--repo") == 0) && i + 1 < argc) {
			o.dir = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--repo=", 7) == 0) {
			o.dir = argv[i++] + 7;
		} else if (strncmp(argv[i], "-R", 2) == 0 && argv[i][2] != '\0') {
			o.dir = argv[i++] + 2;
		} else
			return cli_usage(cli, node_usage);
	}
	if (i == argc)
		return cli_usage(cli, node_usage);
	for (k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
		if (strcmp(argv[i], subs[k].name) != 0)
			continue;
		if ((rc = parse_sub(cli, &subs[k], argc - i, argv + i, &o)) != 0)
			return rc < 0 ? BF_EXIT_OK : rc;
		return subs[k].fn(cli, &o);
	}
	cli_error(cli, "unknown subcommand '%s'", argv[i]);
	return cli_usage(cli, node_usage);
}
