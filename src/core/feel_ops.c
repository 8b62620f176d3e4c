/*
 * feel_ops.c - FEEL equality, ordering and text rendering of values.
 */
#include <string.h>

#include "feel_internal.h"

static bool
is_temporal(FeelKind k)
{
	return k == FEEL_DATE || k == FEEL_TIME || k == FEEL_DATETIME ||
		k == FEEL_YM_DURATION || k == FEEL_DT_DURATION;
}

static int
equal_lists(const FeelValue *a, const FeelValue *b)
{
	if (a->u.list.n != b->u.list.n)
		return 0;
	for (int i = 0; i < a->u.list.n; i++)
	{
		int			e = feel_equal(&a->u.list.items[i], &b->u.list.items[i]);

		if (e != 1)
			return e;
	}
	return 1;
}

static int
equal_contexts(const FeelValue *a, const FeelValue *b)
{
	if (a->u.ctx.n != b->u.ctx.n)
		return 0;
	for (int i = 0; i < a->u.ctx.n; i++)
	{
		const FeelValue *o = feel_ctx_get(b, a->u.ctx.keys[i].s, a->u.ctx.keys[i].len);
		int			e;

		if (o == NULL)
			return 0;
		e = feel_equal(&a->u.ctx.vals[i], o);
		if (e != 1)
			return e;
	}
	return 1;
}

int
feel_equal(const FeelValue *a, const FeelValue *b)
{
	if (a->kind == FEEL_NULL || b->kind == FEEL_NULL)
		return a->kind == b->kind ? 1 : 0;
	if (a->kind != b->kind)
		return -1;
	switch (a->kind)
	{
		case FEEL_BOOLEAN:
			return a->u.b == b->u.b;
		case FEEL_NUMBER:
			return feel_dec_cmp(&a->u.num, &b->u.num) == 0;
		case FEEL_STRING:
			return a->u.str.len == b->u.str.len &&
				memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
		case FEEL_LIST:
			return equal_lists(a, b);
		case FEEL_CONTEXT:
			return equal_contexts(a, b);
		case FEEL_FUNCTION:
			return a->u.fn == b->u.fn;
		default:
			{
				int			c = feel_temporal_compare(a, b);

				return c == -2 ? -1 : c == 0;
			}
	}
}

int
feel_compare(const FeelValue *a, const FeelValue *b)
{
	if (a->kind != b->kind)
		return -2;
	switch (a->kind)
	{
		case FEEL_NUMBER:
			return feel_dec_cmp(&a->u.num, &b->u.num);
		case FEEL_STRING:
			{
				size_t		n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
				int			c = memcmp(a->u.str.s, b->u.str.s, n);

				if (c != 0)
					return c < 0 ? -1 : 1;
				return a->u.str.len == b->u.str.len ? 0 : (a->u.str.len < b->u.str.len ? -1 : 1);
			}
		default:
			if (is_temporal(a->kind))
				return feel_temporal_compare(a, b);
			return -2;
	}
}

static void
text_or_repr(const FeelValue *v, CrmBuf *buf, bool repr)
{
	switch (v->kind)
	{
		case FEEL_NULL:
			crm_buf_puts(buf, "null");
			break;
		case FEEL_BOOLEAN:
			crm_buf_puts(buf, v->u.b ? "true" : "false");
			break;
		case FEEL_NUMBER:
			feel_dec_format(&v->u.num, buf);
			break;
		case FEEL_STRING:
			if (!repr)
			{
				crm_buf_append(buf, v->u.str.s, v->u.str.len);
				break;
			}
			crm_buf_putc(buf, '"');
			for (size_t i = 0; i < v->u.str.len; i++)
			{
				char		c = v->u.str.s[i];

				if (c == '"' || c == '\\')
					crm_buf_putc(buf, '\\');
				if (c == '\n')
					crm_buf_puts(buf, "\\n");
				else
					crm_buf_putc(buf, c);
			}
			crm_buf_putc(buf, '"');
			break;
		case FEEL_LIST:
			crm_buf_putc(buf, '[');
			for (int i = 0; i < v->u.list.n; i++)
			{
				if (i > 0)
					crm_buf_puts(buf, ", ");
				text_or_repr(&v->u.list.items[i], buf, true);
			}
			crm_buf_putc(buf, ']');
			break;
		case FEEL_CONTEXT:
			crm_buf_putc(buf, '{');
			for (int i = 0; i < v->u.ctx.n; i++)
			{
				if (i > 0)
					crm_buf_puts(buf, ", ");
				crm_buf_append(buf, v->u.ctx.keys[i].s, v->u.ctx.keys[i].len);
				crm_buf_puts(buf, ": ");
				text_or_repr(&v->u.ctx.vals[i], buf, true);
			}
			crm_buf_putc(buf, '}');
			break;
		case FEEL_FUNCTION:
			crm_buf_puts(buf, "function ");
			crm_buf_puts(buf, feel_builtin_name(v->u.fn));
			break;
		default:
			if (repr)
			{
				crm_buf_putc(buf, '@');
				crm_buf_putc(buf, '"');
			}
			feel_temporal_format(v, buf);
			if (repr)
				crm_buf_putc(buf, '"');
			break;
	}
}

void
feel_value_to_text(const FeelValue *v, CrmBuf *buf)
{
	text_or_repr(v, buf, false);
}

void
feel_value_repr(const FeelValue *v, CrmBuf *buf)
{
	text_or_repr(v, buf, true);
}
