/*
 * dmn_model.c - DMN models as plain data: creation, release and comparison.
 */
#include <string.h>

#include "dmn_model.h"

DmnModel *
dmn_model_new(void)
{
	DmnModel   *m = crm_alloc0(sizeof(DmnModel));

	crm_arena_init(&m->arena, 16384);
	return m;
}

void
dmn_model_free(DmnModel *model)
{
	if (model == NULL)
		return;
	crm_arena_free(&model->arena);
	crm_free(model);
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
items_equal(const DmnItemDef *a, const DmnItemDef *b, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (!str_eq(a[i].name, b[i].name) || !str_eq(a[i].type_ref, b[i].type_ref) ||
			!str_eq(a[i].allowed_values, b[i].allowed_values) ||
			a[i].is_collection != b[i].is_collection || a[i].ncomponents != b[i].ncomponents ||
			!items_equal(a[i].components, b[i].components, a[i].ncomponents))
			return false;
	}
	return true;
}

static bool
strs_equal(char **a, char **b, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (!str_eq(a[i], b[i]))
			return false;
	}
	return true;
}

static bool
table_equal(const DmnDecisionTable *a, const DmnDecisionTable *b)
{
	if (a->hit_policy != b->hit_policy || a->aggregation != b->aggregation ||
		a->ninputs != b->ninputs || a->noutputs != b->noutputs || a->nrules != b->nrules)
		return false;
	for (int i = 0; i < a->ninputs; i++)
	{
		const DmnInputClause *x = &a->inputs[i],
				   *y = &b->inputs[i];

		if (!str_eq(x->id, y->id) || !str_eq(x->label, y->label) || !str_eq(x->expr, y->expr) ||
			!str_eq(x->type_ref, y->type_ref) || !str_eq(x->input_values, y->input_values))
			return false;
	}
	for (int i = 0; i < a->noutputs; i++)
	{
		const DmnOutputClause *x = &a->outputs[i],
				   *y = &b->outputs[i];

		if (!str_eq(x->id, y->id) || !str_eq(x->name, y->name) || !str_eq(x->label, y->label) ||
			!str_eq(x->type_ref, y->type_ref) || !str_eq(x->output_values, y->output_values) ||
			!str_eq(x->default_output, y->default_output))
			return false;
	}
	for (int i = 0; i < a->nrules; i++)
	{
		const DmnRule *x = &a->rules[i],
				   *y = &b->rules[i];

		if (!str_eq(x->id, y->id) || !str_eq(x->annotation, y->annotation) ||
			!strs_equal(x->input_entries, y->input_entries, a->ninputs) ||
			!strs_equal(x->output_entries, y->output_entries, a->noutputs))
			return false;
	}
	return true;
}

static bool
decision_equal(const DmnDecision *a, const DmnDecision *b)
{
	if (!str_eq(a->id, b->id) || !str_eq(a->name, b->name) || !str_eq(a->type_ref, b->type_ref) ||
		a->kind != b->kind || a->nrequired_decisions != b->nrequired_decisions ||
		a->nrequired_inputs != b->nrequired_inputs ||
		!strs_equal(a->required_decisions, b->required_decisions, a->nrequired_decisions) ||
		!strs_equal(a->required_inputs, b->required_inputs, a->nrequired_inputs))
		return false;
	if (a->kind == DMN_EXPR_LITERAL)
		return str_eq(a->literal, b->literal);
	return table_equal(&a->table, &b->table);
}

bool
dmn_model_equal(const DmnModel *a, const DmnModel *b)
{
	if (!str_eq(a->name, b->name) || !str_eq(a->namespace_uri, b->namespace_uri) ||
		a->nitems != b->nitems || a->ninputs != b->ninputs || a->ndecisions != b->ndecisions)
		return false;
	if (!items_equal(a->items, b->items, a->nitems))
		return false;
	for (int i = 0; i < a->ninputs; i++)
	{
		if (!str_eq(a->inputs[i].id, b->inputs[i].id) || !str_eq(a->inputs[i].name, b->inputs[i].name) ||
			!str_eq(a->inputs[i].type_ref, b->inputs[i].type_ref))
			return false;
	}
	for (int i = 0; i < a->ndecisions; i++)
	{
		if (!decision_equal(&a->decisions[i], &b->decisions[i]))
			return false;
	}
	return true;
}
