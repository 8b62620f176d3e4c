/*
 * test_feel.c - FEEL expressions and unary tests: decimals, null semantics,
 * strings, lists, contexts, temporal values, built-ins and errors.
 */
#include <stdlib.h>

#include "feel_internal.h"
#include "unit.h"

static char result_buf[1024];

/* Evaluates expr against ctx and renders the result ("ERROR <code> @pos: message" on failure). */
static const char *
ev_ctx(const char *expr, const FeelValue *ctx)
{
	CrmError	err;
	FeelValue  *v = feel_eval_text(expr, ctx, &err);
	CrmBuf		b;

	if (v == NULL)
	{
		snprintf(result_buf, sizeof(result_buf), "ERROR %d @%d: %s", err.code, err.position, err.message);
		return result_buf;
	}
	crm_buf_init(&b);
	feel_value_repr(v, &b);
	snprintf(result_buf, sizeof(result_buf), "%s", b.data);
	crm_buf_free(&b);
	feel_value_free(v);
	return result_buf;
}

static const char *
ev(const char *expr)
{
	return ev_ctx(expr, NULL);
}

/* Runs unary tests text against an input value: "1", "0" or "null". */
static const char *
ut(const char *tests, FeelValue input)
{
	CrmArena	arena;
	FeelScope	scope;
	FeelLexNames none = {NULL, NULL, 0};
	CrmError	err;
	FeelNode   *n;
	FeelValue	slots[16];
	FeelEnv		env;
	int			r;

	memset(&scope, 0, sizeof(scope));
	scope.lex_globals = &none;
	scope.lex_fields = &none;
	scope.input_slot = 0;
	scope.next_local = 1;
	scope.max_slot = 1;
	crm_arena_init(&arena, 1024);
	n = feel_parse_tests(tests, &arena, &scope, &err);
	if (n == NULL)
	{
		snprintf(result_buf, sizeof(result_buf), "ERROR %d @%d: %s", err.code, err.position, err.message);
		crm_arena_free(&arena);
		return result_buf;
	}
	memset(slots, 0, sizeof(slots));
	slots[0] = input;
	env.slots = slots;
	env.arena = &arena;
	env.in_slot = 0;
	env.depth = 0;
	r = feel_test(&env, n);
	crm_arena_free(&arena);
	return r == 1 ? "1" : r == 0 ? "0" : "null";
}

static FeelValue
num(const char *s)
{
	FeelValue	v = feel_v_null();

	v.kind = FEEL_NUMBER;
	feel_dec_parse(s, strlen(s), &v.u.num);
	return v;
}

UNIT_TEST(feel_decimal_arithmetic_is_exact)
{
	CHECK_STR_EQ(ev("0.1 + 0.2"), "0.3");
	CHECK_STR_EQ(ev("0.1 + 0.2 = 0.3"), "true");
	CHECK_STR_EQ(ev("1 / 3"), "0.3333333333333333333333333333333333");
	CHECK_STR_EQ(ev("2 / 3"), "0.6666666666666666666666666666666667");
	CHECK_STR_EQ(ev("10 / 4"), "2.5");
	CHECK_STR_EQ(ev("1.10 * 3"), "3.3");
	CHECK_STR_EQ(ev("12345678901234567890.5 * 2"), "24691357802469135781");
	CHECK_STR_EQ(ev("-7 - 3.25"), "-10.25");
	CHECK_STR_EQ(ev("2 ** 10"), "1024");
	CHECK_STR_EQ(ev("2 ** -2"), "0.25");
	CHECK_STR_EQ(ev("1 / 0"), "null");
	CHECK_STR_EQ(ev("(1 + 2) * 3 - 4 / 2"), "7");
	CHECK_STR_EQ(ev("99999999999999999999999999999999999"), "100000000000000000000000000000000000");
	CHECK_STR_EQ(ev("1000000000000000000000000000000000 + 0.5"), "1000000000000000000000000000000000");
	CHECK_STR_EQ(ev("1000000000000000000000000000000001 + 0.5"), "1000000000000000000000000000000002");
}

UNIT_TEST(feel_decimal_text_round_trips)
{
	FeelDec		d;
	CrmBuf		b;
	const char *cases[][2] = {{"0.000", "0"}, {"-0", "0"}, {"1.500", "1.5"}, {".5", "0.5"},
	{"1e3", "1000"}, {"12.5e-3", "0.0125"}, {"-00042", "-42"}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		CHECK(feel_dec_parse(cases[i][0], strlen(cases[i][0]), &d));
		crm_buf_init(&b);
		feel_dec_format(&d, &b);
		if (strcmp(b.data, cases[i][1]) != 0)
			printf("  %s -> %s\n", cases[i][0], b.data);
		CHECK(strcmp(b.data, cases[i][1]) == 0);
		crm_buf_free(&b);
	}
	CHECK(!feel_dec_parse("1.2.3", 5, &d));
	CHECK(!feel_dec_parse("", 0, &d));
	CHECK(!feel_dec_parse("1e", 2, &d));
	CHECK(!feel_dec_parse("1e99999", 7, &d));
}

UNIT_TEST(feel_rounding_builtins)
{
	CHECK_STR_EQ(ev("decimal(2.5, 0)"), "2");
	CHECK_STR_EQ(ev("decimal(3.5, 0)"), "4");
	CHECK_STR_EQ(ev("decimal(1/3, 2)"), "0.33");
	CHECK_STR_EQ(ev("decimal(-2.345, 2)"), "-2.34");
	CHECK_STR_EQ(ev("floor(-1.5)"), "-2");
	CHECK_STR_EQ(ev("floor(1.56, 1)"), "1.5");
	CHECK_STR_EQ(ev("ceiling(1.2)"), "2");
	CHECK_STR_EQ(ev("ceiling(-1.2)"), "-1");
	CHECK_STR_EQ(ev("round half up(2.5, 0)"), "3");
	CHECK_STR_EQ(ev("round half up(-2.5, 0)"), "-3");
	CHECK_STR_EQ(ev("abs(-3.5)"), "3.5");
	CHECK_STR_EQ(ev("modulo(-12, 5)"), "3");
	CHECK_STR_EQ(ev("modulo(12, -5)"), "-3");
	CHECK_STR_EQ(ev("odd(3)"), "true");
	CHECK_STR_EQ(ev("even(3)"), "false");
	CHECK_STR_EQ(ev("sqrt(16)"), "4");
	CHECK_STR_EQ(ev("floor(\"x\")"), "null");
}

UNIT_TEST(feel_null_semantics_are_three_valued)
{
	CHECK_STR_EQ(ev("null + 1"), "null");
	CHECK_STR_EQ(ev("null = null"), "true");
	CHECK_STR_EQ(ev("1 = null"), "false");
	CHECK_STR_EQ(ev("1 != null"), "true");
	CHECK_STR_EQ(ev("null < 1"), "null");
	CHECK_STR_EQ(ev("1 = \"1\""), "null");
	CHECK_STR_EQ(ev("1 < \"2\""), "null");
	CHECK_STR_EQ(ev("true and null"), "null");
	CHECK_STR_EQ(ev("false and null"), "false");
	CHECK_STR_EQ(ev("null and false"), "false");
	CHECK_STR_EQ(ev("true or null"), "true");
	CHECK_STR_EQ(ev("false or null"), "null");
	CHECK_STR_EQ(ev("not(null)"), "null");
	CHECK_STR_EQ(ev("not(true)"), "false");
	CHECK_STR_EQ(ev("1 and true"), "null");
	CHECK_STR_EQ(ev("if null then 1 else 2"), "2");
	CHECK_STR_EQ(ev("null between 1 and 10"), "null");
	CHECK_STR_EQ(ev("0 between 1 and null"), "false");
	CHECK_STR_EQ(ev("sum([1, null])"), "null");
}

UNIT_TEST(feel_strings)
{
	CHECK_STR_EQ(ev("\"foo\" + \"bar\""), "\"foobar\"");
	CHECK_STR_EQ(ev("string length(\"héllo\")"), "5");
	CHECK_STR_EQ(ev("substring(\"foobar\", 3)"), "\"obar\"");
	CHECK_STR_EQ(ev("substring(\"foobar\", 3, 2)"), "\"ob\"");
	CHECK_STR_EQ(ev("substring(\"foobar\", -2, 1)"), "\"a\"");
	CHECK_STR_EQ(ev("substring(\"中文字符\", 2, 2)"), "\"文字\"");
	CHECK_STR_EQ(ev("upper case(\"aBc\")"), "\"ABC\"");
	CHECK_STR_EQ(ev("lower case(\"aBc\")"), "\"abc\"");
	CHECK_STR_EQ(ev("contains(\"foobar\", \"ob\")"), "true");
	CHECK_STR_EQ(ev("starts with(\"foobar\", \"fo\")"), "true");
	CHECK_STR_EQ(ev("ends with(\"foobar\", \"fo\")"), "false");
	CHECK_STR_EQ(ev("substring before(\"foobar\", \"bar\")"), "\"foo\"");
	CHECK_STR_EQ(ev("substring after(\"foobar\", \"ob\")"), "\"ar\"");
	CHECK_STR_EQ(ev("string(1.50)"), "\"1.5\"");
	CHECK_STR_EQ(ev("string(date(\"2026-11-22\"))"), "\"2026-11-22\"");
	CHECK_STR_EQ(ev("number(\"1,000.5\", \",\", \".\")"), "1000.5");
	CHECK_STR_EQ(ev("string join([\"a\", \"b\"], \"-\")"), "\"a-b\"");
	CHECK_STR_EQ(ev("\"a\\\"b\""), "\"a\\\"b\"");
	CHECK_STR_EQ(ev("\"x\" < \"y\""), "true");
	CHECK_STR_EQ(ev("\"a\" + 1"), "null");
}

UNIT_TEST(feel_lists_and_aggregates)
{
	CHECK_STR_EQ(ev("[1, 2, 3][2]"), "2");
	CHECK_STR_EQ(ev("[1, 2, 3][-1]"), "3");
	CHECK_STR_EQ(ev("[1, 2, 3][5]"), "null");
	CHECK_STR_EQ(ev("[1, 2, 3][item > 1]"), "[2, 3]");
	CHECK_STR_EQ(ev("[{a: 1}, {a: 5}][a > 2]"), "[{a: 5}]");
	CHECK_STR_EQ(ev("count([1, 2])"), "2");
	CHECK_STR_EQ(ev("sum([1, 2, 3.5])"), "6.5");
	CHECK_STR_EQ(ev("sum([])"), "null");
	CHECK_STR_EQ(ev("mean([1, 2, 4])"), "2.333333333333333333333333333333333");
	CHECK_STR_EQ(ev("min(3, 1, 2)"), "1");
	CHECK_STR_EQ(ev("max([3, 1, 2])"), "3");
	CHECK_STR_EQ(ev("max(\"a\", \"c\")"), "\"c\"");
	CHECK_STR_EQ(ev("min([])"), "null");
	CHECK_STR_EQ(ev("median([3, 1, 2, 4])"), "2.5");
	CHECK_STR_EQ(ev("product(2, 3)"), "6");
	CHECK_STR_EQ(ev("all([true, false])"), "false");
	CHECK_STR_EQ(ev("any([false, null, true])"), "true");
	CHECK_STR_EQ(ev("list contains([1, 2], 2)"), "true");
	CHECK_STR_EQ(ev("append([1], 2, 3)"), "[1, 2, 3]");
	CHECK_STR_EQ(ev("concatenate([1], [2, 3])"), "[1, 2, 3]");
	CHECK_STR_EQ(ev("reverse([1, 2, 3])"), "[3, 2, 1]");
	CHECK_STR_EQ(ev("index of([1, 2, 1], 1)"), "[1, 3]");
	CHECK_STR_EQ(ev("distinct values([1, 2, 1])"), "[1, 2]");
	CHECK_STR_EQ(ev("union([1, 2], [2, 3])"), "[1, 2, 3]");
	CHECK_STR_EQ(ev("flatten([1, [2, [3]]])"), "[1, 2, 3]");
	CHECK_STR_EQ(ev("sublist([1, 2, 3], 2)"), "[2, 3]");
	CHECK_STR_EQ(ev("insert before([1, 3], 2, 2)"), "[1, 2, 3]");
	CHECK_STR_EQ(ev("remove([1, 2, 3], 2)"), "[1, 3]");
	CHECK_STR_EQ(ev("[1, 2] = [1, 2]"), "true");
	CHECK_STR_EQ(ev("for x in [1, 2] return x * 2"), "[2, 4]");
	CHECK_STR_EQ(ev("some x in [1, 2] satisfies x > 1"), "true");
	CHECK_STR_EQ(ev("every x in [1, 2] satisfies x > 1"), "false");
}

UNIT_TEST(feel_contexts_paths_and_names_with_spaces)
{
	FeelValue  *ctx = feel_context_new();
	FeelValue  *app = feel_context_new();
	CrmError	err;

	feel_context_put(app, "Age", 3, feel_number_from_text("30", &err));
	feel_context_put(app, "Monthly Income", 14, feel_number_from_text("5000", &err));
	feel_context_put(ctx, "Applicant", 9, app);
	feel_context_put(ctx, "Years of Service", 16, feel_number_from_text("5", &err));
	feel_context_put(ctx, "date", 4, feel_string("shadow", 6));
	CHECK_STR_EQ(ev_ctx("Applicant.Age + 1", ctx), "31");
	CHECK_STR_EQ(ev_ctx("Years of Service * 2", ctx), "10");
	CHECK_STR_EQ(ev_ctx("Years  of   Service", ctx), "5");
	CHECK_STR_EQ(ev_ctx("Applicant.Missing", ctx), "null");
	CHECK_STR_EQ(ev_ctx("date", ctx), "\"shadow\"");
	CHECK_STR_EQ(ev_ctx("date(\"2020-01-01\")", ctx), "@\"2020-01-01\"");
	CHECK_STR_EQ(ev_ctx("Years of Service > 3 and Applicant.Age < 40", ctx), "true");
	CHECK_STR_EQ(ev("{a: 1, b: a + 1}.b"), "2");
	CHECK_STR_EQ(ev("{\"x y\": 1}"), "{x y: 1}");
	CHECK_STR_EQ(ev("get value({a: 1}, \"a\")"), "1");
	CHECK_STR_EQ(ev("{a: 1} = {a: 1}"), "true");
	CHECK_STR_EQ(ev_ctx("Unknown + 1", ctx), "ERROR 2 @1: unknown name \"Unknown\" in FEEL expression");
	feel_value_free(ctx);
}

UNIT_TEST(feel_comparisons_between_in_if)
{
	CHECK_STR_EQ(ev("5 between 1 and 10"), "true");
	CHECK_STR_EQ(ev("10 between 1 and 10"), "true");
	CHECK_STR_EQ(ev("11 between 1 and 10"), "false");
	CHECK_STR_EQ(ev("5 in [1..10]"), "true");
	CHECK_STR_EQ(ev("5 in (1..5)"), "false");
	CHECK_STR_EQ(ev("5 in ]1..5]"), "true");
	CHECK_STR_EQ(ev("5 in (<3, >4)"), "true");
	CHECK_STR_EQ(ev("\"b\" in [\"a\", \"b\"]"), "true");
	CHECK_STR_EQ(ev("3 in >= 3"), "true");
	CHECK_STR_EQ(ev("if 1 > 2 then \"a\" else \"b\""), "\"b\"");
	CHECK_STR_EQ(ev("1 != 2"), "true");
	CHECK_STR_EQ(ev("-(3)"), "-3");
	CHECK_STR_EQ(ev("true = true"), "true");
}

UNIT_TEST(feel_temporal_values)
{
	CHECK_STR_EQ(ev("date(\"2020-01-31\") + duration(\"P1M\")"), "@\"2020-02-29\"");
	CHECK_STR_EQ(ev("date(\"2020-03-01\") - date(\"2020-02-01\")"), "@\"P29D\"");
	CHECK_STR_EQ(ev("date(2026, 11, 22)"), "@\"2026-11-22\"");
	CHECK_STR_EQ(ev("date(2026, 2, 30)"), "null");
	CHECK_STR_EQ(ev("date(\"2026-13-01\")"), "null");
	CHECK_STR_EQ(ev("date and time(\"2020-01-01T10:00:00\") < date and time(\"2020-01-01T11:00:00\")"), "true");
	CHECK_STR_EQ(ev("date and time(\"2020-01-01T10:00:00+02:00\") = date and time(\"2020-01-01T08:00:00Z\")"), "true");
	CHECK_STR_EQ(ev("date and time(\"2020-01-01T23:00:00\") + duration(\"PT2H\")"), "@\"2020-01-02T01:00:00\"");
	CHECK_STR_EQ(ev("time(\"10:30:15.25\")"), "@\"10:30:15.25\"");
	CHECK_STR_EQ(ev("time(\"10:30:00\").hour"), "10");
	CHECK_STR_EQ(ev("time(\"23:30:00\") + duration(\"PT1H\")"), "@\"00:30:00\"");
	CHECK_STR_EQ(ev("date(\"2026-11-22\").weekday"), "7");
	CHECK_STR_EQ(ev("day of week(date(\"2026-11-23\"))"), "\"Monday\"");
	CHECK_STR_EQ(ev("month of year(date(\"2026-11-23\"))"), "\"November\"");
	CHECK_STR_EQ(ev("day of year(date(\"2026-02-01\"))"), "32");
	CHECK_STR_EQ(ev("duration(\"P1Y2M\")"), "@\"P1Y2M\"");
	CHECK_STR_EQ(ev("duration(\"P1DT2H3M4.5S\")"), "@\"P1DT2H3M4.5S\"");
	CHECK_STR_EQ(ev("duration(\"P1Y2D\")"), "null");
	CHECK_STR_EQ(ev("duration(\"PT36H\")"), "@\"P1DT12H\"");
	CHECK_STR_EQ(ev("duration(\"P2D\") * 1.5"), "@\"P3D\"");
	CHECK_STR_EQ(ev("duration(\"P1Y\") / duration(\"P1M\")"), "12");
	CHECK_STR_EQ(ev("years and months duration(date(\"2020-01-15\"), date(\"2021-03-14\"))"), "@\"P1Y1M\"");
	CHECK_STR_EQ(ev("@\"2026-11-22\" = date(\"2026-11-22\")"), "true");
	CHECK_STR_EQ(ev("date(\"2026-11-22\") = date and time(\"2026-11-22T00:00:00\")"), "null");
	CHECK_STR_EQ(ev("date(date and time(\"2026-11-22T10:00:00\"))"), "@\"2026-11-22\"");
	CHECK_STR_EQ(ev("date and time(date(\"2026-11-22\"), time(\"10:00:00Z\"))"), "@\"2026-11-22T10:00:00Z\"");
	CHECK_STR_EQ(ev("duration(\"-P3D\") < duration(\"P1D\")"), "true");
}

UNIT_TEST(feel_unary_tests)
{
	FeelValue	s = feel_v_str("b", 1);

	CHECK_STR_EQ(ut("-", num("5")), "1");
	CHECK_STR_EQ(ut("-", feel_v_null()), "1");
	CHECK_STR_EQ(ut("5", num("5.0")), "1");
	CHECK_STR_EQ(ut("<5", num("5")), "0");
	CHECK_STR_EQ(ut("<=5", num("5")), "1");
	CHECK_STR_EQ(ut(">= 18", feel_v_null()), "null");
	CHECK_STR_EQ(ut("[1..5]", num("5")), "1");
	CHECK_STR_EQ(ut("[1..5)", num("5")), "0");
	CHECK_STR_EQ(ut("]1..5]", num("1")), "0");
	CHECK_STR_EQ(ut("(1..5)", num("3")), "1");
	CHECK_STR_EQ(ut("]1..5[", num("4.99")), "1");
	CHECK_STR_EQ(ut("<3, >10", num("11")), "1");
	CHECK_STR_EQ(ut("<3, >10", num("5")), "0");
	CHECK_STR_EQ(ut("not(<3, >10)", num("5")), "1");
	CHECK_STR_EQ(ut("not(\"a\")", s), "1");
	CHECK_STR_EQ(ut("\"a\", \"b\"", s), "1");
	CHECK_STR_EQ(ut("[\"a\", \"b\"]", s), "1");
	CHECK_STR_EQ(ut("null", feel_v_null()), "1");
	CHECK_STR_EQ(ut("null", s), "0");
	CHECK_STR_EQ(ut("? > 3 and ? < 6", num("4")), "1");
	CHECK_STR_EQ(ut("[date(\"2026-01-01\")..date(\"2026-12-31\")]", feel_v_null()), "null");
	CHECK_STR_EQ(ut("\"b\"", num("1")), "null");
	CHECK_STR_EQ(ut("true", feel_v_bool(true)), "1");
	CHECK_STR_EQ(ut("false", feel_v_bool(true)), "0");
	CHECK_STR_EQ(ut("[1..", num("1")), "ERROR 1 @5: FEEL syntax error: expression expected at end of text");
	CHECK_STR_EQ(ut("", num("1")), "ERROR 1 @1: empty unary test (write \"-\" for any value)");
}

UNIT_TEST(feel_syntax_errors_have_positions)
{
	CHECK_STR_EQ(ev("1 +"), "ERROR 1 @4: FEEL syntax error: expression expected at end of text");
	CHECK_STR_EQ(ev("\"abc"), "ERROR 1 @1: FEEL syntax error: unterminated string literal");
	CHECK_STR_EQ(ev("(1 + 2"), "ERROR 1 @7: FEEL syntax error: \")\" expected at end of text");
	CHECK_STR_EQ(ev("1 2"), "ERROR 1 @3: FEEL syntax error: unexpected \"2\"");
	CHECK_STR_EQ(ev("substring(\"a\")"), "ERROR 1 @1: wrong number of arguments (1) for function substring");
	CHECK_STR_EQ(ev("if 1 then 2"), "ERROR 1 @12: FEEL syntax error: \"else\" expected");
	CHECK_STR_EQ(ev("中文 + 1"), "ERROR 2 @1: unknown name \"中文\" in FEEL expression");
	CHECK_STR_EQ(ev("1 + 中文"), "ERROR 2 @5: unknown name \"中文\" in FEEL expression");
	CHECK_STR_EQ(ev("@\"2026-99-01\""), "ERROR 1 @2: invalid date, time or duration literal @\"2026-99-01\"");
}

UNIT_TEST(feel_deep_nesting_is_refused)
{
	char		buf[4096];
	size_t		n = 0;

	for (int i = 0; i < 1000; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < 1000; i++)
		buf[n++] = ')';
	buf[n] = '\0';
	CHECK(strncmp(ev(buf), "ERROR 9", 7) == 0);
	n = 0;
	for (int i = 0; i < 1000; i++)
		buf[n++] = '-';
	buf[n++] = '1';
	buf[n] = '\0';
	CHECK(strncmp(ev(buf), "ERROR 9", 7) == 0);
}

UNIT_TEST(feel_named_arguments)
{
	CHECK_STR_EQ(ev("substring(string: \"foobar\", start position: 3)"), "\"obar\"");
	CHECK_STR_EQ(ev("substring(start position: 2, length: 3, string: \"foobar\")"), "\"oob\"");
	CHECK_STR_EQ(ev("decimal(scale: 1, n: 1.25)"), "1.2");
	CHECK_STR_EQ(ev("date(from: \"2026-11-22\")"), "@\"2026-11-22\"");
	CHECK_STR_EQ(ev("substring(strng: \"a\", start position: 1)"),
				 "ERROR 1 @11: function substring has no parameter \"strng\"");
	CHECK_STR_EQ(ev("substring(string: \"a\", 1)"), "ERROR 1 @24: positional argument after named arguments");
	CHECK_STR_EQ(ev("substring(length: 1, string: \"ab\")"), "ERROR 1 @1: missing argument 2 of function substring");
}

UNIT_TEST(feel_empty_context_key_is_not_a_name)
{
	CrmError	err;
	FeelValue  *ctx = feel_context_new();
	FeelValue  *v;

	feel_context_put(ctx, "", 0, feel_boolean(true));
	/* used to read before the name when matching the empty key against the text */
	v = feel_eval_text("[[{a: 2, \"\": 20}]]", ctx, &err);
	CHECK(v != NULL);
	CHECK_INT_EQ(feel_kind(v), FEEL_LIST);
	feel_value_free(v);
	v = feel_eval_text("[[{a: 2,\"\":20", ctx, &err);
	CHECK(v == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_SYNTAX);
	feel_value_free(ctx);
}
