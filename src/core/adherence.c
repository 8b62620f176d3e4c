/*
 * adherence.c - proportion of days covered (PQA method) and day arithmetic.
 */
#include <stdio.h>
#include <stdlib.h>

#include "adherence.h"

static int
fill_cmp(const void *a, const void *b)
{
	const CrmFill *x = a;
	const CrmFill *y = b;

	if (x->drug != y->drug)
		return x->drug < y->drug ? -1 : 1;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const CrmSpan *x = a;
	const CrmSpan *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

bool
crm_coverage_spans(CrmFill *fills, int n, CrmSpan *out, CrmError *err)
{
	int64_t		next_free = 0;

	for (int i = 0; i < n; i++)
	{
		if (fills[i].days < 1 || fills[i].days > CRM_MAX_DAYS_SUPPLY)
		{
			crm_fail(err, CRM_ERR_INVALID, 0, "days supply of fill %d is %d", i + 1, (int) fills[i].days);
			crm_error_hint(err, "A days supply is between 1 and %d days.", CRM_MAX_DAYS_SUPPLY);
			return false;
		}
	}
	if (n > 1)
		qsort(fills, (size_t) n, sizeof(CrmFill), fill_cmp);
	for (int i = 0; i < n; i++)
	{
		int64_t		start = fills[i].day;

		/* an early refill of the same drug starts when the previous supply runs out */
		if (i > 0 && fills[i - 1].drug == fills[i].drug && next_free > start)
			start = next_free;
		next_free = start + fills[i].days;
		if (next_free - 1 > INT32_MAX)
		{
			crm_fail(err, CRM_ERR_RANGE, 0, "supply of fill %d runs beyond the supported date range", i + 1);
			crm_error_hint(err, "Check the fill dates and days supply.");
			return false;
		}
		out[i].start = (int32_t) start;
		out[i].end = (int32_t) (next_free - 1);
	}
	if (n > 1)
		qsort(out, (size_t) n, sizeof(CrmSpan), span_cmp);
	return true;
}

int32_t
crm_covered_days(const CrmSpan *spans, int n, int32_t start, int32_t end)
{
	int64_t		covered = 0;
	int64_t		done = (int64_t) start - 1;	/* last day already counted */

	for (int i = 0; i < n; i++)
	{
		int64_t		s = spans[i].start;
		int64_t		e = spans[i].end < end ? spans[i].end : end;

		if (s <= done)
			s = done + 1;
		if (e >= s)
		{
			covered += e - s + 1;
			done = e;
		}
	}
	return (int32_t) covered;
}

int32_t
crm_covered_until(const CrmSpan *spans, int n, int32_t from)
{
	int64_t		until = (int64_t) from - 1;

	for (int i = 0; i < n; i++)
	{
		if (spans[i].start > until + 1)
			break;				/* sorted by start: everything after is beyond a gap */
		if (spans[i].end > until)
			until = spans[i].end;
	}
	return (int32_t) until;
}

bool
crm_pdc_compute(CrmFill *fills, int n, int32_t start, int32_t end,
		int32_t *covered, int32_t *period_days, CrmError *err)
{
	CrmSpan    *spans;
	int64_t		len = (int64_t) end - start + 1;

	if (len < 1)
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "the measurement period ends before it starts");
		crm_error_hint(err, "Give a period_end on or after period_start.");
		return false;
	}
	if (len > CRM_MAX_PERIOD_DAYS)
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "the measurement period is %lld days long", (long long) len);
		crm_error_hint(err, "A period is at most %d days.", CRM_MAX_PERIOD_DAYS);
		return false;
	}
	spans = crm_alloc(sizeof(CrmSpan) * (size_t) (n > 0 ? n : 1));
	if (!crm_coverage_spans(fills, n, spans, err))
	{
		crm_free(spans);
		return false;
	}
	*covered = crm_covered_days(spans, n, start, end);
	*period_days = (int32_t) len;
	crm_free(spans);
	return true;
}

/* Civil-from-days and days-from-civil (H. Hinnant's algorithms), shifted to the 2000-01-01 epoch. */
#define EPOCH_2000_FROM_1970 10957

int32_t
crm_day_from_ymd(int y, int m, int d)
{
	int64_t		yy = y - (m <= 2);
	int64_t		era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t		yoe = yy - era * 400;
	int64_t		doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t) (era * 146097 + doe - 719468 - EPOCH_2000_FROM_1970);
}

void
crm_day_to_ymd(int32_t day, int *y, int *m, int *d)
{
	int64_t		z = (int64_t) day + EPOCH_2000_FROM_1970 + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

void
crm_day_format(int32_t day, char *out)
{
	int			y,
				m,
				d;

	crm_day_to_ymd(day, &y, &m, &d);
	if (y < 0 || y > 9999)
	{
		snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
		return;
	}
	/* the common case without printf: YYYY-MM-DD */
	out[0] = (char) ('0' + y / 1000);
	out[1] = (char) ('0' + y / 100 % 10);
	out[2] = (char) ('0' + y / 10 % 10);
	out[3] = (char) ('0' + y % 10);
	out[4] = '-';
	out[5] = (char) ('0' + m / 10);
	out[6] = (char) ('0' + m % 10);
	out[7] = '-';
	out[8] = (char) ('0' + d / 10);
	out[9] = (char) ('0' + d % 10);
	out[10] = '\0';
}
