/*
 * dmn_checks.c - decision table input tests flattened for matching.
 *
 * Most cells are a comparison with a constant ("< 18"), a range of constants
 * ("[10..20)"), a constant or a list of constants ("\"web\", \"wechat\"").
 * Those become DmnChecks holding the constants in one array, matched without
 * walking the FEEL tree; anything else keeps its tree (CK_GENERIC).  A rule
 * stores only its non-"-" tests, contiguously.
 */
#include <string.h>

#include "dmn_internal.h"

static bool
scalar_const(const FeelNode *n)
{
	return n->kind == FU_EXPR && n->op == 0 && n->kids[0]->kind == FN_CONST &&
		(n->kids[0]->val.kind == FEEL_STRING || n->kids[0]->val.kind == FEEL_NUMBER);
}

static void
build_check(CrmArena *a, DmnCheck *ck, const FeelNode *t)
{
	ck->kind = CK_GENERIC;
	ck->node = t;
	if (t->kind == FU_CMP && t->kids[0]->kind == FN_CONST)
	{
		ck->kind = CK_CMP;
		ck->op = (uint8_t) t->op;
		ck->vals = &t->kids[0]->val;
		ck->nvals = 1;
	}
	else if (t->kind == FU_RANGE && t->kids[0]->kind == FN_CONST && t->kids[1]->kind == FN_CONST)
	{
		FeelValue  *v = crm_arena_alloc(a, sizeof(FeelValue) * 2);

		v[0] = t->kids[0]->val;
		v[1] = t->kids[1]->val;
		ck->kind = CK_RANGE;
		ck->op = (uint8_t) t->op;
		ck->vals = v;
		ck->nvals = 2;
	}
	else if (t->kind == FU_EXPR && t->op == 0 && t->kids[0]->kind == FN_CONST &&
			 t->kids[0]->val.kind == FEEL_BOOLEAN)
	{
		ck->kind = CK_BOOL;
		ck->vals = &t->kids[0]->val;
		ck->nvals = 1;
	}
	else if (scalar_const(t))
	{
		ck->kind = CK_EQ;
		ck->vals = &t->kids[0]->val;
		ck->nvals = 1;
	}
	else if (t->kind == FU_LIST)
	{
		FeelValue  *v;

		for (int i = 0; i < t->nkids; i++)
			if (!scalar_const(t->kids[i]))
				return;
		v = crm_arena_alloc(a, sizeof(FeelValue) * t->nkids);
		for (int i = 0; i < t->nkids; i++)
			v[i] = t->kids[i]->kids[0]->val;
		ck->kind = CK_IN;
		ck->vals = v;
		ck->nvals = t->nkids;
	}
}

void
dmn_build_checks(CrmArena *a, DmnCRule *rule, int ninputs)
{
	int			n = 0;

	for (int i = 0; i < ninputs; i++)
		n += rule->tests[i] != NULL;
	rule->ncheck = n;
	rule->checks = crm_arena_alloc(a, sizeof(DmnCheck) * (n > 0 ? n : 1));
	n = 0;
	for (int i = 0; i < ninputs; i++)
	{
		if (rule->tests[i] == NULL)
			continue;
		memset(&rule->checks[n], 0, sizeof(DmnCheck));
		rule->checks[n].col = (int16_t) i;
		rule->checks[n].memo = -1;
		build_check(a, &rule->checks[n++], rule->tests[i]);
	}
}

static bool
same_check(const DmnCheck *a, const DmnCheck *b)
{
	if (a->kind != b->kind || a->op != b->op || a->col != b->col || a->nvals != b->nvals ||
		a->kind == CK_GENERIC)
		return false;
	for (int i = 0; i < a->nvals; i++)
		if (a->vals[i].kind != b->vals[i].kind || feel_equal(&a->vals[i], &b->vals[i]) != 1)
			return false;
	return true;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

/* A hash equal for equal checks (numbers normalised: 1.50 and 1.5 hash alike). */
static uint64_t
check_hash(const DmnCheck *ck)
{
	uint64_t	h = mix(mix(mix(ck->kind, ck->op), (uint64_t) ck->col), (uint64_t) ck->nvals);

	for (int i = 0; i < ck->nvals; i++)
	{
		const FeelValue *v = &ck->vals[i];

		h = mix(h, v->kind);
		if (v->kind == FEEL_STRING)
		{
			for (size_t k = 0; k < v->u.str.len; k++)
				h = mix(h, (unsigned char) v->u.str.s[k]);
		}
		else if (v->kind == FEEL_NUMBER)
		{
			feel_u128	c = v->u.num.coef;
			int64_t		e = v->u.num.exp;

			while (c != 0 && c % 10 == 0)
				c /= 10, e++;
			h = mix(mix(mix(h, (uint64_t) c), (uint64_t) (c >> 64)), (uint64_t) e * 2 + v->u.num.neg);
		}
		else if (v->kind == FEEL_BOOLEAN)
			h = mix(h, v->u.b);
	}
	return h;
}

/*
 * Tests that appear in several rules of a column ("\"web\"" in ten rules) share
 * one memo slot, so each is computed once per evaluation.  First occurrences
 * are found through an open-addressing hash table.
 */
void
dmn_share_checks(DmnCRule *rules, int nrules, int *nmemo)
{
	int			total = 0;
	int			cap = 16;
	DmnCheck  **table;

	*nmemo = 0;
	for (int r = 0; r < nrules; r++)
		total += rules[r].ncheck;
	while (cap < total * 2)
		cap *= 2;
	table = crm_alloc0(sizeof(DmnCheck *) * cap);
	for (int r = 0; r < nrules; r++)
	{
		for (int k = 0; k < rules[r].ncheck; k++)
		{
			DmnCheck   *ck = &rules[r].checks[k];
			size_t		slot;

			if (ck->kind == CK_GENERIC)
				continue;
			slot = check_hash(ck) & (cap - 1);
			while (table[slot] != NULL && !same_check(ck, table[slot]))
				slot = (slot + 1) & (cap - 1);
			if (table[slot] == NULL)
			{
				table[slot] = ck;
				continue;
			}
			if (table[slot]->memo < 0)
				table[slot]->memo = (*nmemo)++;
			ck->memo = table[slot]->memo;
		}
	}
	crm_free(table);
}

/* Byte equality of two strings of the same length; short ones without a library call. */
static inline bool
same_bytes(const char *a, const char *b, size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Equality with a string or number constant (anything else never equals it). */
static inline bool
equals_const(const FeelValue *in, const FeelValue *c)
{
	if (in->kind != c->kind)
		return false;
	if (c->kind == FEEL_STRING)
		return in->u.str.len == c->u.str.len && same_bytes(in->u.str.s, c->u.str.s, c->u.str.len);
	return feel_dec_cmp(&in->u.num, &c->u.num) == 0;
}

static inline bool
check(FeelEnv *env, const DmnCheck *ck, const FeelValue *in)
{
	switch (ck->kind)
	{
		case CK_CMP:
			return feel_compare3(ck->op, in, &ck->vals[0]) == 1;
		case CK_RANGE:
			return feel_compare3((ck->op & 1) ? FEEL_CMP_GT : FEEL_CMP_GE, in, &ck->vals[0]) == 1 &&
				feel_compare3((ck->op & 2) ? FEEL_CMP_LT : FEEL_CMP_LE, in, &ck->vals[1]) == 1;
		case CK_EQ:
			return equals_const(in, &ck->vals[0]);
		case CK_BOOL:
			/* as a value test: equality for booleans, the constant itself for other inputs */
			if (in->kind == FEEL_BOOLEAN)
				return in->u.b == ck->vals[0].u.b;
			return in->kind != FEEL_NULL && ck->vals[0].u.b;
		case CK_IN:
			for (int i = 0; i < ck->nvals; i++)
				if (equals_const(in, &ck->vals[i]))
					return true;
			return false;
		default:
			env->slots[env->in_slot] = *in;
			return feel_test(env, ck->node) == 1;
	}
}

bool
dmn_rule_matches(FeelEnv *env, const DmnCRule *rule, const FeelValue *inputs, int8_t *memo)
{
	for (int i = 0; i < rule->ncheck; i++)
	{
		const DmnCheck *ck = &rule->checks[i];
		bool		ok;

		if (ck->memo >= 0 && memo[ck->memo] >= 0)
			ok = memo[ck->memo];
		else
		{
			ok = check(env, ck, &inputs[ck->col]);
			if (ck->memo >= 0)
				memo[ck->memo] = ok;
		}
		if (!ok)
			return false;
	}
	return true;
}
