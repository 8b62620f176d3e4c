/*
 * rebate.c - SQL glue for the rebate maths in src/core/rebate.c:
 *   crm.rebate_amount(basis, tiers, mode)        ad-hoc rebate of one basis
 *   crm.rebate_calc(...)                         one dealer's line inside crm.compute_rebates
 *   crm.rebate_tiers_check(tiers)                CHECK constraint of crm.rebate_program
 *
 * Parsed tier tables are cached per call site (fn_extra, in fn_mcxt) and
 * reused while the same jsonb value comes in, so a run over 10k dealers parses
 * its tiers once.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "crm_pg.h"
#include "rebate.h"

PG_FUNCTION_INFO_V1(crm_rebate_amount);
PG_FUNCTION_INFO_V1(crm_rebate_calc);
PG_FUNCTION_INFO_V1(crm_rebate_tiers_check);

/* One cached tier table: the jsonb bytes it came from and the parsed form. */
typedef struct TierCacheEntry
{
	struct varlena *raw;
	CrmTiers	tiers;
} TierCacheEntry;

typedef struct RebateCallCache
{
	TierCacheEntry tiers;
	TierCacheEntry bands;
	TupleDesc	tupdesc;
} RebateCallCache;

static RebateCallCache *
call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(RebateCallCache));
	return (RebateCallCache *) fcinfo->flinfo->fn_extra;
}

static void
parse_jsonb_tiers(Jsonb *jb, CrmTiers *out, const char *what)
{
	char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	CrmError	err;

	if (!crm_tiers_parse(text, strlen(text), out, &err))
		crm_report(&err, what);
	pfree(text);
}

/* The parsed tiers of a jsonb argument, from the cache when the bytes are the same. */
static const CrmTiers *
cached_tiers(FunctionCallInfo fcinfo, TierCacheEntry *entry, int argno, const char *what)
{
	struct varlena *raw = PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));
	MemoryContext old;

	if (entry->raw != NULL && VARSIZE(entry->raw) == VARSIZE(raw) &&
		memcmp(entry->raw, raw, VARSIZE(raw)) == 0)
		return &entry->tiers;
	if (entry->raw != NULL)
	{
		pfree(entry->raw);
		crm_tiers_free(&entry->tiers);
		entry->raw = NULL;
	}
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	parse_jsonb_tiers((Jsonb *) raw, &entry->tiers, what);
	entry->raw = palloc(VARSIZE(raw));
	memcpy(entry->raw, raw, VARSIZE(raw));
	MemoryContextSwitchTo(old);
	return &entry->tiers;
}

static CrmDec
numeric_to_dec(Datum num, const char *what)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, num));
	CrmDec		d;
	CrmError	err;

	if (!crm_dec_parse(s, strlen(s), &d, &err))
		crm_report(&err, what);
	pfree(s);
	return d;
}

static int64
numeric_to_scaled(Datum num, int scale, const char *what)
{
	int64_t		out;
	CrmError	err;

	if (!crm_dec_to_scale(numeric_to_dec(num, what), scale, &out, &err))
		crm_report(&err, what);
	return out;
}

/* v / 10^scale as numeric */
static Datum
scaled_to_numeric(int64 v, int scale)
{
	char		buf[48];
	char		digits[24];
	uint64		u = v < 0 ? (uint64) (-(v + 1)) + 1 : (uint64) v;
	int			n;
	int			o = 0;

	snprintf(digits, sizeof(digits), "%0*llu", scale + 1, (unsigned long long) u);
	n = (int) strlen(digits);
	if (v < 0)
		buf[o++] = '-';
	memcpy(buf + o, digits, n - scale);
	o += n - scale;
	if (scale > 0)
	{
		buf[o++] = '.';
		memcpy(buf + o, digits + n - scale, scale);
		o += scale;
	}
	buf[o] = '\0';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf), ObjectIdGetDatum(InvalidOid),
							   Int32GetDatum(-1));
}

static CrmRebateMode
mode_arg(FunctionCallInfo fcinfo, int argno)
{
	CrmRebateMode mode;
	CrmError	err;
	char	   *s = CRM_TEXT_ARG(argno);

	if (!crm_rebate_mode_parse(s, &mode, &err))
		crm_report(&err, NULL);
	pfree(s);
	return mode;
}

/*
 * crm.rebate_amount(basis numeric, tiers jsonb, mode text) RETURNS numeric
 * The basis selects the tier (at 4 decimals) and is rated at 2 decimals (fen).
 */
Datum
crm_rebate_amount(PG_FUNCTION_ARGS)
{
	RebateCallCache *cache = call_cache(fcinfo);
	const CrmTiers *tiers = cached_tiers(fcinfo, &cache->tiers, 1, NULL);
	CrmRebateMode mode = mode_arg(fcinfo, 2);
	CrmDec		basis = numeric_to_dec(PG_GETARG_DATUM(0), "basis");
	CrmDec		one = {1, 0};
	int64_t		q;
	int64_t		m;
	CrmRebateResult res;
	CrmError	err;

	if (!crm_dec_to_scale(basis, 4, &q, &err) || !crm_dec_to_scale(basis, 2, &m, &err) ||
		!crm_rebate_compute(tiers, mode, q, m, one, false, 0, &res, &err))
		crm_report(&err, "basis");
	PG_RETURN_DATUM(scaled_to_numeric(res.gross, 2));
}

/* crm.rebate_tiers_check(tiers jsonb) RETURNS boolean: true, or the parser's error. */
Datum
crm_rebate_tiers_check(PG_FUNCTION_ARGS)
{
	CrmTiers	tiers;

	parse_jsonb_tiers(PG_GETARG_JSONB_P(0), &tiers, NULL);
	crm_tiers_free(&tiers);
	PG_RETURN_BOOL(true);
}

/* The multiplier for an achievement (scale 4) from the bands: the rate of the band reached, 0 below. */
static CrmDec
band_multiplier(const CrmTiers *bands, int64 achievement)
{
	int			i = crm_tiers_find(bands, achievement);
	CrmDec		zero = {0, 0};

	if (i < 0)
		return zero;
	if (!bands->tiers[i].has_rate)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("multiplier band %d has an amount instead of a rate", i + 1),
				 errhint("Multiplier bands are tiers whose \"rate\" is the factor, e.g. {\"min\": 0.8, \"rate\": 1}.")));
	return bands->tiers[i].rate;
}

/*
 * crm.rebate_calc(qualifying, measured, tiers, mode, achievement, bands, cap_payout, settled)
 *   RETURNS crm.rebate_calc_result
 * Nulls: achievement or bands null = multiplier 1; cap_payout null = no cap; settled null = 0.
 */
Datum
crm_rebate_calc(PG_FUNCTION_ARGS)
{
	RebateCallCache *cache = call_cache(fcinfo);
	const CrmTiers *tiers;
	CrmRebateMode mode;
	CrmDec		mult = {1, 0};
	int64		qualifying;
	int64		measured;
	int64		settled = 0;
	int64		cap = 0;
	int64		payable;
	CrmRebateResult res;
	CrmError	err;
	Datum		values[9];
	bool		nulls[9] = {0};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("qualifying value, measured value, tiers and mode of a rebate must not be null"),
				 errhint("Pass 0 for a dealer without transactions.")));
	tiers = cached_tiers(fcinfo, &cache->tiers, 2, NULL);
	mode = mode_arg(fcinfo, 3);
	qualifying = numeric_to_scaled(PG_GETARG_DATUM(0), 4, "qualifying value");
	measured = numeric_to_scaled(PG_GETARG_DATUM(1), 2, "measured value");
	if (!PG_ARGISNULL(4) && !PG_ARGISNULL(5))
		mult = band_multiplier(cached_tiers(fcinfo, &cache->bands, 5, "multiplier bands"),
							   numeric_to_scaled(PG_GETARG_DATUM(4), 4, "achievement"));
	if (!PG_ARGISNULL(6))
		cap = numeric_to_scaled(PG_GETARG_DATUM(6), 2, "payout cap");
	if (!PG_ARGISNULL(7))
		settled = numeric_to_scaled(PG_GETARG_DATUM(7), 2, "settled amount");
	if (!crm_rebate_compute(tiers, mode, qualifying, measured, mult, !PG_ARGISNULL(6), cap, &res, &err) ||
		!crm_money_add(res.gross, -settled, &payable, &err))
		crm_report(&err, "rebate");

	if (cache->tupdesc == NULL)
	{
		TupleDesc	td;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "crm.rebate_calc must return a composite type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache->tupdesc = BlessTupleDesc(CreateTupleDescCopy(td));
		MemoryContextSwitchTo(old);
	}
	if (res.tier >= 0)
	{
		const CrmTier *t = &tiers->tiers[res.tier];

		int64		min = t->min;
		int			min_scale = 4;

		while (min_scale > 0 && min % 10 == 0)
		{
			min /= 10;
			min_scale--;
		}
		values[0] = Int32GetDatum(res.tier + 1);
		values[1] = scaled_to_numeric(min, min_scale);
		if (t->has_rate)
		{
			values[2] = scaled_to_numeric(t->rate.v, t->rate.scale);
			nulls[3] = true;
		}
		else
		{
			nulls[2] = true;
			values[3] = scaled_to_numeric(t->amount, 2);
		}
	}
	else
		nulls[0] = nulls[1] = nulls[2] = nulls[3] = true;
	values[4] = scaled_to_numeric(res.tier_amount, 2);
	values[5] = scaled_to_numeric(mult.v, mult.scale);
	values[6] = scaled_to_numeric(res.gross, 2);
	values[7] = BoolGetDatum(res.capped);
	values[8] = scaled_to_numeric(payable, 2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->tupdesc, values, nulls)));
}
