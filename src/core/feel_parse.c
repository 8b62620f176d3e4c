/*
 * feel_parse.c - recursive-descent parser of FEEL expressions into a tree
 * whose names are resolved to slots at parse time.
 */
#include <stdio.h>
#include <string.h>

#include "feel_parse_int.h"

FeelToken
fp_peek(FeelParser *p)
{
	const FeelLexNames *sets[3];

	p->lex_locals.names = p->local_names;
	p->lex_locals.lens = p->local_lens;
	p->lex_locals.n = p->nlocals;
	sets[0] = &p->lex_locals;
	sets[1] = p->scope->lex_globals;
	sets[2] = feel_builtin_lex();
	return feel_lex(p->text, p->len, p->pos, sets, 3);
}

FeelToken
fp_next(FeelParser *p)
{
	FeelToken	t = fp_peek(p);

	p->pos = t.end;
	return t;
}

bool
fp_is_kw(FeelParser *p, const FeelToken *t, const char *kw)
{
	size_t		n = strlen(kw);

	return t->tok == FT_NAME && t->end - t->start == n && memcmp(p->text + t->start, kw, n) == 0;
}

bool
fp_accept(FeelParser *p, FeelTok tok)
{
	FeelToken	t = fp_peek(p);

	if (t.tok != tok)
		return false;
	p->pos = t.end;
	return true;
}

void *
fp_fail(FeelParser *p, const FeelToken *t, CrmErrCode code, const char *fmt,...)
{
	va_list		ap;
	char		msg[CRM_MSG_LEN];

	if (p->failed)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->failed = true;
	crm_fail(p->err, code, feel_char_pos(p->text, t->start), "%s", msg);
	return NULL;
}

static void *
fail_near(FeelParser *p, const FeelToken *t, const char *what)
{
	int			n = (int) (t->end - t->start);

	if (t->tok == FT_EOF)
		return fp_fail(p, t, CRM_ERR_SYNTAX, "FEEL syntax error: %s expected at end of text", what);
	if (n > 40)
		n = 40;
	return fp_fail(p, t, CRM_ERR_SYNTAX, "FEEL syntax error: %s expected at \"%.*s\"",
				   what, n, p->text + t->start);
}

bool
fp_expect(FeelParser *p, FeelTok tok, const char *what)
{
	FeelToken	t = fp_peek(p);

	if (t.tok == tok)
	{
		p->pos = t.end;
		return true;
	}
	fail_near(p, &t, what);
	return false;
}

FeelNode *
fp_node(FeelParser *p, FeelNodeKind kind, const FeelToken *t, int nkids)
{
	FeelNode   *n = crm_arena_alloc(p->arena, sizeof(FeelNode));

	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = t ? feel_char_pos(p->text, t->start) : 0;
	n->nkids = nkids;
	n->slot = -1;
	if (nkids > 0)
	{
		n->kids = crm_arena_alloc(p->arena, sizeof(FeelNode *) * nkids);
		memset(n->kids, 0, sizeof(FeelNode *) * nkids);
	}
	return n;
}

static FeelNode *
node2(FeelParser *p, FeelNodeKind kind, int op, const FeelToken *t, FeelNode *a, FeelNode *b)
{
	FeelNode   *n;

	if (a == NULL || b == NULL)
		return NULL;
	n = fp_node(p, kind, t, 2);
	n->op = op;
	n->kids[0] = a;
	n->kids[1] = b;
	fp_fold(p, n);
	return n;
}

/* ---- scope ---- */

static int
push_local(FeelParser *p, const FeelToken *t, const char *name, size_t len)
{
	int			slot;

	if (p->nlocals >= FEEL_MAX_LOCALS)
	{
		fp_fail(p, t, CRM_ERR_LIMIT, "too many nested names in FEEL expression");
		return -1;
	}
	slot = p->scope->next_local++;
	if (p->scope->next_local > p->scope->max_slot)
		p->scope->max_slot = p->scope->next_local;
	p->locals[p->nlocals].name = name;
	p->locals[p->nlocals].len = len;
	p->locals[p->nlocals].slot = slot;
	p->local_names[p->nlocals] = name;
	p->local_lens[p->nlocals] = len;
	p->nlocals++;
	return slot;
}

static void
pop_locals(FeelParser *p, int n)
{
	p->nlocals -= n;
	p->scope->next_local -= n;
}

static FeelNode *
resolve_name(FeelParser *p, const FeelToken *t)
{
	const char *s = p->text + t->start;
	size_t		len = t->end - t->start;
	FeelNode   *n;

	for (int i = p->nlocals - 1; i >= 0; i--)
	{
		if (feel_name_equal_norm(s, len, p->locals[i].name, p->locals[i].len))
		{
			n = fp_node(p, FN_VAR, t, 0);
			n->slot = p->locals[i].slot;
			if (n->slot == p->item_slot)
				p->uses_item++;
			return n;
		}
	}
	for (int i = 0; i < p->scope->nglobals; i++)
	{
		if (feel_name_equal_norm(s, len, p->scope->globals[i].name, p->scope->globals[i].len))
		{
			n = fp_node(p, FN_VAR, t, 0);
			n->slot = p->scope->globals[i].slot;
			return n;
		}
	}
	if (p->item_slot >= 0)
	{
		n = fp_node(p, FN_FIELD, t, 0);
		n->slot = p->item_slot;
		n->name.s = crm_arena_strdup(p->arena, s, len);	/* the program outlives the text */
		n->name.len = len;
		p->uses_item++;
		return n;
	}
	return fp_fail(p, t, CRM_ERR_INVALID, "unknown name \"%.*s\" in FEEL expression",
				   (int) (len > 60 ? 60 : len), s);
}

/* ---- primaries ---- */

/* "name:" before an argument (a name may be several words): its text span, or false. */
static bool
argument_name(FeelParser *p, size_t *start, size_t *end)
{
	size_t		save = p->pos;
	FeelToken	t = fp_peek(p);

	*start = t.start;
	*end = t.start;
	while (t.tok == FT_NAME)
	{
		*end = t.end;
		p->pos = t.end;
		t = fp_peek(p);
	}
	if (*end > *start && t.tok == FT_COLON)
	{
		p->pos = t.end;
		return true;
	}
	p->pos = save;
	return false;
}

static FeelNode *
parse_call(FeelParser *p, const FeelToken *t, int id)
{
	FeelNode   *args[32];
	int			n = 0;
	int			nnamed = 0;
	FeelNode   *call;

	memset(args, 0, sizeof(args));
	if (!fp_accept(p, FT_RPAREN))
	{
		do
		{
			size_t		ns,
						ne;
			int			at = n;
			FeelToken	nt = fp_peek(p);

			if (argument_name(p, &ns, &ne))
			{
				at = feel_builtin_param(id, p->text + ns, ne - ns);
				if (at < 0 || at >= 32 || args[at] != NULL)
					return fp_fail(p, &nt, CRM_ERR_SYNTAX, "function %s has no parameter \"%.*s\"",
								   feel_builtin_name(id), (int) (ne - ns > 40 ? 40 : ne - ns), p->text + ns);
				nnamed++;
			}
			else if (nnamed > 0)
				return fp_fail(p, &nt, CRM_ERR_SYNTAX, "positional argument after named arguments");
			if (n == 32)
				return fp_fail(p, t, CRM_ERR_LIMIT, "too many arguments");
			args[at] = fp_expression(p);
			if (args[at] == NULL)
				return NULL;
			n = at + 1 > n ? at + 1 : n;
		} while (fp_accept(p, FT_COMMA));
		if (!fp_expect(p, FT_RPAREN, "\")\""))
			return NULL;
	}
	for (int i = 0; i < n; i++)
	{
		if (args[i] == NULL)
		{
			args[i] = fp_node(p, FN_CONST, t, 0);	/* an omitted optional parameter is null */
			if (!feel_builtin_arity_ok(id, i))
				return fp_fail(p, t, CRM_ERR_SYNTAX, "missing argument %d of function %s",
							   i + 1, feel_builtin_name(id));
		}
	}
	if (!feel_builtin_arity_ok(id, n))
		return fp_fail(p, t, CRM_ERR_SYNTAX, "wrong number of arguments (%d) for function %s",
					   n, feel_builtin_name(id));
	call = fp_node(p, FN_CALL, t, n);
	call->op = id;
	if (n > 0)
		memcpy(call->kids, args, sizeof(FeelNode *) * n);
	fp_fold(p, call);
	return call;
}

static FeelNode *
parse_list(FeelParser *p, const FeelToken *t)
{
	FeelNode   *items[256];
	int			n = 0;
	FeelNode   *list;

	if (!fp_accept(p, FT_RBRACK))
	{
		do
		{
			if (n == 256)
				return fp_fail(p, t, CRM_ERR_LIMIT, "list literal has more than 256 items");
			items[n] = fp_expression(p);
			if (items[n++] == NULL)
				return NULL;
		} while (fp_accept(p, FT_COMMA));
		if (!fp_expect(p, FT_RBRACK, "\"]\""))
			return NULL;
	}
	list = fp_node(p, FN_LIST, t, n);
	if (n > 0)
		memcpy(list->kids, items, sizeof(FeelNode *) * n);
	fp_fold(p, list);
	return list;
}

static bool
context_key(FeelParser *p, FeelStr *key)
{
	FeelToken	t = fp_peek(p);
	size_t		start = t.start;
	size_t		end = t.end;

	if (t.tok == FT_STRING)
	{
		p->pos = t.end;
		return feel_unquote(p->text, &t, p->arena, key) || (fail_near(p, &t, "valid string"), false);
	}
	if (t.tok != FT_NAME)
		return fail_near(p, &t, "context key"), false;
	while (t.tok == FT_NAME)
	{
		end = t.end;
		p->pos = t.end;
		t = fp_peek(p);
	}
	key->s = crm_arena_strdup(p->arena, p->text + start, end - start);
	key->len = end - start;
	return true;
}

static FeelNode *
parse_context(FeelParser *p, const FeelToken *t)
{
	FeelNode   *vals[128];
	FeelStr		keys[128];
	int			n = 0;
	int			first_slot = p->scope->next_local;
	FeelNode   *ctx;

	if (!fp_accept(p, FT_RBRACE))
	{
		do
		{
			if (n == 128)
				return fp_fail(p, t, CRM_ERR_LIMIT, "context literal has more than 128 entries");
			if (!context_key(p, &keys[n]) || !fp_expect(p, FT_COLON, "\":\""))
				return NULL;
			vals[n] = fp_expression(p);
			if (vals[n] == NULL || push_local(p, t, keys[n].s, keys[n].len) < 0)
				return NULL;
			n++;
		} while (fp_accept(p, FT_COMMA));
		if (!fp_expect(p, FT_RBRACE, "\"}\""))
			return NULL;
	}
	pop_locals(p, n);
	ctx = fp_node(p, FN_CONTEXT, t, n);
	ctx->slot = first_slot;
	ctx->keys = crm_arena_alloc(p->arena, sizeof(FeelStr) * (n > 0 ? n : 1));
	if (n > 0)
	{
		memcpy(ctx->kids, vals, sizeof(FeelNode *) * n);
		memcpy(ctx->keys, keys, sizeof(FeelStr) * n);
	}
	return ctx;
}

static FeelNode *
parse_string_const(FeelParser *p, const FeelToken *t, bool temporal)
{
	FeelStr		s;
	FeelNode   *n;

	if (!feel_unquote(p->text, t, p->arena, &s))
		return fail_near(p, t, "valid string literal");
	n = fp_node(p, FN_CONST, t, 0);
	if (!temporal)
		n->val = feel_v_str(s.s, s.len);
	else if (!feel_parse_temporal(s.s, s.len, &n->val))
		return fp_fail(p, t, CRM_ERR_SYNTAX, "invalid date, time or duration literal @%.*s",
					   (int) (t->end - t->start > 60 ? 60 : t->end - t->start), p->text + t->start);
	return n;
}

static FeelNode *
parse_name_primary(FeelParser *p, const FeelToken *t)
{
	FeelNode   *n;
	FeelToken	nx;
	int			id;

	if (fp_is_kw(p, t, "true") || fp_is_kw(p, t, "false"))
	{
		n = fp_node(p, FN_CONST, t, 0);
		n->val = feel_v_bool(p->text[t->start] == 't');
		return n;
	}
	if (fp_is_kw(p, t, "null"))
		return fp_node(p, FN_CONST, t, 0);
	nx = fp_peek(p);
	id = feel_builtin_find(p->text + t->start, t->end - t->start);
	if (nx.tok == FT_LPAREN && id >= 0)
	{
		bool		shadowed = false;

		for (int i = 0; i < p->nlocals; i++)
			shadowed |= feel_name_equal_norm(p->text + t->start, t->end - t->start,
											 p->locals[i].name, p->locals[i].len);
		if (!shadowed)
		{
			p->pos = nx.end;
			return parse_call(p, t, id);
		}
	}
	return resolve_name(p, t);
}

static FeelNode *
parse_primary(FeelParser *p)
{
	FeelToken	t = fp_next(p);
	FeelNode   *n;

	switch (t.tok)
	{
		case FT_NUMBER:
			n = fp_node(p, FN_CONST, &t, 0);
			n->val.kind = FEEL_NUMBER;
			if (!feel_dec_parse(p->text + t.start, t.end - t.start, &n->val.u.num))
				return fp_fail(p, &t, CRM_ERR_SYNTAX, "number out of range");
			return n;
		case FT_STRING:
			return parse_string_const(p, &t, false);
		case FT_AT:
			t = fp_next(p);
			if (t.tok != FT_STRING)
				return fail_near(p, &t, "string after \"@\"");
			return parse_string_const(p, &t, true);
		case FT_NAME:
			return parse_name_primary(p, &t);
		case FT_LPAREN:
			n = fp_expression(p);
			if (n == NULL || !fp_expect(p, FT_RPAREN, "\")\""))
				return NULL;
			return n;
		case FT_LBRACK:
			return parse_list(p, &t);
		case FT_LBRACE:
			return parse_context(p, &t);
		case FT_QMARK:
			n = fp_node(p, FN_VAR, &t, 0);
			n->slot = p->scope->input_slot;
			p->uses_input++;
			return n;
		case FT_ERROR:
			if (p->text[t.start] == '"')
				return fp_fail(p, &t, CRM_ERR_SYNTAX, "FEEL syntax error: unterminated string literal");
			return fail_near(p, &t, "expression");
		default:
			return fail_near(p, &t, "expression");
	}
}

/* ---- postfix: paths, filters ---- */

static FeelNode *
parse_path(FeelParser *p, FeelNode *base, const FeelToken *dot)
{
	const FeelLexNames *sets[2] = {p->scope->lex_fields, &p->lex_locals};
	FeelToken	t = feel_lex(p->text, p->len, p->pos, sets, 2);
	FeelNode   *n;

	if (t.tok != FT_NAME)
		return fail_near(p, &t, "name after \".\"");
	p->pos = t.end;
	n = fp_node(p, FN_PATH, dot, 1);
	n->kids[0] = base;
	n->name.s = crm_arena_strdup(p->arena, p->text + t.start, t.end - t.start);
	n->name.len = t.end - t.start;
	return n;
}

static FeelNode *
parse_filter(FeelParser *p, FeelNode *base, const FeelToken *lb)
{
	int			saved_item = p->item_slot;
	int			saved_uses = p->uses_item;
	int			slot = push_local(p, lb, "item", 4);
	FeelNode   *cond;
	FeelNode   *n;

	if (slot < 0)
		return NULL;
	p->item_slot = slot;
	p->uses_item = 0;
	cond = fp_expression(p);
	n = fp_node(p, FN_FILTER, lb, 2);
	n->slot = slot;
	n->op = p->uses_item > 0;	/* 1: per-item condition, 0: index */
	p->item_slot = saved_item;
	p->uses_item = saved_uses;
	pop_locals(p, 1);
	if (cond == NULL || !fp_expect(p, FT_RBRACK, "\"]\""))
		return NULL;
	n->kids[0] = base;
	n->kids[1] = cond;
	return n;
}

/* "]a..b[": a '[' followed by the end of a test closes an open range, it is no filter. */
static bool
closes_range(FeelParser *p, const FeelToken *lb)
{
	size_t		save = p->pos;
	FeelToken	t;

	p->pos = lb->end;
	t = fp_peek(p);
	p->pos = save;
	return t.tok == FT_EOF || t.tok == FT_COMMA || t.tok == FT_RPAREN;
}

static FeelNode *
parse_postfix(FeelParser *p)
{
	FeelNode   *n = parse_primary(p);

	while (n != NULL)
	{
		FeelToken	t = fp_peek(p);

		if (t.tok == FT_DOT)
		{
			p->pos = t.end;
			n = parse_path(p, n, &t);
		}
		else if (t.tok == FT_LBRACK && !closes_range(p, &t))
		{
			p->pos = t.end;
			n = parse_filter(p, n, &t);
		}
		else
			break;
	}
	return n;
}

static FeelNode *
parse_unary(FeelParser *p)
{
	FeelToken	t = fp_peek(p);
	FeelNode   *n;

	if (t.tok != FT_MINUS)
		return parse_postfix(p);
	p->pos = t.end;
	if (++p->depth > FEEL_MAX_DEPTH)
		return fp_fail(p, &t, CRM_ERR_LIMIT, "FEEL expression nested too deeply");
	n = parse_unary(p);
	p->depth--;
	if (n == NULL)
		return NULL;
	if (n->kind == FN_CONST && n->val.kind == FEEL_NUMBER)
	{
		n->val.u.num.neg = !n->val.u.num.neg && n->val.u.num.coef != 0;
		return n;
	}
	{
		FeelNode   *neg = fp_node(p, FN_NEG, &t, 1);

		neg->kids[0] = n;
		fp_fold(p, neg);
		return neg;
	}
}

static FeelNode *
parse_pow(FeelParser *p)
{
	FeelNode   *a = parse_unary(p);

	while (a != NULL)
	{
		FeelToken	t = fp_peek(p);

		if (t.tok != FT_POW)
			break;
		p->pos = t.end;
		a = node2(p, FN_ARITH, '^', &t, a, parse_unary(p));
	}
	return a;
}

static FeelNode *
parse_mul(FeelParser *p)
{
	FeelNode   *a = parse_pow(p);

	while (a != NULL)
	{
		FeelToken	t = fp_peek(p);

		if (t.tok != FT_STAR && t.tok != FT_SLASH)
			break;
		p->pos = t.end;
		a = node2(p, FN_ARITH, t.tok == FT_STAR ? '*' : '/', &t, a, parse_pow(p));
	}
	return a;
}

FeelNode *
fp_additive(FeelParser *p)
{
	FeelNode   *a = parse_mul(p);

	while (a != NULL)
	{
		FeelToken	t = fp_peek(p);

		if (t.tok != FT_PLUS && t.tok != FT_MINUS)
			break;
		p->pos = t.end;
		a = node2(p, FN_ARITH, t.tok == FT_PLUS ? '+' : '-', &t, a, parse_mul(p));
	}
	return a;
}
