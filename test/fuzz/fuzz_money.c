/*
 * fuzz_money.c - the decimal/money parser never crashes, and whatever it
 * accepts formats back to text that parses to the same amount.
 */
#include "fuzz_common.h"
#include "money.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmError	err;
	int64_t		fen;
	int64_t		again;
	char		out[CRM_MONEY_BUFLEN];
	CrmDec		d;

	fuzz_init();
	(void) crm_dec_parse((const char *) data, size, &d, &err);
	if (!crm_money_parse((const char *) data, size, &fen, &err))
		return 0;
	crm_money_format(fen, out);
	if (!crm_money_parse(out, strlen(out), &again, &err) || again != fen)
		abort();
	return 0;
}
