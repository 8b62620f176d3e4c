/*
 * feel_builtins.c - the FEEL built-in function table and the functions on
 * numbers, strings and conversions.  List and temporal functions live in
 * feel_builtins_list.c.
 */
#include <math.h>
#include <string.h>

#include "feel_builtins.h"

static const FeelBuiltin builtins[] = {
	{"not", 1, 1, "negand"}, {"string", 1, 1, "from"},
	{"number", 1, 3, "from|grouping separator|decimal separator"},
	{"string length", 1, 1, "string"}, {"substring", 2, 3, "string|start position|length"},
	{"upper case", 1, 1, "string"}, {"lower case", 1, 1, "string"},
	{"contains", 2, 2, "string|match"}, {"starts with", 2, 2, "string|match"},
	{"ends with", 2, 2, "string|match"}, {"substring before", 2, 2, "string|match"},
	{"substring after", 2, 2, "string|match"}, {"string join", 1, 2, "list|delimiter"},
	{"min", 1, -1, "list"}, {"max", 1, -1, "list"}, {"sum", 1, -1, "list"},
	{"mean", 1, -1, "list"}, {"product", 1, -1, "list"}, {"median", 1, -1, "list"},
	{"count", 1, -1, "list"}, {"all", 1, -1, "list"}, {"any", 1, -1, "list"},
	{"abs", 1, 1, "n"}, {"floor", 1, 2, "n|scale"}, {"ceiling", 1, 2, "n|scale"},
	{"decimal", 2, 2, "n|scale"}, {"round half up", 2, 2, "n|scale"},
	{"round half down", 2, 2, "n|scale"}, {"round up", 2, 2, "n|scale"},
	{"round down", 2, 2, "n|scale"}, {"modulo", 2, 2, "dividend|divisor"},
	{"sqrt", 1, 1, "number"}, {"odd", 1, 1, "number"}, {"even", 1, 1, "number"},
	{"date", 1, 3, "year|month|day"}, {"time", 1, 4, "hour|minute|second|offset"},
	{"date and time", 1, 2, "date|time"}, {"duration", 1, 1, "from"},
	{"years and months duration", 2, 2, "from|to"}, {"now", 0, 0, ""}, {"today", 0, 0, ""},
	{"day of week", 1, 1, "date"}, {"day of year", 1, 1, "date"}, {"month of year", 1, 1, "date"},
	{"list contains", 2, 2, "list|element"}, {"append", 1, -1, "list|item"},
	{"concatenate", 0, -1, "lists"}, {"insert before", 3, 3, "list|position|newItem"},
	{"remove", 2, 2, "list|position"}, {"reverse", 1, 1, "list"}, {"index of", 2, 2, "list|match"},
	{"union", 0, -1, "lists"}, {"distinct values", 1, 1, "list"}, {"flatten", 1, 1, "list"},
	{"sublist", 2, 3, "list|start position|length"}, {"get value", 2, 2, "m|key"},
	{"get entries", 1, 1, "m"}, {"is defined", 1, 1, "value"}
};

#define NBUILTINS ((int) (sizeof(builtins) / sizeof(builtins[0])))

static const char *multi_names[NBUILTINS];
static size_t multi_lens[NBUILTINS];
static FeelLexNames multi_lex;

const FeelLexNames *
feel_builtin_lex(void)
{
	if (multi_lex.names == NULL)
	{
		int			n = 0;

		for (int i = 0; i < NBUILTINS; i++)
		{
			if (strchr(builtins[i].name, ' ') != NULL)
			{
				multi_names[n] = builtins[i].name;
				multi_lens[n++] = strlen(builtins[i].name);
			}
		}
		multi_lex.lens = multi_lens;
		multi_lex.n = n;
		multi_lex.names = multi_names;
	}
	return &multi_lex;
}

int
feel_builtin_find(const char *name, size_t len)
{
	for (int i = 0; i < NBUILTINS; i++)
	{
		if (feel_name_equal_norm(name, len, builtins[i].name, strlen(builtins[i].name)))
			return i;
	}
	return -1;
}

const char *
feel_builtin_name(int id)
{
	return id >= 0 && id < NBUILTINS ? builtins[id].name : "?";
}

bool
feel_builtin_arity_ok(int id, int nargs)
{
	return nargs >= builtins[id].min && (builtins[id].max < 0 || nargs <= builtins[id].max);
}

bool
feel_builtin_pure(int id)
{
	return id != FB_NOW && id != FB_TODAY;
}

/* ---- strings (UTF-8 aware: positions count characters) ---- */

static size_t
utf8_len(const char *s, size_t n)
{
	size_t		c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char) s[i] & 0xC0) != 0x80;
	return c;
}

/* Byte offset of character index ci (0-based). */
static size_t
utf8_offset(const char *s, size_t n, int64_t ci)
{
	size_t		i = 0;

	while (i < n && ci > 0)
	{
		i++;
		while (i < n && ((unsigned char) s[i] & 0xC0) == 0x80)
			i++;
		ci--;
	}
	return i;
}

static FeelValue
fn_substring(const FeelValue *a, int nargs)
{
	int64_t		start,
				len = -1;
	int64_t		clen;
	size_t		b,
				e;

	if (a[0].kind != FEEL_STRING || a[1].kind != FEEL_NUMBER ||
		!feel_dec_to_int64(&a[1].u.num, &start))
		return feel_v_null();
	if (nargs == 3 && (a[2].kind != FEEL_NUMBER || !feel_dec_to_int64(&a[2].u.num, &len) || len < 0))
		return feel_v_null();
	clen = (int64_t) utf8_len(a[0].u.str.s, a[0].u.str.len);
	if (start < 0)
		start += clen + 1;
	if (start < 1 || start > clen + 1)
		return feel_v_null();
	b = utf8_offset(a[0].u.str.s, a[0].u.str.len, start - 1);
	e = len < 0 ? a[0].u.str.len : b + utf8_offset(a[0].u.str.s + b, a[0].u.str.len - b, len);
	return feel_v_str(a[0].u.str.s + b, e - b);
}

static FeelValue
fn_case(FeelEnv *env, const FeelValue *a, bool upper)
{
	char	   *s;

	if (a->kind != FEEL_STRING)
		return feel_v_null();
	s = crm_arena_alloc(env->arena, a->u.str.len + 1);
	for (size_t i = 0; i < a->u.str.len; i++)
	{
		char		c = a->u.str.s[i];

		if (upper && c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		else if (!upper && c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		s[i] = c;
	}
	s[a->u.str.len] = '\0';
	return feel_v_str(s, a->u.str.len);
}

static const char *
find_sub(const FeelStr *h, const FeelStr *n)
{
	if (n->len == 0)
		return h->s;
	for (size_t i = 0; i + n->len <= h->len; i++)
	{
		if (memcmp(h->s + i, n->s, n->len) == 0)
			return h->s + i;
	}
	return NULL;
}

static FeelValue
fn_string_match(int id, const FeelValue *a)
{
	const FeelStr *h = &a[0].u.str,
			   *n = &a[1].u.str;
	const char *at;

	if (a[0].kind != FEEL_STRING || a[1].kind != FEEL_STRING)
		return feel_v_null();
	switch (id)
	{
		case FB_CONTAINS:
			return feel_v_bool(find_sub(h, n) != NULL);
		case FB_STARTS_WITH:
			return feel_v_bool(n->len <= h->len && memcmp(h->s, n->s, n->len) == 0);
		case FB_ENDS_WITH:
			return feel_v_bool(n->len <= h->len && memcmp(h->s + h->len - n->len, n->s, n->len) == 0);
		case FB_SUBSTRING_BEFORE:
			at = find_sub(h, n);
			return at ? feel_v_str(h->s, (size_t) (at - h->s)) : feel_v_str("", 0);
		default:
			at = find_sub(h, n);
			return at ? feel_v_str(at + n->len, h->len - (size_t) (at - h->s) - n->len) : feel_v_str("", 0);
	}
}

static FeelValue
fn_string(FeelEnv *env, const FeelValue *a)
{
	CrmBuf		b;
	char	   *s;
	size_t		n;

	if (a->kind == FEEL_NULL)
		return feel_v_null();
	if (a->kind == FEEL_STRING)
		return *a;
	crm_buf_init(&b);
	feel_value_to_text(a, &b);
	n = b.len;
	s = crm_arena_strdup(env->arena, b.data, n);
	crm_buf_free(&b);
	return feel_v_str(s, n);
}

static FeelValue
fn_number(FeelEnv *env, const FeelValue *a, int nargs)
{
	char	   *s;
	size_t		n = 0;
	FeelDec		d;

	if (a[0].kind == FEEL_NUMBER)
		return a[0];
	if (a[0].kind != FEEL_STRING)
		return feel_v_null();
	s = crm_arena_alloc(env->arena, a[0].u.str.len + 1);
	for (size_t i = 0; i < a[0].u.str.len; i++)
	{
		char		c = a[0].u.str.s[i];

		if (nargs >= 2 && a[1].kind == FEEL_STRING && a[1].u.str.len == 1 && c == a[1].u.str.s[0])
			continue;
		if (nargs >= 3 && a[2].kind == FEEL_STRING && a[2].u.str.len == 1 && c == a[2].u.str.s[0])
			c = '.';
		s[n++] = c;
	}
	if (!feel_dec_parse(s, n, &d))
		return feel_v_null();
	return feel_v_num(d);
}

static FeelValue
fn_round(int id, const FeelValue *a, int nargs)
{
	int64_t		scale = 0;
	FeelDec		r;
	FeelRound	mode;

	if (a[0].kind != FEEL_NUMBER)
		return feel_v_null();
	if (nargs > 1 && (a[1].kind != FEEL_NUMBER || !feel_dec_to_int64(&a[1].u.num, &scale) ||
					  scale < -6111 || scale > 6176))
		return feel_v_null();
	switch (id)
	{
		case FB_FLOOR:
			mode = FEEL_ROUND_FLOOR;
			break;
		case FB_CEILING:
			mode = FEEL_ROUND_CEILING;
			break;
		case FB_ROUND_HALF_UP:
			mode = FEEL_ROUND_HALF_UP;
			break;
		case FB_ROUND_HALF_DOWN:
			mode = FEEL_ROUND_HALF_DOWN;
			break;
		case FB_ROUND_UP:
			mode = FEEL_ROUND_UP;
			break;
		case FB_ROUND_DOWN:
			mode = FEEL_ROUND_DOWN;
			break;
		default:
			mode = FEEL_ROUND_HALF_EVEN;
			break;
	}
	if (!feel_dec_round(&a[0].u.num, (int) scale, mode, &r))
		return feel_v_null();
	return feel_v_num(r);
}

static FeelValue
fn_numeric(int id, const FeelValue *a)
{
	FeelDec		r;
	double		d;

	if (a[0].kind != FEEL_NUMBER)
		return feel_v_null();
	switch (id)
	{
		case FB_ABS:
			r = a[0].u.num;
			r.neg = false;
			return feel_v_num(r);
		case FB_MODULO:
			if (a[1].kind != FEEL_NUMBER || !feel_dec_mod(&a[0].u.num, &a[1].u.num, &r))
				return feel_v_null();
			return feel_v_num(r);
		case FB_SQRT:
			d = feel_dec_to_double(&a[0].u.num);
			if (d < 0 || !feel_dec_from_double(sqrt(d), &r))
				return feel_v_null();
			return feel_v_num(r);
		default:
			{
				FeelDec		two = feel_dec_from_int(2);

				if (!feel_dec_is_integer(&a[0].u.num) || !feel_dec_mod(&a[0].u.num, &two, &r))
					return feel_v_null();
				return feel_v_bool(feel_dec_is_zero(&r) == (id == FB_EVEN));
			}
	}
}

FeelValue
feel_call_builtin(FeelEnv *env, int id, FeelValue *a, int nargs)
{
	switch (id)
	{
		case FB_NOT:
			return a[0].kind == FEEL_BOOLEAN ? feel_v_bool(!a[0].u.b) : feel_v_null();
		case FB_STRING:
			return fn_string(env, a);
		case FB_NUMBER:
			return fn_number(env, a, nargs);
		case FB_STRING_LENGTH:
			return a[0].kind == FEEL_STRING ? feel_v_int((int64_t) utf8_len(a[0].u.str.s, a[0].u.str.len))
				: feel_v_null();
		case FB_SUBSTRING:
			return fn_substring(a, nargs);
		case FB_UPPER_CASE:
		case FB_LOWER_CASE:
			return fn_case(env, a, id == FB_UPPER_CASE);
		case FB_CONTAINS:
		case FB_STARTS_WITH:
		case FB_ENDS_WITH:
		case FB_SUBSTRING_BEFORE:
		case FB_SUBSTRING_AFTER:
			return fn_string_match(id, a);
		case FB_FLOOR:
		case FB_CEILING:
		case FB_DECIMAL:
		case FB_ROUND_HALF_UP:
		case FB_ROUND_HALF_DOWN:
		case FB_ROUND_UP:
		case FB_ROUND_DOWN:
			return fn_round(id, a, nargs);
		case FB_ABS:
		case FB_MODULO:
		case FB_SQRT:
		case FB_ODD:
		case FB_EVEN:
			return fn_numeric(id, a);
		default:
			return feel_call_list_builtin(env, id, a, nargs);
	}
}

/* Position of a named parameter (0-based), or -1.  "from" is always the first. */
int
feel_builtin_param(int id, const char *name, size_t len)
{
	const char *p = builtins[id].params;
	int			i = 0;

	if (feel_name_equal_norm(name, len, "from", 4))
		return 0;
	while (*p)
	{
		const char *e = strchr(p, '|');
		size_t		n = e ? (size_t) (e - p) : strlen(p);

		if (feel_name_equal_norm(name, len, p, n))
			return i;
		if (e == NULL)
			break;
		p = e + 1;
		i++;
	}
	return -1;
}
