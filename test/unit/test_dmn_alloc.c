/*
 * test_dmn_alloc.c - evaluation allocates nothing per rule: a compiled
 * 40-rule table with scalar outputs costs exactly one allocation per
 * evaluation (the result), however many rules match.
 */
#include <stdlib.h>

#include "test_dmn_util.h"
#include "unit.h"

static long allocations = 0;

static void *
counting_alloc(size_t n)
{
	void	   *p = malloc(n);

	allocations++;
	if (p == NULL)
		abort();
	return p;
}

static void *
counting_realloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	allocations++;
	if (q == NULL)
		abort();
	return q;
}

static void *
plain_alloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

static void *
plain_realloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL)
		abort();
	return q;
}

UNIT_TEST(dmn_evaluation_allocates_only_the_result)
{
	CrmBuf		rules;
	char	   *xml;
	CrmError	err;
	DmnProgram *p;
	FeelValue  *in[3];
	long		per_eval[3];
	const char *policies[3] = {"COLLECT", "FIRST", "UNIQUE"};

	crm_buf_init(&rules);
	for (int r = 0; r < 40; r++)
		crm_buf_printf(&rules, "[%d..%d)|\"r%d\", \"x\", \"y\"=>%d;", r, r + 100, r, r);
	rules.data[rules.len - 1] = '\0';
	for (int i = 0; i < 3; i++)
	{
		in[i] = feel_context_new();
		feel_context_put(in[i], "Age", 3, feel_number_from_text(i == 1 ? "5" : "50", &err));
		feel_context_put(in[i], "Risk", 4, feel_string(i == 2 ? "r3" : "x", i == 2 ? 2 : 1));
	}
	for (int k = 0; k < 3; k++)
	{
		xml = tdmn_table(policies[k], k == 0 ? "SUM" : NULL, "<output name=\"P\" typeRef=\"number\"/>", rules.data);
		p = tdmn_compile(xml, &err);
		crm_free(xml);
		CHECK(p != NULL);
		crm_set_allocator(counting_alloc, counting_realloc, free);
		for (int i = 0; i < 3; i++)
		{
			FeelValue  *r;
			long		before = allocations;

			r = dmn_evaluate(p, 0, in[k == 2 ? 2 : i], NULL, 0, NULL, &err);
			per_eval[i] = allocations - before;
			feel_value_free(r);
		}
		crm_set_allocator(plain_alloc, plain_realloc, free);
		dmn_program_free(p);
		CHECK_INT_EQ(per_eval[0], 1);
		CHECK_INT_EQ(per_eval[1], 1);
		CHECK_INT_EQ(per_eval[2], 1);
	}
	for (int i = 0; i < 3; i++)
		feel_value_free(in[i]);
	crm_buf_free(&rules);
}
