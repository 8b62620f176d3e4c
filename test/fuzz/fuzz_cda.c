/*
 * fuzz_cda.c - the CDA reader never crashes, leaks or reads out of bounds, on any input; what it
 * extracts is consistent (a days supply always has a source and a note, dates are valid).
 */
#include "fuzz_common.h"
#include "cda.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CdaReader	reader;
	CdaResult	res;
	CrmError	err;

	fuzz_init();
	memset(&reader, 0, sizeof(reader));
	cda_result_init(&res);
	if (cda_read(&reader, (const char *) data, size, &res, &err))
	{
		for (int i = 0; i < res.nitems; i++)
		{
			const CdaItem *it = &res.items[i];

			if ((it->days_supply > 0) != (it->days_source != CDA_DS_NONE))
				abort();
			if (it->kind == CDA_MEDICATION && it->days_note == NULL)
				abort();
			if (it->days_supply > 3650)
				abort();
			if (it->start_date != CDA_NO_DATE && it->start_date < -800000)
				abort();
		}
	}
	else if (err.code == CRM_OK || err.message[0] == '\0')
		abort();
	cda_reader_release(&reader);
	cda_result_free(&res);
	return 0;
}
