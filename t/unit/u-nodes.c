/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory of nodes (lib/store/nodes.c): parsing nodes.conf with
 * its errors, the rules over the whole inventory (names once, farms
 * numbered 1..n), adding and removing, tokens, and a save and load
 * through a real repository under its lock.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "store/nodes.h"
#include "store/recover.h"
#include "store/repo.h"
#include "tap.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

#define NODE(name, site, farm, member) \
	"[node " name "]\nsite = " site "\nfarm = " farm "\nmember = " member \
	"\nprofile = web\nchannel = production\ntoken-sha256 = " SHA_A "\n"

static const char good[] =
    "# two farms of site par, one of lon\n"
    NODE("par-a-02", "par", "a", "2")
    "\n"
    NODE("par-a-01", "par", "a", "1")
    NODE("par-b-01", "par", "b", "1")
    "[ node lon-a-01 ]   \n"
    "  site=lon\nfarm =a\nmember= 1\nprofile = web\nchannel = canary\n"
    "token-sha256 = " SHA_A "\n";

static int
parse(const char *text, struct bf_nodes *ns, struct bf_err *e)
{
	return bf_nodes_parse(ns, "nodes.conf", text, strlen(text), e);
}

/* Parses `text`; must fail with a message containing `want`. */
static void
bad(const char *text, size_t len, const char *want, const char *what)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	rc = bf_nodes_parse(&ns, "nodes.conf", text, len, &e);
	if (!ok(rc == -BF_ECONFIG && strstr(e.msg, want) != NULL, what))
		printf("#   rc %d, message '%s'\n#   want '%s'\n", rc, e.msg,
		    want);
	bf_nodes_release(&ns);
}

#define BAD(text, want, what) bad((text), sizeof(text) - 1, (want), (what))

static void
test_parse(void)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	const struct bf_node *nd;

	is_int(parse(good, &ns, &e), 0, "a good inventory parses");
	is_int(ns.n, 4, "four nodes");
	nd = bf_nodes_find(&ns, "lon-a-01");
	ok(nd != NULL, "found by name");
	if (nd != NULL) {
		is_str(nd->site, "lon", "site, trimmed");
		is_str(nd->farm, "a", "farm");
		is_int(nd->member, 1, "member");
		is_str(nd->channel, "canary", "channel");
		is_str(nd->token_sha256, SHA_A, "token-sha256");
		is_int(nd->line, 24, "the line of its section");
	}
	bf_nodes_sort(&ns);
	is_str(ns.v[0].name, "lon-a-01", "sorted: lon first");
	is_str(ns.v[1].name, "par-a-01", "then par/a member 1");
	is_str(ns.v[2].name, "par-a-02", "member 2");
	is_str(ns.v[3].name, "par-b-01", "then par/b");
	ok(bf_nodes_find(&ns, "nope") == NULL, "a node not there");
	bf_nodes_release(&ns);

	is_int(parse("# nothing yet\n\n", &ns, &e), 0, "no nodes is fine");
	is_int(ns.n, 0, "and has none");
	bf_nodes_release(&ns);
}

static void
test_parse_errors(void)
{
	BAD(NODE("a", "par", "a", "1") NODE("a", "par", "a", "2"),
	    "nodes.conf:8: node 'a' is named twice (also on line 1)",
	    "a name twice");
	BAD(NODE("a", "par", "a", "1") NODE("b", "par", "a", "3"),
	    "nodes.conf:8: farm 'a' of site 'par': member 2 is missing",
	    "a member missing");
	BAD(NODE("a", "par", "a", "2"),
	    "farm 'a' of site 'par': member 1 is missing", "no member 1");
	BAD(NODE("a", "par", "a", "1") NODE("b", "par", "a", "1"),
	    "farm 'a' of site 'par': member 1 is given twice (nodes 'a' and "
	    "'b')", "a member twice");
	BAD(NODE("a", "par", "a", "0"), "nodes.conf:4: member must be a whole "
	    "number from 1 to 1000000, not '0'", "member 0");
	BAD(NODE("a", "par", "a", "-1"), "not '-1'", "a negative member");
	BAD(NODE("a", "par", "a", "01"), "not '01'", "a leading zero");
	BAD(NODE("a", "par", "a", "1x"), "not '1x'", "not a number");
	BAD(NODE("a", "par", "a", "99999999999999999999"), "not '9999",
	    "too big");
	BAD("[node a]\ncolour = red\n", "nodes.conf:2: unknown key 'colour' "
	    "in node 'a'", "an unknown key");
	BAD("[node a]\nsite = x\0y\n", "nodes.conf:2: NUL byte", "a NUL byte");
	BAD("[node a]\nsite = par\nsite = lon\n", "nodes.conf:3: 'site' of "
	    "node 'a' is set twice (first on line 2)", "a key twice");
	BAD("[node a]\nsite = par\n", "nodes.conf:1: node 'a' has no 'farm'",
	    "a key missing");
	BAD("[node a]\n[node b]\n", "nodes.conf:1: node 'a' has no 'site'",
	    "an empty section");
	BAD("site = par\n", "nodes.conf:1: 'site' outside a [node NAME] "
	    "section", "a key before any section");
	BAD("[farm a]\nsite = x\n", "nodes.conf:1: unknown section '[farm a]'",
	    "an unknown section");
	BAD("[node]\n", "unknown section '[node]'", "a node without a name");
	BAD("[node a\n", "nodes.conf:1: invalid section header", "no ']'");
	BAD("[node a]\nsite\n", "nodes.conf:2: no '=' after 'site'", "no '='");
	BAD("[node .a]\n", "invalid node name '.a'", "a name starting with .");
	BAD("[node -a]\n", "invalid node name '-a'", "a name starting with -");
	BAD("[node a/b]\n", "invalid node name 'a/b'", "a slash");
	BAD("[node a+b]\n", "invalid node name 'a+b'", "a plus");
	BAD("[node a b]\n", "invalid node name 'a b'", "two words");
	BAD("[node "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx]\n",
	    "invalid node name", "65 bytes");
	BAD("[node a]\nsite = p/q\n", "nodes.conf:2: invalid site 'p/q'",
	    "a bad site");
	BAD("[node a]\nfarm = \n", "nodes.conf:2: invalid farm ''",
	    "an empty farm");
	BAD("[node a]\nprofile = ../x\n", "invalid profile '../x'",
	    "a bad profile");
	BAD("[node a]\nchannel = a/b\n", "invalid channel 'a/b'",
	    "a bad channel");
	BAD("[node a]\ntoken-sha256 = abc\n", "nodes.conf:2: token-sha256 must "
	    "be 64 lower-case hex digits", "a short hash");
	BAD("[node a]\ntoken-sha256 = " "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "64 lower-case hex digits",
	    "an upper-case hash");
	BAD("[node a]\nsite = \x1b[2J\n", "invalid site '\\x1B[2J'",
	    "control characters are escaped in messages");
}

static void
test_check(void)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;

	is_int(parse(good, &ns, &e), 0, "parsed");
	ns.v[0].member = 3;	/* par-a-02 */
	is_int(bf_nodes_check(&ns, &e), -BF_ECONFIG, "a gap made in memory");
	ok(strstr(e.msg, "member 2 is missing") != NULL, "names the number");
	bf_nodes_release(&ns);
}

static struct bf_node
mknode(const char *name, const char *site, const char *farm, long member)
{
	struct bf_node nd;

	memset(&nd, 0, sizeof(nd));
	nd.name = (char *)name;
	nd.site = (char *)site;
	nd.farm = (char *)farm;
	nd.member = member;
	nd.profile = (char *)"web";
	nd.channel = (char *)"production";
	memcpy(nd.token_sha256, SHA_A, sizeof(nd.token_sha256));
	return nd;
}

static int renumbers;

static void
count_renumber(void *arg, const struct bf_node *nd, long from)
{
	(void)arg;
	if (nd->member == from - 1)
		renumbers++;
}

static void
test_add_remove(void)
{
	struct bf_nodes ns = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_node nd;

	nd = mknode("n1", "par", "a", 0);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), 0, "add: the first member");
	is_int(bf_nodes_find(&ns, "n1")->member, 1, "member 0 means the next");
	nd = mknode("n2", "par", "a", 2);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), 0, "member 2 given");
	nd = mknode("n4", "par", "a", 4);
	bf_err_clear(&e);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), -BF_ECONFLICT,
	    "member 4 of a farm of 2 is a gap");
	ok(strstr(e.msg, "the next is member 3, not 4") != NULL, e.msg);
	nd = mknode("n2b", "par", "a", 2);
	bf_err_clear(&e);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), -BF_ECONFLICT,
	    "a member the farm has");
	ok(strstr(e.msg, "already has member 2: node 'n2'") != NULL, e.msg);
	nd = mknode("n1", "lon", "a", 1);
	bf_err_clear(&e);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), -BF_ECONFLICT, "a name twice");
	ok(strstr(e.msg, "node 'n1' is already in the inventory") != NULL,
	    e.msg);
	nd = mknode("bad/name", "lon", "a", 1);
	bf_err_clear(&e);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), -BF_EUSAGE, "a bad name");
	nd = mknode("n9", "lon", "a", 1);
	nd.channel = (char *)"-x";
	bf_err_clear(&e);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), -BF_EUSAGE, "a bad channel");
	nd = mknode("n3", "par", "a", 0);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), 0, "member 3");
	nd = mknode("m1", "par", "b", 0);
	is_int(bf_nodes_add(&ns, NULL, &nd, &e), 0, "another farm, member 1");
	is_int(bf_nodes_find(&ns, "m1")->member, 1, "farms count apart");
	is_int(ns.n, 4, "four nodes");
	is_int(bf_nodes_check(&ns, &e), 0, "the whole is valid");

	bf_err_clear(&e);
	is_int(bf_nodes_remove(&ns, "x", 0, NULL, NULL, &e), -BF_ENOTFOUND,
	    "remove: no such node");
	ok(strstr(e.msg, "no node 'x'") != NULL, e.msg);
	bf_err_clear(&e);
	is_int(bf_nodes_remove(&ns, "n1", 0, NULL, NULL, &e), -BF_ECONFLICT,
	    "member 1 of 3 would leave a gap");
	ok(strstr(e.msg, "would leave a gap in farm 'a' of site 'par'") !=
	    NULL, e.msg);
	is_int(ns.n, 4, "nothing removed");
	is_int(bf_nodes_remove(&ns, "n3", 0, NULL, NULL, &e), 0,
	    "the highest member goes");
	is_int(bf_nodes_remove(&ns, "n1", 1, count_renumber, NULL, &e), 0,
	    "forced: member 1 goes");
	is_int(renumbers, 1, "and member 2 is renumbered");
	is_int(bf_nodes_find(&ns, "n2")->member, 1, "n2 is member 1");
	is_int(bf_nodes_check(&ns, &e), 0, "the whole is still valid");
	is_int(bf_nodes_remove(&ns, "m1", 0, NULL, NULL, &e), 0,
	    "a farm's only member");
	is_int(ns.n, 1, "one node left");
	bf_nodes_release(&ns);
}

static void
test_tokens(void)
{
	char tok[BF_NODE_TOKEN_HEX + 1], tok2[BF_NODE_TOKEN_HEX + 1];
	char sha[BF_NODE_TOKEN_HEX + 1], sha2[BF_NODE_TOKEN_HEX + 1];
	struct bf_err e = BF_ERR_INIT;
	struct bf_node nd;

	is_int(bf_node_token_hash("abc", sha, &e), 0, "hash");
	is_str(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff6"
	    "1f20015ad", "SHA-256 of 'abc'");
	is_int(bf_node_token_new(tok, sha, &e), 0, "a new token");
	is_int(strlen(tok), 64, "64 characters");
	is_int(strspn(tok, "0123456789abcdef"), 64, "hex");
	is_int(bf_node_token_hash(tok, sha2, &e), 0, "hashed again");
	is_str(sha2, sha, "its hash");
	is_int(bf_node_token_new(tok2, sha2, &e), 0, "another");
	ok(strcmp(tok, tok2) != 0, "tokens differ");
	nd = mknode("n", "s", "f", 1);
	memcpy(nd.token_sha256, sha, sizeof(sha));
	ok(bf_node_token_matches(&nd, tok), "the token matches");
	ok(!bf_node_token_matches(&nd, tok2), "another does not");
	ok(!bf_node_token_matches(&nd, ""), "nor an empty one");
}

static void
test_save_load(void)
{
	struct bf_nodes ns = BF_NODES_INIT, back = BF_NODES_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r = NULL;
	char dir[] = "/tmp/u-nodes.XXXXXX", leftover[256];
	struct stat st;
	int fd;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(leftover, sizeof(leftover), "%s/repo", dir);
	is_int(bf_repo_create(leftover, BF_REPO_UNSIGNED, &e), 0, "a repository");
	is_int(bf_repo_open(&r, leftover, &e), 0, "opened");
	if (r == NULL)
		goto out;
	is_int(bf_nodes_load(r, &ns, &e), 0, "no nodes.conf: no nodes");
	is_int(ns.n, 0, "none");
	bf_nodes_release(&ns);
	is_int(parse(good, &ns, &e), 0, "parsed");
	is_int(bf_nodes_save(r, &ns, &e), -BF_EUSAGE, "save without the lock");
	bf_err_clear(&e);
	is_int(bf_repo_lock(r, NULL, NULL, &e), 0, "locked");
	snprintf(leftover, sizeof(leftover), "%s/repo/.nodes.conf.tmp-AbCdEf",
	    dir);
	fd = open(leftover, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	is_int(bf_nodes_save(r, &ns, &e), 0, "saved");
	ok(stat(leftover, &st) < 0, "a killed writer's leftover is gone");
	is_int(bf_nodes_load(r, &back, &e), 0, "loaded again");
	is_int(back.n, 4, "four nodes");
	is_str(back.v[0].name, "lon-a-01", "in the file's order");
	is_str(back.v[3].name, "par-b-01", "to the last");
	is_str(back.v[3].token_sha256, SHA_A, "with the hash");
	ns.v[0].member = 5;
	bf_err_clear(&e);
	is_int(bf_nodes_save(r, &ns, &e), -BF_ECONFIG, "an invalid one is not "
	    "written");
	bf_nodes_release(&back);
	is_int(bf_nodes_load(r, &back, &e), 0, "the file is as it was");
	is_int(back.v[1].member, 1, "unchanged");
out:
	bf_nodes_release(&ns);
	bf_nodes_release(&back);
	bf_repo_free(r);
	bf_rmtree(AT_FDCWD, dir, NULL);
}

int
main(void)
{
	test_parse();
	test_parse_errors();
	test_check();
	test_add_remove();
	test_tokens();
	test_save_load();
	return tap_done();
}
