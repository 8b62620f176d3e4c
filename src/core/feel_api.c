/*
 * feel_api.c - evaluating a standalone FEEL expression against a context.
 */
#include <string.h>

#include "feel_internal.h"

FeelValue *
feel_eval_text(const char *expr, const FeelValue *context, CrmError *err)
{
	CrmArena	arena;
	FeelScope	scope;
	int			n = context && context->kind == FEEL_CONTEXT ? context->u.ctx.n : 0;
	FeelNameDef *globals;
	FeelLexNames lex;
	FeelLexNames fields = {NULL, NULL, 0};
	const char **names;
	size_t	   *lens;
	FeelNode   *node;
	FeelValue  *result = NULL;

	crm_error_clear(err);
	crm_arena_init(&arena, 4096);
	globals = crm_arena_alloc(&arena, sizeof(FeelNameDef) * (n + 1));
	names = crm_arena_alloc(&arena, sizeof(char *) * (n + 1));
	lens = crm_arena_alloc(&arena, sizeof(size_t) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		globals[i].name = context->u.ctx.keys[i].s;
		globals[i].len = context->u.ctx.keys[i].len;
		globals[i].slot = i;
		names[i] = globals[i].name;
		lens[i] = globals[i].len;
	}
	lex.names = names;
	lex.lens = lens;
	lex.n = n;
	memset(&scope, 0, sizeof(scope));
	scope.globals = globals;
	scope.nglobals = n;
	scope.lex_globals = &lex;
	scope.lex_fields = &fields;
	scope.input_slot = n;
	scope.next_local = n + 1;
	scope.max_slot = n + 1;
	node = feel_parse_expr(expr, &arena, &scope, err);
	if (node != NULL)
	{
		FeelEnv		env;
		FeelValue	v;

		env.slots = crm_arena_alloc(&arena, sizeof(FeelValue) * (scope.max_slot + 1));
		memset(env.slots, 0, sizeof(FeelValue) * (scope.max_slot + 1));
		for (int i = 0; i < n; i++)
			env.slots[i] = context->u.ctx.vals[i];
		env.arena = &arena;
		env.in_slot = n;
		env.depth = 0;
		v = feel_eval(&env, node);
		result = feel_value_copy(&v);
	}
	crm_arena_free(&arena);
	return result;
}
