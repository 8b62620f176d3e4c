/*
 * health_profile.c - the per-customer dimensions of crm.health_profile.
 */
#include <stdlib.h>
#include <string.h>

#include "health_profile.h"

static const int window_days[3] = {90, 180, 365};

int
crm_condmap_lookup(const CrmCondMap *map, const char *atc)
{
	int			best = -1;
	size_t		best_len = 0;

	for (int i = 0; i < map->nrules; i++)
	{
		size_t		len = strlen(map->prefix[i]);

		if (len > best_len && strncmp(atc, map->prefix[i], len) == 0)
		{
			best = map->rule_cond[i];
			best_len = len;
		}
	}
	return best;
}

static int
line_cmp(const void *a, const void *b)
{
	const CrmHealthLine *x = a;
	const CrmHealthLine *y = b;

	return x->day < y->day ? -1 : (x->day > y->day ? 1 : 0);
}

/* Distinct days among sorted lines[0..n) with day >= from. */
static int
distinct_days_since(const CrmHealthLine *lines, int n, int32_t from)
{
	int			count = 0;

	for (int i = 0; i < n; i++)
		if (lines[i].day >= from && (i == 0 || lines[i].day != lines[i - 1].day))
			count++;
	return count;
}

/* Most frequent store (ties: most recent) among sorted lines with day >= from. */
static void
preferred_store(const CrmHealthLine *lines, int n, int32_t from, CrmHealthProfile *prof)
{
	int64_t    *ids = crm_alloc(sizeof(int64_t) * (size_t) n);
	int		   *cnt = crm_alloc(sizeof(int) * (size_t) n);
	int			k = 0;
	int			best = -1;

	for (int i = n - 1; i >= 0 && lines[i].day >= from; i--)
	{
		int			j;

		if (lines[i].store_id == 0)
			continue;
		for (j = 0; j < k && ids[j] != lines[i].store_id; j++)
			;
		if (j == k)
		{
			ids[k] = lines[i].store_id;
			cnt[k++] = 0;
		}
		cnt[j]++;
	}
	/* stores were met newest first, so the first with the highest count wins ties */
	for (int j = 0; j < k; j++)
		if (best < 0 || cnt[j] > cnt[best])
			best = j;
	prof->preferred_store_id = best >= 0 ? ids[best] : 0;
	prof->store_count_365 = k;
	crm_free(ids);
	crm_free(cnt);
}

static void
preferred_channel(const CrmHealthLine *lines, int n, int nchannels, int32_t from, CrmHealthProfile *prof)
{
	int		   *cnt = crm_alloc0(sizeof(int) * (size_t) (nchannels > 0 ? nchannels : 1));
	int32_t    *last = crm_alloc0(sizeof(int32_t) * (size_t) (nchannels > 0 ? nchannels : 1));
	int			best = -1;

	for (int i = 0; i < n; i++)
	{
		if (lines[i].day < from || lines[i].channel < 0 || lines[i].channel >= nchannels)
			continue;
		cnt[lines[i].channel]++;
		last[lines[i].channel] = lines[i].day;
	}
	for (int c = 0; c < nchannels; c++)
		if (cnt[c] > 0 && (best < 0 || cnt[c] > cnt[best] || (cnt[c] == cnt[best] && last[c] > last[best])))
			best = c;
	prof->preferred_channel = best;
	crm_free(cnt);
	crm_free(last);
}

static int
pdc_bp(const CrmSpan *spans, int nspans, int32_t start, int32_t end)
{
	int64_t		len = (int64_t) end - start + 1;
	int64_t		covered;

	if (len < 1 || nspans == 0)
		return -1;
	covered = crm_covered_days(spans, nspans, start, end);
	return (int) ((covered * 20000 + len) / (2 * len));	/* rounded half up */
}

/* Length of the therapy episode that contains the last span. */
static int32_t
episode_days(const CrmSpan *spans, int nspans, int32_t as_of)
{
	int64_t		start = spans[0].start;
	int64_t		reach = spans[0].end;
	int64_t		stop;

	for (int i = 1; i < nspans; i++)
	{
		if (spans[i].start > reach + 1 + CRM_PERSISTENCE_GAP)
			start = spans[i].start;
		if (spans[i].end > reach)
			reach = spans[i].end;
	}
	stop = reach < as_of ? reach : as_of;
	return (int32_t) (stop - start + 1);
}

/* Adherence figures of one condition from its lines (sorted by day, all <= as_of). */
static bool
condition_stats(const CrmHealthLine *lines, int n, const int *atc_cond, int c, int natc,
				const CrmCondMap *map, int32_t as_of, CrmCondStat *st, CrmError *err)
{
	CrmFill    *fills = crm_alloc(sizeof(CrmFill) * (size_t) n);
	CrmSpan    *spans = crm_alloc(sizeof(CrmSpan) * (size_t) n);
	bool	   *seen = crm_alloc0(sizeof(bool) * (size_t) (natc > 0 ? natc : 1));
	int			nf = 0;
	int			dates = 0;
	int32_t		max_days = 0;
	int32_t		prev = CRM_NO_DAY;
	bool		ok = true;

	memset(st, 0, sizeof(*st));
	st->cond = c;
	st->first_fill = CRM_NO_DAY;
	for (int i = 0; i < n; i++)
	{
		if (lines[i].atc < 0 || atc_cond[lines[i].atc] != c)
			continue;
		if (st->first_fill == CRM_NO_DAY)
			st->first_fill = lines[i].day;
		st->last_fill = lines[i].day;
		st->fills++;
		if (lines[i].day != prev)
			dates++;
		prev = lines[i].day;
		if (!seen[lines[i].atc])
			st->drugs++;
		seen[lines[i].atc] = true;
		if (lines[i].days_supply > 0)
		{
			fills[nf].day = lines[i].day;
			fills[nf].days = lines[i].days_supply;
			fills[nf].drug = lines[i].atc;
			if (lines[i].days_supply > max_days)
				max_days = lines[i].days_supply;
			nf++;
		}
	}
	/* inferred only from repeated fills or one long supply: a one-off purchase is no condition */
	st->cond = (dates >= 2 || max_days >= CRM_CONDITION_MIN_DAYS) ? c : -1;
	if (st->cond >= 0 && nf > 0 && (ok = crm_coverage_spans(fills, nf, spans, err)))
	{
		int32_t		last_covered = spans[0].end;

		for (int i = 1; i < nf; i++)
			if (spans[i].end > last_covered)
				last_covered = spans[i].end;
		st->next_refill = last_covered + 1;
		st->days_overdue = as_of > st->next_refill ? as_of - st->next_refill : 0;
		for (int w = 0; w < 3; w++)
		{
			int32_t		start = as_of - window_days[w] + 1;

			st->pdc_bp[w] = pdc_bp(spans, nf, start > st->first_fill ? start : st->first_fill, as_of);
		}
		st->measurable = dates >= 2 && st->first_fill <= as_of - CRM_MEASURABLE_DAYS;
		st->adherent = st->measurable && st->pdc_bp[2] >= map->threshold_bp[c];
		st->persistent = st->days_overdue <= CRM_PERSISTENCE_GAP;
		st->persistence_days = episode_days(spans, nf, as_of);
	}
	else if (st->cond >= 0)
	{
		st->next_refill = CRM_NO_DAY;
		st->days_overdue = -1;
		st->pdc_bp[0] = st->pdc_bp[1] = st->pdc_bp[2] = -1;
	}
	crm_free(fills);
	crm_free(spans);
	crm_free(seen);
	return ok;
}

static const CrmCondMap *sort_map;

static int
cond_cmp(const void *a, const void *b)
{
	return strcmp(sort_map->cond_name[((const CrmCondStat *) a)->cond],
				  sort_map->cond_name[((const CrmCondStat *) b)->cond]);
}

static bool
profile_conditions(const CrmHealthLine *lines, int n, const int *atc_cond, int natc,
				   const CrmCondMap *map, int32_t as_of, CrmHealthProfile *prof, CrmError *err)
{
	int		   *count = crm_alloc0(sizeof(int) * (size_t) (map->nconds > 0 ? map->nconds : 1));

	prof->conds = crm_alloc(sizeof(CrmCondStat) * (size_t) (map->nconds > 0 ? map->nconds : 1));
	prof->nconds = 0;
	for (int i = 0; i < n; i++)
		if (lines[i].atc >= 0 && lines[i].atc < natc && atc_cond[lines[i].atc] >= 0)
			count[atc_cond[lines[i].atc]]++;
	for (int c = 0; c < map->nconds; c++)
	{
		if (count[c] == 0)
			continue;
		if (!condition_stats(lines, n, atc_cond, c, natc, map, as_of, &prof->conds[prof->nconds], err))
		{
			crm_free(count);
			return false;
		}
		if (prof->conds[prof->nconds].cond >= 0)
			prof->nconds++;
	}
	crm_free(count);
	sort_map = map;
	qsort(prof->conds, (size_t) prof->nconds, sizeof(CrmCondStat), cond_cmp);
	return true;
}

bool
crm_health_profile(CrmHealthLine *lines, int n, const int *atc_cond, int natc,
				   int nchannels, const CrmCondMap *map, int32_t as_of,
				   CrmHealthProfile *prof, CrmError *err)
{
	int32_t		from365 = as_of - 364;

	memset(prof, 0, sizeof(*prof));
	prof->as_of = as_of;
	prof->first_purchase = prof->last_purchase = CRM_NO_DAY;
	prof->preferred_channel = -1;
	if (n > 1)
		qsort(lines, (size_t) n, sizeof(CrmHealthLine), line_cmp);
	while (n > 0 && lines[n - 1].day > as_of)
		n--;					/* lines dated after as_of do not exist yet for this profile */
	prof->lines = n;
	if (n > 0)
	{
		prof->first_purchase = lines[0].day;
		prof->last_purchase = lines[n - 1].day;
	}
	prof->visits_90 = distinct_days_since(lines, n, as_of - 89);
	prof->visits_365 = distinct_days_since(lines, n, from365);
	for (int i = 0; i < n; i++)
	{
		if (lines[i].day < from365)
			continue;
		prof->lines_365++;
		prof->promo_lines_365 += lines[i].promo ? 1 : 0;
		prof->spend_365_fen += lines[i].price_fen;
	}
	preferred_store(lines, n, from365, prof);
	preferred_channel(lines, n, nchannels, from365, prof);
	return profile_conditions(lines, n, atc_cond, natc, map, as_of, prof, err);
}

static void
json_day(CrmBuf *out, const char *key, int32_t day)
{
	char		d[16];

	if (day == CRM_NO_DAY)
	{
		crm_buf_printf(out, "\"%s\":null,", key);
		return;
	}
	crm_day_format(day, d);
	crm_buf_printf(out, "\"%s\":\"%s\",", key, d);
}

static void
json_bp(CrmBuf *out, const char *key, int bp)
{
	if (bp < 0)
		crm_buf_printf(out, "\"%s\":null,", key);
	else
		crm_buf_printf(out, "\"%s\":%d.%04d,", key, bp / 10000, bp % 10000);
}

void
crm_health_conditions_json(const CrmHealthProfile *prof, const CrmCondMap *map, CrmBuf *out)
{
	crm_buf_putc(out, '{');
	for (int i = 0; i < prof->nconds; i++)
	{
		const CrmCondStat *st = &prof->conds[i];
		bool		known = st->pdc_bp[2] >= 0;

		crm_buf_printf(out, "%s\"%s\":{\"fills\":%d,\"drugs\":%d,", i ? "," : "",
					   map->cond_name[st->cond], st->fills, st->drugs);
		json_day(out, "first_fill", st->first_fill);
		json_day(out, "last_fill", st->last_fill);
		json_day(out, "next_refill", st->next_refill);
		if (known)
			crm_buf_printf(out, "\"days_overdue\":%d,", (int) st->days_overdue);
		else
			crm_buf_puts(out, "\"days_overdue\":null,");
		json_bp(out, "pdc_90", st->pdc_bp[0]);
		json_bp(out, "pdc_180", st->pdc_bp[1]);
		json_bp(out, "pdc_365", st->pdc_bp[2]);
		json_bp(out, "threshold", map->threshold_bp[st->cond]);
		crm_buf_printf(out, "\"measurable\":%s,\"adherent\":%s,\"persistent\":%s,",
					   st->measurable ? "true" : "false",
					   !known || !st->measurable ? "null" : (st->adherent ? "true" : "false"),
					   known ? (st->persistent ? "true" : "false") : "null");
		if (known)
			crm_buf_printf(out, "\"persistence_days\":%d}", (int) st->persistence_days);
		else
			crm_buf_puts(out, "\"persistence_days\":null}");
	}
	crm_buf_putc(out, '}');
}
