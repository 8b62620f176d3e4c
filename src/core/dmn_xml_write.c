/*
 * dmn_xml_write.c - writes a DmnModel as a DMN 1.5 document.  Everything the
 * reader keeps is written, so that reading the output gives the same model.
 */
#include <string.h>

#include "dmn_model.h"

#define DMN15_NS "https://www.omg.org/spec/DMN/20230324/MODEL/"

static void
esc(CrmBuf *b, const char *s, bool attr)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				crm_buf_puts(b, "&amp;");
				break;
			case '<':
				crm_buf_puts(b, "&lt;");
				break;
			case '>':
				crm_buf_puts(b, "&gt;");
				break;
			case '"':
				crm_buf_puts(b, attr ? "&quot;" : "\"");
				break;
			case '\n':
				crm_buf_puts(b, attr ? "&#10;" : "\n");
				break;
			case '\r':
				crm_buf_puts(b, "&#13;");
				break;
			case '\t':
				crm_buf_puts(b, attr ? "&#9;" : "\t");
				break;
			default:
				crm_buf_putc(b, *s);
		}
	}
}

static void
put_attr(CrmBuf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	crm_buf_printf(b, " %s=\"", name);
	esc(b, value, true);
	crm_buf_putc(b, '"');
}

static void
indent(CrmBuf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		crm_buf_puts(b, "  ");
}

/* <el><text>...</text></el> */
static void
put_text_el(CrmBuf *b, int depth, const char *el, const char *attr_name, const char *attr_value,
			const char *text)
{
	if (text == NULL)
		return;
	indent(b, depth);
	crm_buf_printf(b, "<%s", el);
	put_attr(b, attr_name, attr_value);
	crm_buf_puts(b, "><text>");
	esc(b, text, false);
	crm_buf_printf(b, "</text></%s>\n", el);
}

static void
write_item(CrmBuf *b, const DmnItemDef *it, int depth, const char *el)
{
	indent(b, depth);
	crm_buf_printf(b, "<%s", el);
	put_attr(b, "name", it->name);
	if (it->is_collection)
		put_attr(b, "isCollection", "true");
	crm_buf_puts(b, ">\n");
	if (it->type_ref)
	{
		indent(b, depth + 1);
		crm_buf_puts(b, "<typeRef>");
		esc(b, it->type_ref, false);
		crm_buf_puts(b, "</typeRef>\n");
	}
	put_text_el(b, depth + 1, "allowedValues", NULL, NULL, it->allowed_values);
	for (int i = 0; i < it->ncomponents; i++)
		write_item(b, &it->components[i], depth + 1, "itemComponent");
	indent(b, depth);
	crm_buf_printf(b, "</%s>\n", el);
}

static void
write_variable(CrmBuf *b, int depth, const char *name, const char *type_ref)
{
	indent(b, depth);
	crm_buf_puts(b, "<variable");
	put_attr(b, "name", name);
	put_attr(b, "typeRef", type_ref);
	crm_buf_puts(b, "/>\n");
}

static void
write_requirement(CrmBuf *b, const char *el, const char *ref)
{
	indent(b, 2);
	crm_buf_printf(b, "<informationRequirement><%s href=\"#", el);
	esc(b, ref, true);
	crm_buf_printf(b, "\"/></informationRequirement>\n");
}

static void
write_clauses(CrmBuf *b, const DmnDecisionTable *t)
{
	for (int i = 0; i < t->ninputs; i++)
	{
		const DmnInputClause *in = &t->inputs[i];

		indent(b, 3);
		crm_buf_puts(b, "<input");
		put_attr(b, "id", in->id);
		put_attr(b, "label", in->label);
		crm_buf_puts(b, ">\n");
		put_text_el(b, 4, "inputExpression", "typeRef", in->type_ref, in->expr ? in->expr : "");
		put_text_el(b, 4, "inputValues", NULL, NULL, in->input_values);
		indent(b, 3);
		crm_buf_puts(b, "</input>\n");
	}
	for (int o = 0; o < t->noutputs; o++)
	{
		const DmnOutputClause *out = &t->outputs[o];

		indent(b, 3);
		crm_buf_puts(b, "<output");
		put_attr(b, "id", out->id);
		put_attr(b, "name", out->name);
		put_attr(b, "label", out->label);
		put_attr(b, "typeRef", out->type_ref);
		crm_buf_puts(b, ">\n");
		put_text_el(b, 4, "outputValues", NULL, NULL, out->output_values);
		put_text_el(b, 4, "defaultOutputEntry", NULL, NULL, out->default_output);
		indent(b, 3);
		crm_buf_puts(b, "</output>\n");
	}
}

static void
write_table(CrmBuf *b, const DmnDecisionTable *t)
{
	static const char *const hp[] = {"UNIQUE", "ANY", "PRIORITY", "FIRST", "RULE ORDER",
	"OUTPUT ORDER", "COLLECT"};
	static const char *const agg[] = {NULL, "SUM", "MIN", "MAX", "COUNT"};
	bool		annotated = false;

	indent(b, 2);
	crm_buf_puts(b, "<decisionTable");
	put_attr(b, "hitPolicy", hp[t->hit_policy]);
	put_attr(b, "aggregation", agg[t->aggregation]);
	crm_buf_puts(b, ">\n");
	write_clauses(b, t);
	for (int r = 0; r < t->nrules; r++)
		annotated |= t->rules[r].annotation != NULL;
	if (annotated)
	{
		indent(b, 3);
		crm_buf_puts(b, "<annotation name=\"Annotation\"/>\n");
	}
	for (int r = 0; r < t->nrules; r++)
	{
		const DmnRule *rule = &t->rules[r];

		indent(b, 3);
		crm_buf_puts(b, "<rule");
		put_attr(b, "id", rule->id);
		crm_buf_puts(b, ">\n");
		for (int i = 0; i < t->ninputs; i++)
			put_text_el(b, 4, "inputEntry", NULL, NULL, rule->input_entries[i] ? rule->input_entries[i] : "");
		for (int o = 0; o < t->noutputs; o++)
			put_text_el(b, 4, "outputEntry", NULL, NULL, rule->output_entries[o] ? rule->output_entries[o] : "");
		put_text_el(b, 4, "annotationEntry", NULL, NULL, rule->annotation);
		indent(b, 3);
		crm_buf_puts(b, "</rule>\n");
	}
	indent(b, 2);
	crm_buf_puts(b, "</decisionTable>\n");
}

static void
write_decision(CrmBuf *b, const DmnDecision *d)
{
	indent(b, 1);
	crm_buf_puts(b, "<decision");
	put_attr(b, "id", d->id);
	put_attr(b, "name", d->name);
	crm_buf_puts(b, ">\n");
	write_variable(b, 2, d->name, d->type_ref);
	for (int i = 0; i < d->nrequired_decisions; i++)
		write_requirement(b, "requiredDecision", d->required_decisions[i]);
	for (int i = 0; i < d->nrequired_inputs; i++)
		write_requirement(b, "requiredInput", d->required_inputs[i]);
	if (d->kind == DMN_EXPR_LITERAL)
		put_text_el(b, 2, "literalExpression", NULL, NULL, d->literal ? d->literal : "");
	else
		write_table(b, &d->table);
	indent(b, 1);
	crm_buf_puts(b, "</decision>\n");
}

char *
dmn_write_xml(const DmnModel *model)
{
	CrmBuf		b;

	crm_buf_init(&b);
	crm_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<definitions xmlns=\"" DMN15_NS "\"");
	put_attr(&b, "name", model->name);
	put_attr(&b, "namespace", model->namespace_uri);
	crm_buf_puts(&b, ">\n");
	for (int i = 0; i < model->nitems; i++)
		write_item(&b, &model->items[i], 1, "itemDefinition");
	for (int i = 0; i < model->ninputs; i++)
	{
		indent(&b, 1);
		crm_buf_puts(&b, "<inputData");
		put_attr(&b, "id", model->inputs[i].id);
		put_attr(&b, "name", model->inputs[i].name);
		crm_buf_puts(&b, ">\n");
		write_variable(&b, 2, model->inputs[i].name, model->inputs[i].type_ref);
		indent(&b, 1);
		crm_buf_puts(&b, "</inputData>\n");
	}
	for (int i = 0; i < model->ndecisions; i++)
		write_decision(&b, &model->decisions[i]);
	crm_buf_puts(&b, "</definitions>\n");
	return b.data;
}
