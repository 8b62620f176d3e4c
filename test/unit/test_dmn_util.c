/*
 * test_dmn_util.c - helpers for the decision engine unit tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_dmn_util.h"

static char render_buf[2048];

static void
put_cell(CrmBuf *b, const char *el, const char *text)
{
	crm_buf_printf(b, "<%s><text>", el);
	for (; *text; text++)
	{
		if (*text == '<')
			crm_buf_puts(b, "&lt;");
		else if (*text == '&')
			crm_buf_puts(b, "&amp;");
		else
			crm_buf_putc(b, *text);
	}
	crm_buf_printf(b, "</text></%s>", el);
}

char *
tdmn_table(const char *hit_policy, const char *aggregation, const char *outputs, const char *rules)
{
	CrmBuf		b;
	char	   *copy = crm_strdup(rules);
	char	   *save = NULL;

	crm_buf_init(&b);
	crm_buf_printf(&b, "<definitions xmlns=\"" DMN15 "\" name=\"t\" namespace=\"urn:t\">"
				   "<inputData id=\"i1\" name=\"Age\"><variable name=\"Age\" typeRef=\"number\"/></inputData>"
				   "<inputData id=\"i2\" name=\"Risk\"><variable name=\"Risk\" typeRef=\"string\"/></inputData>"
				   "<decision id=\"d1\" name=\"Score\">"
				   "<informationRequirement><requiredInput href=\"#i1\"/></informationRequirement>"
				   "<informationRequirement><requiredInput href=\"#i2\"/></informationRequirement>"
				   "<decisionTable hitPolicy=\"%s\"", hit_policy);
	if (aggregation)
		crm_buf_printf(&b, " aggregation=\"%s\"", aggregation);
	crm_buf_puts(&b, "><input label=\"Age\"><inputExpression typeRef=\"number\"><text>Age</text></inputExpression></input>"
				 "<input label=\"Risk\"><inputExpression typeRef=\"string\"><text>Risk</text></inputExpression></input>");
	crm_buf_puts(&b, outputs);
	for (char *rule = strtok_r(copy, ";", &save); rule; rule = strtok_r(NULL, ";", &save))
	{
		char	   *arrow = strstr(rule, "=>");
		char	   *hash = strchr(rule, '#');
		char	   *bar;

		if (hash)
			*hash = '\0';
		*arrow = '\0';
		bar = strchr(rule, '|');
		*bar = '\0';
		crm_buf_puts(&b, "<rule>");
		put_cell(&b, "inputEntry", rule);
		put_cell(&b, "inputEntry", bar + 1);
		for (char *o = arrow + 2; o;)
		{
			char	   *next = strchr(o, '|');

			if (next)
				*next++ = '\0';
			put_cell(&b, "outputEntry", o);
			o = next;
		}
		if (hash)
			put_cell(&b, "annotationEntry", hash + 1);
		crm_buf_puts(&b, "</rule>");
	}
	crm_buf_puts(&b, "</decisionTable></decision></definitions>");
	crm_free(copy);
	return b.data;
}

DmnProgram *
tdmn_compile(const char *xml, CrmError *err)
{
	DmnModel   *m = dmn_read_xml(xml, strlen(xml), err);
	DmnProgram *p;

	if (m == NULL)
		return NULL;
	p = dmn_compile(m, err);
	dmn_model_free(m);
	return p;
}

const char *
tdmn_render(const FeelValue *v)
{
	CrmBuf		b;

	crm_buf_init(&b);
	feel_value_repr(v, &b);
	snprintf(render_buf, sizeof(render_buf), "%s", b.data);
	crm_buf_free(&b);
	return render_buf;
}

const char *
tdmn_eval(DmnProgram *p, const char *name, const char *age, const char *risk)
{
	FeelValue  *in = feel_context_new();
	CrmError	err;
	FeelValue  *r;

	if (age)
		feel_context_put(in, "Age", 3, feel_number_from_text(age, &err));
	if (risk)
		feel_context_put(in, "Risk", 4, feel_string(risk, strlen(risk)));
	r = dmn_evaluate(p, dmn_find_decision(p, name), in, NULL, 0, NULL, &err);
	feel_value_free(in);
	if (r == NULL)
	{
		snprintf(render_buf, sizeof(render_buf), "ERROR %d: %s", err.code, err.message);
		return render_buf;
	}
	tdmn_render(r);
	feel_value_free(r);
	return render_buf;
}
