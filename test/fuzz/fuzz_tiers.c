/*
 * fuzz_tiers.c - the tiers parser never crashes; whatever it accepts is
 * sorted without overlaps, and the rebate maths on it is monotone in the
 * basis for retroactive rate-only tables and never negative.
 */
#include "fuzz_common.h"
#include "rebate.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmError	err;
	CrmTiers	t;
	CrmRebateResult r;
	CrmDec		one = {1, 0};
	static const int64_t bases[] = {-100, 0, 1, 99999, 500000, 2000000, 100000000};

	fuzz_init();
	if (!crm_tiers_parse((const char *) data, size, &t, &err))
	{
		if (err.code == CRM_OK || err.message[0] == '\0')
			abort();
		return 0;
	}
	if (t.ntiers < 1 || t.ntiers > CRM_TIERS_MAX)
		abort();
	for (int i = 1; i < t.ntiers; i++)
		if (t.tiers[i].min <= t.tiers[i - 1].min ||
			(t.tiers[i - 1].has_max && t.tiers[i - 1].max != t.tiers[i].min))
			abort();
	for (size_t k = 0; k < sizeof(bases) / sizeof(bases[0]); k++)
	{
		for (int mode = 0; mode < 2; mode++)
		{
			if (!crm_rebate_compute(&t, (CrmRebateMode) mode, bases[k] * 100, bases[k], one, false, 0, &r, &err))
			{
				if (err.code != CRM_ERR_RANGE)
					abort();
				continue;
			}
			if (r.gross < 0 || r.tier >= t.ntiers || r.gross != r.tier_amount)
				abort();
		}
	}
	crm_tiers_free(&t);
	return 0;
}
