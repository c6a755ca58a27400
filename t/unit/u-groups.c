/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The group DAG (lib/portage/groups.c): strongly connected components
 * numbered so that a group's dependencies come first, and the edges
 * between groups, each once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "portage/groups.h"
#include "tap.h"

/* A graph from "a>b" pairs over n nodes. */
static void
graph(struct bf_graph *gr, size_t n, const size_t (*e)[2], size_t ne)
{
	size_t i, k = 0, v;

	gr->n = n;
	gr->off = calloc(n + 1, sizeof(*gr->off));
	gr->to = calloc(ne + 1, sizeof(*gr->to));
	for (v = 0; v < n; v++) {
		gr->off[v] = k;
		for (i = 0; i < ne; i++)
			if (e[i][0] == v)
				gr->to[k++] = e[i][1];
	}
	gr->off[n] = k;
}

/* Every edge goes from a higher group number to a lower one. */
static int
ordered(const struct bf_graph *gr, const struct bf_groups *g)
{
	size_t v, j;

	for (v = 0; v < gr->n; v++)
		for (j = gr->off[v]; j < gr->off[v + 1]; j++)
			if (g->of[gr->to[j]] > g->of[v])
				return 0;
	return 1;
}

int
main(void)
{
	struct bf_graph gr = BF_GRAPH_INIT;
	struct bf_groups g = BF_GROUPS_INIT;
	size_t v[] = { 5, 1, 5, 3, 1, 0 }, n, i;

	/* A chain 0 -> 1 -> 2: three groups, dependencies first. */
	{
		const size_t e[][2] = { { 0, 1 }, { 1, 2 } };

		graph(&gr, 3, e, 2);
		ok(bf_groups_compute(&gr, &g) == 0, "chain: computed");
		is_int(g.ngroups, 3, "chain: a group per node");
		ok(g.of[2] < g.of[1] && g.of[1] < g.of[0],
		    "chain: a dependency's group has a lower number");
		is_int(g.nedges, 2, "chain: two group edges");
		bf_groups_release(&g);
		bf_graph_release(&gr);
	}
	/* A cycle 0 -> 1 -> 2 -> 0 with 3 -> 0 and 2 -> 4. */
	{
		const size_t e[][2] = { { 0, 1 }, { 1, 2 }, { 2, 0 }, { 3, 0 },
		    { 2, 4 }, { 3, 1 } };

		graph(&gr, 5, e, 6);
		ok(bf_groups_compute(&gr, &g) == 0, "cycle: computed");
		is_int(g.ngroups, 3, "cycle: the cycle is one group");
		ok(g.of[0] == g.of[1] && g.of[1] == g.of[2],
		    "cycle: its nodes share the group");
		ok(g.of[3] != g.of[0] && g.of[4] != g.of[0],
		    "cycle: the others are groups of their own");
		ok(ordered(&gr, &g), "cycle: dependencies first");
		/* 3 -> cycle twice (3->0, 3->1) counts once. */
		is_int(g.nedges, 2, "cycle: edges between groups, each once");
		ok(g.edges[0].from < g.edges[1].from ||
		    (g.edges[0].from == g.edges[1].from &&
		    g.edges[0].to < g.edges[1].to), "cycle: edges sorted");
		for (i = 0; i < g.nedges; i++)
			ok(g.edges[i].to < g.edges[i].from,
			    "cycle: an edge points to a lower group");
		bf_groups_release(&g);
		bf_graph_release(&gr);
	}
	/* A self-loop and an isolated node; an edge out of range is ignored. */
	{
		const size_t e[][2] = { { 0, 0 }, { 1, 7 } };

		graph(&gr, 2, e, 2);
		ok(bf_groups_compute(&gr, &g) == 0, "self-loop: computed");
		is_int(g.ngroups, 2, "self-loop: one group per node");
		is_int(g.nedges, 0, "self-loop: no edge between groups");
		bf_groups_release(&g);
		bf_graph_release(&gr);
	}
	/* A long chain: no recursion, no stack overflow. */
	{
		size_t len = 200000, (*e)[2] = calloc(len, sizeof(*e));

		for (i = 0; i + 1 < len; i++) {
			e[i][0] = i;
			e[i][1] = i + 1;
		}
		e[len - 1][0] = len - 1;	/* back to the start: one cycle */
		e[len - 1][1] = 0;
		graph(&gr, len, (const size_t (*)[2])e, len);
		free(e);
		ok(bf_groups_compute(&gr, &g) == 0, "ring of 200000: computed");
		is_int(g.ngroups, 1, "ring of 200000: one group");
		bf_groups_release(&g);
		bf_graph_release(&gr);
	}
	/* Empty graph. */
	ok(bf_groups_compute(&gr, &g) == 0 && g.ngroups == 0,
	    "empty graph: no group");
	bf_groups_release(&g);

	n = bf_groups_uniq(v, 6);
	is_int(n, 4, "uniq: four distinct values");
	ok(v[0] == 0 && v[1] == 1 && v[2] == 3 && v[3] == 5,
	    "uniq: sorted");
	return tap_done();
}
