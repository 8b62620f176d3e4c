/*
 * dmn_order.c - the decision requirement graph: each decision's direct
 * dependencies (declared requirements plus decisions its FEEL refers to),
 * cycle detection, and the evaluation order of everything a decision needs.
 */
#include <string.h>

#include "dmn_internal.h"

static int
find_decision_ref(const DmnModel *m, const char *ref)
{
	if (ref == NULL)
		return -1;
	for (int d = 0; d < m->ndecisions; d++)
		if (m->decisions[d].id && strcmp(m->decisions[d].id, ref) == 0)
			return d;
	for (int d = 0; d < m->ndecisions; d++)
		if (strcmp(m->decisions[d].name, ref) == 0)
			return d;
	return -1;
}

static bool
input_ref_exists(const DmnModel *m, const char *ref)
{
	if (ref == NULL)
		return false;
	for (int i = 0; i < m->ninputs; i++)
		if ((m->inputs[i].id && strcmp(m->inputs[i].id, ref) == 0) || strcmp(m->inputs[i].name, ref) == 0)
			return true;
	return false;
}

static void
add_dep(DmnCDecision *d, int dep)
{
	for (int i = 0; i < d->ndirect; i++)
		if (d->direct[i] == dep)
			return;
	d->direct[d->ndirect++] = dep;
}

static void
collect_refs(DmnProgram *p, DmnCDecision *d, const FeelNode *n, int first, int depth)
{
	if (n == NULL || depth > 200)
		return;
	if (n->kind == FN_VAR && n->slot >= first && n->slot < first + p->ndecisions)
		add_dep(d, n->slot - first);
	if (n->kind == FN_VAR && n->slot >= 0 && n->slot < p->nglobals)
		d->refs[n->slot] = 1;
	for (int i = 0; i < n->nkids; i++)
		collect_refs(p, d, n->kids[i], first, depth + 1);
}

static void
collect_decision_refs(DmnProgram *p, DmnCDecision *d, int first)
{
	collect_refs(p, d, d->literal, first, 0);
	for (int i = 0; i < d->ninputs; i++)
		collect_refs(p, d, d->inputs[i].expr, first, 0);
	for (int o = 0; o < d->noutputs; o++)
		collect_refs(p, d, d->outputs[o].default_expr, first, 0);
	for (int r = 0; r < d->nrules; r++)
	{
		for (int i = 0; i < d->ninputs; i++)
			collect_refs(p, d, d->rules[r].tests[i], first, 0);
		for (int o = 0; o < d->noutputs; o++)
			collect_refs(p, d, d->rules[r].outputs[o], first, 0);
	}
}

static bool
direct_deps(DmnProgram *p, const DmnModel *m, CrmError *err)
{
	int			first = m->ninputs;

	for (int d = 0; d < p->ndecisions; d++)
	{
		const DmnDecision *src = &m->decisions[d];
		DmnCDecision *cd = &p->decisions[d];

		cd->direct = crm_arena_alloc(&p->arena, sizeof(int) * (p->ndecisions + 1));
		cd->refs = crm_arena_alloc(&p->arena, p->nglobals + 1);
		memset(cd->refs, 0, p->nglobals + 1);
		for (int k = 0; k < src->nrequired_decisions; k++)
		{
			int			dep = find_decision_ref(m, src->required_decisions[k]);

			if (dep < 0)
			{
				crm_fail(err, CRM_ERR_INVALID, 0, "decision \"%.60s\" requires unknown decision \"%.60s\"",
						 cd->name, src->required_decisions[k] ? src->required_decisions[k] : "");
				crm_error_hint(err, "Every requiredDecision must name a decision of the same model by id.");
				return false;
			}
			add_dep(cd, dep);
		}
		for (int k = 0; k < src->nrequired_inputs; k++)
		{
			if (!input_ref_exists(m, src->required_inputs[k]))
			{
				crm_fail(err, CRM_ERR_INVALID, 0, "decision \"%.60s\" requires unknown input data \"%.60s\"",
						 cd->name, src->required_inputs[k] ? src->required_inputs[k] : "");
				crm_error_hint(err, "Every requiredInput must name an inputData of the same model by id.");
				return false;
			}
		}
		collect_decision_refs(p, cd, first);
	}
	return true;
}

/* Depth-first walk: state 0 new, 1 on the stack, 2 done. */
static bool
visit(DmnProgram *p, int d, char *state, int *stack, int depth, int *order, int *norder, CrmError *err)
{
	DmnCDecision *cd = &p->decisions[d];

	if (state[d] == 2)
		return true;
	if (state[d] == 1)
	{
		char		path[CRM_MSG_LEN] = "";
		int			start = 0;

		while (start < depth && stack[start] != d)
			start++;
		for (int i = start; i < depth; i++)
		{
			strncat(path, "\"", sizeof(path) - strlen(path) - 1);
			strncat(path, p->decisions[stack[i]].name, sizeof(path) - strlen(path) - 1);
			strncat(path, "\" -> ", sizeof(path) - strlen(path) - 1);
		}
		strncat(path, "\"", sizeof(path) - strlen(path) - 1);
		strncat(path, cd->name, sizeof(path) - strlen(path) - 1);
		strncat(path, "\"", sizeof(path) - strlen(path) - 1);
		crm_fail(err, CRM_ERR_INVALID, 0, "decision requirements form a cycle: %s", path);
		crm_error_hint(err, "A decision cannot require itself, directly or through other decisions.");
		return false;
	}
	state[d] = 1;
	stack[depth] = d;
	for (int i = 0; i < cd->ndirect; i++)
		if (!visit(p, cd->direct[i], state, stack, depth + 1, order, norder, err))
			return false;
	state[d] = 2;
	if (order)
		order[(*norder)++] = d;
	return true;
}

/* The input data a decision reads, itself or through the decisions it needs. */
static void
used_inputs(DmnProgram *p, DmnCDecision *d)
{
	d->used = crm_arena_alloc(&p->arena, sizeof(int) * (p->ninputs + 1));
	d->nused = 0;
	for (int k = 0; k < p->ninputs; k++)
	{
		int			slot = p->inputs[k].slot;
		bool		used = d->refs[slot] != 0;

		for (int i = 0; i < d->ndeps && !used; i++)
			used = p->decisions[d->deps[i]].refs[slot] != 0;
		if (used)
			d->used[d->nused++] = k;
	}
}

bool
dmn_order_decisions(DmnProgram *p, const DmnModel *m, CrmError *err)
{
	int			n = p->ndecisions;
	char	   *state = crm_alloc0(n + 1);
	int		   *stack = crm_alloc(sizeof(int) * (n + 1));
	int		   *order = crm_alloc(sizeof(int) * (n + 1));
	bool		ok = direct_deps(p, m, err);

	for (int d = 0; ok && d < n; d++)
	{
		int			norder = 0;

		memset(state, 0, n + 1);
		ok = visit(p, d, state, stack, 0, order, &norder, err);
		if (!ok)
			break;
		/* the last one is d itself */
		p->decisions[d].ndeps = norder - 1;
		p->decisions[d].deps = crm_arena_alloc(&p->arena, sizeof(int) * (norder > 0 ? norder : 1));
		memcpy(p->decisions[d].deps, order, sizeof(int) * (norder - 1 > 0 ? norder - 1 : 0));
		used_inputs(p, &p->decisions[d]);
	}
	crm_free(state);
	crm_free(stack);
	crm_free(order);
	return ok;
}
