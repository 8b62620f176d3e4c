/*
 * test_dmn_index.c - decision tables matched through the column index:
 * equality constants found by value (1.5 = 1.50), lists, ranges, negated
 * tests checked in full, "-" columns, more than 64 rules (several bitset
 * words), rule order kept, FIRST stopping at the first rule that matches,
 * and integer COLLECT SUM agreeing with decimal sums.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_dmn_util.h"
#include "unit.h"

#define OUT_NUM "<output name=\"Points\" typeRef=\"number\"/>"

/* Rules 1..130 "Age = k => k", then the special rules after them. */
static DmnProgram *
big_table(const char *hp, const char *agg)
{
	CrmBuf		rules;
	CrmError	err;
	char	   *xml;
	DmnProgram *p;

	crm_buf_init(&rules);
	for (int k = 1; k <= 130; k++)
	{
		char		r[64];

		snprintf(r, sizeof(r), "%d|-=>%d;", k, k);
		crm_buf_puts(&rules, r);
	}
	crm_buf_puts(&rules, "1.50, 2.0|-=>1000;-|\"High\",\"Low\"=>2000;[100..101)|-=>3000;not(100)|-=>4000;-|-=>5000");
	xml = tdmn_table(hp, agg, OUT_NUM, rules.data);
	p = tdmn_compile(xml, &err);
	if (p == NULL)
		printf("  compile failed: %s\n", err.message);
	crm_free(xml);
	crm_buf_free(&rules);
	return p;
}

UNIT_TEST(dmn_index_collect_in_rule_order)
{
	DmnProgram *p = big_table("COLLECT", NULL);

	CHECK(p != NULL);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "100", "High"), "[100, 2000, 3000, 5000]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "1.5", "Medium"), "[1000, 4000, 5000]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "2", "Low"), "[2, 1000, 2000, 4000, 5000]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "130", "x"), "[130, 4000, 5000]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "65", "x"), "[65, 4000, 5000]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "64.0", "x"), "[64, 4000, 5000]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "100.5", "x"), "[3000, 4000, 5000]");
	dmn_program_free(p);
}

UNIT_TEST(dmn_index_first_and_sum)
{
	DmnProgram *p = big_table("FIRST", NULL);

	CHECK(p != NULL);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "100", "High"), "100");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "1.5", "High"), "1000");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "500", "Medium"), "4000");
	dmn_program_free(p);
	p = big_table("COLLECT", "SUM");
	CHECK(p != NULL);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "100", "High"), "10100");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "2", "Low"), "12002");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "0.5", "x"), "9000");
	dmn_program_free(p);
}

UNIT_TEST(dmn_index_decimal_sum_outputs)
{
	DmnProgram *p;
	char	   *xml = tdmn_table("COLLECT", "SUM", OUT_NUM, "-|-=>1.25;-|\"a\"=>-2;-|-=>0.75;-|-=>-0");
	CrmError	err;

	p = tdmn_compile(xml, &err);
	crm_free(xml);
	CHECK(p != NULL);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "1", "a"), "0");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "1", "b"), "2");
	dmn_program_free(p);
}

/*
 * Threshold ladders: 70 rules "op c => k" with op cycling through >, >=, <, <=
 * and c on a half grid with repeats (some written with trailing zeros), plus
 * an equality rule in the same column; every input on a quarter grid must
 * match exactly the rules plain arithmetic says, in rule order, and FIRST the
 * first of them.  A null input matches none.
 */
#define LADDER_RULES 70

static int
ladder_bound4(int k)
{
	return ((k * 7) % 23) * 2;	/* the constant times 4: 0, 0.5, ... 11 */
}

static bool
ladder_passes(int k, int v4)
{
	int			c4 = ladder_bound4(k);

	if (k == LADDER_RULES + 1)
		return v4 == 16;
	switch (k % 4)
	{
		case 0:
			return v4 > c4;
		case 1:
			return v4 >= c4;
		case 2:
			return v4 < c4;
		default:
			return v4 <= c4;
	}
}

static DmnProgram *
ladder_table(const char *hp)
{
	static const char *const ops[] = {">", ">=", "<", "<="};
	CrmBuf		rules;
	CrmError	err;
	char	   *xml;
	DmnProgram *p;

	crm_buf_init(&rules);
	for (int k = 1; k <= LADDER_RULES; k++)
	{
		int			c4 = ladder_bound4(k);

		crm_buf_printf(&rules, "%s %d.%s|-=>%d;", ops[k % 4], c4 / 4, c4 % 4 ? "5" : (k % 3 ? "0" : "00"), k);
	}
	crm_buf_printf(&rules, "4.0|-=>%d", LADDER_RULES + 1);
	xml = tdmn_table(hp, NULL, OUT_NUM, rules.data);
	p = tdmn_compile(xml, &err);
	if (p == NULL)
		printf("  compile failed: %s\n", err.message);
	crm_free(xml);
	crm_buf_free(&rules);
	return p;
}

UNIT_TEST(dmn_index_threshold_ladders)
{
	DmnProgram *collect = ladder_table("COLLECT");
	DmnProgram *first = ladder_table("FIRST");
	int			bad = 0;

	CHECK(collect != NULL && first != NULL);
	for (int v4 = -4; v4 <= 48; v4++)
	{
		char		v[32];
		CrmBuf		want;
		int			first_k = 0;

		snprintf(v, sizeof(v), "%s%d.%02d", v4 < 0 ? "-" : "", abs(v4) / 4, (abs(v4) % 4) * 25);
		crm_buf_init(&want);
		crm_buf_puts(&want, "[");
		for (int k = 1; k <= LADDER_RULES + 1; k++)
			if (ladder_passes(k, v4))
			{
				crm_buf_printf(&want, "%s%d", first_k ? ", " : "", k);
				if (first_k == 0)
					first_k = k;
			}
		crm_buf_puts(&want, "]");
		if (strcmp(tdmn_eval(collect, "Score", v, "x"), want.data) != 0)
		{
			printf("  COLLECT at %s: got %s, want %s\n", v, tdmn_eval(collect, "Score", v, "x"), want.data);
			bad++;
		}
		if (atoi(tdmn_eval(first, "Score", v, "x")) != first_k)
		{
			printf("  FIRST at %s: got %s, want %d\n", v, tdmn_eval(first, "Score", v, "x"), first_k);
			bad++;
		}
		crm_buf_free(&want);
	}
	CHECK(bad == 0);
	CHECK_STR_EQ(tdmn_eval(collect, "Score", NULL, "x"), "null");
	dmn_program_free(collect);
	dmn_program_free(first);
}
