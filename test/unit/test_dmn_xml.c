/*
 * test_dmn_xml.c - the DMN reader and writer (namespaces 1.1-1.5, prefixed
 * roots, QName typeRefs, hostile documents, element paths in errors, round
 * trips) and decision requirement graphs (order, cycles, unknown references).
 */
#include <stdlib.h>
#include <string.h>

#include "test_dmn_util.h"
#include "unit.h"

static DmnModel *
read_str(const char *xml, CrmError *err)
{
	return dmn_read_xml(xml, strlen(xml), err);
}

static const char dmn11_doc[] =
"<?xml version=\"1.0\"?>\n"
"<dmn11:definitions xmlns:dmn11=\"http://www.omg.org/spec/DMN/20151101/dmn.xsd\" "
"xmlns:feel=\"http://www.omg.org/spec/FEEL/20140401\" name=\"Old\" namespace=\"urn:old\">"
"<dmn11:itemDefinition name=\"tPerson\"><dmn11:itemComponent name=\"Age\"><dmn11:typeRef>feel:number</dmn11:typeRef></dmn11:itemComponent>"
"<dmn11:itemComponent name=\"Birth Date\"><dmn11:typeRef>feel:date</dmn11:typeRef></dmn11:itemComponent></dmn11:itemDefinition>"
"<dmn11:inputData id=\"p\" name=\"Person\"><dmn11:variable name=\"Person\" typeRef=\"tPerson\"/></dmn11:inputData>"
"<dmn11:decision id=\"adult\" name=\"Is Adult\"><dmn11:variable name=\"Is Adult\" typeRef=\"feel:boolean\"/>"
"<dmn11:informationRequirement><dmn11:requiredInput href=\"#p\"/></dmn11:informationRequirement>"
"<dmn11:literalExpression><dmn11:text>Person.Age &gt;= 18 and Person.Birth Date &lt; date(\"2010-01-01\")</dmn11:text></dmn11:literalExpression>"
"</dmn11:decision></dmn11:definitions>";

UNIT_TEST(dmn_reads_prefixed_dmn11_with_qname_typerefs)
{
	CrmError	err;
	DmnModel   *m = read_str(dmn11_doc, &err);
	DmnProgram *p;
	FeelValue  *in,
			   *person,
			   *r;

	CHECK(m != NULL);
	CHECK_STR_EQ(m->dmn_version, "1.1");
	CHECK_STR_EQ(m->items[0].components[0].type_ref, "number");
	CHECK_STR_EQ(m->decisions[0].type_ref, "boolean");
	p = dmn_compile(m, &err);
	CHECK(p != NULL);
	in = feel_context_new();
	person = feel_context_new();
	feel_context_put(person, "Age", 3, feel_number_from_text("20", &err));
	feel_context_put(person, "Birth Date", 10, feel_string("2006-05-01", 10));
	feel_context_put(in, "Person", 6, person);
	r = dmn_evaluate(p, dmn_find_decision(p, "Is Adult"), in, NULL, 0, NULL, &err);
	CHECK(r != NULL);
	CHECK_STR_EQ(tdmn_render(r), "true");
	feel_value_free(r);
	feel_value_free(in);
	dmn_program_free(p);
	dmn_model_free(m);
}

UNIT_TEST(dmn_accepts_every_dmn_namespace)
{
	const char *ns[] = {"http://www.omg.org/spec/DMN/20151101/dmn.xsd",
		"http://www.omg.org/spec/DMN/20180521/MODEL/", "https://www.omg.org/spec/DMN/20191111/MODEL/",
	"https://www.omg.org/spec/DMN/20211108/MODEL/", "https://www.omg.org/spec/DMN/20230324/MODEL/"};
	const char *ver[] = {"1.1", "1.2", "1.3", "1.4", "1.5"};

	for (int i = 0; i < 5; i++)
	{
		char		doc[512];
		CrmError	err;
		DmnModel   *m;

		snprintf(doc, sizeof(doc), "<definitions xmlns=\"%s\" name=\"n\"><decision name=\"d\">"
				 "<literalExpression><text>1</text></literalExpression></decision></definitions>", ns[i]);
		m = read_str(doc, &err);
		CHECK(m != NULL);
		CHECK_STR_EQ(m->dmn_version, ver[i]);
		dmn_model_free(m);
	}
}

UNIT_TEST(dmn_reader_errors_name_the_element_path)
{
	CrmError	err;
	DmnModel   *m;

	m = read_str("<definitions xmlns=\"urn:other\"/>", &err);
	CHECK(m == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_XML);
	CHECK_STR_EQ(err.message, "invalid DMN document: unknown DMN namespace \"urn:other\"");
	m = read_str("<definitions xmlns=\"" DMN15 "\"><decision name=\"a\"><literalExpression><text>1</text>"
				 "</literalExpression></decision><decision name=\"b\"><decisionTable><input><inputExpression>"
				 "<text>x</text></inputExpression></input><output/><rule><inputEntry><text>-</text></inputEntry>"
				 "</rule></decisionTable></decision></definitions>", &err);
	CHECK(m == NULL);
	CHECK_STR_EQ(err.detail, "The problem is at /definitions/decision[2]/decisionTable/rule[1].");
	m = read_str("<definitions xmlns=\"" DMN15 "\"><decision name=\"a\"></decision></definitions>", &err);
	CHECK(m == NULL);
	CHECK_STR_EQ(err.detail, "The problem is at /definitions/decision[1].");
	m = read_str("<definitions xmlns=\"" DMN15 "\"><decision name=\"a\">", &err);
	CHECK(m == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_XML);
	CHECK(strstr(err.message, "invalid DMN document") != NULL);
	m = read_str("", &err);
	CHECK(m == NULL);
	m = read_str("<definitions xmlns=\"" DMN15 "\"><decision name=\"a\"><decisionTable hitPolicy=\"MOST\">"
				 "<output/></decisionTable></decision></definitions>", &err);
	CHECK(m == NULL);
	CHECK_STR_EQ(err.message, "invalid DMN document: unknown hit policy \"MOST\"");
}

UNIT_TEST(dmn_reader_refuses_hostile_documents)
{
	CrmError	err;
	DmnModel   *m;
	const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<definitions xmlns=\"" DMN15 "\" name=\"&x;\"/>";
	const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
		"<definitions xmlns=\"" DMN15 "\" name=\"&c;\"/>";
	size_t		depth = 100000;
	char	   *deep = malloc(depth * 3 + 200);
	size_t		n = 0;

	m = read_str(xxe, &err);
	CHECK(m == NULL);
	CHECK_STR_EQ(err.message, "invalid DMN document: entity declarations are not allowed");
	m = read_str(laughs, &err);
	CHECK(m == NULL);
	n += sprintf(deep, "<definitions xmlns=\"" DMN15 "\">");
	for (size_t i = 0; i < depth; i++)
		n += sprintf(deep + n, "<a>");
	m = dmn_read_xml(deep, n, &err);
	free(deep);
	CHECK(m == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_XML);
	m = read_str("<!DOCTYPE definitions SYSTEM \"http://example.com/x.dtd\"><definitions xmlns=\"" DMN15
				 "\" name=\"n\"/>", &err);
	CHECK(m != NULL);
	CHECK_STR_EQ(m->name, "n");
	dmn_model_free(m);
}

UNIT_TEST(dmn_requirement_graph_order_and_cycles)
{
	const char *doc = "<definitions xmlns=\"" DMN15 "\" name=\"g\">"
		"<inputData id=\"x\" name=\"Base Amount\"><variable name=\"Base Amount\" typeRef=\"number\"/></inputData>"
		"<decision id=\"c\" name=\"Total\"><informationRequirement><requiredDecision href=\"#b\"/></informationRequirement>"
		"<literalExpression><text>Doubled Amount + 1</text></literalExpression></decision>"
		"<decision id=\"b\" name=\"Doubled Amount\"><informationRequirement><requiredDecision href=\"#a\"/></informationRequirement>"
		"<literalExpression><text>Plus Ten * 2</text></literalExpression></decision>"
		"<decision id=\"a\" name=\"Plus Ten\"><literalExpression><text>Base Amount + 10</text></literalExpression></decision>"
		"</definitions>";
	CrmError	err;
	DmnProgram *p = tdmn_compile(doc, &err);
	FeelValue  *in = feel_context_new();
	FeelValue  *r;
	char	   *cyc;

	CHECK(p != NULL);
	CHECK_INT_EQ(dmn_program_ninputs(p), 1);
	CHECK_STR_EQ(dmn_program_input_name(p, 0), "Base Amount");
	feel_context_put(in, "Base Amount", 11, feel_number_from_text("5", &err));
	r = dmn_evaluate(p, dmn_find_decision(p, "Total"), in, NULL, 0, NULL, &err);
	CHECK(r != NULL);
	CHECK_STR_EQ(tdmn_render(r), "31");
	feel_value_free(r);
	CHECK_INT_EQ(dmn_find_decision(p, "b"), 1);
	CHECK_INT_EQ(dmn_find_decision(p, "nope"), -1);
	feel_value_free(in);
	dmn_program_free(p);
	cyc = crm_strdup(doc);
	memcpy(strstr(cyc, "Base Amount + 10"), "Total       + 10", 16);
	p = tdmn_compile(cyc, &err);
	CHECK(p == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
	CHECK_STR_EQ(err.message, "decision requirements form a cycle: \"Total\" -> \"Doubled Amount\" -> \"Plus Ten\" -> \"Total\"");
	memcpy(strstr(cyc, "#a"), "#q", 2);
	p = tdmn_compile(cyc, &err);
	CHECK(p == NULL);
	CHECK_STR_EQ(err.message, "decision \"Doubled Amount\" requires unknown decision \"q\"");
	crm_free(cyc);
}

UNIT_TEST(dmn_written_models_read_back_identically)
{
	DmnModel   *m = dmn_model_new();
	DmnDecision *d;
	DmnRule    *r;
	char	   *xml;
	CrmError	err;
	DmnModel   *back;
	CrmArena   *a = &m->arena;

	m->name = "SQL model <&>";
	m->ndecisions = 1;
	m->decisions = crm_arena_alloc(a, sizeof(DmnDecision));
	memset(m->decisions, 0, sizeof(DmnDecision));
	d = &m->decisions[0];
	d->name = "Lead Score";
	d->kind = DMN_EXPR_DECISION_TABLE;
	d->table.hit_policy = DMN_HIT_COLLECT;
	d->table.aggregation = DMN_AGG_SUM;
	d->table.ninputs = 1;
	d->table.inputs = crm_arena_alloc(a, sizeof(DmnInputClause));
	memset(d->table.inputs, 0, sizeof(DmnInputClause));
	d->table.inputs[0].expr = "source";
	d->table.inputs[0].type_ref = "string";
	d->table.noutputs = 1;
	d->table.outputs = crm_arena_alloc(a, sizeof(DmnOutputClause));
	memset(d->table.outputs, 0, sizeof(DmnOutputClause));
	d->table.outputs[0].name = "points";
	d->table.nrules = 1;
	d->table.rules = r = crm_arena_alloc(a, sizeof(DmnRule));
	r->id = NULL;
	r->input_entries = crm_arena_alloc(a, sizeof(char *));
	r->input_entries[0] = "\"web\", \"展会\"";
	r->output_entries = crm_arena_alloc(a, sizeof(char *));
	r->output_entries[0] = "10";
	r->annotation = "来源: 展会 & web";
	xml = dmn_write_xml(m);
	back = dmn_read_xml(xml, strlen(xml), &err);
	CHECK(back != NULL);
	CHECK(dmn_model_equal(m, back));
	CHECK_STR_EQ(back->decisions[0].table.rules[0].annotation, "来源: 展会 & web");
	r->output_entries[0] = "11";
	CHECK(!dmn_model_equal(m, back));
	crm_free(xml);
	dmn_model_free(back);
	dmn_model_free(m);
}

UNIT_TEST(dmn_implicit_inputs_for_sql_authored_tables)
{
	const char *doc = "<definitions xmlns=\"" DMN15 "\" name=\"s\"><decision name=\"Lead Score\">"
		"<decisionTable hitPolicy=\"COLLECT\" aggregation=\"SUM\">"
		"<input><inputExpression typeRef=\"string\"><text>source</text></inputExpression></input>"
		"<input><inputExpression typeRef=\"number\"><text>company size</text></inputExpression></input>"
		"<input><inputExpression typeRef=\"date\"><text>lead.created</text></inputExpression></input>"
		"<output name=\"points\"/>"
		"<rule><inputEntry><text>\"web\"</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>10</text></outputEntry></rule>"
		"<rule><inputEntry><text>-</text></inputEntry><inputEntry><text>&gt; 100</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>company size / 10</text></outputEntry></rule>"
		"<rule><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>&gt;= date(\"2026-01-01\")</text></inputEntry><outputEntry><text>1</text></outputEntry></rule>"
		"</decisionTable></decision></definitions>";
	CrmError	err;
	DmnProgram *p = tdmn_compile(doc, &err);
	FeelValue  *in = feel_context_new();
	FeelValue  *lead = feel_context_new();
	FeelValue  *r;

	CHECK(p != NULL);
	CHECK_INT_EQ(dmn_program_ninputs(p), 3);
	CHECK_STR_EQ(dmn_program_input_name(p, 1), "company size");
	feel_context_put(in, "source", 6, feel_string("web", 3));
	feel_context_put(in, "company size", 12, feel_number_from_text("250", &err));
	feel_context_put(lead, "created", 7, feel_string("2026-03-01", 10));
	feel_context_put(in, "lead", 4, lead);
	r = dmn_evaluate(p, 0, in, NULL, 0, NULL, &err);
	CHECK(r != NULL);
	CHECK_STR_EQ(tdmn_render(r), "36");
	feel_value_free(r);
	feel_value_free(in);
	dmn_program_free(p);
}

UNIT_TEST(dmn_empty_cells_from_sql_authoring)
{
	DmnModel   *m = dmn_model_new();
	CrmArena   *a = &m->arena;
	DmnDecision *d;
	CrmError	err;
	DmnProgram *p;
	FeelValue  *in = feel_context_new();
	FeelValue  *r;
	char	   *xml;
	DmnModel   *back;

	m->ndecisions = 1;
	m->decisions = d = crm_arena_alloc(a, sizeof(DmnDecision));
	memset(d, 0, sizeof(*d));
	d->name = "Tag";
	d->kind = DMN_EXPR_DECISION_TABLE;
	d->table.hit_policy = DMN_HIT_FIRST;
	d->table.ninputs = 1;
	d->table.inputs = crm_arena_alloc(a, sizeof(DmnInputClause));
	memset(d->table.inputs, 0, sizeof(DmnInputClause));
	d->table.inputs[0].expr = "visits";
	d->table.noutputs = 1;
	d->table.outputs = crm_arena_alloc(a, sizeof(DmnOutputClause));
	memset(d->table.outputs, 0, sizeof(DmnOutputClause));
	d->table.nrules = 1;
	d->table.rules = crm_arena_alloc(a, sizeof(DmnRule));
	memset(d->table.rules, 0, sizeof(DmnRule));
	d->table.rules[0].input_entries = crm_arena_alloc(a, sizeof(char *));
	d->table.rules[0].input_entries[0] = NULL;
	d->table.rules[0].output_entries = crm_arena_alloc(a, sizeof(char *));
	d->table.rules[0].output_entries[0] = NULL;
	p = dmn_compile(m, &err);
	CHECK(p != NULL);
	r = dmn_evaluate(p, 0, in, NULL, 0, NULL, &err);
	CHECK(r != NULL && feel_kind(r) == FEEL_NULL);
	feel_value_free(r);
	dmn_program_free(p);
	xml = dmn_write_xml(m);
	back = dmn_read_xml(xml, strlen(xml), &err);
	CHECK(back != NULL);
	CHECK_STR_EQ(back->decisions[0].table.rules[0].input_entries[0], "");
	dmn_model_free(back);
	crm_free(xml);
	d->table.inputs[0].expr = NULL;
	p = dmn_compile(m, &err);
	CHECK(p == NULL);
	CHECK_STR_EQ(err.message, "decision \"Tag\": input 1 has no expression");
	feel_value_free(in);
	dmn_model_free(m);
}
