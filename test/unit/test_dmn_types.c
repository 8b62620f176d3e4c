/*
 * test_dmn_types.c - inputs coerced by their typeRefs: ISO text to dates,
 * times, date-times and durations, collections and components of item
 * definitions, and the errors for values of the wrong type.
 */
#include "test_dmn_util.h"
#include "unit.h"

static const char typed_doc[] =
"<definitions xmlns=\"" DMN15 "\" name=\"typed\">"
"<itemDefinition name=\"tVisit\"><itemComponent name=\"On\"><typeRef>date</typeRef></itemComponent>"
"<itemComponent name=\"Spent\"><typeRef>number</typeRef></itemComponent></itemDefinition>"
"<itemDefinition name=\"tVisits\" isCollection=\"true\"><typeRef>tVisit</typeRef></itemDefinition>"
"<inputData name=\"Since\"><variable name=\"Since\" typeRef=\"date\"/></inputData>"
"<inputData name=\"At\"><variable name=\"At\" typeRef=\"dateTime\"/></inputData>"
"<inputData name=\"Opens\"><variable name=\"Opens\" typeRef=\"time\"/></inputData>"
"<inputData name=\"Window\"><variable name=\"Window\" typeRef=\"dayTimeDuration\"/></inputData>"
"<inputData name=\"Term\"><variable name=\"Term\" typeRef=\"duration\"/></inputData>"
"<inputData name=\"Visits\"><variable name=\"Visits\" typeRef=\"tVisits\"/></inputData>"
"<decision name=\"Days\"><literalExpression><text>(date(At) - Since).days</text></literalExpression></decision>"
"<decision name=\"Late\"><literalExpression><text>time(At) &gt; Opens + Window</text></literalExpression></decision>"
"<decision name=\"Ends\"><literalExpression><text>Since + Term</text></literalExpression></decision>"
"<decision name=\"Recent Spend\"><literalExpression><text>sum(Visits[On &gt;= Since].Spent)</text></literalExpression></decision>"
"</definitions>";

static FeelValue *
visit(const char *on, const char *spent)
{
	FeelValue  *v = feel_context_new();
	CrmError	err;

	feel_context_put(v, "On", 2, feel_string(on, strlen(on)));
	feel_context_put(v, "Spent", 5, feel_number_from_text(spent, &err));
	return v;
}

static FeelValue *
typed_inputs(const char *since)
{
	FeelValue  *in = feel_context_new();
	FeelValue  *visits = feel_list_new();

	feel_context_put(in, "Since", 5, feel_string(since, strlen(since)));
	feel_context_put(in, "At", 2, feel_string("2026-11-22T09:45:00", 19));
	feel_context_put(in, "Opens", 5, feel_string("09:00:00", 8));
	feel_context_put(in, "Window", 6, feel_string("PT30M", 5));
	feel_context_put(in, "Term", 4, feel_string("P1Y6M", 5));
	feel_list_append(visits, visit("2026-10-01", "120.5"));
	feel_list_append(visits, visit("2026-01-05", "99"));
	feel_list_append(visits, visit("2026-11-20", "30"));
	feel_context_put(in, "Visits", 6, visits);
	return in;
}

static const char *
decide(DmnProgram *p, const char *decision, const FeelValue *in, CrmError *err)
{
	FeelValue  *r = dmn_evaluate(p, dmn_find_decision(p, decision), in, NULL, 0, NULL, err);
	const char *s;

	if (r == NULL)
		return "ERROR";
	s = tdmn_render(r);
	feel_value_free(r);
	return s;
}

UNIT_TEST(dmn_iso_text_inputs_become_temporal_values)
{
	CrmError	err;
	DmnProgram *p = tdmn_compile(typed_doc, &err);
	FeelValue  *in = typed_inputs("2026-09-01");

	CHECK(p != NULL);
	CHECK_STR_EQ(decide(p, "Days", in, &err), "82");
	CHECK_STR_EQ(decide(p, "Late", in, &err), "true");
	CHECK_STR_EQ(decide(p, "Ends", in, &err), "@\"2028-03-01\"");
	CHECK_STR_EQ(decide(p, "Recent Spend", in, &err), "150.5");
	feel_value_free(in);
	in = typed_inputs("2026-02-30");
	CHECK_STR_EQ(decide(p, "Days", in, &err), "ERROR");
	CHECK_INT_EQ(err.code, CRM_ERR_TYPE);
	CHECK_STR_EQ(err.message, "decision \"Days\": input \"Since\" must be a date");
	CHECK(strstr(err.hint, "ISO 8601") != NULL);
	feel_value_free(in);
	dmn_program_free(p);
}

UNIT_TEST(dmn_collection_inputs_must_be_lists)
{
	CrmError	err;
	DmnProgram *p = tdmn_compile(typed_doc, &err);
	FeelValue  *in = typed_inputs("2026-09-01");

	feel_context_put(in, "Visits", 6, feel_string("x", 1));
	CHECK_STR_EQ(decide(p, "Recent Spend", in, &err), "ERROR");
	CHECK_STR_EQ(err.message, "decision \"Recent Spend\": input \"Visits\" must be a list");
	/* a decision that does not read Visits ignores it */
	CHECK_STR_EQ(decide(p, "Ends", in, &err), "@\"2028-03-01\"");
	feel_value_free(in);
	dmn_program_free(p);
}
