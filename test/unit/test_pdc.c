/*
 * test_pdc.c - proportion of days covered (PQA vectors and edge cases) and the health profile core.
 */
#include "unit.h"
#include "adherence.h"
#include "health_profile.h"

#define D(y, m, d) crm_day_from_ymd(y, m, d)

static void
fmt(int32_t day, char *buf)
{
	crm_day_format(day, buf);
}

UNIT_TEST(day_numbers_match_postgres_epoch)
{
	char		buf[16];

	CHECK_INT_EQ(D(2000, 1, 1), 0);
	CHECK_INT_EQ(D(2018, 1, 1), 6575);	/* SELECT '2018-01-01'::date - '2000-01-01' */
	CHECK_INT_EQ(D(1999, 12, 31), -1);
	CHECK_INT_EQ(D(2024, 3, 1) - D(2024, 2, 28), 2);	/* leap year */
	CHECK_INT_EQ(D(2100, 3, 1) - D(2100, 2, 28), 1);	/* not a leap year */
	fmt(D(2026, 11, 22), buf);
	CHECK_STR_EQ(buf, "2026-11-22");
	fmt(-36524, buf);
	CHECK_STR_EQ(buf, "1900-01-01");
}

/* the printf-free formatting equals "%04d-%02d-%02d" of the calendar date, also past its range */
UNIT_TEST(day_format_equals_printf)
{
	char		buf[16];
	char		ref[16];
	int			y,
				m,
				d;

	for (int32_t day = D(-20, 1, 1); day <= D(10001, 12, 31); day += 37)
	{
		crm_day_to_ymd(day, &y, &m, &d);
		snprintf(ref, sizeof(ref), "%04d-%02d-%02d", y, m, d);
		fmt(day, buf);
		CHECK_STR_EQ(buf, ref);
	}
	fmt(D(9999, 12, 31), buf);
	CHECK_STR_EQ(buf, "9999-12-31");
	fmt(D(0, 1, 1), buf);
	CHECK_STR_EQ(buf, "0000-01-01");
}

/* PQA vector 1: 2018-01-01 x90 then 2018-03-25 x90 -> the second supply starts 2018-04-01 */
UNIT_TEST(pqa_early_refill_shifts_forward)
{
	CrmFill		f[2] = {{D(2018, 3, 25), 90, 1}, {D(2018, 1, 1), 90, 1}};
	CrmSpan		s[2];
	CrmError	e;
	char		buf[16];

	CHECK(crm_coverage_spans(f, 2, s, &e));
	fmt(s[0].start, buf);
	CHECK_STR_EQ(buf, "2018-01-01");
	fmt(s[0].end, buf);
	CHECK_STR_EQ(buf, "2018-03-31");
	fmt(s[1].start, buf);
	CHECK_STR_EQ(buf, "2018-04-01");
	fmt(s[1].end, buf);
	CHECK_STR_EQ(buf, "2018-06-29");
	CHECK_INT_EQ(crm_covered_days(s, 2, D(2018, 1, 1), D(2018, 12, 31)), 180);
}

/* PQA vector 2: 2018-07-05 x90 then 2018-09-25 x90 -> starts 2018-10-03, ends 2018-12-31 */
UNIT_TEST(pqa_shifted_refill_ends_at_year_end)
{
	CrmFill		f[2] = {{D(2018, 7, 5), 90, 7}, {D(2018, 9, 25), 90, 7}};
	CrmSpan		s[2];
	CrmError	e;
	char		buf[16];
	int32_t		cov,
				len;

	CHECK(crm_coverage_spans(f, 2, s, &e));
	fmt(s[0].end, buf);
	CHECK_STR_EQ(buf, "2018-10-02");
	fmt(s[1].start, buf);
	CHECK_STR_EQ(buf, "2018-10-03");
	fmt(s[1].end, buf);
	CHECK_STR_EQ(buf, "2018-12-31");
	/* index date 2018-07-05 to the end of the measurement year: fully covered */
	CHECK(crm_pdc_compute(f, 2, D(2018, 7, 5), D(2018, 12, 31), &cov, &len, &e));
	CHECK_INT_EQ(len, 180);
	CHECK_INT_EQ(cov, 180);
}

/* PQA vector 3: two different drugs both filled 2018-01-01 -> both start 2018-01-01, shared days once */
UNIT_TEST(pqa_different_drugs_overlap_not_shift)
{
	CrmFill		f[2] = {{D(2018, 1, 1), 30, 1}, {D(2018, 1, 1), 30, 2}};
	CrmSpan		s[2];
	CrmError	e;
	int32_t		cov,
				len;

	CHECK(crm_coverage_spans(f, 2, s, &e));
	CHECK_INT_EQ(s[0].start, D(2018, 1, 1));
	CHECK_INT_EQ(s[1].start, D(2018, 1, 1));
	CHECK(crm_pdc_compute(f, 2, D(2018, 1, 1), D(2018, 3, 1), &cov, &len, &e));
	CHECK_INT_EQ(cov, 30);
	CHECK_INT_EQ(len, 60);
}

UNIT_TEST(pdc_single_fill_and_gap)
{
	CrmFill		one[1] = {{D(2026, 1, 1), 30, 0}};
	CrmFill		gap[2] = {{D(2026, 1, 1), 30, 0}, {D(2026, 3, 2), 30, 0}};
	CrmError	e;
	int32_t		cov,
				len;

	CHECK(crm_pdc_compute(one, 1, D(2026, 1, 1), D(2026, 3, 31), &cov, &len, &e));
	CHECK_INT_EQ(cov, 30);
	CHECK_INT_EQ(len, 90);
	/* Jan 1-30 and Mar 2-31 covered, Jan 31 - Mar 1 is the gap */
	CHECK(crm_pdc_compute(gap, 2, D(2026, 1, 1), D(2026, 3, 31), &cov, &len, &e));
	CHECK_INT_EQ(cov, 60);
}

UNIT_TEST(pdc_period_bounds_cut_supply)
{
	/* a fill before the period counts with what reaches into it; supply past the end is cut */
	CrmFill		f[2] = {{D(2025, 12, 17), 30, 0}, {D(2026, 1, 20), 90, 0}};
	CrmError	e;
	int32_t		cov,
				len;

	CHECK(crm_pdc_compute(f, 2, D(2026, 1, 1), D(2026, 1, 31), &cov, &len, &e));
	/* Dec 17 + 30 days covers to Jan 15 (15 days in January), then Jan 20-31 (12 days) */
	CHECK_INT_EQ(cov, 27);
	CHECK_INT_EQ(len, 31);
	/* a one-day period */
	CHECK(crm_pdc_compute(f, 2, D(2026, 1, 16), D(2026, 1, 16), &cov, &len, &e));
	CHECK_INT_EQ(cov, 0);
	CHECK_INT_EQ(len, 1);
}

UNIT_TEST(pdc_chain_of_early_refills)
{
	/* three 30-day fills ten days apart: 90 days from Jan 1 without double counting */
	CrmFill		f[3] = {{D(2026, 1, 21), 30, 5}, {D(2026, 1, 1), 30, 5}, {D(2026, 1, 11), 30, 5}};
	CrmError	e;
	int32_t		cov,
				len;

	CHECK(crm_pdc_compute(f, 3, D(2026, 1, 1), D(2026, 12, 31), &cov, &len, &e));
	CHECK_INT_EQ(cov, 90);
	CHECK_INT_EQ(len, 365);
}

UNIT_TEST(pdc_rejects_bad_input)
{
	CrmFill		f[1] = {{D(2026, 1, 1), 0, 0}};
	CrmFill		ok[1] = {{D(2026, 1, 1), 10, 0}};
	CrmError	e;
	int32_t		cov,
				len;

	CHECK(!crm_pdc_compute(f, 1, D(2026, 1, 1), D(2026, 2, 1), &cov, &len, &e));
	CHECK_INT_EQ(e.code, CRM_ERR_INVALID);
	CHECK(strstr(e.message, "days supply of fill 1") != NULL);
	CHECK(!crm_pdc_compute(ok, 1, D(2026, 2, 1), D(2026, 1, 1), &cov, &len, &e));
	CHECK(strstr(e.message, "ends before it starts") != NULL);
	CHECK(e.hint[0] != '\0');
	CHECK(!crm_pdc_compute(ok, 1, D(2000, 1, 1), D(2200, 1, 1), &cov, &len, &e));
	CHECK(crm_pdc_compute(ok, 0, D(2026, 1, 1), D(2026, 1, 10), &cov, &len, &e));
	CHECK_INT_EQ(cov, 0);
}

UNIT_TEST(covered_until_stops_at_gap)
{
	CrmSpan		s[3] = {{10, 20}, {15, 30}, {40, 50}};

	CHECK_INT_EQ(crm_covered_until(s, 3, 12), 30);
	CHECK_INT_EQ(crm_covered_until(s, 3, 35), 34);
	CHECK_INT_EQ(crm_covered_until(s, 3, 40), 50);
}

/* ---- the profile core ---- */

static char *prefixes[] = {"C09", "C07", "A10", "J05AR", "J05A"};
static int	rule_cond[] = {0, 0, 1, 2, 3};
static char *conds[] = {"hypertension", "diabetes", "hiv", "antiviral"};
static int	thresholds[] = {8000, 8000, 9000, 8000};
static const CrmCondMap map = {5, prefixes, rule_cond, 4, conds, thresholds};

UNIT_TEST(condmap_longest_prefix_wins)
{
	CHECK_INT_EQ(crm_condmap_lookup(&map, "J05AR03"), 2);
	CHECK_INT_EQ(crm_condmap_lookup(&map, "J05AB01"), 3);
	CHECK_INT_EQ(crm_condmap_lookup(&map, "C09CA01"), 0);
	CHECK_INT_EQ(crm_condmap_lookup(&map, "N02BE01"), -1);
}

UNIT_TEST(profile_dimensions)
{
	/* ATC dictionary: 0 = C09CA01 (losartan), 1 = C07AB02 (metoprolol), 2 = A10BA02, 3 = N02BE01 */
	int			atc_cond[4] = {0, 0, 1, -1};
	int32_t		as_of = D(2026, 11, 22);
	CrmHealthLine l[] = {
		{D(2026, 5, 1), 30, 0, 0, 11, 4500, false},
		{D(2026, 5, 31), 30, 0, 0, 11, 4500, true},
		{D(2026, 6, 30), 30, 0, 1, 12, 4500, false},
		{D(2026, 6, 30), 30, 1, 1, 12, 3000, false},
		{D(2026, 7, 30), 30, 0, 0, 11, 4500, true},
		{D(2026, 11, 1), 0, 3, 0, 12, 1200, false},		/* paracetamol: a visit, no condition */
		{D(2026, 10, 1), 10, 2, 0, 11, 2000, false},	/* one short metformin fill: no condition */
		{D(2026, 12, 1), 30, 0, 0, 11, 4500, false},	/* after as_of: ignored */
	};
	CrmHealthProfile p;
	CrmError	e;
	CrmBuf		b;
	char		buf[16];

	CHECK(crm_health_profile(l, 8, atc_cond, 4, 2, &map, as_of, &p, &e));
	CHECK_INT_EQ(p.lines, 7);
	CHECK_INT_EQ(p.visits_365, 6);
	CHECK_INT_EQ(p.visits_90, 2);
	CHECK_INT_EQ(p.spend_365_fen, 4500 * 4 + 3000 + 1200 + 2000);
	CHECK_INT_EQ(p.promo_lines_365, 2);
	CHECK_INT_EQ(p.preferred_store_id, 11);
	CHECK_INT_EQ(p.store_count_365, 2);
	CHECK_INT_EQ(p.preferred_channel, 0);
	CHECK_INT_EQ(p.nconds, 1);
	CHECK_INT_EQ(p.conds[0].cond, 0);
	CHECK_INT_EQ(p.conds[0].fills, 5);
	CHECK_INT_EQ(p.conds[0].drugs, 2);
	/* losartan covers May 1 - Aug 28 continuously; metoprolol Jun 30 - Jul 29 overlaps */
	fmt(p.conds[0].next_refill, buf);
	CHECK_STR_EQ(buf, "2026-08-29");
	CHECK_INT_EQ(p.conds[0].days_overdue, as_of - D(2026, 8, 29));
	CHECK(!p.conds[0].persistent);
	CHECK_INT_EQ(p.conds[0].persistence_days, 120);
	/* 365-day window starts at the first fill: May 1 - Nov 22 is 206 days, 120 covered */
	CHECK_INT_EQ(p.conds[0].pdc_bp[2], (120 * 20000 + 206) / (2 * 206));
	CHECK_INT_EQ(p.conds[0].pdc_bp[0], 444);	/* Aug 25 - Aug 28 of 90 days */
	CHECK(p.conds[0].measurable);
	CHECK(!p.conds[0].adherent);
	crm_buf_init(&b);
	crm_health_conditions_json(&p, &map, &b);
	CHECK(strstr(b.data, "{\"hypertension\":{\"fills\":5,\"drugs\":2,\"first_fill\":\"2026-05-01\"") == b.data);
	CHECK(strstr(b.data, "\"pdc_365\":0.5825,\"threshold\":0.8000,\"measurable\":true,\"adherent\":false") != NULL);
	crm_buf_free(&b);
	crm_free(p.conds);
}

UNIT_TEST(profile_of_no_lines)
{
	CrmHealthProfile p;
	CrmError	e;

	CHECK(crm_health_profile(NULL, 0, NULL, 0, 0, &map, D(2026, 1, 1), &p, &e));
	CHECK_INT_EQ(p.lines, 0);
	CHECK(p.last_purchase == CRM_NO_DAY);
	CHECK_INT_EQ(p.nconds, 0);
	CHECK_INT_EQ(p.preferred_store_id, 0);
	crm_free(p.conds);
}
