/*
 * test_dmn.c - decision tables: every hit policy, aggregations, default
 * outputs, several outputs, matched rules and their outputs, errors naming
 * decision, rule and column.
 */
#include <stdlib.h>

#include "test_dmn_util.h"
#include "unit.h"

#define OUT1 "<output name=\"Result\" typeRef=\"string\"/>"
#define OUT_PRIO "<output name=\"Result\" typeRef=\"string\"><outputValues><text>\"High\",\"Medium\",\"Low\"</text></outputValues></output>"
#define OUT_NUM "<output name=\"Points\" typeRef=\"number\"/>"

static DmnProgram *
table(const char *hp, const char *agg, const char *outputs, const char *rules)
{
	char	   *xml = tdmn_table(hp, agg, outputs, rules);
	CrmError	err;
	DmnProgram *p = tdmn_compile(xml, &err);

	if (p == NULL)
		printf("  compile failed: %s\n", err.message);
	crm_free(xml);
	return p;
}

UNIT_TEST(dmn_unique_hit_policy)
{
	DmnProgram *p = table("UNIQUE", NULL, OUT1, "<18|-=>\"minor\";>=18|\"High\"=>\"risky\";>=18|not(\"High\")=>\"ok\"");

	CHECK(p != NULL);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "12", "High"), "\"minor\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "30", "High"), "\"risky\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "30", "Low"), "\"ok\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", NULL, "Low"), "null");
	dmn_program_free(p);
	p = table("UNIQUE", NULL, OUT1, ">10|-=>\"a\";>20|-=>\"b\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "15", NULL), "\"a\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", NULL),
				 "ERROR 8: decision \"Score\": hit policy UNIQUE, but rules 1 and 2 both match");
	dmn_program_free(p);
}

UNIT_TEST(dmn_any_hit_policy)
{
	DmnProgram *p = table("ANY", NULL, OUT1, ">10|-=>\"a\";>20|-=>\"a\";>30|-=>\"b\"");

	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", NULL), "\"a\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "5", NULL), "null");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "35", NULL),
				 "ERROR 8: decision \"Score\": hit policy ANY, but rules 1 and 3 match with different outputs");
	dmn_program_free(p);
}

UNIT_TEST(dmn_priority_and_output_order)
{
	const char *rules = ">10|-=>\"Low\";>20|-=>\"High\";>15|-=>\"Medium\";>30|-=>\"Other\"";
	DmnProgram *p = table("PRIORITY", NULL, OUT_PRIO, rules);

	CHECK_STR_EQ(tdmn_eval(p, "Score", "12", NULL), "\"Low\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "18", NULL), "\"Medium\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", NULL), "\"High\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "35", NULL), "\"High\"");
	dmn_program_free(p);
	p = table("OUTPUT ORDER", NULL, OUT_PRIO, rules);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", NULL), "[\"High\", \"Medium\", \"Low\"]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "35", NULL), "[\"High\", \"Medium\", \"Low\", \"Other\"]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "1", NULL), "null");
	dmn_program_free(p);
}

UNIT_TEST(dmn_first_and_rule_order)
{
	const char *rules = ">10|-=>\"a\";>20|-=>\"b\";-|\"x\"=>\"c\"";
	DmnProgram *p = table("FIRST", NULL, OUT1, rules);

	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "\"a\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "5", "x"), "\"c\"");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "5", "y"), "null");
	dmn_program_free(p);
	p = table("RULE ORDER", NULL, OUT1, rules);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "[\"a\", \"b\", \"c\"]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "15", "y"), "[\"a\"]");
	dmn_program_free(p);
}

UNIT_TEST(dmn_collect_and_aggregations)
{
	const char *rules = ">10|-=>5#older than 10;>20|-=>10#older than 20;-|\"x\"=>5#risk x;-|\"y\"=>null";
	DmnProgram *p = table("COLLECT", NULL, OUT_NUM, rules);

	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "[5, 10, 5]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "1", "z"), "null");
	dmn_program_free(p);
	p = table("COLLECT", "SUM", OUT_NUM, rules);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "20");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "15", "y"), "5");
	dmn_program_free(p);
	p = table("COLLECT", "MIN", OUT_NUM, rules);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "5");
	dmn_program_free(p);
	p = table("COLLECT", "MAX", OUT_NUM, rules);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "10");
	dmn_program_free(p);
	p = table("COLLECT", "COUNT", OUT_NUM, rules);
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "x"), "2");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "25", "q"), "2");
	dmn_program_free(p);
}

UNIT_TEST(dmn_default_outputs_and_several_outputs)
{
	const char *outs = "<output name=\"Grade\" typeRef=\"string\"><defaultOutputEntry><text>\"D\"</text></defaultOutputEntry></output>"
		"<output name=\"Points\" typeRef=\"number\"><defaultOutputEntry><text>0</text></defaultOutputEntry></output>";
	DmnProgram *p = table("FIRST", NULL, outs, ">=60|-=>\"A\"|Age * 2;>=30|\"High\"=>\"B\"|Age - 1");

	CHECK_STR_EQ(tdmn_eval(p, "Score", "61", NULL), "{Grade: \"A\", Points: 122}");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "40", "High"), "{Grade: \"B\", Points: 39}");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "40", "Low"), "{Grade: \"D\", Points: 0}");
	dmn_program_free(p);
	p = table("COLLECT", "SUM", "<output name=\"P\"><defaultOutputEntry><text>0</text></defaultOutputEntry></output>",
			  ">10|-=>1");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "5", NULL), "0");
	dmn_program_free(p);
}

UNIT_TEST(dmn_matched_rules_and_rule_outputs)
{
	const char *rules = ">10|-=>5#older than 10;>20|-=>10#older than 20;-|\"x\"=>Age + 1#risk x";
	DmnProgram *p = table("COLLECT", "SUM", OUT_NUM, rules);
	FeelValue  *in = feel_context_new();
	CrmError	err;
	int			matched[8];
	int			n = -1;
	FeelValue  *r;

	feel_context_put(in, "Age", 3, feel_number_from_text("25", &err));
	feel_context_put(in, "Risk", 4, feel_string("x", 1));
	r = dmn_evaluate(p, 0, in, matched, 8, &n, &err);
	CHECK(r != NULL);
	CHECK_STR_EQ(tdmn_render(r), "41");
	CHECK_INT_EQ(n, 3);
	CHECK_INT_EQ(matched[0], 0);
	CHECK_INT_EQ(matched[2], 2);
	feel_value_free(r);
	r = dmn_evaluate(p, 0, in, matched, 1, &n, &err);
	CHECK_INT_EQ(n, 3);
	feel_value_free(r);
	r = dmn_rule_output(p, 0, 2, 0, in, &err);
	CHECK(r != NULL);
	CHECK_STR_EQ(tdmn_render(r), "26");
	feel_value_free(r);
	r = dmn_rule_output(p, 0, 7, 0, in, &err);
	CHECK(r == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_NOT_FOUND);
	feel_value_free(in);
	dmn_program_free(p);
}

UNIT_TEST(dmn_bad_cells_name_decision_rule_column_and_position)
{
	char	   *xml = tdmn_table("UNIQUE", NULL, OUT1, ">10|-=>\"a\";>20|[1..=>\"b\"");
	CrmError	err;
	DmnProgram *p = tdmn_compile(xml, &err);

	CHECK(p == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_SYNTAX);
	CHECK_STR_EQ(err.message, "decision \"Score\", rule 2, input \"Risk\": FEEL syntax error: expression expected at end of text");
	CHECK_INT_EQ(err.position, 5);
	CHECK_STR_EQ(err.detail, "The cell text is: [1..");
	crm_free(xml);
	xml = tdmn_table("UNIQUE", NULL, OUT1, ">10|-=>\"a\" +;");
	p = tdmn_compile(xml, &err);
	CHECK(p == NULL);
	CHECK_STR_EQ(err.message, "decision \"Score\", rule 1, output \"Result\": FEEL syntax error: expression expected at end of text");
	crm_free(xml);
	xml = tdmn_table("UNIQUE", NULL, OUT1, ">Salary|-=>\"a\"");
	p = tdmn_compile(xml, &err);
	CHECK(p == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
	CHECK_STR_EQ(err.message, "decision \"Score\", rule 1, input \"Age\": unknown name \"Salary\" in FEEL expression");
	CHECK_INT_EQ(err.position, 2);
	crm_free(xml);
	xml = tdmn_table("COLLECT", "SUM", "<output name=\"a\"/><output name=\"b\"/>", "-|-=>1|2");
	p = tdmn_compile(xml, &err);
	CHECK(p == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
	crm_free(xml);
}

UNIT_TEST(dmn_input_coercion_and_wrong_types)
{
	DmnProgram *p = table("FIRST", NULL, OUT1, ">10|-=>\"a\"");
	FeelValue  *in = feel_context_new();
	CrmError	err;
	FeelValue  *r;

	feel_context_put(in, "Age", 3, feel_string("x", 1));
	r = dmn_evaluate(p, 0, in, NULL, 0, NULL, &err);
	CHECK(r == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_TYPE);
	CHECK_STR_EQ(err.message, "decision \"Score\": input \"Age\" must be a number");
	feel_context_put(in, "Age", 3, feel_string("12", 2));
	r = dmn_evaluate(p, 0, in, NULL, 0, NULL, &err);
	CHECK(r != NULL);
	CHECK_STR_EQ(tdmn_render(r), "\"a\"");
	feel_value_free(r);
	feel_context_put(in, "Risk", 4, feel_boolean(true));
	r = dmn_evaluate(p, 0, in, NULL, 0, NULL, &err);
	CHECK(r == NULL);
	CHECK_STR_EQ(err.message, "decision \"Score\": input \"Risk\" must be a string");
	feel_value_free(in);
	dmn_program_free(p);
}

UNIT_TEST(dmn_shared_tests_are_recomputed_per_evaluation)
{
	/* ">10" and "\"x\"" appear in several rules: their results are shared within one evaluation only */
	DmnProgram *p = table("RULE ORDER", NULL, OUT1,
						  ">10|\"x\"=>\"a\";<=10|\"x\"=>\"b\";>10|\"y\"=>\"c\";>10|\"x\", \"y\"=>\"d\";>10|\"x\"=>\"e\"");

	CHECK_STR_EQ(tdmn_eval(p, "Score", "11", "x"), "[\"a\", \"d\", \"e\"]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "9", "x"), "[\"b\"]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", "11", "y"), "[\"c\", \"d\"]");
	CHECK_STR_EQ(tdmn_eval(p, "Score", NULL, "x"), "null");
	dmn_program_free(p);
}
