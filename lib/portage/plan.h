/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PLAN_H
#define BF_PLAN_H

#include <stddef.h>

#include "portage/atom.h"
#include "base/conf.h"

struct bf_err;
struct bf_profile;
struct bf_tree;

/*
 * The planner: resolves a hw-profile's world set against pinned ebuild
 * repositories (their metadata/md5-cache) into a DAG of exact packages
 * in a valid build order, each with a build key.
 *
 * Dependency classes: DEPEND and BDEPEND are build-time ("hard"): they
 * must be built, and installed with their runtime closure, before the
 * package is built.  RDEPEND and IDEPEND are runtime: what installing a
 * binary needs.  PDEPEND is resolved but imposes no order.  A cycle
 * through a build-time edge is an error; runtime cycles are allowed.
 *
 * The build key of a package hashes (BLAKE2b, 128 bits shown) the
 * ebuild's md5 and its eclasses' md5s from md5-cache, the effective
 * USE, CHOST, CFLAGS, CXXFLAGS, LDFLAGS, the build keys of everything
 * installed when it is built (build dependencies and their runtime
 * closure), and the slot/sub-slot of its slot-operator (:=)
 * dependencies.
 */
enum bf_dep_class {
	BF_DEP_DEPEND,
	BF_DEP_BDEPEND,
	BF_DEP_RDEPEND,
	BF_DEP_PDEPEND,
	BF_DEP_IDEPEND,
	BF_DEP_NCLASS
};

const char *bf_dep_class_name(enum bf_dep_class c);
/* DEPEND and BDEPEND: what a package is built after, with its runtime closure. */
int	bf_dep_class_hard(enum bf_dep_class c);
/* RDEPEND and IDEPEND: what the runtime closure follows. */
int	bf_dep_class_runtime(enum bf_dep_class c);

struct bf_plan_node;

/* One resolved dependency edge. */
struct bf_plan_edge {
	struct bf_plan_node	*to;
	enum bf_dep_class	 cls;
	char			*atom;		/* as written in the ebuild */
};

/* Why a package is in the plan: the world file or a parent's dependency. */
struct bf_plan_reason {
	struct bf_plan_node	*parent;	/* NULL: the world set */
	enum bf_dep_class	 cls;
	char			*atom;
	const char		*file;		/* world file, when parent is NULL */
	unsigned		 line;
	const char		*set;		/* "world" or "system", when parent is NULL */
};

struct bf_plan_node {
	struct bf_cpv		 cpv;
	char			*cpvstr;	/* "cat/pf" */
	const char		*repo;
	const char		*slot;
	const char		*subslot;	/* == slot when none is given */
	struct bf_strv		 use;		/* effective USE, sorted */
	struct bf_strv		 iuse;		/* IUSE names, sorted */
	char			 key[33];	/* build key, hex */
	struct bf_plan_edge	*edges;
	size_t			 nedges;
	struct bf_plan_reason	*why;
	size_t			 nwhy;
	struct bf_plan_node	**after;	/* built before this one */
	size_t			 nafter;
	struct bf_strv		 blockers;	/* "!atom (CLASS)" not in the plan */
	size_t			 order;		/* 1-based build position */
};

struct bf_plan;

/*
 * Plans `p` over `trees` (later trees take precedence over earlier ones
 * for the same version, as overlays do).  On failure the message names
 * the atom and the chain of packages that required it.
 */
int	bf_plan_run(struct bf_plan **plan, const struct bf_profile *p,
	    struct bf_tree *const *trees, size_t ntrees, struct bf_err *e);
void	bf_plan_free(struct bf_plan *plan);
/* Packages in build order. */
size_t	bf_plan_count(const struct bf_plan *plan);
const struct bf_plan_node *bf_plan_node(const struct bf_plan *plan,
	    size_t i);
/* The Portage profile used (path NULL when the hw-profile names none). */
struct bf_baseprof;
const struct bf_baseprof *bf_plan_baseprof(const struct bf_plan *plan);
/*
 * The Packages header keys Portage's bintree._update_pkgindex_header()
 * writes, for the configuration the plan was made with (formats.md
 * 3.2): PROFILE, CHOST, CBUILD, ACCEPT_KEYWORDS, ACCEPT_LICENSE, USE
 * (global: profile and make.conf words, USE_EXPAND flags, the arch
 * flag, use.force and use.mask applied), IUSE_IMPLICIT, USE_EXPAND*,
 * ARCH and the other USE_EXPAND_IMPLICIT/UNPREFIXED variables, and
 * USE_EXPAND_VALUES_<X>; ACCEPT_PROPERTIES, ACCEPT_RESTRICT,
 * GENTOO_MIRRORS and INSTALL_MASK when make.conf or the profile sets
 * them.  Keys whose values come only from Portage's make.globals
 * (FEATURES, CONFIG_PROTECT, CONFIG_PROTECT_MASK and those defaults)
 * are not written: each node has its own.  As Portage, nothing when
 * there is no Portage profile or no IUSE_IMPLICIT.  Adds to `hdr`; the
 * profile the plan was made with must still be alive.
 */
struct bf_conf;
int	bf_plan_index_header(const struct bf_plan *plan, struct bf_conf *hdr,
	    struct bf_err *e);
/*
 * The final set of an incremental variable (FEATURES, USE_EXPAND, ...):
 * the Portage profile cascade's words, then make.conf's.
 */
int	bf_plan_incremental(const struct bf_plan *plan, const char *key,
	    struct bf_strv *set, struct bf_err *e);
/*
 * The flags every package has in IUSE_EFFECTIVE besides its own IUSE,
 * sorted, as Portage's config._calc_iuse_effective() makes them:
 * IUSE_IMPLICIT, the USE_EXPAND_VALUES_<X> of the USE_EXPAND_UNPREFIXED
 * variables in USE_EXPAND_IMPLICIT, and x_value for the values of the
 * USE_EXPAND_IMPLICIT variables in USE_EXPAND.
 */
int	bf_plan_iuse_implicit(const struct bf_plan *plan, struct bf_strv *out,
	    struct bf_err *e);
/* Number of md5-cache entries indexed and of entries whose metadata was read. */
void	bf_plan_stats(const struct bf_plan *plan, size_t *indexed,
	    size_t *loaded);

#endif
