/*
 * rebate.h - tiered rebate maths on integers (no postgres.h).
 *
 * Units:
 *   qualifying values (what selects a tier: net purchases, quantity, growth
 *   percent, promotion achievement) and tier bounds are held at scale 4
 *   (1/10000 of the unit);
 *   measured values (what a rate is applied to: net purchases in yuan or a
 *   quantity) are held at scale 2 (fen, or 1/100 unit);
 *   amounts are int64 fen.
 *
 * Rounding: everything is computed exactly in 128-bit integers and rounded
 * half away from zero exactly once per result (see crm_rebate_compute).
 */
#ifndef CRM_REBATE_H
#define CRM_REBATE_H

#include "crm_core.h"
#include "money.h"

#define CRM_TIERS_MAX 100
#define CRM_TIER_RATE_MAX_SCALE 10
#define CRM_TIER_BOUND_SCALE 4
#define CRM_REBATE_VALUE_LIMIT INT64_C(1000000000000000000)	/* |value| < 10^18 scaled */

typedef struct CrmTier
{
	int64_t		min;			/* scale 4, inclusive */
	int64_t		max;			/* scale 4, exclusive; valid when has_max */
	bool		has_max;
	bool		has_rate;		/* rate, or else a fixed amount */
	CrmDec		rate;			/* per unit of measured value, scale <= 10 */
	int64_t		amount;			/* fen, when !has_rate */
} CrmTier;

typedef struct CrmTiers
{
	int			ntiers;
	int			rate_scale;		/* largest scale among the rates */
	CrmTier    *tiers;
} CrmTiers;

typedef enum CrmRebateMode
{
	CRM_REBATE_RETROACTIVE,		/* whole volume at the rate of the tier reached */
	CRM_REBATE_PROGRESSIVE		/* each band of the volume at its own rate */
} CrmRebateMode;

typedef struct CrmRebateResult
{
	int			tier;			/* 0-based index of the tier reached, -1 when none */
	int64_t		tier_amount;	/* fen: the tier maths before multiplier and cap */
	int64_t		gross;			/* fen: after multiplier and payout cap */
	bool		capped;			/* the payout cap cut the gross */
} CrmRebateResult;

/* Parses a JSON array of tiers: [{"min": 5000, "max": 20000, "rate": 0.02}, ...]. */
extern bool crm_tiers_parse(const char *json, size_t len, CrmTiers *out, CrmError *err);
extern void crm_tiers_free(CrmTiers *tiers);
extern bool crm_rebate_mode_parse(const char *s, CrmRebateMode *mode, CrmError *err);

/* Index of the last tier whose min <= value (scale 4), or -1. */
extern int	crm_tiers_find(const CrmTiers *tiers, int64_t value);

/*
 * One rebate: tier selected by qualifying (scale 4), rate applied to measured
 * (scale 2), times multiplier, cut at cap (fen) when has_cap.
 */
extern bool crm_rebate_compute(const CrmTiers *tiers, CrmRebateMode mode,
							   int64_t qualifying, int64_t measured, CrmDec multiplier,
							   bool has_cap, int64_t cap, CrmRebateResult *res, CrmError *err);

/* Converts a decimal to a fixed scale, rounding half away from zero once. */
extern bool crm_dec_to_scale(CrmDec d, int scale, int64_t *out, CrmError *err);


/* What a program measures. */
typedef enum CrmRebateBasis
{
	CRM_BASIS_NET_AMOUNT,		/* purchases - returns */
	CRM_BASIS_QUANTITY,			/* units purchased - returned; rates per unit */
	CRM_BASIS_GROWTH			/* tier by growth percent over a reference; rate on net amount */
} CrmRebateBasis;

/* One dealer's inputs to a run line; money in fen, quantities at scale 2. */
typedef struct CrmLineInput
{
	CrmRebateBasis basis;
	bool		has_cap_measured;
	int64_t		cap_measured;	/* scale 2 */
	bool		has_cap_payout;
	int64_t		cap_payout;		/* fen */
	int64_t		purchases;
	int64_t		returns;
	int64_t		net_quantity;	/* scale 2 */
	bool		has_reference;
	int64_t		reference;		/* net purchases of the reference period */
	bool		has_target;
	int64_t		target;
	int64_t		achieved;
	int64_t		settled;
} CrmLineInput;

typedef struct CrmLineResult
{
	int64_t		measured;		/* scale 2, after cap_measured */
	bool		measured_capped;
	bool		has_qualifying;	/* false: growth without a positive reference */
	int64_t		qualifying;		/* scale 4 */
	bool		has_achievement;
	int64_t		achievement;	/* scale 4: achieved / target, rounded */
	CrmDec		multiplier;
	CrmRebateResult res;
	int64_t		payable;		/* gross - settled */
} CrmLineResult;

extern bool crm_rebate_basis_parse(const char *s, CrmRebateBasis *basis, CrmError *err);
extern const char *crm_rebate_basis_name(CrmRebateBasis basis);

/* The factor of the band an achievement (scale 4) reaches: its rate, 0 below the first band. */
extern bool crm_rebate_band_factor(const CrmTiers *bands, int64_t achievement, CrmDec *factor, CrmError *err);

/*
 * A whole line: measured value (cut at cap_measured), qualifying value (the measured value, or
 * growth percent rounded to 2 decimals), achievement rounded to 4 decimals and its band factor
 * (bands may be NULL: factor 1; no target: factor 1), the rebate, payable = gross - settled.
 */
extern bool crm_rebate_line_compute(const CrmLineInput *in, const CrmTiers *tiers, CrmRebateMode mode,
									const CrmTiers *bands, CrmLineResult *out, CrmError *err);

#endif							/* CRM_REBATE_H */
