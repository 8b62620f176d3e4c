/*
 * fuzz_dmn.c - the DMN reader never crashes or leaks on arbitrary bytes;
 * whatever it accepts writes back to a document that reads back equal, and
 * compiles (or fails cleanly) and evaluates every decision with empty inputs.
 */
#include "fuzz_common.h"
#include "dmn_engine.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmError	err;
	DmnModel   *m;
	DmnModel   *back;
	DmnProgram *p;
	char	   *xml;
	int			nd;

	fuzz_init();
	m = dmn_read_xml((const char *) data, size, &err);
	if (m == NULL)
	{
		if (err.code == CRM_OK)
			abort();
		return 0;
	}
	xml = dmn_write_xml(m);
	back = dmn_read_xml(xml, strlen(xml), &err);
	if (back == NULL || !dmn_model_equal(m, back))
		abort();
	dmn_model_free(back);
	crm_free(xml);
	p = dmn_compile(m, &err);
	nd = m->ndecisions;
	dmn_model_free(m);			/* the program must not depend on the model */
	if (p != NULL)
	{
		FeelValue  *in = feel_context_new();

		for (int d = 0; d < nd; d++)
		{
			int			matched[4];
			int			n;
			FeelValue  *r = dmn_evaluate(p, d, in, matched, 4, &n, &err);

			feel_value_free(r);
		}
		feel_value_free(in);
		dmn_program_free(p);
	}
	else if (err.code == CRM_OK)
		abort();
	return 0;
}
