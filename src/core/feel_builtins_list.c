/*
 * feel_builtins_list.c - FEEL built-ins over lists, contexts and temporal values.
 */
#include <string.h>
#include <time.h>

#include "feel_builtins.h"

/* The items an aggregate works on: one list argument, or the arguments themselves. */
static void
items_of(FeelValue *a, int nargs, FeelValue **items, int *n)
{
	if (nargs == 1 && a[0].kind == FEEL_LIST)
	{
		*items = a[0].u.list.items;
		*n = a[0].u.list.n;
	}
	else
	{
		*items = a;
		*n = nargs;
	}
}

static FeelValue
fn_minmax(FeelValue *items, int n, bool want_max)
{
	FeelValue	best;

	if (n == 0)
		return feel_v_null();
	best = items[0];
	for (int i = 0; i < n; i++)
	{
		int			c;

		if (items[i].kind == FEEL_NULL)
			return feel_v_null();
		c = feel_compare(&items[i], &best);
		if (c == -2)
			return feel_v_null();
		if (want_max ? c > 0 : c < 0)
			best = items[i];
	}
	return best;
}

static FeelValue
fn_sum(FeelValue *items, int n, bool product)
{
	FeelDec		acc = feel_dec_from_int(product ? 1 : 0);

	if (n == 0)
		return feel_v_null();
	for (int i = 0; i < n; i++)
	{
		if (items[i].kind != FEEL_NUMBER)
			return feel_v_null();
		if (product ? !feel_dec_mul(&acc, &items[i].u.num, &acc) : !feel_dec_add(&acc, &items[i].u.num, &acc))
			return feel_v_null();
	}
	return feel_v_num(acc);
}

static FeelValue
fn_mean(FeelValue *items, int n)
{
	FeelValue	s = fn_sum(items, n, false);
	FeelDec		cnt = feel_dec_from_int(n),
				r;

	if (s.kind != FEEL_NUMBER || !feel_dec_div(&s.u.num, &cnt, &r))
		return feel_v_null();
	return feel_v_num(r);
}

static FeelValue
fn_median(FeelEnv *env, FeelValue *items, int n)
{
	FeelValue  *s;
	FeelDec		two = feel_dec_from_int(2),
				r;

	if (n == 0)
		return feel_v_null();
	s = crm_arena_alloc(env->arena, sizeof(FeelValue) * n);
	for (int i = 0; i < n; i++)
	{
		int			j = i;

		if (items[i].kind != FEEL_NUMBER)
			return feel_v_null();
		while (j > 0 && feel_dec_cmp(&s[j - 1].u.num, &items[i].u.num) > 0)
		{
			s[j] = s[j - 1];
			j--;
		}
		s[j] = items[i];
	}
	if (n % 2 == 1)
		return s[n / 2];
	if (!feel_dec_add(&s[n / 2 - 1].u.num, &s[n / 2].u.num, &r) || !feel_dec_div(&r, &two, &r))
		return feel_v_null();
	return feel_v_num(r);
}

static FeelValue
fn_allany(FeelValue *items, int n, bool all)
{
	bool		any_null = false;

	for (int i = 0; i < n; i++)
	{
		if (items[i].kind != FEEL_BOOLEAN)
			any_null = true;
		else if (items[i].u.b != all)
			return feel_v_bool(!all);
	}
	return any_null ? feel_v_null() : feel_v_bool(all);
}

static FeelValue
fn_join(FeelEnv *env, FeelValue *a, int nargs)
{
	CrmBuf		b;
	FeelValue	r;
	bool		first = true;

	if (a[0].kind != FEEL_LIST || (nargs == 2 && a[1].kind != FEEL_STRING && a[1].kind != FEEL_NULL))
		return feel_v_null();
	crm_buf_init(&b);
	for (int i = 0; i < a[0].u.list.n; i++)
	{
		const FeelValue *it = &a[0].u.list.items[i];

		if (it->kind == FEEL_NULL)
			continue;
		if (it->kind != FEEL_STRING)
		{
			crm_buf_free(&b);
			return feel_v_null();
		}
		if (!first && nargs == 2 && a[1].kind == FEEL_STRING)
			crm_buf_append(&b, a[1].u.str.s, a[1].u.str.len);
		crm_buf_append(&b, it->u.str.s, it->u.str.len);
		first = false;
	}
	r = feel_v_str(crm_arena_strdup(env->arena, b.data, b.len), b.len);
	crm_buf_free(&b);
	return r;
}

static int
list_index(const FeelValue *list, const FeelValue *x)
{
	for (int i = 0; i < list->u.list.n; i++)
	{
		if (feel_equal(&list->u.list.items[i], x) == 1)
			return i;
	}
	return -1;
}

static void
flatten_into(FeelEnv *env, FeelValue *out, const FeelValue *v, int depth)
{
	if (v->kind != FEEL_LIST || depth > 64)
	{
		feel_a_list_push(out, env->arena, v);
		return;
	}
	for (int i = 0; i < v->u.list.n; i++)
		flatten_into(env, out, &v->u.list.items[i], depth + 1);
}

static bool
int_arg(const FeelValue *v, int64_t *out)
{
	return v->kind == FEEL_NUMBER && feel_dec_to_int64(&v->u.num, out);
}

static FeelValue
fn_list_edit(FeelEnv *env, int id, FeelValue *a, int nargs)
{
	FeelValue	out;
	int64_t		pos = 0,
				len = -1;
	int			n;

	if (a[0].kind != FEEL_LIST)
		return feel_v_null();
	n = a[0].u.list.n;
	if (id != FB_REVERSE && !int_arg(&a[1], &pos))
		return feel_v_null();
	if (pos < 0)
		pos += n + 1;
	if (id == FB_SUBLIST && nargs == 3 && (!int_arg(&a[2], &len) || len < 0))
		return feel_v_null();
	if (id != FB_REVERSE && (pos < 1 || pos > n + (id == FB_INSERT_BEFORE)))
		return feel_v_null();
	feel_a_list_init(&out, env->arena, n + 1);
	for (int i = 0; i < n; i++)
	{
		const FeelValue *it = &a[0].u.list.items[id == FB_REVERSE ? n - 1 - i : i];

		if (id == FB_INSERT_BEFORE && i == pos - 1)
			feel_a_list_push(&out, env->arena, &a[2]);
		if (id == FB_REMOVE && i == pos - 1)
			continue;
		if (id == FB_SUBLIST && (i < pos - 1 || (len >= 0 && i >= pos - 1 + len)))
			continue;
		feel_a_list_push(&out, env->arena, it);
	}
	if (id == FB_INSERT_BEFORE && pos == n + 1)
		feel_a_list_push(&out, env->arena, &a[2]);
	return out;
}

static FeelValue
fn_lists(FeelEnv *env, int id, FeelValue *a, int nargs)
{
	FeelValue	out;

	feel_a_list_init(&out, env->arena, 8);
	switch (id)
	{
		case FB_APPEND:
			if (a[0].kind != FEEL_LIST)
				return feel_v_null();
			for (int i = 0; i < a[0].u.list.n; i++)
				feel_a_list_push(&out, env->arena, &a[0].u.list.items[i]);
			for (int i = 1; i < nargs; i++)
				feel_a_list_push(&out, env->arena, &a[i]);
			return out;
		case FB_CONCATENATE:
		case FB_UNION:
			for (int i = 0; i < nargs; i++)
			{
				if (a[i].kind != FEEL_LIST)
					return feel_v_null();
				for (int k = 0; k < a[i].u.list.n; k++)
				{
					if (id == FB_UNION && list_index(&out, &a[i].u.list.items[k]) >= 0)
						continue;
					feel_a_list_push(&out, env->arena, &a[i].u.list.items[k]);
				}
			}
			return out;
		case FB_DISTINCT_VALUES:
			if (a[0].kind != FEEL_LIST)
				return feel_v_null();
			for (int k = 0; k < a[0].u.list.n; k++)
			{
				if (list_index(&out, &a[0].u.list.items[k]) < 0)
					feel_a_list_push(&out, env->arena, &a[0].u.list.items[k]);
			}
			return out;
		case FB_FLATTEN:
			if (a[0].kind != FEEL_LIST)
				return feel_v_null();
			flatten_into(env, &out, &a[0], 0);
			return out;
		case FB_INDEX_OF:
			if (a[0].kind != FEEL_LIST)
				return feel_v_null();
			for (int k = 0; k < a[0].u.list.n; k++)
			{
				if (feel_equal(&a[0].u.list.items[k], &a[1]) == 1)
				{
					FeelValue	ix = feel_v_int(k + 1);

					feel_a_list_push(&out, env->arena, &ix);
				}
			}
			return out;
		default:
			return fn_list_edit(env, id, a, nargs);
	}
}

static FeelValue
fn_contexts(FeelEnv *env, int id, FeelValue *a)
{
	FeelValue	out;
	const FeelValue *v;

	if (id == FB_IS_DEFINED)
		return feel_v_bool(a[0].kind != FEEL_NULL);
	if (a[0].kind != FEEL_CONTEXT)
		return feel_v_null();
	if (id == FB_GET_VALUE)
	{
		if (a[1].kind != FEEL_STRING)
			return feel_v_null();
		v = feel_ctx_get(&a[0], a[1].u.str.s, a[1].u.str.len);
		return v ? *v : feel_v_null();
	}
	feel_a_list_init(&out, env->arena, a[0].u.ctx.n);
	for (int i = 0; i < a[0].u.ctx.n; i++)
	{
		FeelValue	e;
		FeelValue	k = feel_v_str(a[0].u.ctx.keys[i].s, a[0].u.ctx.keys[i].len);

		feel_a_ctx_init(&e, env->arena, 2);
		feel_a_ctx_put(&e, env->arena, "key", 3, &k);
		feel_a_ctx_put(&e, env->arena, "value", 5, &a[0].u.ctx.vals[i]);
		feel_a_list_push(&out, env->arena, &e);
	}
	return out;
}

FeelValue
feel_call_list_builtin(FeelEnv *env, int id, FeelValue *a, int nargs)
{
	FeelValue  *items;
	int			n;

	items_of(a, nargs, &items, &n);
	switch (id)
	{
		case FB_STRING_JOIN:
			return fn_join(env, a, nargs);
		case FB_MIN:
		case FB_MAX:
			return fn_minmax(items, n, id == FB_MAX);
		case FB_SUM:
		case FB_PRODUCT:
			return fn_sum(items, n, id == FB_PRODUCT);
		case FB_MEAN:
			return fn_mean(items, n);
		case FB_MEDIAN:
			return fn_median(env, items, n);
		case FB_COUNT:
			if (nargs == 1 && a[0].kind != FEEL_LIST)
				return feel_v_null();
			return feel_v_int(n);
		case FB_ALL:
		case FB_ANY:
			if (nargs == 1 && a[0].kind != FEEL_LIST && a[0].kind != FEEL_BOOLEAN)
				return feel_v_null();
			return fn_allany(items, n, id == FB_ALL);
		case FB_LIST_CONTAINS:
			if (a[0].kind != FEEL_LIST)
				return feel_v_null();
			return feel_v_bool(list_index(&a[0], &a[1]) >= 0);
		case FB_GET_VALUE:
		case FB_GET_ENTRIES:
		case FB_IS_DEFINED:
			return fn_contexts(env, id, a);
		case FB_APPEND:
		case FB_CONCATENATE:
		case FB_INSERT_BEFORE:
		case FB_REMOVE:
		case FB_REVERSE:
		case FB_INDEX_OF:
		case FB_UNION:
		case FB_DISTINCT_VALUES:
		case FB_FLATTEN:
		case FB_SUBLIST:
			return fn_lists(env, id, a, nargs);
		default:
			return feel_call_temporal_builtin(env, id, a, nargs);
	}
}

/* ---- temporal constructors ---- */

static FeelValue
fn_date(FeelValue *a, int nargs)
{
	FeelValue	out;
	int64_t		y,
				m,
				d;

	if (nargs == 3)
	{
		if (!int_arg(&a[0], &y) || !int_arg(&a[1], &m) || !int_arg(&a[2], &d) ||
			y < -999999999 || y > 999999999 || m < 1 || m > 12 || d < 1 || d > 31)
			return feel_v_null();
		out = feel_v_null();
		out.kind = FEEL_DATE;
		out.u.t.days = (int32_t) feel_days_from_civil(y, (int) m, (int) d);
		{
			int64_t		y2;
			int			m2,
						d2;

			feel_civil_from_days(out.u.t.days, &y2, &m2, &d2);
			if (y2 != y || m2 != m || d2 != d)
				return feel_v_null();
		}
		return out;
	}
	if (a[0].kind == FEEL_DATE)
		return a[0];
	if (a[0].kind == FEEL_DATETIME)
	{
		out = feel_v_null();
		out.kind = FEEL_DATE;
		out.u.t.days = a[0].u.t.days;
		return out;
	}
	if (a[0].kind == FEEL_STRING && feel_parse_date(a[0].u.str.s, a[0].u.str.len, &out))
		return out;
	return feel_v_null();
}

static FeelValue
fn_time(FeelValue *a, int nargs)
{
	FeelValue	out = feel_v_null();
	int64_t		h,
				m;

	if (nargs >= 3)
	{
		if (!int_arg(&a[0], &h) || !int_arg(&a[1], &m) || a[2].kind != FEEL_NUMBER ||
			h < 0 || h > 23 || m < 0 || m > 59)
			return feel_v_null();
		{
			FeelDec		bn = feel_dec_from_int(1000000000),
						ns;
			int64_t		nsi;

			if (!feel_dec_mul(&a[2].u.num, &bn, &ns) || !feel_dec_to_int64(&ns, &nsi) ||
				nsi < 0 || nsi >= INT64_C(60000000000))
				return feel_v_null();
			out.kind = FEEL_TIME;
			out.u.t.nanos = (h * 3600 + m * 60) * INT64_C(1000000000) + nsi;
		}
		if (nargs == 4 && a[3].kind == FEEL_DT_DURATION)
			out.u.t.has_tz = true, out.u.t.tz = (int32_t) a[3].u.dur.secs;
		return out;
	}
	if (a[0].kind == FEEL_TIME)
		return a[0];
	if (a[0].kind == FEEL_DATETIME || a[0].kind == FEEL_DATE)
	{
		out = a[0];
		out.kind = FEEL_TIME;
		out.u.t.days = 0;
		if (a[0].kind == FEEL_DATE)
			out.u.t.nanos = 0, out.u.t.has_tz = true, out.u.t.tz = 0;
		return out;
	}
	if (a[0].kind == FEEL_STRING && feel_parse_time(a[0].u.str.s, a[0].u.str.len, &out))
		return out;
	return feel_v_null();
}

static FeelValue
fn_datetime(FeelValue *a, int nargs)
{
	FeelValue	out;

	if (nargs == 2)
	{
		if ((a[0].kind != FEEL_DATE && a[0].kind != FEEL_DATETIME) || a[1].kind != FEEL_TIME)
			return feel_v_null();
		out = a[1];
		out.kind = FEEL_DATETIME;
		out.u.t.days = a[0].u.t.days;
		return out;
	}
	if (a[0].kind == FEEL_DATETIME)
		return a[0];
	if (a[0].kind == FEEL_DATE)
	{
		out = a[0];
		out.kind = FEEL_DATETIME;
		return out;
	}
	if (a[0].kind == FEEL_STRING && feel_parse_datetime(a[0].u.str.s, a[0].u.str.len, &out))
		return out;
	return feel_v_null();
}

static FeelValue
fn_ym_between(FeelValue *a)
{
	FeelValue	out = feel_v_null();
	int64_t		y1,
				y2;
	int			m1,
				m2,
				d1,
				d2;
	int64_t		months;

	if ((a[0].kind != FEEL_DATE && a[0].kind != FEEL_DATETIME) ||
		(a[1].kind != FEEL_DATE && a[1].kind != FEEL_DATETIME))
		return out;
	feel_civil_from_days(a[0].u.t.days, &y1, &m1, &d1);
	feel_civil_from_days(a[1].u.t.days, &y2, &m2, &d2);
	months = (y2 - y1) * 12 + (m2 - m1);
	if (months > 0 && d2 < d1)
		months--;
	else if (months < 0 && d2 > d1)
		months++;
	out.kind = FEEL_YM_DURATION;
	out.u.dur.months = months;
	return out;
}

static FeelValue
fn_now(int id)
{
	FeelValue	out = feel_v_null();
	time_t		t = time(NULL);

	out.kind = id == FB_NOW ? FEEL_DATETIME : FEEL_DATE;
	out.u.t.days = (int32_t) (t / 86400);
	if (id == FB_NOW)
	{
		out.u.t.nanos = (int64_t) (t % 86400) * INT64_C(1000000000);
		out.u.t.has_tz = true;
	}
	return out;
}

static FeelValue
fn_calendar(FeelEnv *env, int id, const FeelValue *a)
{
	static const char *const days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday", "Sunday"};
	static const char *const months[] = {"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"};
	int64_t		y;
	int			m,
				d;
	const char *s;

	if (a->kind != FEEL_DATE && a->kind != FEEL_DATETIME)
		return feel_v_null();
	feel_civil_from_days(a->u.t.days, &y, &m, &d);
	if (id == FB_DAY_OF_YEAR)
		return feel_v_int(a->u.t.days - feel_days_from_civil(y, 1, 1) + 1);
	s = id == FB_DAY_OF_WEEK ? days[((a->u.t.days % 7) + 7 + 3) % 7] : months[m - 1];
	(void) env;
	return feel_v_str(s, strlen(s));
}

FeelValue
feel_call_temporal_builtin(FeelEnv *env, int id, FeelValue *a, int nargs)
{
	FeelValue	out;

	switch (id)
	{
		case FB_DATE:
			return fn_date(a, nargs);
		case FB_TIME:
			return fn_time(a, nargs);
		case FB_DATE_AND_TIME:
			return fn_datetime(a, nargs);
		case FB_DURATION:
			if (a[0].kind == FEEL_STRING && feel_parse_duration(a[0].u.str.s, a[0].u.str.len, &out))
				return out;
			return feel_v_null();
		case FB_YM_DURATION:
			return fn_ym_between(a);
		case FB_NOW:
		case FB_TODAY:
			return fn_now(id);
		case FB_DAY_OF_WEEK:
		case FB_DAY_OF_YEAR:
		case FB_MONTH_OF_YEAR:
			return fn_calendar(env, id, a);
		default:
			return feel_v_null();
	}
}
