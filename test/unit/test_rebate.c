/*
 * test_rebate.c - unit tests of the tier parser and the rebate maths.
 */
#include "unit.h"
#include "rebate.h"

static const char *SAP = "[{\"min\": 5000, \"rate\": 0.02}, {\"min\": 20000, \"rate\": 0.04}]";

/* Rebate in fen of a money basis given as text, multiplier 1, no cap. */
static int64_t
rebate(const char *tiers_json, const char *basis, CrmRebateMode mode, int *tier)
{
	CrmTiers	t;
	CrmError	err;
	CrmDec		b;
	CrmDec		one = {1, 0};
	int64_t		q;
	int64_t		m;
	CrmRebateResult r;

	if (!crm_tiers_parse(tiers_json, strlen(tiers_json), &t, &err) ||
		!crm_dec_parse(basis, strlen(basis), &b, &err) ||
		!crm_dec_to_scale(b, 4, &q, &err) || !crm_dec_to_scale(b, 2, &m, &err) ||
		!crm_rebate_compute(&t, mode, q, m, one, false, 0, &r, &err))
	{
		printf("  unexpected error: %s\n", err.message);
		return INT64_MIN;
	}
	crm_tiers_free(&t);
	if (tier)
		*tier = r.tier;
	return r.gross;
}

/* The error a tier table raises, or NULL. */
static const char *
tiers_error(const char *json, CrmErrCode *code)
{
	static CrmError err;
	CrmTiers	t;

	if (crm_tiers_parse(json, strlen(json), &t, &err))
	{
		crm_tiers_free(&t);
		return NULL;
	}
	if (code)
		*code = err.code;
	return err.message;
}

UNIT_TEST(rebate_sap_example)
{
	int			tier;

	CHECK_INT_EQ(rebate(SAP, "7000", CRM_REBATE_RETROACTIVE, &tier), 14000);
	CHECK_INT_EQ(tier, 0);
	CHECK_INT_EQ(rebate(SAP, "27000", CRM_REBATE_RETROACTIVE, &tier), 108000);
	CHECK_INT_EQ(tier, 1);
	CHECK_INT_EQ(rebate(SAP, "4999.99", CRM_REBATE_RETROACTIVE, &tier), 0);
	CHECK_INT_EQ(tier, -1);
}

UNIT_TEST(rebate_exactly_on_thresholds)
{
	int			tier;

	CHECK_INT_EQ(rebate(SAP, "5000", CRM_REBATE_RETROACTIVE, &tier), 10000);
	CHECK_INT_EQ(tier, 0);
	CHECK_INT_EQ(rebate(SAP, "20000", CRM_REBATE_RETROACTIVE, &tier), 80000);
	CHECK_INT_EQ(tier, 1);
	CHECK_INT_EQ(rebate(SAP, "19999.99", CRM_REBATE_RETROACTIVE, &tier), 40000);	/* 399.9998 */
	CHECK_INT_EQ(tier, 0);
	/* bounds at 4 decimals: 0.8 and 1.0001 */
	CHECK_INT_EQ(rebate("[{\"min\":0.8,\"rate\":1},{\"min\":1.0001,\"rate\":2}]", "1.0000", CRM_REBATE_RETROACTIVE, &tier), 100);
	CHECK_INT_EQ(tier, 0);
	CHECK_INT_EQ(rebate("[{\"min\":0.8,\"rate\":1},{\"min\":1.0001,\"rate\":2}]", "1.0001", CRM_REBATE_RETROACTIVE, &tier), 200);
	CHECK_INT_EQ(tier, 1);
}

UNIT_TEST(rebate_progressive_is_marginal)
{
	/* 5000..20000 at 2% = 300, 20000..27000 at 4% = 280 */
	CHECK_INT_EQ(rebate(SAP, "27000", CRM_REBATE_PROGRESSIVE, NULL), 58000);
	CHECK_INT_EQ(rebate(SAP, "7000", CRM_REBATE_PROGRESSIVE, NULL), 4000);
	CHECK_INT_EQ(rebate(SAP, "20000", CRM_REBATE_PROGRESSIVE, NULL), 30000);
	/* a max closes the last band */
	CHECK_INT_EQ(rebate("[{\"min\":0,\"max\":1000,\"rate\":0.1}]", "5000", CRM_REBATE_PROGRESSIVE, NULL), 10000);
	CHECK_INT_EQ(rebate("[{\"min\":0,\"max\":1000,\"rate\":0.1}]", "5000", CRM_REBATE_RETROACTIVE, NULL), 50000);
}

UNIT_TEST(rebate_fixed_amounts)
{
	const char *t = "[{\"min\":1000,\"amount\":50},{\"min\":5000,\"amount\":300.5}]";

	CHECK_INT_EQ(rebate(t, "999", CRM_REBATE_RETROACTIVE, NULL), 0);
	CHECK_INT_EQ(rebate(t, "1000", CRM_REBATE_RETROACTIVE, NULL), 5000);
	CHECK_INT_EQ(rebate(t, "6000", CRM_REBATE_RETROACTIVE, NULL), 30050);
	CHECK_INT_EQ(rebate(t, "6000", CRM_REBATE_PROGRESSIVE, NULL), 35050);
}

UNIT_TEST(rebate_negative_basis_earns_nothing)
{
	CHECK_INT_EQ(rebate(SAP, "-1200", CRM_REBATE_RETROACTIVE, NULL), 0);
	CHECK_INT_EQ(rebate(SAP, "-1200", CRM_REBATE_PROGRESSIVE, NULL), 0);
	CHECK_INT_EQ(rebate("[{\"min\":0,\"rate\":0.1}]", "-5", CRM_REBATE_RETROACTIVE, NULL), 0);
}

UNIT_TEST(rebate_rounds_once_half_away_from_zero)
{
	/* 0.25 * 0.02 = 0.005 -> 0.01; 0.24 * 0.02 = 0.0048 -> 0.00 */
	CHECK_INT_EQ(rebate("[{\"min\":0,\"rate\":0.02}]", "0.25", CRM_REBATE_RETROACTIVE, NULL), 1);
	CHECK_INT_EQ(rebate("[{\"min\":0,\"rate\":0.02}]", "0.24", CRM_REBATE_RETROACTIVE, NULL), 0);
	/* progressive: two bands of 0.0025 each would round to 0 + 0 separately; summed once -> 0.01 */
	CHECK_INT_EQ(rebate("[{\"min\":0,\"rate\":0.01},{\"min\":0.25,\"rate\":0.01}]", "0.5", CRM_REBATE_PROGRESSIVE, NULL), 1);
}

UNIT_TEST(rebate_multiplier_and_cap)
{
	CrmTiers	t;
	CrmError	err;
	CrmRebateResult r;
	CrmDec		m12 = {12, 1};
	CrmDec		neg = {-1, 0};

	CHECK(crm_tiers_parse(SAP, strlen(SAP), &t, &err));
	/* 7000 * 2% = 140 ; x1.2 = 168 */
	CHECK(crm_rebate_compute(&t, CRM_REBATE_RETROACTIVE, 70000000, 700000, m12, false, 0, &r, &err));
	CHECK_INT_EQ(r.tier_amount, 14000);
	CHECK_INT_EQ(r.gross, 16800);
	CHECK(!r.capped);
	CHECK(crm_rebate_compute(&t, CRM_REBATE_RETROACTIVE, 70000000, 700000, m12, true, 15000, &r, &err));
	CHECK_INT_EQ(r.gross, 15000);
	CHECK(r.capped);
	/* qualifying and measured differ (growth programs): tier from 25 (percent), rate on 7000 */
	CHECK(crm_rebate_compute(&t, CRM_REBATE_RETROACTIVE, 250000, 700000, (CrmDec) {1, 0}, false, 0, &r, &err));
	CHECK_INT_EQ(r.tier, -1);
	CHECK(!crm_rebate_compute(&t, CRM_REBATE_RETROACTIVE, 0, 0, neg, false, 0, &r, &err));
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
	CHECK(!crm_rebate_compute(&t, CRM_REBATE_RETROACTIVE, 0, INT64_C(900000000000000000), m12, false, 0, &r, &err));
	CHECK_INT_EQ(err.code, CRM_ERR_RANGE);
	crm_tiers_free(&t);
}

UNIT_TEST(rebate_malformed_tiers_name_the_tier)
{
	CrmErrCode	code;

	CHECK(strstr(tiers_error("[{\"min\":0,\"max\":100,\"rate\":0.01},{\"min\":50,\"rate\":0.02}]", &code),
				 "tier 2 (array index 1) overlaps") != NULL);
	CHECK_INT_EQ(code, CRM_ERR_INVALID);
	CHECK(strstr(tiers_error("[{\"min\":0,\"max\":100,\"rate\":0.01},{\"min\":150,\"rate\":0.02}]", NULL),
				 "tier 2 (array index 1) leaves a gap") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":100,\"rate\":0.01},{\"min\":50,\"rate\":0.02}]", NULL),
				 "tier 2 (array index 1) is not above") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0,\"rate\":-0.01}]", NULL), "tier 1 (array index 0) \"rate\" is negative") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0,\"rate\":0.01,\"amount\":5}]", NULL), "both") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0}]", NULL), "neither") != NULL);
	CHECK(strstr(tiers_error("[{\"rate\":0.01}]", NULL), "has no \"min\"") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":\"5000\",\"rate\":0.01}]", &code), "\"min\" must be a number") != NULL);
	CHECK_INT_EQ(code, CRM_ERR_TYPE);
	CHECK(strstr(tiers_error("[{\"min\":0,\"rate\":0.01}, 7]", &code), "tier 2 (array index 1) is not a JSON object") != NULL);
	CHECK_INT_EQ(code, CRM_ERR_TYPE);
	CHECK(strstr(tiers_error("[{\"min\":0,\"rat\":0.01}]", NULL), "unknown key \"rat\"") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0,\"min\":1,\"rate\":0.01}]", NULL), "twice") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0.00001,\"rate\":0.01}]", NULL), "decimal places") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0,\"amount\":0.001}]", NULL), "decimal places") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":10,\"max\":10,\"rate\":0.01}]", NULL), "not above its") != NULL);
	CHECK(strstr(tiers_error("[]", NULL), "empty") != NULL);
	CHECK(strstr(tiers_error("{\"min\":0}", &code), "\"[\" expected") != NULL);
	CHECK_INT_EQ(code, CRM_ERR_SYNTAX);
	CHECK(strstr(tiers_error("[{\"min\":0,\"rate\":0.01}", NULL), "expected") != NULL);
	CHECK(strstr(tiers_error("[{\"min\":0,\"rate\":0.01}] x", NULL), "after the array") != NULL);
	CHECK(tiers_error("[{\"min\":0,\"rate\":0.01,\"name\":\"铜牌\"}, {\"min\":1e3,\"max\":null,\"rate\":2E-2}]", NULL) == NULL);
	CHECK(tiers_error(" [ { \"min\" : 0 , \"max\" : 10 , \"amount\" : 1 } , { \"min\" : 10 , \"rate\" : 0.5 } ] ", NULL) == NULL);
}

UNIT_TEST(rebate_mode_names)
{
	CrmRebateMode m;
	CrmError	err;

	CHECK(crm_rebate_mode_parse("progressive", &m, &err) && m == CRM_REBATE_PROGRESSIVE);
	CHECK(crm_rebate_mode_parse("retroactive", &m, &err) && m == CRM_REBATE_RETROACTIVE);
	CHECK(!crm_rebate_mode_parse("marginal", &m, &err));
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
}

static CrmTiers
tiers_of(const char *json)
{
	CrmTiers	t;
	CrmError	err;

	if (!crm_tiers_parse(json, strlen(json), &t, &err))
		t.ntiers = 0;
	return t;
}

UNIT_TEST(rebate_line_growth_rounds_percent_to_two_decimals)
{
	CrmTiers	t = tiers_of("[{\"min\": 10, \"rate\": 0.03}, {\"min\": 20, \"rate\": 0.05}]");
	CrmLineInput in = {0};
	CrmLineResult c;
	CrmError	err;

	in.basis = CRM_BASIS_GROWTH;
	in.purchases = 1150000;		/* 11500.00 */
	in.has_reference = true;
	in.reference = 1000000;		/* 10000.00: growth 15.00 % */
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, NULL, &c, &err));
	CHECK_INT_EQ(c.qualifying, 150000);
	CHECK_INT_EQ(c.res.tier, 0);
	CHECK_INT_EQ(c.res.gross, 34500);
	/* 9.995 % rounds to 10.00 %: reaches the tier; 9.994 % does not */
	in.purchases = 1099950;
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, NULL, &c, &err));
	CHECK_INT_EQ(c.qualifying, 100000);
	CHECK_INT_EQ(c.res.tier, 0);
	in.purchases = 1099940;
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, NULL, &c, &err));
	CHECK_INT_EQ(c.qualifying, 99900);
	CHECK_INT_EQ(c.res.tier, -1);
	/* no reference: no qualifying value, nothing earned */
	in.has_reference = false;
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, NULL, &c, &err));
	CHECK(!c.has_qualifying);
	CHECK_INT_EQ(c.res.gross, 0);
	crm_tiers_free(&t);
}

UNIT_TEST(rebate_line_achievement_bands_caps_and_netting)
{
	CrmTiers	t = tiers_of("[{\"min\": 5000, \"rate\": 0.02}, {\"min\": 20000, \"rate\": 0.04}]");
	CrmTiers	b = tiers_of("[{\"min\": 0, \"rate\": 0.5}, {\"min\": 0.8, \"rate\": 1}, {\"min\": 1.0001, \"rate\": 1.2}]");
	CrmLineInput in = {0};
	CrmLineResult c;
	CrmError	err;

	in.basis = CRM_BASIS_NET_AMOUNT;
	in.purchases = 2750000;
	in.returns = 50000;			/* net 27000.00 */
	in.settled = 14000;
	in.has_target = true;
	in.target = 1000000;
	in.achieved = 1000049;		/* 1.000049 -> 1.0000: x1 */
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, &b, &c, &err));
	CHECK_INT_EQ(c.achievement, 10000);
	CHECK_INT_EQ(c.multiplier.v, 1);
	CHECK_INT_EQ(c.res.gross, 108000);
	CHECK_INT_EQ(c.payable, 94000);		/* the SAP final payment */
	in.achieved = 1000050;		/* 1.00005 -> 1.0001: x1.2 */
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, &b, &c, &err));
	CHECK_INT_EQ(c.achievement, 10001);
	CHECK_INT_EQ(c.res.gross, 129600);
	in.achieved = 700000;		/* 70 %: x0.5 */
	in.has_cap_measured = true;
	in.cap_measured = 1000000;	/* 10000.00: tier 1 */
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, &b, &c, &err));
	CHECK(c.measured_capped);
	CHECK_INT_EQ(c.res.tier, 0);
	CHECK_INT_EQ(c.res.gross, 10000);
	CHECK_INT_EQ(c.payable, -4000);		/* clawback */
	/* returns above purchases */
	in.has_cap_measured = false;
	in.returns = 3000000;
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, &b, &c, &err));
	CHECK_INT_EQ(c.measured, -250000);
	CHECK_INT_EQ(c.res.gross, 0);
	/* a band with an amount is refused */
	crm_tiers_free(&b);
	b = tiers_of("[{\"min\": 0, \"amount\": 5}]");
	CHECK(!crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, &b, &c, &err));
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
	crm_tiers_free(&b);
	crm_tiers_free(&t);
}

UNIT_TEST(rebate_line_quantity_and_basis_names)
{
	CrmTiers	t = tiers_of("[{\"min\": 100, \"rate\": 0.5}]");
	CrmLineInput in = {0};
	CrmLineResult c;
	CrmError	err;
	CrmRebateBasis basis;

	CHECK(crm_rebate_basis_parse("quantity", &basis, &err));
	in.basis = basis;
	in.purchases = 999900;
	in.net_quantity = 13000;	/* 130 cases */
	CHECK(crm_rebate_line_compute(&in, &t, CRM_REBATE_RETROACTIVE, NULL, &c, &err));
	CHECK_INT_EQ(c.res.gross, 6500);
	CHECK_STR_EQ(crm_rebate_basis_name(basis), "quantity");
	CHECK(!crm_rebate_basis_parse("revenue", &basis, &err));
	CHECK_INT_EQ(err.code, CRM_ERR_INVALID);
	crm_tiers_free(&t);
}
