/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory of nodes (man/binfarm-nodes.conf.5): nodes.conf at the
 * top of the repository, one "[node NAME]" section per node with its
 * site, farm, member number, hw-profile, channel and the SHA-256 of
 * its token.
 *
 * Rules of a whole inventory (bf_nodes_check()):
 *  - node, site and farm names are made of letters, digits, '.', '_'
 *    and '-', at most 64 bytes, not starting with '.' or '-';
 *  - no two nodes share a name;
 *  - a farm is a site and a farm name together; the members of every
 *    farm are numbered 1..n, without a gap and without a number given
 *    twice;
 *  - profile and channel names are repository names
 *    (bf_repo_name_valid()).  Whether the profile has packages in the
 *    repository is not a rule of the file (a profile may be gc'd or
 *    not built yet); bf_nodes_add() asks for it.
 *  - the token's SHA-256 is 64 lower-case hex digits; the token itself
 *    is never stored.
 */
#ifndef BF_NODES_H
#define BF_NODES_H

#include <stddef.h>

struct bf_err;
struct bf_repo;

#define BF_NODES_FILE		"nodes.conf"
#define BF_NODE_NAME_MAX	64
#define BF_NODE_MEMBER_MAX	1000000
#define BF_NODE_TOKEN_HEX	64	/* a token: 32 random bytes in hex */

struct bf_node {
	char		*name;
	char		*site;
	char		*farm;
	long		 member;	/* 1..BF_NODE_MEMBER_MAX */
	char		*profile;
	char		*channel;
	char		 token_sha256[BF_NODE_TOKEN_HEX + 1];
	unsigned	 line;		/* of its section in the file; 0: new */
};

struct bf_nodes {
	struct bf_node	*v;
	size_t		 n;
	size_t		 alloc;
	char		*file;		/* the path messages name */
};

#define BF_NODES_INIT { NULL, 0, 0, NULL }

void	bf_nodes_release(struct bf_nodes *ns);

/* Node, site and farm names (above). */
int	bf_node_name_valid(const char *s);

/*
 * Parses `len` bytes of `text` as an inventory named `file` (in
 * messages: "file:line: ...") into `ns`, which must be empty, then
 * checks the whole of it (bf_nodes_check()).  Returns 0, -BF_ECONFIG
 * with a message, or -ENOMEM.
 */
int	bf_nodes_parse(struct bf_nodes *ns, const char *file, const char *text,
	    size_t len, struct bf_err *e);
/*
 * Reads and parses the repository's nodes.conf; a missing file is an
 * empty inventory.  Readers need no lock: the file is only ever
 * replaced whole.
 */
int	bf_nodes_load(struct bf_repo *r, struct bf_nodes *ns, struct bf_err *e);
/* Checks the rules above over the whole inventory; 0 or -BF_ECONFIG. */
int	bf_nodes_check(const struct bf_nodes *ns, struct bf_err *e);
/* Sorts by site, farm and member (the file's order, and list's). */
void	bf_nodes_sort(struct bf_nodes *ns);
/* The node called `name` (borrowed), or NULL. */
struct bf_node *bf_nodes_find(const struct bf_nodes *ns, const char *name);
/*
 * Writes the inventory, sorted and checked, to nodes.conf atomically
 * (temporary file, fsync, rename, fsync of the directory), leftovers of
 * a killed writer removed first.  The writer lock (bf_repo_lock())
 * must be held, and the inventory must have been loaded under it.
 */
int	bf_nodes_save(struct bf_repo *r, struct bf_nodes *ns, struct bf_err *e);

/*
 * Adds a copy of `nd` (its line is ignored).  Refused with
 * -BF_ECONFLICT: a name already in the inventory, a member number its
 * farm already has, a member number that would leave a gap (a farm of
 * n members takes member n + 1 only); -BF_EUSAGE: a bad name or value.
 * `nd->member` 0 means the next member of its farm; the number given
 * is written back into the copy.  `r` (may be NULL) is asked whether
 * the profile exists (snapshots/ or pool/ has it): -BF_ENOTFOUND if not.
 */
int	bf_nodes_add(struct bf_nodes *ns, struct bf_repo *r,
	    const struct bf_node *nd, struct bf_err *e);

/* Called for each node renumbered by bf_nodes_remove(). */
typedef void (*bf_nodes_renumber_cb)(void *arg, const struct bf_node *nd,
    long from);
/*
 * Removes the node called `name`: -BF_ENOTFOUND ("no node 'x'") when
 * there is none.  Removing a member other than the highest of its farm
 * would leave a gap: refused with -BF_ECONFLICT, unless `force`, which
 * moves every higher member of the farm down by one (each reported to
 * `cb`, which may be NULL).
 */
int	bf_nodes_remove(struct bf_nodes *ns, const char *name, int force,
	    bf_nodes_renumber_cb cb, void *arg, struct bf_err *e);

/*
 * A new token: BF_NODE_TOKEN_HEX hex digits of getrandom(2), and its
 * SHA-256 in hex.  The caller wipes `token` (explicit_bzero) after use.
 */
int	bf_node_token_new(char token[BF_NODE_TOKEN_HEX + 1],
	    char sha256[BF_NODE_TOKEN_HEX + 1], struct bf_err *e);
/*
 * Gives node `name` a new token (bf_node_token_new()) into `token`,
 * which the caller wipes; the node keeps only its SHA-256, and the old
 * token no longer matches.  -BF_ENOTFOUND when there is no such node.
 */
int	bf_nodes_retoken(struct bf_nodes *ns, const char *name,
	    char token[BF_NODE_TOKEN_HEX + 1], struct bf_err *e);
/* The SHA-256 of `token` in lower-case hex. */
int	bf_node_token_hash(const char *token,
	    char sha256[BF_NODE_TOKEN_HEX + 1], struct bf_err *e);
/* 1 if `token` hashes to the node's token-sha256 (constant time), else 0. */
int	bf_node_token_matches(const struct bf_node *nd, const char *token);

#endif
