/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_BASEPROF_H
#define BF_BASEPROF_H

#include <stddef.h>

#include "portage/atom.h"
#include "base/conf.h"
#include "portage/profile.h"

struct bf_err;
struct bf_tree;

/*
 * The Portage profile a hw-profile stands on (profile.conf's
 * portage-profile, e.g. "default/linux/amd64/23.0"), read from the
 * pinned trees' git objects as Portage reads /etc/portage/make.profile:
 *
 *  - the cascade: each node's `parent` file names its parents, relative
 *    to the node or as "repo:path" (portage-2 profile format), and they
 *    are applied first, depth first, in the order listed;
 *  - make.defaults of every node, parsed as make.conf is, each expanding
 *    ${VAR} from what the nodes before it set; USE, USE_EXPAND*,
 *    IUSE_IMPLICIT, ACCEPT_KEYWORDS, ACCEPT_LICENSE and every USE_EXPAND
 *    variable are incremental ("-x" removes, "-*" clears), the others
 *    (ARCH, CHOST, ...) are overridden by later nodes;
 *  - package.mask: every repository's profiles/package.mask, then each
 *    node's; "-atom" in a node removes an earlier identical atom;
 *  - use.mask and use.force, incremental over the cascade;
 *  - package.use.mask and package.use.force: "atom flag..." lines, applied
 *    in cascade order over use.mask / use.force for matching packages.
 *
 * Not read (yet): the profiles' own package.use, use.stable.mask and
 * friends, packages, package.provided, and profile "eapi" checks.
 */
struct bf_baseprof {
	char		*path;		/* as given; NULL: no Portage profile */
	const char	*repo;		/* repository holding it (borrowed) */
	struct bf_strv	 nodes;		/* the cascade, "repo:profiles/..." */
	struct bf_conf	 make;		/* make.defaults, stacked */
	/* Incremental variables (USE_EXPAND, IUSE_IMPLICIT, ...): every word of the cascade, in order. */
	struct bf_conf	 incr;
	const char	*arch;		/* ARCH, borrowed from make; or NULL */
	/* USE words, then USE_EXPAND values as flags: apply with bf_use_apply. */
	struct bf_strv	 use;
	struct bf_strv	 accept_keywords;	/* final set */
	struct bf_strv	 accept_license;	/* incremental words, in order */
	struct bf_strv	 iuse_implicit;	/* sorted: IUSE_IMPLICIT, implicit expands */
	struct bf_strv	 use_mask;	/* final sets, sorted */
	struct bf_strv	 use_force;
	/* use.stable.{mask,force}: for stable packages only; final sets */
	struct bf_strv	 use_stable_mask;
	struct bf_strv	 use_stable_force;
	struct bf_pkglist package_mask;	/* final, repository masks first */
	struct bf_pkglist package_use_mask;	/* in cascade order */
	struct bf_pkglist package_use_force;
	struct bf_pkglist package_use_stable_mask;	/* stable packages only */
	struct bf_pkglist package_use_stable_force;
	struct bf_pkglist package_use;	/* the profiles' package.use */
	struct bf_pkglist system;	/* @system: "*atom" lines of packages */
	/* profiles/license_groups of every tree: group -> "member..." */
	struct bf_conf	 license_groups;
	struct bf_strv	 files;		/* names used in messages */
};

#define BF_BASEPROF_INIT { NULL, NULL, BF_STRV_INIT, BF_CONF_INIT, BF_CONF_INIT, NULL, \
	BF_STRV_INIT, BF_STRV_INIT, BF_STRV_INIT, BF_STRV_INIT, BF_STRV_INIT, \
	BF_STRV_INIT, BF_STRV_INIT, BF_STRV_INIT, { NULL, 0, 0 }, \
	{ NULL, 0, 0 }, { NULL, 0, 0 }, { NULL, 0, 0 }, { NULL, 0, 0 }, \
	{ NULL, 0, 0 }, { NULL, 0, 0 }, BF_CONF_INIT, BF_STRV_INIT }

/*
 * Loads every tree's profiles/package.mask and profiles/license_groups
 * and, when `path` is not NULL,
 * the Portage profile `path` from the first tree that has
 * profiles/<path>.  A missing profile, a cycle in the cascade, a parent
 * that does not exist or a bad line are -BF_ECONFIG (-BF_ENOTFOUND for a
 * missing profile) naming "repo:file:line".
 */
int	bf_baseprof_load(struct bf_baseprof *b, struct bf_tree *const *trees,
	    size_t ntrees, const char *path, struct bf_err *e);
void	bf_baseprof_release(struct bf_baseprof *b);

/* The package.mask line masking the package, or NULL. */
const struct bf_pkgent *bf_baseprof_masked(const struct bf_baseprof *b,
	    const struct bf_cpv *cpv, const char *slot, const char *repo);
/*
 * Fills `mask` and `force` (sorted) with the flags masked and forced for
 * the package: use.mask / use.force, then for a `stable` package
 * use.stable.mask / use.stable.force, then matching package.use.mask /
 * package.use.force lines and, when stable, package.use.stable.* ones.
 * A package is stable as Portage's KeywordsManager.isStable() says:
 * accepted, and not accepted were all its keywords "~" ones.  Returns 0
 * or -ENOMEM.
 */
int	bf_baseprof_use_masks(const struct bf_baseprof *b,
	    const struct bf_cpv *cpv, const char *slot, const char *repo,
	    int stable, struct bf_strv *mask, struct bf_strv *force);
/*
 * Applies the matching lines of the profiles' package.use to `use` (the
 * package's USE so far: IUSE defaults and make.defaults USE).
 */
int	bf_baseprof_package_use(const struct bf_baseprof *b,
	    const struct bf_cpv *cpv, const char *slot, const char *repo,
	    struct bf_strv *use);

/*
 * Whether license `name` is in license group `group` (without the '@'),
 * following nested @groups.
 */
int	bf_baseprof_in_group(const struct bf_baseprof *b, const char *group,
	    const char *name);

#endif
