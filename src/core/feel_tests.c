/*
 * feel_tests.c - the upper levels of the FEEL grammar (comparison, between,
 * in, and/or, if, for, quantifiers), unary tests, constant folding and the
 * parser entry points.
 */
#include <string.h>

#include "feel_parse_int.h"

static int
cmp_op(FeelTok t)
{
	switch (t)
	{
		case FT_EQ:
			return FEEL_CMP_EQ;
		case FT_NE:
			return FEEL_CMP_NE;
		case FT_LT:
			return FEEL_CMP_LT;
		case FT_LE:
			return FEEL_CMP_LE;
		case FT_GT:
			return FEEL_CMP_GT;
		case FT_GE:
			return FEEL_CMP_GE;
		default:
			return 0;
	}
}

static FeelNode *
parse_comparison(FeelParser *p)
{
	FeelNode   *a = fp_additive(p);
	FeelToken	t;
	FeelNode   *n;

	if (a == NULL)
		return NULL;
	t = fp_peek(p);
	if (cmp_op(t.tok))
	{
		p->pos = t.end;
		n = fp_node(p, FN_CMP, &t, 2);
		n->op = cmp_op(t.tok);
		n->kids[0] = a;
		if ((n->kids[1] = fp_additive(p)) == NULL)
			return NULL;
		fp_fold(p, n);
		return n;
	}
	if (fp_is_kw(p, &t, "between"))
	{
		p->pos = t.end;
		n = fp_node(p, FN_BETWEEN, &t, 3);
		n->kids[0] = a;
		if ((n->kids[1] = fp_additive(p)) == NULL)
			return NULL;
		t = fp_next(p);
		if (!fp_is_kw(p, &t, "and"))
			return fp_fail(p, &t, CRM_ERR_SYNTAX, "FEEL syntax error: \"and\" expected in between");
		if ((n->kids[2] = fp_additive(p)) == NULL)
			return NULL;
		fp_fold(p, n);
		return n;
	}
	if (fp_is_kw(p, &t, "in"))
	{
		p->pos = t.end;
		n = fp_node(p, FN_IN, &t, 2);
		n->kids[0] = a;
		if ((n->kids[1] = fp_positive_test(p, true)) == NULL)
			return NULL;
		return n;
	}
	return a;
}

static FeelNode *
parse_and(FeelParser *p)
{
	FeelNode   *a = parse_comparison(p);

	while (a != NULL)
	{
		FeelToken	t = fp_peek(p);
		FeelNode   *n;

		if (!fp_is_kw(p, &t, "and"))
			break;
		p->pos = t.end;
		n = fp_node(p, FN_AND, &t, 2);
		n->kids[0] = a;
		if ((n->kids[1] = parse_comparison(p)) == NULL)
			return NULL;
		fp_fold(p, n);
		a = n;
	}
	return a;
}

static FeelNode *
parse_or(FeelParser *p)
{
	FeelNode   *a = parse_and(p);

	while (a != NULL)
	{
		FeelToken	t = fp_peek(p);
		FeelNode   *n;

		if (!fp_is_kw(p, &t, "or"))
			break;
		p->pos = t.end;
		n = fp_node(p, FN_OR, &t, 2);
		n->kids[0] = a;
		if ((n->kids[1] = parse_and(p)) == NULL)
			return NULL;
		fp_fold(p, n);
		a = n;
	}
	return a;
}

static FeelNode *
parse_if(FeelParser *p, const FeelToken *t)
{
	FeelNode   *n = fp_node(p, FN_IF, t, 3);
	FeelToken	k;

	if ((n->kids[0] = fp_expression(p)) == NULL)
		return NULL;
	k = fp_next(p);
	if (!fp_is_kw(p, &k, "then"))
		return fp_fail(p, &k, CRM_ERR_SYNTAX, "FEEL syntax error: \"then\" expected");
	if ((n->kids[1] = fp_expression(p)) == NULL)
		return NULL;
	k = fp_next(p);
	if (!fp_is_kw(p, &k, "else"))
		return fp_fail(p, &k, CRM_ERR_SYNTAX, "FEEL syntax error: \"else\" expected");
	if ((n->kids[2] = fp_expression(p)) == NULL)
		return NULL;
	fp_fold(p, n);
	return n;
}

/* for x in list return e / some x in list satisfies e / every ... */
static FeelNode *
parse_iteration(FeelParser *p, const FeelToken *t, FeelNodeKind kind)
{
	FeelToken	v = fp_next(p);
	FeelToken	k;
	FeelNode   *n = fp_node(p, kind, t, 2);
	int			slot;
	char	   *name;

	if (v.tok != FT_NAME)
		return fp_fail(p, &v, CRM_ERR_SYNTAX, "FEEL syntax error: variable name expected");
	k = fp_next(p);
	if (!fp_is_kw(p, &k, "in"))
		return fp_fail(p, &k, CRM_ERR_SYNTAX, "FEEL syntax error: \"in\" expected");
	if ((n->kids[0] = fp_expression(p)) == NULL)
		return NULL;
	k = fp_next(p);
	if (!fp_is_kw(p, &k, kind == FN_FOR ? "return" : "satisfies"))
		return fp_fail(p, &k, CRM_ERR_SYNTAX, "FEEL syntax error: \"%s\" expected",
					   kind == FN_FOR ? "return" : "satisfies");
	name = crm_arena_strdup(p->arena, p->text + v.start, v.end - v.start);
	if (p->nlocals >= FEEL_MAX_LOCALS)
		return fp_fail(p, t, CRM_ERR_LIMIT, "too many nested names in FEEL expression");
	p->locals[p->nlocals].name = name;
	slot = p->scope->next_local++;
	if (p->scope->next_local > p->scope->max_slot)
		p->scope->max_slot = p->scope->next_local;
	p->locals[p->nlocals].len = v.end - v.start;
	p->locals[p->nlocals].slot = slot;
	p->local_names[p->nlocals] = name;
	p->local_lens[p->nlocals] = v.end - v.start;
	p->nlocals++;
	n->slot = slot;
	n->kids[1] = fp_expression(p);
	p->nlocals--;
	p->scope->next_local--;
	return n->kids[1] ? n : NULL;
}

FeelNode *
fp_expression(FeelParser *p)
{
	FeelToken	t = fp_peek(p);
	FeelNode   *n;

	if (p->failed)
		return NULL;
	if (++p->depth > FEEL_MAX_DEPTH)
		return fp_fail(p, &t, CRM_ERR_LIMIT, "FEEL expression nested too deeply");
	if (fp_is_kw(p, &t, "if"))
	{
		p->pos = t.end;
		n = parse_if(p, &t);
	}
	else if (fp_is_kw(p, &t, "for") || fp_is_kw(p, &t, "some") || fp_is_kw(p, &t, "every"))
	{
		FeelToken	v;

		p->pos = t.end;
		v = fp_peek(p);
		if (v.tok != FT_NAME)
		{
			p->pos = t.start;
			n = parse_or(p);
		}
		else
			n = parse_iteration(p, &t, p->text[t.start] == 'f' ? FN_FOR :
								p->text[t.start] == 's' ? FN_SOME : FN_EVERY);
	}
	else
		n = parse_or(p);
	p->depth--;
	return n;
}

/* ---- unary tests ---- */

/* Tries an interval "[a..b]", "(a..b)", "]a..b[" at the current token; NULL without failing if it is none. */
static FeelNode *
try_range(FeelParser *p, bool *is_range)
{
	FeelToken	open = fp_next(p);
	FeelToken	t,
				close;
	FeelNode   *lo,
			   *hi,
			   *n;
	size_t		save = open.start;

	*is_range = false;
	lo = fp_additive(p);
	t = fp_peek(p);
	if (lo == NULL || t.tok != FT_DOTDOT)
	{
		p->pos = save;
		p->failed = false;
		return NULL;
	}
	*is_range = true;
	p->pos = t.end;
	if ((hi = fp_additive(p)) == NULL)
		return NULL;
	close = fp_next(p);
	if (close.tok != FT_RBRACK && close.tok != FT_RPAREN && close.tok != FT_LBRACK)
		return fp_fail(p, &close, CRM_ERR_SYNTAX, "FEEL syntax error: \"]\" or \")\" expected to close the range");
	n = fp_node(p, FU_RANGE, &open, 2);
	n->kids[0] = lo;
	n->kids[1] = hi;
	n->op = (open.tok != FT_LBRACK ? 1 : 0) | (close.tok != FT_RBRACK ? 2 : 0);
	return n;
}

static FeelNode *
test_list(FeelParser *p, const FeelToken *t, bool in_parens)
{
	FeelNode   *items[256];
	int			n = 0;
	FeelNode   *list;

	do
	{
		if (n == 256)
			return fp_fail(p, t, CRM_ERR_LIMIT, "more than 256 unary tests in one list");
		if ((items[n++] = fp_positive_test(p, false)) == NULL)
			return NULL;
	} while (fp_accept(p, FT_COMMA));
	if (in_parens && !fp_expect(p, FT_RPAREN, "\")\""))
		return NULL;
	if (n == 1)
		return items[0];
	list = fp_node(p, FU_LIST, t, n);
	memcpy(list->kids, items, sizeof(FeelNode *) * n);
	return list;
}

FeelNode *
fp_positive_test(FeelParser *p, bool in_operator)
{
	FeelToken	t = fp_peek(p);
	FeelNode   *n;
	int			uses;
	CrmError	saved;

	if (cmp_op(t.tok))
	{
		p->pos = t.end;
		n = fp_node(p, FU_CMP, &t, 1);
		n->op = cmp_op(t.tok);
		return (n->kids[0] = fp_additive(p)) ? n : NULL;
	}
	if (t.tok == FT_LBRACK || t.tok == FT_LPAREN || t.tok == FT_RBRACK)
	{
		bool		is_range;

		saved = *p->err;
		n = try_range(p, &is_range);
		if (is_range)
			return n;
		*p->err = saved;
		if (t.tok == FT_LPAREN && in_operator)
		{
			p->pos = t.end;
			return test_list(p, &t, true);
		}
	}
	uses = p->uses_input;
	n = fp_node(p, FU_EXPR, &t, 1);
	if ((n->kids[0] = fp_expression(p)) == NULL)
		return NULL;
	n->op = p->uses_input > uses;
	return n;
}

/* ---- entry points ---- */

static void
parser_init(FeelParser *p, const char *text, CrmArena *arena, FeelScope *scope, CrmError *err)
{
	memset(p, 0, sizeof(*p));
	p->text = text;
	p->len = strlen(text);
	p->arena = arena;
	p->scope = scope;
	p->err = err;
	p->item_slot = -1;
	crm_error_clear(err);
}

static FeelNode *
finish(FeelParser *p, FeelNode *n)
{
	FeelToken	t;

	if (n == NULL || p->failed)
		return NULL;
	t = fp_peek(p);
	if (t.tok != FT_EOF)
	{
		int			len = (int) (t.end - t.start);

		fp_fail(p, &t, CRM_ERR_SYNTAX, "FEEL syntax error: unexpected \"%.*s\"",
				len > 40 ? 40 : len, p->text + t.start);
		return NULL;
	}
	return n;
}

FeelNode *
feel_parse_expr(const char *text, CrmArena *arena, FeelScope *scope, CrmError *err)
{
	FeelParser	p;

	parser_init(&p, text, arena, scope, err);
	return finish(&p, fp_expression(&p));
}

FeelNode *
feel_parse_tests(const char *text, CrmArena *arena, FeelScope *scope, CrmError *err)
{
	FeelParser	p;
	FeelToken	t;
	FeelToken	nx;

	parser_init(&p, text, arena, scope, err);
	t = fp_peek(&p);
	if (t.tok == FT_MINUS)
	{
		p.pos = t.end;
		if (fp_peek(&p).tok == FT_EOF)
			return fp_node(&p, FU_ANY, &t, 0);
		p.pos = t.start;
	}
	if (t.tok == FT_EOF)
		return fp_fail(&p, &t, CRM_ERR_SYNTAX, "empty unary test (write \"-\" for any value)");
	if (fp_is_kw(&p, &t, "not"))
	{
		p.pos = t.end;
		nx = fp_next(&p);
		if (nx.tok == FT_LPAREN)
		{
			FeelNode   *n = fp_node(&p, FU_NOT, &t, 1);

			n->kids[0] = test_list(&p, &nx, true);
			if (n->kids[0] != NULL && fp_peek(&p).tok == FT_EOF)
				return finish(&p, n);
		}
		p.pos = t.start;
		p.failed = false;
		crm_error_clear(err);
	}
	return finish(&p, test_list(&p, &t, false));
}

/* ---- constant folding ---- */

bool
feel_is_const(const FeelNode *n)
{
	return n->kind == FN_CONST;
}

void
fp_fold(FeelParser *p, FeelNode *n)
{
	FeelEnv		env;
	FeelValue	v;

	if (p->failed)
		return;
	switch (n->kind)
	{
		case FN_CALL:
			if (!feel_builtin_pure(n->op))
				return;
			break;
		case FN_NEG:
		case FN_ARITH:
		case FN_CMP:
		case FN_AND:
		case FN_OR:
		case FN_IF:
		case FN_BETWEEN:
		case FN_LIST:
			break;
		default:
			return;
	}
	for (int i = 0; i < n->nkids; i++)
	{
		if (n->kids[i] == NULL || n->kids[i]->kind != FN_CONST)
			return;
	}
	env.slots = NULL;
	env.arena = p->arena;
	env.in_slot = 0;
	env.depth = 0;
	v = feel_eval(&env, n);
	n->kind = FN_CONST;
	n->val = v;
	n->nkids = 0;
}
