/*
 * feel_value.c - FEEL values: construction, copying, equality, ordering and
 * text, plus the public accessors of dmn_engine.h.
 */
#include <string.h>

#include "feel_internal.h"

/* ---- arena-built lists and contexts ---- */

void
feel_a_list_init(FeelValue *v, CrmArena *a, int cap)
{
	*v = feel_v_null();
	v->kind = FEEL_LIST;
	v->u.list.cap = cap < 4 ? 4 : cap;
	v->u.list.items = crm_arena_alloc(a, sizeof(FeelValue) * v->u.list.cap);
}

void
feel_a_list_push(FeelValue *v, CrmArena *a, const FeelValue *item)
{
	if (v->u.list.n == v->u.list.cap)
	{
		FeelValue  *n = crm_arena_alloc(a, sizeof(FeelValue) * v->u.list.cap * 2);

		memcpy(n, v->u.list.items, sizeof(FeelValue) * v->u.list.n);
		v->u.list.items = n;
		v->u.list.cap *= 2;
	}
	v->u.list.items[v->u.list.n++] = *item;
}

void
feel_a_ctx_init(FeelValue *v, CrmArena *a, int cap)
{
	*v = feel_v_null();
	v->kind = FEEL_CONTEXT;
	v->u.ctx.cap = cap < 4 ? 4 : cap;
	v->u.ctx.keys = crm_arena_alloc(a, sizeof(FeelStr) * v->u.ctx.cap);
	v->u.ctx.vals = crm_arena_alloc(a, sizeof(FeelValue) * v->u.ctx.cap);
}

void
feel_a_ctx_put(FeelValue *v, CrmArena *a, const char *key, size_t klen, const FeelValue *val)
{
	for (int i = 0; i < v->u.ctx.n; i++)
	{
		if (v->u.ctx.keys[i].len == klen && memcmp(v->u.ctx.keys[i].s, key, klen) == 0)
		{
			v->u.ctx.vals[i] = *val;
			return;
		}
	}
	if (v->u.ctx.n == v->u.ctx.cap)
	{
		FeelStr    *k = crm_arena_alloc(a, sizeof(FeelStr) * v->u.ctx.cap * 2);
		FeelValue  *vals = crm_arena_alloc(a, sizeof(FeelValue) * v->u.ctx.cap * 2);

		memcpy(k, v->u.ctx.keys, sizeof(FeelStr) * v->u.ctx.n);
		memcpy(vals, v->u.ctx.vals, sizeof(FeelValue) * v->u.ctx.n);
		v->u.ctx.keys = k;
		v->u.ctx.vals = vals;
		v->u.ctx.cap *= 2;
	}
	v->u.ctx.keys[v->u.ctx.n].s = key;
	v->u.ctx.keys[v->u.ctx.n].len = klen;
	v->u.ctx.vals[v->u.ctx.n] = *val;
	v->u.ctx.n++;
}

const FeelValue *
feel_ctx_get(const FeelValue *ctx, const char *key, size_t klen)
{
	if (ctx == NULL || ctx->kind != FEEL_CONTEXT)
		return NULL;
	for (int i = 0; i < ctx->u.ctx.n; i++)
	{
		if (ctx->u.ctx.keys[i].len == klen && memcmp(ctx->u.ctx.keys[i].s, key, klen) == 0)
			return &ctx->u.ctx.vals[i];
	}
	return NULL;
}

/* ---- deep copies in crm_alloc memory ---- */

void
feel_value_copy_into(FeelValue *dst, const FeelValue *src)
{
	*dst = *src;
	switch (src->kind)
	{
		case FEEL_STRING:
			dst->u.str.s = crm_strndup(src->u.str.s, src->u.str.len);
			break;
		case FEEL_LIST:
			dst->u.list.cap = src->u.list.n > 0 ? src->u.list.n : 1;
			dst->u.list.items = crm_alloc(sizeof(FeelValue) * dst->u.list.cap);
			for (int i = 0; i < src->u.list.n; i++)
				feel_value_copy_into(&dst->u.list.items[i], &src->u.list.items[i]);
			break;
		case FEEL_CONTEXT:
			dst->u.ctx.cap = src->u.ctx.n > 0 ? src->u.ctx.n : 1;
			dst->u.ctx.keys = crm_alloc(sizeof(FeelStr) * dst->u.ctx.cap);
			dst->u.ctx.vals = crm_alloc(sizeof(FeelValue) * dst->u.ctx.cap);
			for (int i = 0; i < src->u.ctx.n; i++)
			{
				dst->u.ctx.keys[i].s = crm_strndup(src->u.ctx.keys[i].s, src->u.ctx.keys[i].len);
				dst->u.ctx.keys[i].len = src->u.ctx.keys[i].len;
				feel_value_copy_into(&dst->u.ctx.vals[i], &src->u.ctx.vals[i]);
			}
			break;
		default:
			break;
	}
}

FeelValue *
feel_value_copy(const FeelValue *v)
{
	FeelValue  *r = crm_alloc(sizeof(FeelValue));

	feel_value_copy_into(r, v);
	return r;
}

void
feel_value_free_contents(FeelValue *v)
{
	switch (v->kind)
	{
		case FEEL_STRING:
			crm_free((void *) v->u.str.s);
			break;
		case FEEL_LIST:
			for (int i = 0; i < v->u.list.n; i++)
				feel_value_free_contents(&v->u.list.items[i]);
			crm_free(v->u.list.items);
			break;
		case FEEL_CONTEXT:
			for (int i = 0; i < v->u.ctx.n; i++)
			{
				crm_free((void *) v->u.ctx.keys[i].s);
				feel_value_free_contents(&v->u.ctx.vals[i]);
			}
			crm_free(v->u.ctx.keys);
			crm_free(v->u.ctx.vals);
			break;
		default:
			break;
	}
	v->kind = FEEL_NULL;
}

void
feel_value_free(FeelValue *v)
{
	if (v == NULL)
		return;
	feel_value_free_contents(v);
	crm_free(v);
}

/* ---- public constructors (heap values) ---- */

static FeelValue *
box(FeelValue v)
{
	FeelValue  *r = crm_alloc(sizeof(FeelValue));

	*r = v;
	return r;
}

FeelKind
feel_kind(const FeelValue *v)
{
	return v == NULL ? FEEL_NULL : v->kind;
}

FeelValue *
feel_null(void)
{
	return box(feel_v_null());
}

FeelValue *
feel_boolean(bool b)
{
	return box(feel_v_bool(b));
}

FeelValue *
feel_number_from_text(const char *text, CrmError *err)
{
	FeelDec		d;
	size_t		len = strlen(text);

	while (len > 0 && (*text == ' ' || *text == '\t'))
		text++, len--;
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (!feel_dec_parse(text, len, &d))
	{
		crm_fail(err, CRM_ERR_SYNTAX, 0, "invalid number \"%.60s\"", text);
		crm_error_hint(err, "Write a decimal number such as 12.5 or -3e2.");
		return NULL;
	}
	return box(feel_v_num(d));
}

FeelValue *
feel_number_from_int(int64_t i)
{
	return box(feel_v_int(i));
}

FeelValue *
feel_string(const char *s, size_t len)
{
	return box(feel_v_str(crm_strndup(s, len), len));
}

FeelValue *
feel_list_new(void)
{
	FeelValue	v = feel_v_null();

	v.kind = FEEL_LIST;
	v.u.list.cap = 4;
	v.u.list.items = crm_alloc(sizeof(FeelValue) * 4);
	return box(v);
}

void
feel_list_append(FeelValue *list, FeelValue *item)
{
	if (list->u.list.n == list->u.list.cap)
	{
		list->u.list.cap *= 2;
		list->u.list.items = crm_realloc(list->u.list.items, sizeof(FeelValue) * list->u.list.cap);
	}
	list->u.list.items[list->u.list.n++] = *item;
	crm_free(item);
}

FeelValue *
feel_context_new(void)
{
	FeelValue	v = feel_v_null();

	v.kind = FEEL_CONTEXT;
	v.u.ctx.cap = 4;
	v.u.ctx.keys = crm_alloc(sizeof(FeelStr) * 4);
	v.u.ctx.vals = crm_alloc(sizeof(FeelValue) * 4);
	return box(v);
}

void
feel_context_put(FeelValue *ctx, const char *key, size_t keylen, FeelValue *value)
{
	for (int i = 0; i < ctx->u.ctx.n; i++)
	{
		if (ctx->u.ctx.keys[i].len == keylen && memcmp(ctx->u.ctx.keys[i].s, key, keylen) == 0)
		{
			feel_value_free_contents(&ctx->u.ctx.vals[i]);
			ctx->u.ctx.vals[i] = *value;
			crm_free(value);
			return;
		}
	}
	if (ctx->u.ctx.n == ctx->u.ctx.cap)
	{
		ctx->u.ctx.cap *= 2;
		ctx->u.ctx.keys = crm_realloc(ctx->u.ctx.keys, sizeof(FeelStr) * ctx->u.ctx.cap);
		ctx->u.ctx.vals = crm_realloc(ctx->u.ctx.vals, sizeof(FeelValue) * ctx->u.ctx.cap);
	}
	ctx->u.ctx.keys[ctx->u.ctx.n].s = crm_strndup(key, keylen);
	ctx->u.ctx.keys[ctx->u.ctx.n].len = keylen;
	ctx->u.ctx.vals[ctx->u.ctx.n] = *value;
	ctx->u.ctx.n++;
	crm_free(value);
}

/* ---- public accessors ---- */

bool
feel_get_boolean(const FeelValue *v)
{
	return v != NULL && v->kind == FEEL_BOOLEAN && v->u.b;
}

char *
feel_number_to_text(const FeelValue *v)
{
	CrmBuf		b;

	crm_buf_init(&b);
	if (v != NULL && v->kind == FEEL_NUMBER)
		feel_dec_format(&v->u.num, &b);
	return b.data;
}

bool
feel_number_to_int64(const FeelValue *v, int64_t *out)
{
	return v != NULL && v->kind == FEEL_NUMBER && feel_dec_to_int64(&v->u.num, out);
}

const char *
feel_get_string(const FeelValue *v, size_t *len)
{
	if (v == NULL || v->kind != FEEL_STRING)
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = v->u.str.len;
	return v->u.str.s;
}

char *
feel_temporal_to_text(const FeelValue *v)
{
	CrmBuf		b;

	crm_buf_init(&b);
	if (v != NULL)
		feel_temporal_format(v, &b);
	return b.data;
}

int
feel_list_length(const FeelValue *v)
{
	return v != NULL && v->kind == FEEL_LIST ? v->u.list.n : 0;
}

const FeelValue *
feel_list_get(const FeelValue *v, int i)
{
	if (v == NULL || v->kind != FEEL_LIST || i < 0 || i >= v->u.list.n)
		return NULL;
	return &v->u.list.items[i];
}

int
feel_context_size(const FeelValue *v)
{
	return v != NULL && v->kind == FEEL_CONTEXT ? v->u.ctx.n : 0;
}

const FeelValue *
feel_context_entry(const FeelValue *v, int i, const char **key)
{
	if (v == NULL || v->kind != FEEL_CONTEXT || i < 0 || i >= v->u.ctx.n)
		return NULL;
	if (key)
		*key = v->u.ctx.keys[i].s;
	return &v->u.ctx.vals[i];
}

/* ---- borrowed input contexts ---- */

FeelValue *
feel_borrowed_context(int cap)
{
	size_t		head = (sizeof(FeelValue) + sizeof(FeelStr) * cap + 15) & ~(size_t) 15;
	char	   *mem = crm_alloc(head + sizeof(FeelValue) * (cap > 0 ? cap : 1));
	FeelValue  *v = (FeelValue *) mem;

	*v = feel_v_null();
	v->kind = FEEL_CONTEXT;
	v->u.ctx.cap = cap;
	v->u.ctx.n = 0;
	v->u.ctx.keys = (FeelStr *) (mem + sizeof(FeelValue));
	v->u.ctx.vals = (FeelValue *) (mem + head);
	return v;
}

static FeelValue *
borrowed_slot(FeelValue *ctx, const char *key, size_t keylen)
{
	int			n = ctx->u.ctx.n;

	if (n >= ctx->u.ctx.cap)
		return NULL;
	ctx->u.ctx.keys[n].s = key;
	ctx->u.ctx.keys[n].len = keylen;
	ctx->u.ctx.n++;
	return &ctx->u.ctx.vals[n];
}

bool
feel_borrowed_put(FeelValue *ctx, const char *key, size_t keylen, FeelValue *value)
{
	FeelValue  *slot = borrowed_slot(ctx, key, keylen);

	if (slot == NULL)
		return false;
	*slot = *value;
	crm_free(value);
	return true;
}

bool
feel_borrowed_put_string(FeelValue *ctx, const char *key, size_t keylen, const char *s, size_t len)
{
	FeelValue  *slot = borrowed_slot(ctx, key, keylen);

	if (slot == NULL)
		return false;
	*slot = feel_v_str(s, len);
	return true;
}

bool
feel_borrowed_put_boolean(FeelValue *ctx, const char *key, size_t keylen, bool b)
{
	FeelValue  *slot = borrowed_slot(ctx, key, keylen);

	if (slot == NULL)
		return false;
	*slot = feel_v_bool(b);
	return true;
}

bool
feel_borrowed_put_int(FeelValue *ctx, const char *key, size_t keylen, int64_t i)
{
	FeelValue  *slot = borrowed_slot(ctx, key, keylen);

	if (slot == NULL)
		return false;
	*slot = feel_v_int(i);
	return true;
}

bool
feel_borrowed_put_null(FeelValue *ctx, const char *key, size_t keylen)
{
	FeelValue  *slot = borrowed_slot(ctx, key, keylen);

	if (slot == NULL)
		return false;
	*slot = feel_v_null();
	return true;
}

void
feel_borrowed_reset(FeelValue *ctx)
{
	ctx->u.ctx.n = 0;
}

int
feel_borrowed_capacity(const FeelValue *ctx)
{
	return ctx->u.ctx.cap;
}

void
feel_borrowed_free(FeelValue *ctx)
{
	crm_free(ctx);
}
