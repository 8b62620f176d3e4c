/*
 * adherence.h - medication adherence: proportion of days covered (PDC).
 *
 * The method of the Pharmacy Quality Alliance: every fill covers days_supply
 * days from its fill date; an early refill of the same drug starts the day
 * after the previous supply of that drug ends (no day counted twice); fills of
 * different drugs of one class are not shifted, days they share count once;
 * supply beyond the period end is cut.  Fills before the period start count
 * with the part of their supply that reaches into the period.
 *
 * Days are day numbers (days since 2000-01-01, PostgreSQL's date epoch).
 */
#ifndef CRM_ADHERENCE_H
#define CRM_ADHERENCE_H

#include "crm_core.h"

/* Largest days supply a single fill may carry (ten years). */
#define CRM_MAX_DAYS_SUPPLY 3660
/* Largest measurement period (days). */
#define CRM_MAX_PERIOD_DAYS 36600

typedef struct CrmFill
{
	int32_t		day;			/* fill date */
	int32_t		days;			/* days supply, >= 1 */
	int32_t		drug;			/* drug key: same key = same drug */
} CrmFill;

/* Days [start, end], both inclusive, covered by one (shifted) fill. */
typedef struct CrmSpan
{
	int32_t		start;
	int32_t		end;
} CrmSpan;

/*
 * The shifted supply spans of the fills: same-drug early refills move
 * forward.  Sorts fills in place by (drug, day); writes n spans to out
 * (caller-allocated, n entries) sorted by start.  Fails on a days supply
 * outside 1..CRM_MAX_DAYS_SUPPLY (fill numbers are 1-based in the message,
 * in the caller's original order only if the input was sorted).
 */
extern bool crm_coverage_spans(CrmFill *fills, int n, CrmSpan *out, CrmError *err);

/* Days of [start, end] covered by the spans (sorted by start). */
extern int32_t crm_covered_days(const CrmSpan *spans, int n, int32_t start, int32_t end);

/* Last day covered without a break from `from` on (from - 1 if `from` is not covered). */
extern int32_t crm_covered_until(const CrmSpan *spans, int n, int32_t from);

/*
 * PDC of the fills over [start, end]: *covered days out of *period_days.
 * Validates the period (start <= end, at most CRM_MAX_PERIOD_DAYS) and every
 * fill; fills is reordered.
 */
extern bool crm_pdc_compute(CrmFill *fills, int n, int32_t start, int32_t end,
					int32_t *covered, int32_t *period_days, CrmError *err);

/* Calendar helpers on day numbers (proleptic Gregorian). */
extern int32_t crm_day_from_ymd(int y, int m, int d);
extern void crm_day_to_ymd(int32_t day, int *y, int *m, int *d);
/* "YYYY-MM-DD" into out (at least 16 bytes). */
extern void crm_day_format(int32_t day, char *out);

#endif							/* CRM_ADHERENCE_H */
