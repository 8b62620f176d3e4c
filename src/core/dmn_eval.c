/*
 * dmn_eval.c - evaluation of compiled decisions: inputs bound to slots,
 * required decisions first, decision tables matched rule by rule and their
 * hits combined by the hit policy.  Rule matching allocates nothing; only
 * output values that need memory (strings built, lists, contexts) use the
 * evaluation arena, and the result is copied out of it.
 */
#include <stdio.h>
#include <string.h>

#include "dmn_internal.h"

static FeelEnv
env_of(DmnProgram *p)
{
	FeelEnv		env;

	env.slots = p->slots;
	env.arena = &p->eval_arena;
	env.in_slot = p->input_slot;
	env.depth = 0;
	return env;
}

static const FeelValue *
lookup_input(const FeelValue *inputs, const char *name, int hint)
{
	const FeelValue *v;
	size_t		len;

	if (inputs == NULL || inputs->kind != FEEL_CONTEXT)
		return NULL;
	/* contexts built from dmn_program_input_name borrow the very same key */
	if (hint < inputs->u.ctx.n && inputs->u.ctx.keys[hint].s == name)
		return &inputs->u.ctx.vals[hint];
	len = strlen(name);
	/* callers often build the context in dmn_program_input_name order */
	if (hint < inputs->u.ctx.n && inputs->u.ctx.keys[hint].len == len &&
		memcmp(inputs->u.ctx.keys[hint].s, name, len) == 0)
		return &inputs->u.ctx.vals[hint];
	v = feel_ctx_get(inputs, name, len);
	if (v != NULL)
		return v;
	for (int i = 0; i < inputs->u.ctx.n; i++)
		if (feel_name_equal_norm(inputs->u.ctx.keys[i].s, inputs->u.ctx.keys[i].len, name, strlen(name)))
			return &inputs->u.ctx.vals[i];
	return NULL;
}

static bool
bind_inputs(DmnProgram *p, const DmnCDecision *d, const FeelValue *inputs, CrmError *err)
{
	memset(p->slots, 0, sizeof(FeelValue) * p->nslots);
	for (int u = 0; u < d->nused; u++)
	{
		int			i = d->used[u];
		const FeelValue *v = lookup_input(inputs, p->inputs[i].name, i);

		if (v == NULL)
			continue;
		if (!dmn_coerce(p, &p->inputs[i].type, v, &p->slots[p->inputs[i].slot], true,
						p->inputs[i].what, err))
			return false;
	}
	return true;
}

/* ---- decision tables ---- */

static FeelValue
rule_value(DmnProgram *p, FeelEnv *env, const DmnCDecision *d, FeelNode *const *exprs)
{
	FeelValue	v;

	if (d->noutputs == 1)
	{
		if (exprs[0] != NULL && exprs[0]->kind == FN_CONST)
			return exprs[0]->val;
		return exprs[0] ? feel_eval(env, exprs[0]) : feel_v_null();
	}
	feel_a_ctx_init(&v, &p->eval_arena, d->noutputs);
	for (int o = 0; o < d->noutputs; o++)
	{
		FeelValue	x = exprs[o] ? feel_eval(env, exprs[o]) : feel_v_null();

		feel_a_ctx_put(&v, &p->eval_arena, d->outputs[o].name, strlen(d->outputs[o].name), &x);
	}
	return v;
}

static FeelValue
default_value(DmnProgram *p, FeelEnv *env, const DmnCDecision *d)
{
	FeelNode   *exprs[64];
	bool		any = false;

	for (int o = 0; o < d->noutputs && o < 64; o++)
	{
		exprs[o] = d->outputs[o].default_expr;
		any |= exprs[o] != NULL;
	}
	if (!any || d->noutputs > 64)
		return feel_v_null();
	return rule_value(p, env, d, exprs);
}

static int
match_rules(DmnProgram *p, FeelEnv *env, const DmnCDecision *d)
{
	int			nhits = 0;

	for (int i = 0; i < d->ninputs; i++)
	{
		const FeelNode *e = d->inputs[i].expr;
		FeelValue	v = e->kind == FN_VAR ? env->slots[e->slot] : feel_eval(env, e);

		dmn_coerce(p, &d->inputs[i].type, &v, &p->inbuf[i], false, NULL, NULL);
	}
	memset(p->memo, -1, d->nmemo);
	nhits = dmn_index_match(env, p, d, d->hit_policy == DMN_HIT_FIRST);
	return nhits;
}

/* Priority rank of a rule's outputs: index in each output's value list (lexicographic). */
static int
priority_cmp(const DmnCDecision *d, const FeelValue *a, const FeelValue *b)
{
	for (int o = 0; o < d->noutputs; o++)
	{
		const DmnCOutput *out = &d->outputs[o];
		const FeelValue *x = d->noutputs == 1 ? a : &a->u.ctx.vals[o];
		const FeelValue *y = d->noutputs == 1 ? b : &b->u.ctx.vals[o];
		int			rx = out->npriorities,
					ry = out->npriorities;

		if (out->npriorities == 0)
			continue;
		for (int i = out->npriorities - 1; i >= 0; i--)
		{
			if (feel_equal(x, &out->priorities[i]) == 1)
				rx = i;
			if (feel_equal(y, &out->priorities[i]) == 1)
				ry = i;
		}
		if (rx != ry)
			return rx < ry ? -1 : 1;
	}
	return 0;
}

static bool
table_error(const DmnCDecision *d, const char *policy, int r1, int r2, CrmError *err)
{
	if (policy[0] == 'U')
		crm_fail(err, CRM_ERR_DATA, 0, "decision \"%.60s\": hit policy UNIQUE, but rules %d and %d both match",
				 d->name, r1 + 1, r2 + 1);
	else
		crm_fail(err, CRM_ERR_DATA, 0, "decision \"%.60s\": hit policy ANY, but rules %d and %d match with different outputs",
				 d->name, r1 + 1, r2 + 1);
	crm_error_hint(err, "Make the rules' input entries exclusive, or choose another hit policy (FIRST, PRIORITY, COLLECT).");
	return false;
}

static FeelValue
aggregate(DmnProgram *p, const DmnCDecision *d, const FeelValue *vals, int n)
{
	FeelValue	acc = feel_v_null();
	FeelValue	list;
	int			count = 0;

	if (d->aggregation == DMN_AGG_COUNT)
	{
		feel_a_list_init(&list, &p->eval_arena, n);
		for (int i = 0; i < n; i++)
		{
			bool		dup = false;

			for (int k = 0; k < list.u.list.n && !dup; k++)
				dup = feel_equal(&list.u.list.items[k], &vals[i]) == 1;
			if (!dup && vals[i].kind != FEEL_NULL)
				feel_a_list_push(&list, &p->eval_arena, &vals[i]);
		}
		return feel_v_int(list.u.list.n);
	}
	for (int i = 0; i < n; i++)
	{
		int			c;

		if (vals[i].kind == FEEL_NULL)
			continue;
		if (count++ == 0)
		{
			acc = vals[i];
			if (d->aggregation == DMN_AGG_SUM && acc.kind != FEEL_NUMBER)
				return feel_v_null();
			continue;
		}
		if (d->aggregation == DMN_AGG_SUM)
		{
			if (vals[i].kind != FEEL_NUMBER || !feel_dec_add(&acc.u.num, &vals[i].u.num, &acc.u.num))
				return feel_v_null();
			continue;
		}
		c = feel_compare(&vals[i], &acc);
		if (c == -2)
			return feel_v_null();
		if (d->aggregation == DMN_AGG_MAX ? c > 0 : c < 0)
			acc = vals[i];
	}
	return acc;
}

/*
 * The rules' outputs as integers when the table has one output and every
 * rule's entry is an integer literal of at most 56 bits (the usual points
 * table); NULL otherwise.  Summing them in 64 bits gives the value the
 * decimal additions give, for up to 127 hits.
 */
int64_t *
dmn_int_outputs(CrmArena *a, const DmnCDecision *d)
{
	int64_t    *v;

	if (d->noutputs != 1 || d->nrules == 0)
		return NULL;
	for (int r = 0; r < d->nrules; r++)
	{
		const FeelNode *e = d->rules[r].outputs[0];
		const FeelDec *n;

		if (e == NULL || e->kind != FN_CONST || e->val.kind != FEEL_NUMBER)
			return NULL;
		n = &e->val.u.num;
		if (n->exp != 0 || n->coef >= ((feel_u128) 1 << 56) || (n->coef == 0 && n->neg))
			return NULL;
	}
	v = crm_arena_alloc(a, sizeof(int64_t) * d->nrules);
	for (int r = 0; r < d->nrules; r++)
	{
		const FeelDec *n = &d->rules[r].outputs[0]->val.u.num;

		v[r] = n->neg ? -(int64_t) n->coef : (int64_t) n->coef;
	}
	return v;
}

/* COLLECT SUM of integer literals, in 64 bits; false when the table's outputs are anything else. */
static bool
sum_int_literals(const DmnProgram *p, const DmnCDecision *d, int nhits, FeelValue *out)
{
	int64_t		sum = 0;

	if (d->int_outputs == NULL || nhits > 127)	/* 127 * 2^56 stays below 2^63 */
		return false;
	for (int i = 0; i < nhits; i++)
		sum += d->int_outputs[p->hits[i]];
	*out = feel_v_num(feel_dec_from_int(sum));
	return true;
}

static bool
combine(DmnProgram *p, FeelEnv *env, const DmnCDecision *d, int nhits, FeelValue *out, CrmError *err)
{
	FeelValue  *vals = p->outs;
	int			best = 0;

	if (d->hit_policy == DMN_HIT_COLLECT && d->aggregation == DMN_AGG_SUM && d->noutputs == 1 &&
		sum_int_literals(p, d, nhits, out))
		return true;

	for (int i = 0; i < nhits; i++)
		vals[i] = rule_value(p, env, d, d->rules[p->hits[i]].outputs);
	switch (d->hit_policy)
	{
		case DMN_HIT_UNIQUE:
			if (nhits > 1)
				return table_error(d, "UNIQUE", p->hits[0], p->hits[1], err);
			*out = vals[0];
			return true;
		case DMN_HIT_ANY:
			for (int i = 1; i < nhits; i++)
				if (feel_equal(&vals[0], &vals[i]) != 1)
					return table_error(d, "ANY", p->hits[0], p->hits[i], err);
			*out = vals[0];
			return true;
		case DMN_HIT_FIRST:
			*out = vals[0];
			return true;
		case DMN_HIT_PRIORITY:
			for (int i = 1; i < nhits; i++)
				if (priority_cmp(d, &vals[i], &vals[best]) < 0)
					best = i;
			*out = vals[best];
			return true;
		case DMN_HIT_OUTPUT_ORDER:
			for (int i = 1; i < nhits; i++)
			{
				FeelValue	v = vals[i];
				int			j = i;

				for (; j > 0 && priority_cmp(d, &vals[j - 1], &v) > 0; j--)
					vals[j] = vals[j - 1];
				vals[j] = v;
			}
			break;
		default:
			if (d->aggregation != DMN_AGG_NONE)
			{
				*out = aggregate(p, d, vals, nhits);
				return true;
			}
			break;
	}
	feel_a_list_init(out, &p->eval_arena, nhits);
	for (int i = 0; i < nhits; i++)
		feel_a_list_push(out, &p->eval_arena, &vals[i]);
	return true;
}

static bool
eval_table(DmnProgram *p, const DmnCDecision *d, int *matched, int nmatched_max, int *nmatched,
		   FeelValue *out, CrmError *err)
{
	FeelEnv		env = env_of(p);
	int			nhits = match_rules(p, &env, d);

	if (nmatched)
	{
		*nmatched = nhits;
		for (int i = 0; i < nhits && i < nmatched_max; i++)
			matched[i] = p->hits[i];
	}
	if (nhits == 0)
	{
		*out = default_value(p, &env, d);
		return true;
	}
	return combine(p, &env, d, nhits, out, err);
}

FeelValue
dmn_eval_decision(DmnProgram *p, int d, int *matched, int nmatched_max, int *nmatched,
				  CrmError *err, bool *ok)
{
	const DmnCDecision *cd = &p->decisions[d];
	FeelValue	v = feel_v_null();
	FeelValue	conformed;

	*ok = true;
	if (nmatched)
		*nmatched = 0;
	if (cd->kind == DMN_EXPR_LITERAL)
	{
		FeelEnv		env = env_of(p);

		v = feel_eval(&env, cd->literal);
	}
	else if (!eval_table(p, cd, matched, nmatched_max, nmatched, &v, err))
		return *ok = false, feel_v_null();
	dmn_coerce(p, &cd->type, &v, &conformed, false, NULL, NULL);
	return conformed;
}

static bool
prepare(DmnProgram *p, int decision, const FeelValue *inputs, CrmError *err)
{
	const DmnCDecision *cd;
	bool		ok;

	crm_error_clear(err);
	if (decision < 0 || decision >= p->ndecisions)
	{
		crm_fail(err, CRM_ERR_NOT_FOUND, 0, "decision number %d does not exist", decision);
		return false;
	}
	cd = &p->decisions[decision];
	if (!bind_inputs(p, cd, inputs, err))
	{
		char		msg[CRM_MSG_LEN];

		snprintf(msg, sizeof(msg), "decision \"%.60s\": %.180s", cd->name, err->message);
		memcpy(err->message, msg, sizeof(msg));
		return false;
	}
	for (int i = 0; i < cd->ndeps; i++)
	{
		int			dep = cd->deps[i];

		p->slots[p->decisions[dep].slot] = dmn_eval_decision(p, dep, NULL, 0, NULL, err, &ok);
		if (!ok)
			return false;
	}
	return true;
}

FeelValue *
dmn_evaluate(DmnProgram *program, int decision, const FeelValue *inputs,
			 int *matched, int nmatched_max, int *nmatched, CrmError *err)
{
	FeelValue	v;
	FeelValue  *result = NULL;
	bool		ok;

	if (nmatched)
		*nmatched = 0;
	if (prepare(program, decision, inputs, err))
	{
		v = dmn_eval_decision(program, decision, matched, nmatched_max, nmatched, err, &ok);
		if (ok)
			result = feel_value_copy(&v);
	}
	crm_arena_free(&program->eval_arena);
	return result;
}

FeelValue *
dmn_rule_output(DmnProgram *program, int decision, int rule, int output,
				const FeelValue *inputs, CrmError *err)
{
	const DmnCDecision *cd;
	FeelValue  *result = NULL;

	if (!prepare(program, decision, inputs, err))
	{
		crm_arena_free(&program->eval_arena);
		return NULL;
	}
	cd = &program->decisions[decision];
	if (cd->kind != DMN_EXPR_DECISION_TABLE || rule < 0 || rule >= cd->nrules ||
		output < 0 || output >= cd->noutputs)
		crm_fail(err, CRM_ERR_NOT_FOUND, 0, "decision \"%.60s\" has no rule %d output %d",
				 cd->name, rule + 1, output + 1);
	else
	{
		FeelEnv		env = env_of(program);
		FeelValue	v;

		for (int i = 0; i < cd->ninputs; i++)
		{
			FeelValue	x = feel_eval(&env, cd->inputs[i].expr);

			dmn_coerce(program, &cd->inputs[i].type, &x, &program->inbuf[i], false, NULL, NULL);
		}
		v = feel_eval(&env, cd->rules[rule].outputs[output]);
		result = feel_value_copy(&v);
	}
	crm_arena_free(&program->eval_arena);
	return result;
}
