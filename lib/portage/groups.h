/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_GROUPS_H
#define BF_GROUPS_H

#include <stddef.h>

/*
 * The group DAG of a plan (groups.c).  Packages whose runtime
 * dependencies (RDEPEND, IDEPEND) form a cycle can only be installed
 * together, so the scheduler treats each strongly connected component
 * of the runtime graph as one group: a package may be built once the
 * groups of its build dependencies are complete.
 *
 * The graph is given in compressed rows: node i's edges are
 * to[off[i]] .. to[off[i + 1] - 1], each a node below n.
 */
struct bf_graph {
	size_t		 n;
	size_t		*off;		/* n + 1 entries */
	size_t		*to;
};
#define BF_GRAPH_INIT { 0, NULL, NULL }

struct bf_group_edge {
	size_t		 from, to;	/* group `from` needs group `to` */
};

struct bf_groups {
	size_t		 n;		/* nodes */
	size_t		*of;		/* of[i]: the group of node i */
	size_t		 ngroups;
	/* Between different groups, sorted by (from, to), each once. */
	struct bf_group_edge *edges;
	size_t		 nedges;
};
#define BF_GROUPS_INIT { 0, NULL, 0, NULL, 0 }

/*
 * The strongly connected components of `gr` (Tarjan, iteratively, so
 * that a long chain does not overflow the stack), numbered in the order
 * Tarjan finds them: every group a group has an edge to has a lower
 * number.  -ENOMEM, or 0.
 */
int	bf_groups_compute(const struct bf_graph *gr, struct bf_groups *g);
void	bf_groups_release(struct bf_groups *g);
void	bf_graph_release(struct bf_graph *gr);

/*
 * Sorts `v` and drops repeated values; returns the new count (for the
 * groups of a package's build dependencies).
 */
size_t	bf_groups_uniq(size_t *v, size_t n);

struct bf_plan;
/*
 * The runtime graph of `plan`: node i is the plan's node i (build
 * order), with an edge for each runtime dependency (bf_dep_class_runtime)
 * on another node of the plan.
 */
int	bf_plan_runtime_graph(const struct bf_plan *plan, struct bf_graph *gr);

#endif
