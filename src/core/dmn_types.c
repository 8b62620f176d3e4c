/*
 * dmn_types.c - typeRefs: resolving them against FEEL's built-in types and
 * the model's item definitions, and coercing input values to them (ISO text
 * to dates, times and durations, as JSON callers send them).
 */
#include <string.h>

#include "dmn_internal.h"

static const struct
{
	const char *name;
	DmnTypeKind kind;
}			builtin_types[] = {
	{"number", DT_NUMBER}, {"string", DT_STRING}, {"boolean", DT_BOOLEAN},
	{"date", DT_DATE}, {"time", DT_TIME}, {"dateTime", DT_DATETIME},
	{"date and time", DT_DATETIME}, {"dayTimeDuration", DT_DT_DURATION},
	{"days and time duration", DT_DT_DURATION}, {"yearMonthDuration", DT_YM_DURATION},
	{"years and months duration", DT_YM_DURATION}, {"Any", DT_ANY}, {"context", DT_ANY},
	{"list", DT_ANY}, {"duration", DT_DURATION}
};

DmnType
dmn_resolve_type(const DmnProgram *p, const char *type_ref)
{
	DmnType		t = {DT_ANY, NULL};

	if (type_ref == NULL)
		return t;
	for (size_t i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++)
	{
		if (strcmp(type_ref, builtin_types[i].name) == 0)
		{
			t.kind = builtin_types[i].kind;
			return t;
		}
	}
	for (int i = 0; i < p->nitems; i++)
	{
		if (p->items[i].name != NULL && strcmp(type_ref, p->items[i].name) == 0)
		{
			t.kind = DT_ITEM;
			t.item = &p->items[i];
			return t;
		}
	}
	return t;
}

DmnItemDef *
dmn_copy_items(CrmArena *a, const DmnItemDef *src, int n)
{
	DmnItemDef *dst = crm_arena_alloc(a, sizeof(DmnItemDef) * (n > 0 ? n : 1));

	for (int i = 0; i < n; i++)
	{
		dst[i].name = src[i].name ? crm_arena_strdup(a, src[i].name, strlen(src[i].name)) : NULL;
		dst[i].type_ref = src[i].type_ref ? crm_arena_strdup(a, src[i].type_ref, strlen(src[i].type_ref)) : NULL;
		dst[i].allowed_values = NULL;
		dst[i].is_collection = src[i].is_collection;
		dst[i].ncomponents = src[i].ncomponents;
		dst[i].components = dmn_copy_items(a, src[i].components, src[i].ncomponents);
	}
	return dst;
}

static const char *
kind_name(DmnTypeKind k)
{
	static const char *const names[] = {"any value", "a number", "a string", "a boolean", "a date",
		"a time", "a date and time", "a days and time duration", "a years and months duration",
	"a duration", "a structured value"};

	return names[k];
}

static bool
wrong_type(const DmnType *t, const char *what, CrmError *err)
{
	crm_fail(err, CRM_ERR_TYPE, 0, "%s must be %s", what, kind_name(t->kind));
	if (t->kind >= DT_DATE && t->kind <= DT_DURATION)
		crm_error_hint(err, "Pass an ISO 8601 string such as \"2026-11-22\", \"10:30:00\", "
					   "\"2026-11-22T10:30:00\", \"P3D\" or \"P1Y2M\".");
	else
		crm_error_hint(err, "Pass a value of the type the model declares (a JSON value, or a column of crm.decide_row).");
	return false;
}

static bool
coerce_text(DmnTypeKind k, const FeelStr *s, FeelValue *out)
{
	switch (k)
	{
		case DT_NUMBER:
			out->kind = FEEL_NUMBER;
			return feel_dec_parse(s->s, s->len, &out->u.num);
		case DT_DATE:
			return feel_parse_date(s->s, s->len, out);
		case DT_TIME:
			return feel_parse_time(s->s, s->len, out);
		case DT_DATETIME:
			return feel_parse_datetime(s->s, s->len, out);
		case DT_DT_DURATION:
			return feel_parse_duration(s->s, s->len, out) && out->kind == FEEL_DT_DURATION;
		case DT_YM_DURATION:
			return feel_parse_duration(s->s, s->len, out) && out->kind == FEEL_YM_DURATION;
		case DT_DURATION:
			return feel_parse_duration(s->s, s->len, out);
		default:
			return false;
	}
}

static bool coerce_item(DmnProgram *p, const DmnItemDef *it, const FeelValue *in, FeelValue *out,
						bool strict, const char *what, CrmError *err, int depth);

static bool
coerce_simple(const DmnType *t, const FeelValue *in, FeelValue *out, bool strict,
			  const char *what, CrmError *err)
{
	static const FeelKind want[] = {FEEL_NULL, FEEL_NUMBER, FEEL_STRING, FEEL_BOOLEAN, FEEL_DATE,
	FEEL_TIME, FEEL_DATETIME, FEEL_DT_DURATION, FEEL_YM_DURATION, FEEL_DT_DURATION};

	*out = *in;
	if (in->kind == FEEL_NULL || t->kind == DT_ANY || in->kind == want[t->kind] ||
		(t->kind == DT_DURATION && in->kind == FEEL_YM_DURATION))
		return true;
	if (t->kind == DT_DATETIME && in->kind == FEEL_DATE)
	{
		out->kind = FEEL_DATETIME;
		return true;
	}
	if (in->kind == FEEL_STRING && t->kind != DT_STRING && coerce_text(t->kind, &in->u.str, out))
		return true;
	*out = *in;
	return strict ? wrong_type(t, what, err) : true;
}

static bool
coerce_depth(DmnProgram *p, const DmnType *t, const FeelValue *in, FeelValue *out,
			 bool strict, const char *what, CrmError *err, int depth)
{
	if (t->kind == DT_ITEM)
		return coerce_item(p, t->item, in, out, strict, what, err, depth);
	return coerce_simple(t, in, out, strict, what, err);
}

static bool
coerce_components(DmnProgram *p, const DmnItemDef *it, const FeelValue *in, FeelValue *out,
				  bool strict, const char *what, CrmError *err, int depth)
{
	if (in->kind != FEEL_CONTEXT)
	{
		*out = *in;
		if (!strict)
			return true;
		crm_fail(err, CRM_ERR_TYPE, 0, "%s must be a structure with components", what);
		crm_error_hint(err, "Pass a JSON object with the components of item definition \"%s\".", it->name);
		return false;
	}
	feel_a_ctx_init(out, &p->eval_arena, in->u.ctx.n);
	for (int i = 0; i < in->u.ctx.n; i++)
	{
		FeelValue	v = in->u.ctx.vals[i];

		for (int c = 0; c < it->ncomponents; c++)
		{
			const DmnItemDef *comp = &it->components[c];

			if (comp->name != NULL && strlen(comp->name) == in->u.ctx.keys[i].len &&
				memcmp(comp->name, in->u.ctx.keys[i].s, in->u.ctx.keys[i].len) == 0)
			{
				if (!coerce_item(p, comp, &in->u.ctx.vals[i], &v, strict, what, err, depth + 1))
					return false;
			}
		}
		feel_a_ctx_put(out, &p->eval_arena, in->u.ctx.keys[i].s, in->u.ctx.keys[i].len, &v);
	}
	return true;
}

/* The type of one element of an item definition (ignoring is_collection). */
static bool
coerce_element(DmnProgram *p, const DmnItemDef *it, const FeelValue *in, FeelValue *out,
			   bool strict, const char *what, CrmError *err, int depth)
{
	DmnType		t;

	if (it->ncomponents > 0)
		return coerce_components(p, it, in, out, strict, what, err, depth);
	t = dmn_resolve_type(p, it->type_ref);
	if (t.kind == DT_ITEM && t.item == it)
		t.kind = DT_ANY;
	return coerce_depth(p, &t, in, out, strict, what, err, depth + 1);
}

static bool
coerce_item(DmnProgram *p, const DmnItemDef *it, const FeelValue *in, FeelValue *out,
			bool strict, const char *what, CrmError *err, int depth)
{
	if (depth > 32 || in->kind == FEEL_NULL)
		return *out = *in, true;
	if (!it->is_collection)
		return coerce_element(p, it, in, out, strict, what, err, depth);
	if (in->kind != FEEL_LIST)
	{
		*out = *in;
		if (!strict)
			return true;
		crm_fail(err, CRM_ERR_TYPE, 0, "%s must be a list", what);
		crm_error_hint(err, "Pass a JSON array.");
		return false;
	}
	feel_a_list_init(out, &p->eval_arena, in->u.list.n);
	for (int i = 0; i < in->u.list.n; i++)
	{
		FeelValue	v;

		if (!coerce_element(p, it, &in->u.list.items[i], &v, strict, what, err, depth))
			return false;
		feel_a_list_push(out, &p->eval_arena, &v);
	}
	return true;
}

bool
dmn_coerce(DmnProgram *p, const DmnType *t, const FeelValue *in, FeelValue *out,
		   bool strict, const char *what, CrmError *err)
{
	return coerce_depth(p, t, in, out, strict, what, err, 0);
}
