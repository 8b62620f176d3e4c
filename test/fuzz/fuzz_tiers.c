/*
 * fuzz_tiers.c - the tiers parser never crashes; whatever it accepts is
 * sorted without overlaps, and the rebate maths on it (tiers alone, and a
 * whole dealer line using the table also as multiplier bands) never goes
 * negative, respects the payout cap and nets exactly.
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
	/* a whole line with the same table as tiers and as multiplier bands */
	for (int basis = 0; basis < 3; basis++)
	{
		CrmLineInput in = {0};
		CrmLineResult c;

		in.basis = (CrmRebateBasis) basis;
		in.purchases = (int64_t) size * 100003;
		in.returns = (int64_t) (size % 7) * 99991;
		in.net_quantity = (int64_t) size * 37;
		in.has_reference = size % 2 == 0;
		in.reference = (int64_t) size * 50021 - 3;
		in.has_target = true;
		in.target = 1000000;
		in.achieved = (int64_t) size * 7919;
		in.has_cap_payout = size % 3 == 0;
		in.cap_payout = 123456;
		in.settled = 777;
		if (crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, &t, &c, &err) &&
			(c.res.gross < 0 || (in.has_cap_payout && c.res.gross > in.cap_payout) ||
			 c.payable != c.res.gross - in.settled))
			abort();
	}
	crm_tiers_free(&t);
	return 0;
}
