/*
 * feel_eval.c - evaluation of FEEL trees.  Values are returned by value;
 * anything that needs memory (concatenated strings, lists, contexts) comes
 * from the environment's arena, so scalar tests allocate nothing.
 */
#include <math.h>
#include <string.h>

#include "feel_internal.h"

#define FEEL_EVAL_MAX_DEPTH 200

static FeelValue
num_or_null(bool ok, const FeelDec *d)
{
	return ok ? feel_v_num(*d) : feel_v_null();
}

static FeelValue
concat(FeelEnv *env, const FeelValue *a, const FeelValue *b)
{
	size_t		n = a->u.str.len + b->u.str.len;
	char	   *s = crm_arena_alloc(env->arena, n + 1);

	memcpy(s, a->u.str.s, a->u.str.len);
	memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len);
	s[n] = '\0';
	return feel_v_str(s, n);
}

static bool
is_duration(FeelKind k)
{
	return k == FEEL_YM_DURATION || k == FEEL_DT_DURATION;
}

static FeelValue
power(const FeelValue *a, const FeelValue *b)
{
	FeelDec		r;
	int64_t		e;

	if (feel_dec_to_int64(&b->u.num, &e) && e > -100000 && e < 100000)
		return num_or_null(feel_dec_powi(&a->u.num, e, &r), &r);
	if (!feel_dec_from_double(pow(feel_dec_to_double(&a->u.num), feel_dec_to_double(&b->u.num)), &r))
		return feel_v_null();
	return feel_v_num(r);
}

static FeelValue
duration_ratio(const FeelValue *a, const FeelValue *b)
{
	FeelDec		x,
				y,
				r;

	if (a->kind == FEEL_YM_DURATION)
	{
		x = feel_dec_from_int(a->u.dur.months);
		y = feel_dec_from_int(b->u.dur.months);
	}
	else
	{
		FeelDec		bn = feel_dec_from_int(1000000000);

		x = feel_dec_from_int(a->u.dur.secs);
		y = feel_dec_from_int(b->u.dur.secs);
		feel_dec_mul(&x, &bn, &x);
		feel_dec_mul(&y, &bn, &y);
		r = feel_dec_from_int(a->u.dur.nanos);
		feel_dec_add(&x, &r, &x);
		r = feel_dec_from_int(b->u.dur.nanos);
		feel_dec_add(&y, &r, &y);
	}
	return num_or_null(feel_dec_div(&x, &y, &r), &r);
}

static FeelValue
arith(FeelEnv *env, int op, const FeelValue *a, const FeelValue *b)
{
	FeelDec		r;
	FeelValue	out;

	if (a->kind == FEEL_NUMBER && b->kind == FEEL_NUMBER)
	{
		switch (op)
		{
			case '+':
				return num_or_null(feel_dec_add(&a->u.num, &b->u.num, &r), &r);
			case '-':
				return num_or_null(feel_dec_sub(&a->u.num, &b->u.num, &r), &r);
			case '*':
				return num_or_null(feel_dec_mul(&a->u.num, &b->u.num, &r), &r);
			case '/':
				return num_or_null(feel_dec_div(&a->u.num, &b->u.num, &r), &r);
			default:
				return power(a, b);
		}
	}
	if (op == '+' && a->kind == FEEL_STRING && b->kind == FEEL_STRING)
		return concat(env, a, b);
	if ((op == '+' || op == '-') && feel_temporal_add(a, b, op == '-', &out))
		return out;
	if (op == '*' && is_duration(a->kind) && b->kind == FEEL_NUMBER)
		return feel_duration_scale(a, &b->u.num, false, &out) ? out : feel_v_null();
	if (op == '*' && is_duration(b->kind) && a->kind == FEEL_NUMBER)
		return feel_duration_scale(b, &a->u.num, false, &out) ? out : feel_v_null();
	if (op == '/' && is_duration(a->kind) && b->kind == FEEL_NUMBER && !feel_dec_is_zero(&b->u.num))
		return feel_duration_scale(a, &b->u.num, true, &out) ? out : feel_v_null();
	if (op == '/' && is_duration(a->kind) && a->kind == b->kind)
		return duration_ratio(a, b);
	return feel_v_null();
}

/* Three-valued comparison: 1 true, 0 false, -1 null. */
static int
compare3(int op, const FeelValue *a, const FeelValue *b)
{
	int			c;

	if (op == FEEL_CMP_EQ || op == FEEL_CMP_NE)
	{
		c = feel_equal(a, b);
		if (c < 0)
			return -1;
		return op == FEEL_CMP_EQ ? c : !c;
	}
	if (a->kind == FEEL_NULL || b->kind == FEEL_NULL)
		return -1;
	c = feel_compare(a, b);
	if (c == -2)
		return -1;
	switch (op)
	{
		case FEEL_CMP_LT:
			return c < 0;
		case FEEL_CMP_LE:
			return c <= 0;
		case FEEL_CMP_GT:
			return c > 0;
		default:
			return c >= 0;
	}
}

static FeelValue
tri(int r)
{
	return r < 0 ? feel_v_null() : feel_v_bool(r == 1);
}

static int
truth(const FeelValue *v)
{
	return v->kind == FEEL_BOOLEAN ? (v->u.b ? 1 : 0) : -1;
}

static FeelValue
eval_logic(FeelEnv *env, const FeelNode *n)
{
	FeelValue	a = feel_eval(env, n->kids[0]);
	int			ta = truth(&a);
	int			tb;
	FeelValue	b;

	if (n->kind == FN_AND && ta == 0)
		return feel_v_bool(false);
	if (n->kind == FN_OR && ta == 1)
		return feel_v_bool(true);
	b = feel_eval(env, n->kids[1]);
	tb = truth(&b);
	if (n->kind == FN_AND)
		return tb == 0 ? feel_v_bool(false) : (ta == 1 && tb == 1 ? feel_v_bool(true) : feel_v_null());
	return tb == 1 ? feel_v_bool(true) : (ta == 0 && tb == 0 ? feel_v_bool(false) : feel_v_null());
}

static FeelValue
eval_between(FeelEnv *env, const FeelNode *n)
{
	FeelValue	x = feel_eval(env, n->kids[0]);
	FeelValue	lo = feel_eval(env, n->kids[1]);
	FeelValue	hi = feel_eval(env, n->kids[2]);
	int			a = compare3(FEEL_CMP_GE, &x, &lo);
	int			b = compare3(FEEL_CMP_LE, &x, &hi);

	if (a == 0 || b == 0)
		return feel_v_bool(false);
	return a == 1 && b == 1 ? feel_v_bool(true) : feel_v_null();
}

static FeelValue
member(FeelEnv *env, const FeelValue *v, const char *name, size_t len)
{
	const FeelValue *f;
	FeelValue	out;

	if (v->kind == FEEL_CONTEXT)
	{
		f = feel_ctx_get(v, name, len);
		if (f == NULL)
		{
			for (int i = 0; i < v->u.ctx.n; i++)
			{
				if (feel_name_equal_norm(v->u.ctx.keys[i].s, v->u.ctx.keys[i].len, name, len))
					return v->u.ctx.vals[i];
			}
			return feel_v_null();
		}
		return *f;
	}
	if (v->kind == FEEL_LIST)
	{
		feel_a_list_init(&out, env->arena, v->u.list.n);
		for (int i = 0; i < v->u.list.n; i++)
		{
			FeelValue	m = member(env, &v->u.list.items[i], name, len);

			feel_a_list_push(&out, env->arena, &m);
		}
		return out;
	}
	if (v->kind != FEEL_NULL && feel_temporal_property(v, name, len, &out))
		return out;
	return feel_v_null();
}

static FeelValue
eval_filter(FeelEnv *env, const FeelNode *n)
{
	FeelValue	list = feel_eval(env, n->kids[0]);
	FeelValue	single;
	FeelValue	out;
	FeelValue	saved;

	if (list.kind == FEEL_NULL)
		return list;
	if (list.kind != FEEL_LIST)
	{
		single = list;
		list.kind = FEEL_LIST;
		list.u.list.items = &single;
		list.u.list.n = 1;
	}
	saved = env->slots[n->slot];
	if (n->op == 0)
	{
		FeelValue	idx = feel_eval(env, n->kids[1]);
		int64_t		i;

		if (idx.kind == FEEL_NUMBER && feel_dec_to_int64(&idx.u.num, &i))
		{
			if (i < 0)
				i += list.u.list.n + 1;
			return i >= 1 && i <= list.u.list.n ? list.u.list.items[i - 1] : feel_v_null();
		}
		if (idx.kind != FEEL_BOOLEAN)
			return feel_v_null();
		if (idx.u.b)
			{
			if (list.u.list.items != &single)
				return list;
			feel_a_list_init(&out, env->arena, 1);
			feel_a_list_push(&out, env->arena, &single);
			return out;
		}
		feel_a_list_init(&out, env->arena, 0);
		return out;
	}
	feel_a_list_init(&out, env->arena, list.u.list.n);
	for (int i = 0; i < list.u.list.n; i++)
	{
		FeelValue	c;

		env->slots[n->slot] = list.u.list.items[i];
		c = feel_eval(env, n->kids[1]);
		if (c.kind == FEEL_BOOLEAN && c.u.b)
			feel_a_list_push(&out, env->arena, &list.u.list.items[i]);
	}
	env->slots[n->slot] = saved;
	return out;
}

static FeelValue
eval_call(FeelEnv *env, const FeelNode *n)
{
	FeelValue	args[32];

	for (int i = 0; i < n->nkids && i < 32; i++)
		args[i] = feel_eval(env, n->kids[i]);
	return feel_call_builtin(env, n->op, args, n->nkids);
}

static FeelValue
eval_context(FeelEnv *env, const FeelNode *n)
{
	FeelValue	out;

	feel_a_ctx_init(&out, env->arena, n->nkids);
	for (int i = 0; i < n->nkids; i++)
	{
		FeelValue	v = feel_eval(env, n->kids[i]);

		env->slots[n->slot + i] = v;
		feel_a_ctx_put(&out, env->arena, n->keys[i].s, n->keys[i].len, &v);
	}
	return out;
}

static FeelValue
eval_iteration(FeelEnv *env, const FeelNode *n)
{
	FeelValue	list = feel_eval(env, n->kids[0]);
	FeelValue	out;
	bool		any_null = false;

	if (list.kind != FEEL_LIST)
		return feel_v_null();
	if (n->kind == FN_FOR)
		feel_a_list_init(&out, env->arena, list.u.list.n);
	for (int i = 0; i < list.u.list.n; i++)
	{
		FeelValue	v;

		env->slots[n->slot] = list.u.list.items[i];
		v = feel_eval(env, n->kids[1]);
		if (n->kind == FN_FOR)
			feel_a_list_push(&out, env->arena, &v);
		else if (truth(&v) == (n->kind == FN_SOME ? 1 : 0))
			return feel_v_bool(n->kind == FN_SOME);
		else if (truth(&v) < 0)
			any_null = true;
	}
	if (n->kind == FN_FOR)
		return out;
	return any_null ? feel_v_null() : feel_v_bool(n->kind == FN_EVERY);
}

static FeelValue
eval_neg(const FeelValue *v)
{
	FeelValue	r = *v;

	if (v->kind == FEEL_NUMBER)
		r.u.num.neg = !v->u.num.neg && v->u.num.coef != 0;
	else if (v->kind == FEEL_YM_DURATION)
		r.u.dur.months = -v->u.dur.months;
	else if (v->kind == FEEL_DT_DURATION)
		r.u.dur.secs = -v->u.dur.secs, r.u.dur.nanos = -v->u.dur.nanos;
	else
		return feel_v_null();
	return r;
}

static FeelValue
eval_in(FeelEnv *env, const FeelNode *n)
{
	FeelValue	x = feel_eval(env, n->kids[0]);
	int			slot = env->in_slot;
	FeelValue	saved = env->slots[slot];
	int			r;

	env->slots[slot] = x;
	r = feel_test(env, n->kids[1]);
	env->slots[slot] = saved;
	return tri(r);
}

FeelValue
feel_eval(FeelEnv *env, const FeelNode *n)
{
	FeelValue	v;

	if (++env->depth > FEEL_EVAL_MAX_DEPTH)
	{
		env->depth--;
		return feel_v_null();
	}
	switch (n->kind)
	{
		case FN_CONST:
			v = n->val;
			break;
		case FN_VAR:
			v = env->slots[n->slot];
			break;
		case FN_FIELD:
			v = member(env, &env->slots[n->slot], n->name.s, n->name.len);
			break;
		case FN_PATH:
			v = feel_eval(env, n->kids[0]);
			v = member(env, &v, n->name.s, n->name.len);
			break;
		case FN_FILTER:
			v = eval_filter(env, n);
			break;
		case FN_CALL:
			v = eval_call(env, n);
			break;
		case FN_NEG:
			v = feel_eval(env, n->kids[0]);
			v = eval_neg(&v);
			break;
		case FN_ARITH:
		case FN_CMP:
			{
				FeelValue	a = feel_eval(env, n->kids[0]);
				FeelValue	b = feel_eval(env, n->kids[1]);

				v = n->kind == FN_ARITH ? arith(env, n->op, &a, &b) : tri(compare3(n->op, &a, &b));
				break;
			}
		case FN_AND:
		case FN_OR:
			v = eval_logic(env, n);
			break;
		case FN_IF:
			v = feel_eval(env, n->kids[0]);
			v = feel_eval(env, n->kids[truth(&v) == 1 ? 1 : 2]);
			break;
		case FN_BETWEEN:
			v = eval_between(env, n);
			break;
		case FN_IN:
			v = eval_in(env, n);
			break;
		case FN_LIST:
			feel_a_list_init(&v, env->arena, n->nkids);
			for (int i = 0; i < n->nkids; i++)
			{
				FeelValue	item = feel_eval(env, n->kids[i]);

				feel_a_list_push(&v, env->arena, &item);
			}
			break;
		case FN_CONTEXT:
			v = eval_context(env, n);
			break;
		case FN_FOR:
		case FN_SOME:
		case FN_EVERY:
			v = eval_iteration(env, n);
			break;
		default:
			v = tri(feel_test(env, n));
			break;
	}
	env->depth--;
	return v;
}

/* ---- unary tests ---- */

/* The value of a test operand: constants are used in place (no copy, no call). */
#define OPERAND(env, node, tmp) \
	((node)->kind == FN_CONST ? &(node)->val : ((tmp) = feel_eval((env), (node)), &(tmp)))

/* Fast three-valued comparison for the common scalar cases. */
int
feel_compare3(int op, const FeelValue *a, const FeelValue *b)
{
	if (a->kind == FEEL_NUMBER && b->kind == FEEL_NUMBER && op >= FEEL_CMP_LT)
	{
		int			c = feel_dec_cmp(&a->u.num, &b->u.num);

		switch (op)
		{
			case FEEL_CMP_LT:
				return c < 0;
			case FEEL_CMP_LE:
				return c <= 0;
			case FEEL_CMP_GT:
				return c > 0;
			default:
				return c >= 0;
		}
	}
	if (op == FEEL_CMP_EQ && a->kind == FEEL_STRING && b->kind == FEEL_STRING)
		return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	return compare3(op, a, b);
}

static int
test_value(FeelEnv *env, const FeelNode *n, const FeelValue *input)
{
	FeelValue	tmp;
	const FeelValue *v = OPERAND(env, n->kids[0], tmp);

	if (n->op)
		return truth(v);
	if (v->kind == FEEL_STRING && input->kind == FEEL_STRING)
		return v->u.str.len == input->u.str.len && memcmp(v->u.str.s, input->u.str.s, v->u.str.len) == 0;
	if (v->kind == FEEL_LIST && input->kind != FEEL_LIST)
	{
		bool		any_null = false;

		for (int i = 0; i < v->u.list.n; i++)
		{
			int			e = feel_equal(input, &v->u.list.items[i]);

			if (e == 1)
				return 1;
			any_null |= e < 0;
		}
		return any_null ? -1 : 0;
	}
	if (v->kind == FEEL_BOOLEAN && input->kind != FEEL_BOOLEAN && input->kind != FEEL_NULL)
		return v->u.b ? 1 : 0;
	return feel_equal(input, v);
}

static int
test_range(FeelEnv *env, const FeelNode *n, const FeelValue *input)
{
	FeelValue	t1,
				t2;
	const FeelValue *lo = OPERAND(env, n->kids[0], t1);
	const FeelValue *hi = OPERAND(env, n->kids[1], t2);
	int			a = feel_compare3((n->op & 1) ? FEEL_CMP_GT : FEEL_CMP_GE, input, lo);
	int			b;

	if (a == 0)
		return 0;
	b = feel_compare3((n->op & 2) ? FEEL_CMP_LT : FEEL_CMP_LE, input, hi);

	if (a == 0 || b == 0)
		return 0;
	return a == 1 && b == 1 ? 1 : -1;
}

int
feel_test(FeelEnv *env, const FeelNode *n)
{
	const FeelValue *input = &env->slots[env->in_slot];

	switch (n->kind)
	{
		case FU_ANY:
			return 1;
		case FU_CMP:
			{
				FeelValue	tmp;

				return feel_compare3(n->op, input, OPERAND(env, n->kids[0], tmp));
			}
		case FU_RANGE:
			return test_range(env, n, input);
		case FU_EXPR:
			return test_value(env, n, input);
		case FU_NOT:
			{
				int			r = feel_test(env, n->kids[0]);

				return r < 0 ? -1 : !r;
			}
		case FU_LIST:
			{
				int			result = 0;

				for (int i = 0; i < n->nkids; i++)
				{
					int			r = feel_test(env, n->kids[i]);

					if (r == 1)
						return 1;
					if (r < 0)
						result = -1;
				}
				return result;
			}
		default:
			{
				FeelValue	v = feel_eval(env, n);

				return feel_equal(input, &v);
			}
	}
}
