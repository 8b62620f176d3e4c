/*
 * fuzz_dmn_index.c - the decision-table index (equality hashes, threshold
 * ladders, bitsets, candidate pruning) against two slower oracles, on tables
 * and inputs drawn from the fuzz bytes: every rule checked one by one through
 * its flattened checks, and every cell evaluated as the FEEL unary test it
 * was written as.  The three must name the same rules, in rule order.
 *
 * A table has two number inputs and one string input; cells are "-",
 * comparisons, closed/open ranges, constants, lists, not(...) and null, over
 * constants with equal values spelt differently (2.5 and 2.50).
 */
#include <stdio.h>

#include "fuzz_common.h"
#include "dmn_internal.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RULES 90

static const char *const consts[] = {"0", "1", "2.5", "2.50", "3", "-1", "10", "10.0", "100", "0.1", "7", "99.99"};
static const char *const values[] = {"-2", "0", "0.1", "1", "1.0", "2.5", "3", "7", "9.99", "10", "10.00", "50",
"99.99", "100", "101"};
static const char *const strings[] = {"a", "b", "c", "ab"};

#define NCONST ((int) (sizeof(consts) / sizeof(consts[0])))
#define NVALUE ((int) (sizeof(values) / sizeof(values[0])))

typedef struct Bytes
{
	const uint8_t *p;
	size_t		n;
} Bytes;

static int
take(Bytes *b, int mod)
{
	int			v = 0;

	if (b->n > 0)
	{
		v = *b->p;
		b->p++;
		b->n--;
	}
	return v % mod;
}

static void
number_cell(Bytes *b, CrmBuf *x)
{
	const char *c = consts[take(b, NCONST)];
	const char *d = consts[take(b, NCONST)];

	switch (take(b, 12))
	{
		case 0:
		case 1:
			crm_buf_puts(x, "-");
			break;
		case 2:
			crm_buf_printf(x, "&lt; %s", c);
			break;
		case 3:
			crm_buf_printf(x, "&lt;= %s", c);
			break;
		case 4:
			crm_buf_printf(x, "&gt; %s", c);
			break;
		case 5:
			crm_buf_printf(x, "&gt;= %s", c);
			break;
		case 6:
			crm_buf_printf(x, "[%s..%s]", c, d);
			break;
		case 7:
			crm_buf_printf(x, "(%s..%s]", c, d);
			break;
		case 8:
			crm_buf_printf(x, "%s", c);
			break;
		case 9:
			crm_buf_printf(x, "%s, %s", c, d);
			break;
		case 10:
			crm_buf_printf(x, "not(&lt; %s)", c);
			break;
		default:
			crm_buf_puts(x, take(b, 2) ? "null" : "not(null)");
			break;
	}
}

static void
string_cell(Bytes *b, CrmBuf *x)
{
	switch (take(b, 5))
	{
		case 0:
		case 1:
			crm_buf_puts(x, "-");
			break;
		case 2:
			crm_buf_printf(x, "\"%s\"", strings[take(b, 4)]);
			break;
		case 3:
			crm_buf_printf(x, "\"%s\", \"%s\"", strings[take(b, 4)], strings[take(b, 4)]);
			break;
		default:
			crm_buf_printf(x, "not(\"%s\")", strings[take(b, 4)]);
			break;
	}
}

static char *
table_xml(Bytes *b, int nrules)
{
	CrmBuf		x;

	crm_buf_init(&x);
	crm_buf_puts(&x, "<definitions xmlns=\"https://www.omg.org/spec/DMN/20230324/MODEL/\" name=\"f\" namespace=\"urn:f\">"
				 "<inputData id=\"a\" name=\"A\"><variable name=\"A\" typeRef=\"number\"/></inputData>"
				 "<inputData id=\"b\" name=\"B\"><variable name=\"B\" typeRef=\"number\"/></inputData>"
				 "<inputData id=\"s\" name=\"S\"><variable name=\"S\" typeRef=\"string\"/></inputData>"
				 "<decision id=\"d\" name=\"D\">"
				 "<informationRequirement><requiredInput href=\"#a\"/></informationRequirement>"
				 "<informationRequirement><requiredInput href=\"#b\"/></informationRequirement>"
				 "<informationRequirement><requiredInput href=\"#s\"/></informationRequirement>"
				 "<decisionTable hitPolicy=\"COLLECT\">"
				 "<input><inputExpression typeRef=\"number\"><text>A</text></inputExpression></input>"
				 "<input><inputExpression typeRef=\"number\"><text>B</text></inputExpression></input>"
				 "<input><inputExpression typeRef=\"string\"><text>S</text></inputExpression></input>"
				 "<output typeRef=\"number\"/>");
	for (int r = 0; r < nrules; r++)
	{
		crm_buf_puts(&x, "<rule><inputEntry><text>");
		number_cell(b, &x);
		crm_buf_puts(&x, "</text></inputEntry><inputEntry><text>");
		number_cell(b, &x);
		crm_buf_puts(&x, "</text></inputEntry><inputEntry><text>");
		string_cell(b, &x);
		crm_buf_printf(&x, "</text></inputEntry><outputEntry><text>%d</text></outputEntry></rule>", r);
	}
	crm_buf_puts(&x, "</decisionTable></decision></definitions>");
	return x.data;
}

static FeelValue *
number_input(Bytes *b, CrmError *err)
{
	int			i = take(b, NVALUE + 1);

	return i == NVALUE ? feel_null() : feel_number_from_text(values[i], err);
}

/* Rule r matches, cell by cell, by the FEEL unary tests themselves. */
static bool
feel_matches(FeelEnv *env, const DmnCDecision *d, int r, const FeelValue *in)
{
	for (int i = 0; i < d->ninputs; i++)
	{
		if (d->rules[r].tests[i] == NULL)
			continue;
		env->slots[env->in_slot] = in[i];
		if (feel_test(env, d->rules[r].tests[i]) != 1)
			return false;
	}
	return true;
}

static void
check_one(DmnProgram *p, Bytes *b, int nrules)
{
	const DmnCDecision *d = &p->decisions[0];
	FeelValue  *in = feel_context_new();
	int			si = take(b, 5);
	CrmError	err;
	int			matched[MAX_RULES];
	int			n;
	int			k = 0;
	FeelValue  *res;
	FeelEnv		env;

	feel_context_put(in, "A", 1, number_input(b, &err));
	feel_context_put(in, "B", 1, number_input(b, &err));
	feel_context_put(in, "S", 1, si == 4 ? feel_null() : feel_string(strings[si], strlen(strings[si])));
	res = dmn_evaluate(p, 0, in, matched, MAX_RULES, &n, &err);
	if (res == NULL)
		abort();				/* COLLECT over valid inputs cannot fail */
	feel_value_free(res);

	/* p->inbuf still holds this evaluation's input values (numbers inline, strings in `in`) */
	env.slots = p->slots;
	env.arena = &p->eval_arena;
	env.in_slot = p->input_slot;
	env.depth = 0;
	memset(p->memo, -1, d->nmemo + 1);
	for (int r = 0; r < nrules; r++)
	{
		bool		by_checks = dmn_rule_matches(&env, &d->rules[r], p->inbuf, p->memo);
		bool		by_feel = feel_matches(&env, d, r, p->inbuf);

		if (by_checks != by_feel)
			abort();			/* a flattened check disagrees with its FEEL test */
		if (by_checks)
		{
			if (k >= n || matched[k] != r)
				abort();		/* the index missed this rule, or listed another first */
			k++;
		}
	}
	if (k != n)
		abort();				/* the index listed a rule that does not match */
	crm_arena_free(&p->eval_arena);
	feel_value_free(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Bytes		b = {data, size};
	int			nrules = 1 + take(&b, MAX_RULES);
	char	   *xml;
	DmnModel   *m;
	DmnProgram *p;
	CrmError	err;

	fuzz_init();
	xml = table_xml(&b, nrules);
	m = dmn_read_xml(xml, strlen(xml), &err);
	crm_free(xml);
	if (m == NULL)
		abort();				/* every generated table is valid DMN */
	p = dmn_compile(m, &err);
	dmn_model_free(m);
	if (p == NULL)
		abort();
	for (int i = 0; i < 8; i++)
		check_one(p, &b, nrules);
	dmn_program_free(p);
	return 0;
}
