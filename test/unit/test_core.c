/*
 * test_core.c - unit tests of the core helpers and of money arithmetic.
 */
#include "unit.h"
#include "money.h"

UNIT_TEST(buf_grows_and_formats)
{
	CrmBuf		b;

	crm_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		crm_buf_printf(&b, "%d,", i % 10);
	CHECK_INT_EQ(b.len, 2000);
	CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
	crm_buf_reset(&b);
	crm_buf_puts(&b, "中文");
	CHECK_STR_EQ(b.data, "中文");
	crm_buf_free(&b);
}

UNIT_TEST(arena_allocations_are_aligned_and_distinct)
{
	CrmArena	a;
	char	   *p[100];

	crm_arena_init(&a, 300);
	for (int i = 0; i < 100; i++)
	{
		p[i] = crm_arena_alloc(&a, (size_t) (i * 7 + 1));
		CHECK(((uintptr_t) p[i] % CRM_ALIGN) == 0);
		memset(p[i], i, (size_t) (i * 7 + 1));
	}
	for (int i = 0; i < 100; i++)
		CHECK(p[i][i * 7] == (char) i);
	CHECK_STR_EQ(crm_arena_strdup(&a, "abcdef", 3), "abc");
	crm_arena_free(&a);
	CHECK(a.head == NULL);
}

UNIT_TEST(error_carries_code_position_and_hint)
{
	CrmError	e;

	CHECK(!crm_fail(&e, CRM_ERR_SYNTAX, 7, "bad %s", "thing"));
	crm_error_hint(&e, "fix it");
	CHECK_INT_EQ(e.code, CRM_ERR_SYNTAX);
	CHECK_INT_EQ(e.position, 7);
	CHECK_STR_EQ(e.message, "bad thing");
	CHECK_STR_EQ(e.hint, "fix it");
	CHECK_STR_EQ(e.detail, "");
}

static int64_t
fen(const char *s)
{
	CrmError	e;
	int64_t		v = -999999;

	if (!crm_money_parse(s, strlen(s), &v, &e))
		return -999999;
	return v;
}

UNIT_TEST(money_parse_rounds_half_away_from_zero)
{
	CHECK_INT_EQ(fen("12.34"), 1234);
	CHECK_INT_EQ(fen(" 12.345 "), 1235);
	CHECK_INT_EQ(fen("12.344999"), 1234);
	CHECK_INT_EQ(fen("-12.345"), -1235);
	CHECK_INT_EQ(fen("0.005"), 1);
	CHECK_INT_EQ(fen("-0.005"), -1);
	CHECK_INT_EQ(fen("0.0049999999999999999999"), 0);
	CHECK_INT_EQ(fen("1e3"), 100000);
	CHECK_INT_EQ(fen("1.5E-2"), 2);
	CHECK_INT_EQ(fen("+7"), 700);
	CHECK_INT_EQ(fen(".5"), 50);
}

UNIT_TEST(money_parse_rejects_garbage_with_position)
{
	CrmError	e;
	int64_t		v;

	CHECK(!crm_money_parse("12.3x", 5, &v, &e));
	CHECK_INT_EQ(e.code, CRM_ERR_SYNTAX);
	CHECK_INT_EQ(e.position, 5);
	CHECK(!crm_money_parse("", 0, &v, &e));
	CHECK_INT_EQ(e.code, CRM_ERR_SYNTAX);
	CHECK(!crm_money_parse("1e", 2, &v, &e));
	CHECK(!crm_money_parse("1..2", 4, &v, &e));
	CHECK(!crm_money_parse("99999999999999999999", 20, &v, &e));
	CHECK_INT_EQ(e.code, CRM_ERR_RANGE);
	CHECK(!crm_money_parse("1e400", 5, &v, &e));
	CHECK_INT_EQ(e.code, CRM_ERR_RANGE);
}

UNIT_TEST(money_format_round_trips)
{
	char		out[CRM_MONEY_BUFLEN];
	int64_t		samples[] = {0, 1, -1, 99, -99, 100, 123456789, -123456789, INT64_MAX, INT64_MIN};

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
	{
		crm_money_format(samples[i], out);
		CHECK_INT_EQ(fen(out), samples[i]);
	}
	crm_money_format(-5, out);
	CHECK_STR_EQ(out, "-0.05");
	crm_money_format(123400, out);
	CHECK_STR_EQ(out, "1234.00");
}

UNIT_TEST(money_mul_rounds_once)
{
	CrmError	e;
	CrmDec		r;
	int64_t		out;

	CHECK(crm_dec_parse("0.04", 4, &r, &e));
	CHECK(crm_money_mul(2700000, r, &out, &e));		/* 27,000.00 * 4% = 1,080.00 */
	CHECK_INT_EQ(out, 108000);
	CHECK(crm_dec_parse("0.015", 5, &r, &e));
	CHECK(crm_money_mul(333, r, &out, &e));			/* 3.33 * 1.5% = 0.04995 -> 0.05 */
	CHECK_INT_EQ(out, 5);
	CHECK(crm_money_mul(-333, r, &out, &e));
	CHECK_INT_EQ(out, -5);
	CHECK(crm_dec_parse("1e18", 4, &r, &e));
	CHECK(!crm_money_mul(INT64_MAX, r, &out, &e));
	CHECK_INT_EQ(e.code, CRM_ERR_RANGE);
}

UNIT_TEST(money_parse_never_rounds_twice)
{
	CHECK_INT_EQ(fen("0.00499999999999999999999999999999999999999"), 0);
	CHECK_INT_EQ(fen("0.00500000000000000000000000000000000000001"), 1);
	CHECK_INT_EQ(fen("92233720368547758.07"), INT64_MAX);
	CHECK_INT_EQ(fen("92233720368547758.08"), -999999);	/* out of range, not rounded into range */
	CHECK_INT_EQ(fen("0000000000000000000000000000000000000000012.5"), 1250);
}
