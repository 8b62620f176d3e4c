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
	{
		if (!crm_rebate_band_factor(cached_tiers(fcinfo, &cache->bands, 5, "multiplier bands"),
									numeric_to_scaled(PG_GETARG_DATUM(4), 4, "achievement"), &mult, &err))
			crm_report(&err, NULL);
	}
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

/* ---------------------------------------------------------------------------------------------
 * crm.rebate_line(...): one dealer's whole line for crm.compute_rebates, explanation included,
 * built here because jsonb_build_object in SQL cost several times the rest of a line.
 * ------------------------------------------------------------------------------------------- */

static void
push_num(JsonbParseState **st, const char *key, Datum num)
{
	JsonbValue	v;

	crm_jsonb_push_key(st, key);
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(num);
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_str(JsonbParseState **st, const char *key, const char *s)
{
	JsonbValue	v;

	crm_jsonb_push_key(st, key);
	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_bool(JsonbParseState **st, const char *key, bool b)
{
	JsonbValue	v;

	crm_jsonb_push_key(st, key);
	v.type = jbvBool;
	v.val.boolean = b;
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_null(JsonbParseState **st, const char *key)
{
	JsonbValue	v;

	crm_jsonb_push_key(st, key);
	v.type = jbvNull;
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* Fetches a nullable numeric argument at a scale; false when null. */
static bool
opt_scaled(FunctionCallInfo fcinfo, int argno, int scale, const char *what, int64 *out)
{
	if (PG_ARGISNULL(argno))
		return false;
	*out = numeric_to_scaled(PG_GETARG_DATUM(argno), scale, what);
	return true;
}

static Datum
line_explanation(FunctionCallInfo fcinfo, const CrmLineInput *in, const CrmLineResult *c, const CrmTiers *tiers,
				 Datum *values, bool *nulls)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_str(&st, "basis", crm_rebate_basis_name(in->basis));
	push_str(&st, "mode", text_to_cstring(PG_GETARG_TEXT_PP(1)));
	push_num(&st, "purchases", PG_GETARG_DATUM(6));
	push_num(&st, "returns", PG_GETARG_DATUM(7));
	push_num(&st, "net_amount", scaled_to_numeric(in->purchases - in->returns, 2));
	if (in->basis == CRM_BASIS_QUANTITY)
		push_num(&st, "net_quantity", scaled_to_numeric(in->net_quantity, 2));
	if (in->basis == CRM_BASIS_GROWTH)
	{
		if (in->has_reference)
			push_num(&st, "reference_net", PG_GETARG_DATUM(9));
		else
			push_null(&st, "reference_net");
		if (c->has_qualifying)
			push_num(&st, "growth_pct", values[0]);
		else
			push_null(&st, "growth_pct");
	}
	push_num(&st, "measured", values[1]);
	if (in->has_cap_measured)
	{
		crm_jsonb_push_key(&st, "cap_measured");
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_num(&st, "limit", PG_GETARG_DATUM(4));
		push_bool(&st, "applied", c->measured_capped);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	if (c->has_qualifying)
		push_num(&st, "qualifying", values[0]);
	else
		push_null(&st, "qualifying");
	if (c->res.tier >= 0)
	{
		crm_jsonb_push_key(&st, "tier");
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_num(&st, "no", DirectFunctionCall1(int4_numeric, values[3]));
		push_num(&st, "min", values[4]);
		if (!nulls[5])
			push_num(&st, "rate", values[5]);
		else
			push_num(&st, "amount", values[6]);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	else
		push_null(&st, "tier");
	push_num(&st, "tier_amount", values[7]);
	if (!PG_ARGISNULL(3))
	{
		crm_jsonb_push_key(&st, "achievement");
		if (c->has_achievement)
		{
			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			push_num(&st, "target", PG_GETARG_DATUM(10));
			push_num(&st, "achieved", scaled_to_numeric(in->achieved, 2));
			push_num(&st, "ratio", values[2]);
			pushJsonbValue(&st, WJB_END_OBJECT, NULL);
		}
		else
		{
			JsonbValue	v;

			v.type = jbvNull;
			pushJsonbValue(&st, WJB_VALUE, &v);
		}
	}
	push_num(&st, "multiplier", values[8]);
	if (!PG_ARGISNULL(5))
	{
		crm_jsonb_push_key(&st, "cap_payout");
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_num(&st, "limit", PG_GETARG_DATUM(5));
		push_bool(&st, "applied", c->res.capped);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	push_num(&st, "gross", values[9]);
	push_num(&st, "settled", scaled_to_numeric(in->settled, 2));
	push_num(&st, "payable", values[11]);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

static void
line_input(FunctionCallInfo fcinfo, CrmLineInput *in)
{
	char	   *basis = text_to_cstring(PG_GETARG_TEXT_PP(0));
	CrmError	err;

	memset(in, 0, sizeof(*in));
	if (!crm_rebate_basis_parse(basis, &in->basis, &err))
		crm_report(&err, NULL);
	in->has_cap_measured = opt_scaled(fcinfo, 4, 2, "cap_measured", &in->cap_measured);
	(void) opt_scaled(fcinfo, 6, 2, "purchases", &in->purchases);
	(void) opt_scaled(fcinfo, 7, 2, "returns", &in->returns);
	(void) opt_scaled(fcinfo, 8, 2, "net quantity", &in->net_quantity);
	in->has_reference = opt_scaled(fcinfo, 9, 2, "reference", &in->reference);
	in->has_target = opt_scaled(fcinfo, 10, 2, "target", &in->target);
	(void) opt_scaled(fcinfo, 11, 2, "achieved", &in->achieved);
	(void) opt_scaled(fcinfo, 12, 2, "settled", &in->settled);
}

PG_FUNCTION_INFO_V1(crm_rebate_line);

/*
 * crm.rebate_line(basis, mode, tiers, bands, cap_measured, cap_payout, purchases, returns,
 *                 net_quantity, reference_net, target, achieved, settled) RETURNS crm.rebate_line_result
 */
Datum
crm_rebate_line(PG_FUNCTION_ARGS)
{
	RebateCallCache *cache = call_cache(fcinfo);
	const CrmTiers *tiers;
	const CrmTiers *bands = NULL;
	CrmRebateMode mode;
	CrmLineInput in;
	CrmLineResult c;
	CrmError	err;
	Datum		values[13];
	bool		nulls[13] = {0};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(6) || PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("basis, mode, tiers, purchases and returns of a rebate line must not be null"),
				 errhint("Pass 0 for a dealer without transactions.")));
	tiers = cached_tiers(fcinfo, &cache->tiers, 2, NULL);
	if (!PG_ARGISNULL(3))
		bands = cached_tiers(fcinfo, &cache->bands, 3, "multiplier bands");
	mode = mode_arg(fcinfo, 1);
	line_input(fcinfo, &in);
	in.has_cap_payout = opt_scaled(fcinfo, 5, 2, "cap_payout", &in.cap_payout);
	if (!crm_rebate_line_compute(&in, tiers, mode, bands, &c, &err))
		crm_report(&err, "rebate");

	nulls[0] = !c.has_qualifying;
	values[0] = c.has_qualifying ? scaled_to_numeric(c.qualifying / 100, 2) : (Datum) 0;
	values[1] = scaled_to_numeric(c.measured, 2);
	nulls[2] = !c.has_achievement;
	values[2] = c.has_achievement ? scaled_to_numeric(c.achievement, 4) : (Datum) 0;
	nulls[3] = nulls[4] = nulls[5] = nulls[6] = true;
	if (c.res.tier >= 0)
	{
		const CrmTier *t = &tiers->tiers[c.res.tier];
		int64		min = t->min;
		int			min_scale = 4;

		while (min_scale > 0 && min % 10 == 0)
		{
			min /= 10;
			min_scale--;
		}
		nulls[3] = nulls[4] = false;
		values[3] = Int32GetDatum(c.res.tier + 1);
		values[4] = scaled_to_numeric(min, min_scale);
		nulls[t->has_rate ? 5 : 6] = false;
		values[5] = t->has_rate ? scaled_to_numeric(t->rate.v, t->rate.scale) : (Datum) 0;
		values[6] = t->has_rate ? (Datum) 0 : scaled_to_numeric(t->amount, 2);
	}
	values[7] = scaled_to_numeric(c.res.tier_amount, 2);
	values[8] = scaled_to_numeric(c.multiplier.v, c.multiplier.scale);
	values[9] = scaled_to_numeric(c.res.gross, 2);
	values[10] = BoolGetDatum(c.res.capped);
	values[11] = scaled_to_numeric(c.payable, 2);
	values[12] = line_explanation(fcinfo, &in, &c, tiers, values, nulls);

	if (cache->tupdesc == NULL)
	{
		TupleDesc	td;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "crm.rebate_line must return a composite type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache->tupdesc = BlessTupleDesc(CreateTupleDescCopy(td));
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->tupdesc, values, nulls)));
}
