/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The group DAG of a plan: strongly connected components of its runtime
 * graph (groups.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "portage/groups.h"
#include "portage/plan.h"
#include "base/banned.h"

void
bf_graph_release(struct bf_graph *gr)
{
	free(gr->off);
	free(gr->to);
	gr->off = gr->to = NULL;
	gr->n = 0;
}

void
bf_groups_release(struct bf_groups *g)
{
	free(g->of);
	free(g->edges);
	g->of = NULL;
	g->edges = NULL;
	g->n = g->ngroups = g->nedges = 0;
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

size_t
bf_groups_uniq(size_t *v, size_t n)
{
	size_t i, k = 0;

	qsort(v, n, sizeof(*v), size_cmp);
	for (i = 0; i < n; i++)
		if (k == 0 || v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

static int
edge_cmp(const void *a, const void *b)
{
	const struct bf_group_edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/* Tarjan's algorithm with an explicit stack of frames. */
static int
tarjan(const struct bf_graph *gr, size_t *of, size_t *ngroups)
{
	struct frame { size_t v, e; } *fr = NULL;
	size_t n = gr->n, *idx = NULL, *low = NULL, *stk = NULL;
	size_t nfr = 0, nstk = 0, next = 1, ng = 0, s, i;
	char *on = NULL;
	int rc = -ENOMEM;

	/* idx[v] == 0: not yet visited. */
	if ((idx = calloc(n + 1, sizeof(*idx))) == NULL ||
	    (low = calloc(n + 1, sizeof(*low))) == NULL ||
	    (stk = calloc(n + 1, sizeof(*stk))) == NULL ||
	    (fr = calloc(n + 1, sizeof(*fr))) == NULL ||
	    (on = calloc(n + 1, 1)) == NULL)
		goto out;
	for (s = 0; s < n; s++) {
		if (idx[s] != 0)
			continue;
		idx[s] = low[s] = next++;
		stk[nstk++] = s;
		on[s] = 1;
		fr[nfr].v = s;
		fr[nfr++].e = gr->off[s];
		while (nfr > 0) {
			struct frame *f = &fr[nfr - 1];
			size_t v = f->v, w = n;

			while (f->e < gr->off[v + 1] && w == n) {
				w = gr->to[f->e++];
				if (w >= n)
					w = n;
			}
			if (w < n) {
				if (idx[w] == 0) {
					idx[w] = low[w] = next++;
					stk[nstk++] = w;
					on[w] = 1;
					fr[nfr].v = w;
					fr[nfr++].e = gr->off[w];
				} else if (on[w] && idx[w] < low[v])
					low[v] = idx[w];
				continue;
			}
			nfr--;
			if (low[v] == idx[v]) {
				do {
					i = stk[--nstk];
					on[i] = 0;
					of[i] = ng;
				} while (i != v);
				ng++;
			}
			if (nfr > 0 && low[v] < low[fr[nfr - 1].v])
				low[fr[nfr - 1].v] = low[v];
		}
	}
	*ngroups = ng;
	rc = 0;
out:
	free(idx);
	free(low);
	free(stk);
	free(fr);
	free(on);
	return rc;
}

int
bf_groups_compute(const struct bf_graph *gr, struct bf_groups *g)
{
	size_t i, j, k, ne = gr->n > 0 ? gr->off[gr->n] : 0;

	g->n = gr->n;
	g->nedges = g->ngroups = 0;
	if ((g->of = calloc(gr->n + 1, sizeof(*g->of))) == NULL ||
	    (g->edges = calloc(ne + 1, sizeof(*g->edges))) == NULL ||
	    tarjan(gr, g->of, &g->ngroups) < 0) {
		bf_groups_release(g);
		return -ENOMEM;
	}
	for (i = 0; i < gr->n; i++)
		for (j = gr->off[i]; j < gr->off[i + 1]; j++) {
			k = gr->to[j];
			if (k < gr->n && g->of[k] != g->of[i]) {
				g->edges[g->nedges].from = g->of[i];
				g->edges[g->nedges++].to = g->of[k];
			}
		}
	qsort(g->edges, g->nedges, sizeof(*g->edges), edge_cmp);
	for (i = 0, j = 0; i < g->nedges; i++)
		if (j == 0 || edge_cmp(&g->edges[i], &g->edges[j - 1]) != 0)
			g->edges[j++] = g->edges[i];
	g->nedges = j;
	return 0;
}

int
bf_plan_runtime_graph(const struct bf_plan *plan, struct bf_graph *gr)
{
	size_t n = bf_plan_count(plan), i, j, ne = 0;

	gr->n = n;
	if ((gr->off = calloc(n + 1, sizeof(*gr->off))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		ne += bf_plan_node(plan, i)->nedges;
	if ((gr->to = calloc(ne + 1, sizeof(*gr->to))) == NULL)
		goto nomem;
	ne = 0;
	for (i = 0; i < n; i++) {
		const struct bf_plan_node *nd = bf_plan_node(plan, i);

		gr->off[i] = ne;
		for (j = 0; j < nd->nedges; j++) {
			const struct bf_plan_edge *ed = &nd->edges[j];

			if (bf_dep_class_runtime(ed->cls) &&
			    ed->to->order >= 1 && ed->to->order <= n)
				gr->to[ne++] = ed->to->order - 1;
		}
	}
	gr->off[n] = ne;
	return 0;
nomem:
	bf_graph_release(gr);
	return -ENOMEM;
}
