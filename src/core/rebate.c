/*
 * rebate.c - tier selection and the rebate of one dealer, exactly.
 *
 * The exact value of a rebate is an integer at scale 4 + R + M below the
 * yuan, where R is the largest decimal scale among the tier rates and M the
 * scale of the multiplier: measured values are brought to scale 4 (the scale
 * of tier bounds), times the rate, times the multiplier.  Nothing is rounded
 * on the way; the gross is rounded to the fen once, half away from zero.  The
 * tier amount shown before the multiplier is rounded separately, for display.
 * Overflow of the 128-bit intermediate is an error, never a wrap.
 */
#include "rebate.h"

#include <string.h>

typedef __int128 i128;

static i128
pow10_i128(int k)
{
	i128		p = 1;

	while (k-- > 0)
		p *= 10;
	return p;
}

static bool
overflow(CrmError *err)
{
	crm_fail(err, CRM_ERR_RANGE, 0, "rebate amount is out of range");
	crm_error_hint(err, "Measured values are limited to 10^12 yuan, rates to 1000 and multipliers to 1000.");
	return false;
}

bool
crm_dec_to_scale(CrmDec d, int scale, int64_t *out, CrmError *err)
{
	i128		x = d.v;

	if (d.scale <= scale)
		x *= pow10_i128(scale - d.scale);
	else
		x = crm_div_round(x, pow10_i128(d.scale - scale));
	if (x >= (i128) CRM_REBATE_VALUE_LIMIT || x <= -(i128) CRM_REBATE_VALUE_LIMIT)
		return crm_fail(err, CRM_ERR_RANGE, 0, "value is out of range");
	*out = (int64_t) x;
	return true;
}

int
crm_tiers_find(const CrmTiers *tiers, int64_t value)
{
	int			found = -1;

	for (int i = 0; i < tiers->ntiers && tiers->tiers[i].min <= value; i++)
		found = i;
	return found;
}

/* Rate of a tier at the common scale R of the table. */
static i128
tier_rate_norm(const CrmTiers *tiers, const CrmTier *t)
{
	return (i128) t->rate.v * pow10_i128(tiers->rate_scale - t->rate.scale);
}

/* A fixed amount (fen) at scale 4 + R. */
static i128
tier_fixed(const CrmTiers *tiers, const CrmTier *t)
{
	return (i128) t->amount * pow10_i128(2 + tiers->rate_scale);
}

static bool
value_retroactive(const CrmTiers *tiers, int tier, int64_t measured4, i128 *exact, CrmError *err)
{
	const CrmTier *t = &tiers->tiers[tier];

	if (!t->has_rate)
		*exact = tier_fixed(tiers, t);
	else if (__builtin_mul_overflow((i128) measured4, tier_rate_norm(tiers, t), exact))
		return overflow(err);
	return true;
}

/* Each band [min, max or next min) of the measured value at its own rate; fixed amounts once reached. */
static bool
value_progressive(const CrmTiers *tiers, int64_t measured4, i128 *exact, CrmError *err)
{
	i128		sum = 0;

	for (int i = 0; i < tiers->ntiers; i++)
	{
		const CrmTier *t = &tiers->tiers[i];
		int64_t		upper = t->has_max ? t->max :
			(i + 1 < tiers->ntiers ? tiers->tiers[i + 1].min : INT64_MAX);
		int64_t		top = measured4 < upper ? measured4 : upper;
		i128		part;

		if (measured4 < t->min)
			break;
		if (!t->has_rate)
			part = tier_fixed(tiers, t);
		else if (__builtin_mul_overflow((i128) (top - t->min), tier_rate_norm(tiers, t), &part))
			return overflow(err);
		if (__builtin_add_overflow(sum, part, &sum))
			return overflow(err);
	}
	*exact = sum;
	return true;
}

bool
crm_rebate_compute(const CrmTiers *tiers, CrmRebateMode mode,
				   int64_t qualifying, int64_t measured, CrmDec multiplier,
				   bool has_cap, int64_t cap, CrmRebateResult *res, CrmError *err)
{
	i128		exact = 0;
	i128		scaled;
	i128		gross;
	int			unit_scale = 2 + tiers->rate_scale;	/* exact / 10^unit_scale = fen */

	if (multiplier.v < 0 || (has_cap && cap < 0))
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "rebate multiplier and payout cap must not be negative");
		crm_error_hint(err, "Use a multiplier of 0 to pay nothing.");
		return false;
	}
	if (measured > INT64_C(100000000000000) || measured < -INT64_C(100000000000000))
		return overflow(err);
	res->tier = crm_tiers_find(tiers, qualifying);
	res->capped = false;
	if (mode == CRM_REBATE_PROGRESSIVE)
	{
		if (!value_progressive(tiers, measured * 100, &exact, err))
			return false;
	}
	else if (res->tier >= 0 && !value_retroactive(tiers, res->tier, measured * 100, &exact, err))
		return false;
	if (exact < 0)
		exact = 0;				/* negative volume earns nothing; netting happens outside */
	res->tier_amount = (int64_t) crm_div_round(exact, pow10_i128(unit_scale));
	if (__builtin_mul_overflow(exact, (i128) multiplier.v, &scaled))
		return overflow(err);
	gross = crm_div_round(scaled, pow10_i128(unit_scale + multiplier.scale));
	if (gross > (i128) INT64_MAX)
		return overflow(err);
	res->gross = (int64_t) gross;
	if (has_cap && res->gross > cap)
	{
		res->gross = cap;
		res->capped = true;
	}
	return true;
}

bool
crm_rebate_basis_parse(const char *s, CrmRebateBasis *basis, CrmError *err)
{
	if (strcmp(s, "net_amount") == 0)
		*basis = CRM_BASIS_NET_AMOUNT;
	else if (strcmp(s, "quantity") == 0)
		*basis = CRM_BASIS_QUANTITY;
	else if (strcmp(s, "growth") == 0)
		*basis = CRM_BASIS_GROWTH;
	else
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "unknown rebate basis \"%.40s\"", s);
		crm_error_hint(err, "The basis is net_amount, quantity or growth.");
		return false;
	}
	return true;
}

const char *
crm_rebate_basis_name(CrmRebateBasis basis)
{
	return basis == CRM_BASIS_QUANTITY ? "quantity" : basis == CRM_BASIS_GROWTH ? "growth" : "net_amount";
}

bool
crm_rebate_band_factor(const CrmTiers *bands, int64_t achievement, CrmDec *factor, CrmError *err)
{
	int			i = crm_tiers_find(bands, achievement);

	factor->v = 0;
	factor->scale = 0;
	if (i < 0)
		return true;
	if (!bands->tiers[i].has_rate)
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "multiplier band %d has an amount instead of a rate", i + 1);
		crm_error_hint(err, "Multiplier bands are tiers whose \"rate\" is the factor, e.g. {\"min\": 0.8, \"rate\": 1}.");
		return false;
	}
	*factor = bands->tiers[i].rate;
	return true;
}

/* Growth percent at scale 4, rounded to 2 decimals first (the documented rounding point). */
static int64_t
growth_qualifying(int64_t net, int64_t reference)
{
	return (int64_t) crm_div_round((i128) (net - reference) * 10000, reference) * 100;
}

bool
crm_rebate_line_compute(const CrmLineInput *in, const CrmTiers *tiers, CrmRebateMode mode,
						const CrmTiers *bands, CrmLineResult *c, CrmError *err)
{
	int64_t		net = in->purchases - in->returns;
	CrmDec		one = {1, 0};

	memset(c, 0, sizeof(*c));
	c->measured = in->basis == CRM_BASIS_QUANTITY ? in->net_quantity : net;
	if (in->has_cap_measured && c->measured > in->cap_measured)
	{
		c->measured = in->cap_measured;
		c->measured_capped = true;
	}
	if (c->measured > INT64_C(100000000000000) || c->measured < -INT64_C(100000000000000))
		return overflow(err);
	if (in->basis != CRM_BASIS_GROWTH)
	{
		c->has_qualifying = true;
		c->qualifying = c->measured * 100;
	}
	else if (in->has_reference && in->reference > 0)
	{
		c->has_qualifying = true;
		c->qualifying = growth_qualifying(net, in->reference);
	}
	c->multiplier = one;
	if (bands != NULL && in->has_target && in->target > 0)
	{
		c->has_achievement = true;
		c->achievement = (int64_t) crm_div_round((i128) in->achieved * 10000, in->target);
		if (!crm_rebate_band_factor(bands, c->achievement, &c->multiplier, err))
			return false;
	}
	if (!crm_rebate_compute(tiers, mode, c->has_qualifying ? c->qualifying : -1, c->measured,
							c->multiplier, in->has_cap_payout, in->cap_payout, &c->res, err))
		return false;
	return crm_money_add(c->res.gross, -in->settled, &c->payable, err);
}
