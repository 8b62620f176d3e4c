/*
 * dmn_compile.c - turns a DmnModel into a DmnProgram: names become slots,
 * every FEEL cell is parsed once, the requirement graph is ordered and
 * checked for cycles.
 */
#include <stdio.h>
#include <string.h>

#include "dmn_internal.h"

typedef struct Compiler
{
	DmnProgram *p;
	const DmnModel *m;
	CrmError   *err;
	FeelScope	scope;
} Compiler;

static char *
pstr(DmnProgram *p, const char *s)
{
	return s ? crm_arena_strdup(&p->arena, s, strlen(s)) : NULL;
}

/* ---- names ---- */

static int
find_global(DmnProgram *p, const char *name, size_t len)
{
	for (int i = 0; i < p->nglobals; i++)
	{
		if (feel_name_equal_norm(name, len, p->globals[i].name, p->globals[i].len))
			return i;
	}
	return -1;
}

static bool
add_global(Compiler *c, const char *name, const char *what)
{
	DmnProgram *p = c->p;

	if (name == NULL || name[0] == '\0')
	{
		crm_fail(c->err, CRM_ERR_INVALID, 0, "%s without a name", what);
		crm_error_hint(c->err, "Give every input data and decision a name.");
		return false;
	}
	if (find_global(p, name, strlen(name)) >= 0)
	{
		crm_fail(c->err, CRM_ERR_INVALID, 0, "%s name \"%.80s\" is used twice in the model", what, name);
		crm_error_hint(c->err, "Give every input data and decision a distinct name.");
		return false;
	}
	p->globals[p->nglobals].name = pstr(p, name);
	p->globals[p->nglobals].len = strlen(name);
	p->globals[p->nglobals].slot = p->nglobals;
	p->nglobals++;
	return true;
}

/* An input expression that is a plain (dotted) name nobody defines becomes an implicit input. */
static void
implicit_input(Compiler *c, const char *expr)
{
	size_t		len = 0;

	if (expr == NULL)
		return;
	while (expr[len] && expr[len] != '.')
	{
		char		ch = expr[len];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '_' || ch == ' ' || (unsigned char) ch >= 0x80))
			return;
		len++;
	}
	while (len > 0 && expr[len - 1] == ' ')
		len--;
	if (len == 0 || (expr[0] >= '0' && expr[0] <= '9') || find_global(c->p, expr, len) >= 0 ||
		feel_builtin_find(expr, len) >= 0)
		return;
	{
		static const char *const kw[] = {"true", "false", "null", "not", "if", "for", "some", "every"};

		for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
			if (strlen(kw[i]) == len && memcmp(expr, kw[i], len) == 0)
				return;
	}
	c->p->globals[c->p->nglobals].name = crm_arena_strdup(&c->p->arena, expr, len);
	c->p->globals[c->p->nglobals].len = len;
	c->p->globals[c->p->nglobals].slot = c->p->nglobals;
	c->p->nglobals++;
}

static int
count_fields(const DmnItemDef *items, int n)
{
	int			k = 0;

	for (int i = 0; i < n; i++)
		k += items[i].ncomponents + count_fields(items[i].components, items[i].ncomponents);
	return k;
}

static void
collect_fields(DmnProgram *p, const DmnItemDef *items, int n, const char **names, size_t *lens)
{
	for (int i = 0; i < n; i++)
	{
		for (int k = 0; k < items[i].ncomponents; k++)
		{
			if (items[i].components[k].name == NULL)
				continue;
			names[p->lex_fields.n] = items[i].components[k].name;
			lens[p->lex_fields.n++] = strlen(items[i].components[k].name);
		}
		collect_fields(p, items[i].components, items[i].ncomponents, names, lens);
	}
}

static bool
build_names(Compiler *c)
{
	DmnProgram *p = c->p;
	const DmnModel *m = c->m;
	int			cap = m->ninputs + m->ndecisions + 1;
	const char **names;
	size_t	   *lens;
	int			nf;

	for (int d = 0; d < m->ndecisions; d++)
		cap += m->decisions[d].kind == DMN_EXPR_DECISION_TABLE ? m->decisions[d].table.ninputs : 0;
	p->globals = crm_arena_alloc(&p->arena, sizeof(FeelNameDef) * cap);
	for (int i = 0; i < m->ninputs; i++)
		if (!add_global(c, m->inputs[i].name, "input data"))
			return false;
	for (int d = 0; d < m->ndecisions; d++)
		if (!add_global(c, m->decisions[d].name, "decision"))
			return false;
	for (int d = 0; d < m->ndecisions; d++)
	{
		for (int i = 0; m->decisions[d].kind == DMN_EXPR_DECISION_TABLE && i < m->decisions[d].table.ninputs; i++)
			implicit_input(c, m->decisions[d].table.inputs[i].expr);
	}
	names = crm_arena_alloc(&p->arena, sizeof(char *) * p->nglobals);
	lens = crm_arena_alloc(&p->arena, sizeof(size_t) * p->nglobals);
	for (int i = 0; i < p->nglobals; i++)
	{
		names[i] = p->globals[i].name;
		lens[i] = p->globals[i].len;
	}
	p->lex_globals.names = names;
	p->lex_globals.lens = lens;
	p->lex_globals.n = p->nglobals;
	nf = count_fields(p->items, p->nitems);
	names = crm_arena_alloc(&p->arena, sizeof(char *) * (nf + 1));
	lens = crm_arena_alloc(&p->arena, sizeof(size_t) * (nf + 1));
	collect_fields(p, p->items, p->nitems, names, lens);
	p->lex_fields.names = names;
	p->lex_fields.lens = lens;
	return true;
}

/* ---- FEEL cells ---- */

static bool
cell_error(Compiler *c, const DmnCDecision *d, int rule, const char *column, const char *text)
{
	char		msg[CRM_MSG_LEN];
	char		where[CRM_MSG_LEN];

	snprintf(msg, sizeof(msg), "%s", c->err->message);
	if (rule > 0)
		snprintf(where, sizeof(where), "decision \"%.60s\", rule %d, %s", d->name, rule, column);
	else
		snprintf(where, sizeof(where), "decision \"%.60s\", %s", d->name, column);
	snprintf(c->err->message, sizeof(c->err->message), "%.150s: %.100s", where, msg);
	snprintf(c->err->detail, sizeof(c->err->detail), "The cell text is: %.200s", text);
	if (c->err->hint[0] == '\0')
		snprintf(c->err->hint, sizeof(c->err->hint), c->err->position > 0
				 ? "Fix the FEEL text at character %d of the cell." : "Fix the FEEL text of the cell.",
				 c->err->position);
	return false;
}

static FeelNode *
parse_cell(Compiler *c, const DmnCDecision *d, const char *text, bool tests, int rule, const char *column)
{
	FeelNode   *n;

	c->scope.next_local = c->p->input_slot + 1;
	if (text == NULL)
		text = tests ? "-" : "null";	/* an empty cell */
	if (tests)
	{
		const char *s = text;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			return feel_parse_tests("-", &c->p->arena, &c->scope, c->err);
	}
	n = tests ? feel_parse_tests(text, &c->p->arena, &c->scope, c->err)
		: feel_parse_expr(text, &c->p->arena, &c->scope, c->err);
	if (n == NULL)
		cell_error(c, d, rule, column, text);
	return n;
}

static const char *
column_name(Compiler *c, const char *name, const char *label, const char *fallback, int i)
{
	char		buf[64];

	if (name)
		return pstr(c->p, name);
	if (label)
		return pstr(c->p, label);
	if (fallback)
		return pstr(c->p, fallback);
	snprintf(buf, sizeof(buf), "output %d", i + 1);
	return pstr(c->p, buf);
}

static bool
compile_priorities(Compiler *c, DmnCDecision *d, DmnCOutput *o, const char *text, const char *col)
{
	FeelNode   *n;

	if (text == NULL)
		return true;
	n = parse_cell(c, d, text, true, 0, col);
	if (n == NULL)
		return false;
	o->npriorities = n->kind == FU_LIST ? n->nkids : 1;
	o->priorities = crm_arena_alloc(&c->p->arena, sizeof(FeelValue) * o->npriorities);
	for (int i = 0; i < o->npriorities; i++)
	{
		FeelNode   *t = n->kind == FU_LIST ? n->kids[i] : n;

		if (t->kind != FU_EXPR || t->kids[0]->kind != FN_CONST)
		{
			crm_fail(c->err, CRM_ERR_INVALID, t->pos, "output values must be a list of constants");
			return cell_error(c, d, 0, col, text);
		}
		o->priorities[i] = t->kids[0]->val;
	}
	return true;
}

static bool
compile_clauses(Compiler *c, DmnCDecision *d, const DmnDecisionTable *t)
{
	char		col[CRM_MSG_LEN];

	d->inputs = crm_arena_alloc(&c->p->arena, sizeof(DmnCInput) * (t->ninputs + 1));
	d->outputs = crm_arena_alloc(&c->p->arena, sizeof(DmnCOutput) * t->noutputs);
	for (int i = 0; i < t->ninputs; i++)
	{
		DmnCInput  *in = &d->inputs[i];

		in->name = column_name(c, NULL, t->inputs[i].label, t->inputs[i].expr, i);
		in->type = dmn_resolve_type(c->p, t->inputs[i].type_ref);
		snprintf(col, sizeof(col), "input \"%.60s\" expression", in->name);
		if (t->inputs[i].expr == NULL || t->inputs[i].expr[0] == '\0')
		{
			crm_fail(c->err, CRM_ERR_INVALID, 0, "decision \"%.60s\": input %d has no expression", d->name, i + 1);
			crm_error_hint(c->err, "Give every decision table input an expression, e.g. the input data name.");
			return false;
		}
		if ((in->expr = parse_cell(c, d, t->inputs[i].expr, false, 0, col)) == NULL)
			return false;
	}
	for (int o = 0; o < t->noutputs; o++)
	{
		DmnCOutput *out = &d->outputs[o];

		memset(out, 0, sizeof(*out));
		out->name = column_name(c, t->outputs[o].name, t->noutputs > 1 ? t->outputs[o].label : NULL,
								NULL, o);
		snprintf(col, sizeof(col), "output \"%.60s\" values", out->name);
		if (!compile_priorities(c, d, out, t->outputs[o].output_values, col))
			return false;
		snprintf(col, sizeof(col), "output \"%.60s\" default", out->name);
		if (t->outputs[o].default_output &&
			(out->default_expr = parse_cell(c, d, t->outputs[o].default_output, false, 0, col)) == NULL)
			return false;
	}
	return true;
}

static bool
compile_rules(Compiler *c, DmnCDecision *d, const DmnDecisionTable *t)
{
	char		col[CRM_MSG_LEN];

	d->rules = crm_arena_alloc(&c->p->arena, sizeof(DmnCRule) * (t->nrules + 1));
	for (int r = 0; r < t->nrules; r++)
	{
		DmnCRule   *rule = &d->rules[r];

		rule->tests = crm_arena_alloc(&c->p->arena, sizeof(FeelNode *) * (t->ninputs + 1));
		rule->outputs = crm_arena_alloc(&c->p->arena, sizeof(FeelNode *) * t->noutputs);
		for (int i = 0; i < t->ninputs; i++)
		{
			snprintf(col, sizeof(col), "input \"%.60s\"", d->inputs[i].name);
			rule->tests[i] = parse_cell(c, d, t->rules[r].input_entries[i], true, r + 1, col);
			if (rule->tests[i] == NULL)
				return false;
			if (rule->tests[i]->kind == FU_ANY)
				rule->tests[i] = NULL;
		}
		dmn_build_checks(&c->p->arena, rule, t->ninputs);
		for (int o = 0; o < t->noutputs; o++)
		{
			const char *txt = t->rules[r].output_entries[o];

			snprintf(col, sizeof(col), "output \"%.60s\"", d->outputs[o].name);
			rule->outputs[o] = parse_cell(c, d, txt && txt[0] ? txt : "null", false, r + 1, col);
			if (rule->outputs[o] == NULL)
				return false;
		}
	}
	return true;
}

static bool
compile_table(Compiler *c, DmnCDecision *d, const DmnDecisionTable *t)
{
	if (!compile_clauses(c, d, t) || !compile_rules(c, d, t))
		return false;
	dmn_share_checks(d->rules, d->nrules, &d->nmemo);
	d->index = dmn_build_index(&c->p->arena, d);
	d->int_outputs = dmn_int_outputs(&c->p->arena, d);
	if (c->p->max_memo < d->nmemo)
		c->p->max_memo = d->nmemo;
	return true;
}

static bool
compile_decision(Compiler *c, DmnCDecision *d, const DmnDecision *src)
{
	const DmnDecisionTable *t = &src->table;

	d->kind = src->kind;
	d->type = dmn_resolve_type(c->p, src->type_ref);
	if (src->kind == DMN_EXPR_LITERAL)
		return (d->literal = parse_cell(c, d, src->literal ? src->literal : "null", false, 0,
										"literal expression")) != NULL;
	d->hit_policy = t->hit_policy;
	d->aggregation = t->aggregation;
	d->ninputs = t->ninputs;
	d->noutputs = t->noutputs;
	d->nrules = t->nrules;
	if (t->noutputs < 1)
	{
		crm_fail(c->err, CRM_ERR_INVALID, 0, "decision \"%.60s\": decision table has no output", d->name);
		return false;
	}
	if (t->aggregation != DMN_AGG_NONE && t->noutputs != 1)
	{
		crm_fail(c->err, CRM_ERR_INVALID, 0, "decision \"%.60s\": COLLECT with an aggregation needs exactly one output",
				 d->name);
		crm_error_hint(c->err, "Use COLLECT without aggregation, or split the table.");
		return false;
	}
	if (c->p->max_inputs < t->ninputs)
		c->p->max_inputs = t->ninputs;
	if (c->p->max_rules < t->nrules)
		c->p->max_rules = t->nrules;
	return compile_table(c, d, t);
}

DmnProgram *
dmn_compile(const DmnModel *model, CrmError *err)
{
	Compiler	c;
	DmnProgram *p = crm_alloc0(sizeof(DmnProgram));

	crm_error_clear(err);
	crm_arena_init(&p->arena, 32768);
	crm_arena_init(&p->eval_arena, 8192);
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.m = model;
	c.err = err;
	p->nitems = model->nitems;
	p->items = dmn_copy_items(&p->arena, model->items, model->nitems);
	if (!build_names(&c))
		goto fail;
	p->input_slot = p->nglobals;
	c.scope.globals = p->globals;
	c.scope.nglobals = p->nglobals;
	c.scope.lex_globals = &p->lex_globals;
	c.scope.lex_fields = &p->lex_fields;
	c.scope.input_slot = p->input_slot;
	c.scope.max_slot = p->input_slot + 1;
	p->ninputs = p->nglobals - model->ndecisions;
	p->inputs = crm_arena_alloc(&p->arena, sizeof(DmnCInputData) * (p->ninputs + 1));
	for (int i = 0, k = 0; i < p->nglobals; i++)
	{
		if (i >= model->ninputs && i < model->ninputs + model->ndecisions)
			continue;
		p->inputs[k].name = p->globals[i].name;
		{
			char		what[160];

			snprintf(what, sizeof(what), "input \"%.120s\"", p->globals[i].name);
			p->inputs[k].what = pstr(p, what);
		}
		p->inputs[k].slot = i;
		p->inputs[k].type = dmn_resolve_type(p, i < model->ninputs ? model->inputs[i].type_ref : NULL);
		k++;
	}
	p->ndecisions = model->ndecisions;
	p->decisions = crm_arena_alloc(&p->arena, sizeof(DmnCDecision) * (p->ndecisions + 1));
	memset(p->decisions, 0, sizeof(DmnCDecision) * (p->ndecisions + 1));
	for (int d = 0; d < p->ndecisions; d++)
	{
		p->decisions[d].name = pstr(p, model->decisions[d].name);
		p->decisions[d].id = pstr(p, model->decisions[d].id);
		p->decisions[d].slot = model->ninputs + d;
	}
	for (int d = 0; d < p->ndecisions; d++)
		if (!compile_decision(&c, &p->decisions[d], &model->decisions[d]))
			goto fail;
	if (!dmn_order_decisions(p, model, err))
		goto fail;
	p->nslots = c.scope.max_slot + 1;
	p->slots = crm_arena_alloc(&p->arena, sizeof(FeelValue) * p->nslots);
	p->inbuf = crm_arena_alloc(&p->arena, sizeof(FeelValue) * (p->max_inputs + 1));
	p->hits = crm_arena_alloc(&p->arena, sizeof(int) * (p->max_rules + 1));
	p->outs = crm_arena_alloc(&p->arena, sizeof(FeelValue) * (p->max_rules + 1));
	p->memo = crm_arena_alloc(&p->arena, p->max_memo + 1);
	p->cand = crm_arena_alloc(&p->arena, sizeof(uint64_t) * (p->max_rules / 64 + 1));
	p->colmask = crm_arena_alloc(&p->arena, sizeof(uint64_t) * (p->max_rules / 64 + 1));
	return p;
fail:
	dmn_program_free(p);
	return NULL;
}

void
dmn_program_free(DmnProgram *program)
{
	if (program == NULL)
		return;
	crm_arena_free(&program->eval_arena);
	crm_arena_free(&program->arena);
	crm_free(program);
}

int
dmn_find_decision(const DmnProgram *program, const char *name)
{
	for (int d = 0; d < program->ndecisions; d++)
		if (strcmp(program->decisions[d].name, name) == 0)
			return d;
	for (int d = 0; d < program->ndecisions; d++)
		if (program->decisions[d].id && strcmp(program->decisions[d].id, name) == 0)
			return d;
	return -1;
}

int
dmn_program_ninputs(const DmnProgram *program)
{
	return program->ninputs;
}

const char *
dmn_program_input_name(const DmnProgram *program, int i)
{
	return i >= 0 && i < program->ninputs ? program->inputs[i].name : NULL;
}
