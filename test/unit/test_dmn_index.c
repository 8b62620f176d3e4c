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
