/*
 * test_tck.c - runs every case of the OMG DMN TCK copy in
 * $CRM_TESTDATA/dmn-tck through the engine: NAME.dmn read with dmn_read_xml,
 * NAME-test-01.xml's inputs coerced the way JSON callers send them (dates as
 * ISO strings), every resultNode compared with its expected value; and every
 * model read -> written -> read back compares equal.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dmn_engine.h"
#include "feel_internal.h"
#include "unit.h"

#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

typedef struct TckStats
{
	int			cases;			/* case folders */
	int			passed;			/* result nodes */
	int			failed;
	int			roundtrip_failed;
} TckStats;

static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	if (fread(buf, 1, n, f) != (size_t) n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static bool
el(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

static char *
xattr(xmlNodePtr n, const char *name)
{
	return (char *) xmlGetNoNsProp(n, (const xmlChar *) name);
}

static FeelValue *value_of(xmlNodePtr holder, bool expected);

/* A <value xsi:type=...> element. */
static FeelValue *
scalar(xmlNodePtr v, bool expected)
{
	xmlChar    *nil = xmlGetNsProp(v, (const xmlChar *) "nil", (const xmlChar *) XSI_NS);
	xmlChar    *type = xmlGetNsProp(v, (const xmlChar *) "type", (const xmlChar *) XSI_NS);
	xmlChar    *text = xmlNodeGetContent(v);
	const char *t = type ? strchr((const char *) type, ':') : NULL;
	FeelValue  *r;
	FeelValue	tv;
	CrmError	err;

	t = t ? t + 1 : (const char *) type;
	if (nil && strcmp((const char *) nil, "true") == 0)
		r = feel_null();
	else if (t && (strcmp(t, "decimal") == 0 || strcmp(t, "double") == 0 || strcmp(t, "int") == 0 ||
				   strcmp(t, "integer") == 0 || strcmp(t, "long") == 0))
		r = feel_number_from_text((const char *) text, &err);
	else if (t && strcmp(t, "boolean") == 0)
		r = feel_boolean(strcmp((const char *) text, "true") == 0);
	else if (expected && t && strcmp(t, "string") != 0 &&
			 feel_parse_temporal((const char *) text, strlen((const char *) text), &tv))
	{
		r = feel_null();
		*r = tv;
	}
	else
		r = feel_string((const char *) text, strlen((const char *) text));
	xmlFree(nil);
	xmlFree(type);
	xmlFree(text);
	return r ? r : feel_null();
}

/* The value held by an inputNode / expected / item / component element. */
static FeelValue *
value_of(xmlNodePtr holder, bool expected)
{
	for (xmlNodePtr c = holder->children; c; c = c->next)
	{
		if (el(c, "value"))
			return scalar(c, expected);
		if (el(c, "list"))
		{
			FeelValue  *l = feel_list_new();

			for (xmlNodePtr i = c->children; i; i = i->next)
				if (el(i, "item"))
					feel_list_append(l, value_of(i, expected));
			return l;
		}
		if (el(c, "component"))
		{
			FeelValue  *ctx = feel_context_new();

			for (xmlNodePtr k = c; k; k = k->next)
			{
				char	   *name;

				if (!el(k, "component"))
					continue;
				name = xattr(k, "name");
				feel_context_put(ctx, name, strlen(name), value_of(k, expected));
				xmlFree(name);
			}
			return ctx;
		}
	}
	return feel_null();
}

static void
report(const char *tcase, const char *id, const char *node, const FeelValue *want, const FeelValue *got,
	   const CrmError *err)
{
	CrmBuf		a,
				b;

	crm_buf_init(&a);
	crm_buf_init(&b);
	feel_value_repr(want, &a);
	if (got)
		feel_value_repr(got, &b);
	printf("  TCK %s test %s %s: expected %s, got %s%s\n", tcase, id, node, a.data,
		   got ? b.data : "error: ", got ? "" : err->message);
	crm_buf_free(&a);
	crm_buf_free(&b);
}

static void
run_result(DmnProgram *prog, const char *tcase, const char *id, xmlNodePtr rn, const FeelValue *inputs,
		   TckStats *st)
{
	char	   *name = xattr(rn, "name");
	char	   *error_result = xattr(rn, "errorResult");
	int			d = dmn_find_decision(prog, name);
	CrmError	err;
	FeelValue  *want = NULL;
	FeelValue  *got = NULL;
	bool		ok;

	for (xmlNodePtr c = rn->children; c; c = c->next)
		if (el(c, "expected"))
			want = value_of(c, true);
	if (want == NULL)
		want = feel_null();
	crm_error_clear(&err);
	got = d >= 0 ? dmn_evaluate(prog, d, inputs, NULL, 0, NULL, &err) : NULL;
	if (d < 0)
		snprintf(err.message, sizeof(err.message), "no decision named %s", name);
	if (error_result && strcmp(error_result, "true") == 0)
		ok = got == NULL || feel_kind(got) == FEEL_NULL;
	else
		ok = got != NULL && feel_equal(want, got) == 1;
	if (ok)
		st->passed++;
	else
	{
		st->failed++;
		report(tcase, id, name, want, got, &err);
	}
	feel_value_free(want);
	feel_value_free(got);
	xmlFree(name);
	xmlFree(error_result);
}

static void
run_test_case(DmnProgram *prog, const char *tcase, xmlNodePtr tc, TckStats *st)
{
	FeelValue  *inputs = feel_context_new();
	char	   *id = xattr(tc, "id");

	for (xmlNodePtr c = tc->children; c; c = c->next)
	{
		if (el(c, "inputNode"))
		{
			char	   *name = xattr(c, "name");

			feel_context_put(inputs, name, strlen(name), value_of(c, false));
			xmlFree(name);
		}
	}
	for (xmlNodePtr c = tc->children; c; c = c->next)
		if (el(c, "resultNode"))
			run_result(prog, tcase, id ? id : "?", c, inputs, st);
	feel_value_free(inputs);
	xmlFree(id);
}

static bool
round_trip(const DmnModel *m)
{
	char	   *xml = dmn_write_xml(m);
	CrmError	err;
	DmnModel   *again = dmn_read_xml(xml, strlen(xml), &err);
	bool		ok = again != NULL && dmn_model_equal(m, again);

	if (again == NULL)
		printf("  round trip of %s: %s (%s)\n", m->name, err.message, err.detail);
	dmn_model_free(again);
	crm_free(xml);
	return ok;
}

static void
run_case(const char *dir, const char *name, TckStats *st)
{
	char		path[2048];
	size_t		len;
	char	   *doc;
	CrmError	err;
	DmnModel   *m;
	DmnProgram *prog = NULL;
	xmlDocPtr	tdoc;

	snprintf(path, sizeof(path), "%s/%s.dmn", dir, name);
	doc = read_file(path, &len);
	if (doc == NULL)
		return;
	st->cases++;
	m = dmn_read_xml(doc, len, &err);
	free(doc);
	if (m != NULL && !round_trip(m))
	{
		printf("  TCK %s: read -> write -> read differs\n", name);
		st->roundtrip_failed++;
	}
	if (m == NULL || (prog = dmn_compile(m, &err)) == NULL)
	{
		printf("  TCK %s: %s (%s)\n", name, err.message, err.detail);
		st->failed++;
		dmn_model_free(m);
		return;
	}
	/* the program must not depend on the model once compiled */
	dmn_model_free(m);
	snprintf(path, sizeof(path), "%s/%s-test-01.xml", dir, name);
	tdoc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	if (tdoc != NULL)
	{
		for (xmlNodePtr tc = xmlDocGetRootElement(tdoc)->children; tc; tc = tc->next)
			if (el(tc, "testCase"))
				run_test_case(prog, name, tc, st);
		xmlFreeDoc(tdoc);
	}
	dmn_program_free(prog);
}

static void
walk(const char *dir, TckStats *st, int depth)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char	  **names = NULL;
	int			n = 0;

	if (d == NULL || depth > 4)
	{
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d)) != NULL)
	{
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, sizeof(char *) * (n + 1));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
	{
		char		path[2048];
		struct stat sb;
		size_t		l = strlen(names[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			walk(path, st, depth + 1);
		else if (l > 4 && strcmp(names[i] + l - 4, ".dmn") == 0)
		{
			names[i][l - 4] = '\0';
			run_case(dir, names[i], st);
		}
		free(names[i]);
	}
	free(names);
}

UNIT_TEST(tck_all_cases_pass)
{
	char		root[1024];
	TckStats	st = {0, 0, 0, 0};

	/* the unit Makefile may export an empty CRM_TESTDATA; the runner works from the project root */
	snprintf(root, sizeof(root), "%s/dmn-tck", unit_testdata()[0] ? unit_testdata() : "../shared/testdata");
	walk(root, &st, 0);
	printf("  TCK: %d cases, %d results passed, %d failed, %d round trips differ\n",
		   st.cases, st.passed, st.failed, st.roundtrip_failed);
	CHECK(st.cases >= 20);
	CHECK(st.passed > 0);
	CHECK_INT_EQ(st.failed, 0);
	CHECK_INT_EQ(st.roundtrip_failed, 0);
}
