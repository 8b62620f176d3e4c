/*
 * fuzz_feel.c - the FEEL parser and evaluator never crash, leak or read out
 * of bounds on arbitrary text, both as an expression and as unary tests.
 */
#include "fuzz_common.h"
#include "feel_internal.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FeelValue *
context(void)
{
	FeelValue  *ctx = feel_context_new();
	FeelValue  *app = feel_context_new();
	FeelValue  *list = feel_list_new();
	CrmError	err;

	feel_context_put(app, "Age", 3, feel_number_from_text("30", &err));
	feel_context_put(app, "Monthly Income", 14, feel_number_from_text("1234.5", &err));
	feel_context_put(ctx, "Applicant", 9, app);
	feel_list_append(list, feel_string("cough", 5));
	feel_list_append(list, feel_number_from_text("-2", &err));
	feel_context_put(ctx, "Symptoms", 8, list);
	feel_context_put(ctx, "Years of Service", 16, feel_number_from_text("7", &err));
	feel_context_put(ctx, "s", 1, feel_string("中文", 6));
	return ctx;
}

static void
run_tests(const char *text, const FeelValue *ctx)
{
	CrmArena	arena;
	FeelScope	scope;
	FeelLexNames none = {NULL, NULL, 0};
	FeelNameDef names[8];
	const char *lexn[8];
	size_t		lexl[8];
	FeelLexNames lex;
	CrmError	err;
	FeelNode   *n;
	int			nn = feel_context_size(ctx);
	FeelValue	slots[64];
	FeelEnv		env;

	for (int i = 0; i < nn; i++)
	{
		names[i].name = ctx->u.ctx.keys[i].s;
		names[i].len = ctx->u.ctx.keys[i].len;
		names[i].slot = i;
		lexn[i] = names[i].name;
		lexl[i] = names[i].len;
	}
	lex.names = lexn;
	lex.lens = lexl;
	lex.n = nn;
	memset(&scope, 0, sizeof(scope));
	scope.globals = names;
	scope.nglobals = nn;
	scope.lex_globals = &lex;
	scope.lex_fields = &none;
	scope.input_slot = nn;
	scope.next_local = nn + 1;
	scope.max_slot = nn + 1;
	crm_arena_init(&arena, 1024);
	n = feel_parse_tests(text, &arena, &scope, &err);
	if (n != NULL && scope.max_slot < 64)
	{
		memset(slots, 0, sizeof(slots));
		for (int i = 0; i < nn; i++)
			slots[i] = ctx->u.ctx.vals[i];
		env.slots = slots;
		env.arena = &arena;
		env.in_slot = nn;
		env.depth = 0;
		slots[nn] = ctx->u.ctx.vals[2];
		(void) feel_test(&env, n);
		slots[nn] = feel_v_null();
		(void) feel_test(&env, n);
	}
	crm_arena_free(&arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FeelValue *ctx = NULL;
	char	   *text;
	CrmError	err;
	FeelValue  *v;

	fuzz_init();
	if (ctx == NULL)
		ctx = context();
	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	v = feel_eval_text(text, ctx, &err);
	if (v == NULL && err.code == CRM_OK)
		abort();
	if (v != NULL)
	{
		CrmBuf		b;

		crm_buf_init(&b);
		feel_value_repr(v, &b);
		crm_buf_free(&b);
	}
	feel_value_free(v);
	run_tests(text, ctx);
	free(text);
	return 0;
}
