/*
 * health_agg.c - crm.pdc() and the aggregate that computes a customer's
 * health profile (crm.health_summary_agg) from its dispensing lines.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "adherence.h"
#include "crm_pg.h"
#include "health_profile.h"
#include "money.h"

PG_FUNCTION_INFO_V1(crm_pdc);
PG_FUNCTION_INFO_V1(crm_health_agg_trans);
PG_FUNCTION_INFO_V1(crm_health_agg_final);

/* Fill dates are days in China Standard Time (UTC+8, no daylight saving since 1991). */
#define CST_OFFSET_USECS (INT64CONST(8) * USECS_PER_HOUR)

/* ---- crm.pdc ---- */

static int
array_elements(ArrayType *a, Oid type, const char *name, Datum **values, bool **nulls)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						errmsg("%s must be a one-dimensional array", name),
						errhint("Pass one element per fill.")));
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(a, type, typlen, typbyval, typalign, values, nulls, &n);
	for (int i = 0; i < n; i++)
		if ((*nulls)[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("%s[%d] is null", name, i + 1),
							errhint("Every fill needs a date, a days supply and a drug; leave out fills without them.")));
	return n;
}

static int32
date_arg(DateADT d, const char *name)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						errmsg("%s must be a finite date", name),
						errhint("Use real calendar dates, not infinity.")));
	return (int32) d;
}

/* Byte-wise equality of two text datums (drug codes compare exactly). */
static bool
text_same(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

/* A numeric 0.xxxx from basis points. */
static Datum
bp_numeric(int bp)
{
	return NumericGetDatum(int64_div_fast_to_numeric(bp, 4));
}

Datum
crm_pdc(PG_FUNCTION_ARGS)
{
	Datum	   *dv,
			   *sv,
			   *gv;
	bool	   *dn,
			   *sn,
			   *gn;
	int			n = array_elements(PG_GETARG_ARRAYTYPE_P(0), DATEOID, "fill_dates", &dv, &dn);
	int			ns = array_elements(PG_GETARG_ARRAYTYPE_P(1), INT4OID, "days_supply", &sv, &sn);
	int			ng = array_elements(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, "drugs", &gv, &gn);
	int32		start = date_arg(PG_GETARG_DATEADT(3), "period_start");
	int32		end = date_arg(PG_GETARG_DATEADT(4), "period_end");
	CrmFill    *fills;
	CrmError	err;
	int32		covered,
				len;

	if (ns != n || ng != n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						errmsg("fill_dates, days_supply and drugs have %d, %d and %d elements", n, ns, ng),
						errhint("The three arrays describe the same fills: give them the same length.")));
	fills = palloc(sizeof(CrmFill) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
	{
		fills[i].day = date_arg(DatumGetDateADT(dv[i]), "fill_dates element");
		fills[i].days = DatumGetInt32(sv[i]);
		fills[i].drug = i;
		/* the same drug name gets the same key */
		for (int j = 0; j < i; j++)
			if (fills[j].drug == j && text_same(gv[i], gv[j]))
			{
				fills[i].drug = j;
				break;
			}
		if (fills[i].days < 1 || fills[i].days > CRM_MAX_DAYS_SUPPLY)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("days_supply[%d] is %d", i + 1, fills[i].days),
							errhint("A days supply is between 1 and %d days.", CRM_MAX_DAYS_SUPPLY)));
	}
	if (!crm_pdc_compute(fills, n, start, end, &covered, &len, &err))
		crm_report(&err, "crm.pdc");
	PG_RETURN_DATUM(bp_numeric((int) (((int64) covered * 20000 + len) / (2 * (int64) len))));
}

/* ---- the profile aggregate ---- */

typedef struct HealthAggState
{
	int64		tenant;
	int32		as_of;
	CrmHealthLine *lines;
	int			n;
	int			cap;
	char	  **atc;			/* ATC dictionary */
	int			natc;
	char	  **chan;			/* channel dictionary */
	int			nchan;
	int			atc_cap;
	int			chan_cap;
} HealthAggState;

/* The tenant's ATC → condition map and the result descriptor, cached per call site. */
typedef struct HealthAggCache
{
	int64		tenant;
	bool		loaded;
	CrmCondMap	map;
	TupleDesc	desc;
} HealthAggCache;

static int
intern(char ***dict, int *n, int *cap, text *t, MemoryContext cxt)
{
	char	   *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	for (int i = 0; i < *n; i++)
		if (strncmp((*dict)[i], s, len) == 0 && (*dict)[i][len] == '\0')
			return i;
	if (*n == *cap)
	{
		*cap = *cap ? *cap * 2 : 8;
		*dict = *dict ? repalloc(*dict, sizeof(char *) * *cap)
			: MemoryContextAlloc(cxt, sizeof(char *) * *cap);
	}
	(*dict)[*n] = MemoryContextStrdup(cxt, text_to_cstring(t));
	return (*n)++;
}

static HealthAggState *
agg_state(FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	HealthAggState *st = (HealthAggState *) MemoryContextAllocZero(aggcxt, sizeof(HealthAggState));

	st->tenant = PG_GETARG_INT64(1);
	st->as_of = date_arg(PG_GETARG_DATEADT(2), "as_of");
	st->cap = 16;
	st->lines = MemoryContextAlloc(aggcxt, sizeof(CrmHealthLine) * st->cap);
	return st;
}

static int64
price_fen(Datum price)
{
	static Numeric hundred = NULL;
	Numeric		v;

	if (hundred == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		hundred = int64_to_numeric(100);
		MemoryContextSwitchTo(old);
	}
	v = numeric_mul_opt_error(DatumGetNumeric(price), hundred, NULL);
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v)));
}

Datum
crm_health_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	HealthAggState *st;
	CrmHealthLine *l;
	TimestampTz ts;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "crm_health_agg_trans called in non-aggregate context");
	st = PG_ARGISNULL(0) ? agg_state(fcinfo, aggcxt) : (HealthAggState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	ts = PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(ts))
		PG_RETURN_POINTER(st);
	if (st->n == st->cap)
	{
		st->cap *= 2;
		st->lines = repalloc(st->lines, sizeof(CrmHealthLine) * st->cap);
	}
	l = &st->lines[st->n++];
	ts += CST_OFFSET_USECS;
	l->day = (int32) (ts / USECS_PER_DAY - (ts % USECS_PER_DAY < 0 ? 1 : 0));
	l->atc = PG_ARGISNULL(4) ? -1
		: intern(&st->atc, &st->natc, &st->atc_cap, PG_GETARG_TEXT_PP(4), aggcxt);
	l->days_supply = PG_ARGISNULL(5) ? 0 : Max(PG_GETARG_INT32(5), 0);
	l->price_fen = PG_ARGISNULL(6) ? 0 : price_fen(PG_GETARG_DATUM(6));
	l->promo = !PG_ARGISNULL(7) && PG_GETARG_BOOL(7);
	l->store_id = PG_ARGISNULL(8) ? 0 : PG_GETARG_INT64(8);
	l->channel = PG_ARGISNULL(9) ? -1
		: intern(&st->chan, &st->nchan, &st->chan_cap, PG_GETARG_TEXT_PP(9), aggcxt);
	PG_RETURN_POINTER(st);
}

/* Loads the tenant's ATC prefix → condition map (overrides, then shipped defaults) into cxt. */
static void
load_condmap(CrmCondMap *map, int64 tenant, MemoryContext cxt)
{
	static const char *sql =
		"SELECT o.atc_prefix, o.condition, (o.adherence_threshold OPERATOR(pg_catalog.*) 10000)::integer"
		"  FROM crm.atc_condition_override o"
		" WHERE o.tenant_id OPERATOR(pg_catalog.=) $1 AND o.condition IS NOT NULL"
		" UNION ALL "
		"SELECT d.atc_prefix, d.condition, (d.adherence_threshold OPERATOR(pg_catalog.*) 10000)::integer"
		"  FROM crm.atc_condition_default d"
		" WHERE NOT EXISTS (SELECT 1 FROM crm.atc_condition_override o"
		"                    WHERE o.tenant_id OPERATOR(pg_catalog.=) $1"
		"                      AND o.atc_prefix OPERATOR(pg_catalog.=) d.atc_prefix)";
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(tenant)};
	uint64		n;

	SPI_connect();
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the ATC condition map");
	n = SPI_processed;
	map->nrules = 0;
	map->nconds = 0;
	map->prefix = MemoryContextAlloc(cxt, sizeof(char *) * (n + 1));
	map->rule_cond = MemoryContextAlloc(cxt, sizeof(int) * (n + 1));
	map->cond_name = MemoryContextAlloc(cxt, sizeof(char *) * (n + 1));
	map->threshold_bp = MemoryContextAlloc(cxt, sizeof(int) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *cond = SPI_getvalue(tup, td, 2);
		bool		isnull;
		int			bp = DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull));
		int			c;

		for (c = 0; c < map->nconds && strcmp(map->cond_name[c], cond) != 0; c++)
			;
		if (c == map->nconds)
		{
			map->cond_name[c] = MemoryContextStrdup(cxt, cond);
			map->threshold_bp[c] = bp;
			map->nconds++;
		}
		else if (bp > map->threshold_bp[c])
			map->threshold_bp[c] = bp;	/* the strictest threshold of the class */
		map->prefix[map->nrules] = MemoryContextStrdup(cxt, SPI_getvalue(tup, td, 1));
		map->rule_cond[map->nrules++] = c;
	}
	SPI_finish();
}

static HealthAggCache *
agg_cache(FunctionCallInfo fcinfo, int64 tenant)
{
	HealthAggCache *cache = fcinfo->flinfo->fn_extra;
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;

	if (cache == NULL)
	{
		TupleDesc	desc;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "crm_health_agg_final must return a composite type");
		cache = MemoryContextAllocZero(cxt, sizeof(HealthAggCache));
		old = MemoryContextSwitchTo(cxt);
		cache->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}
	if (!cache->loaded || cache->tenant != tenant)
	{
		load_condmap(&cache->map, tenant, cxt);
		cache->tenant = tenant;
		cache->loaded = true;
	}
	return cache;
}

static Datum
day_datum(int32 day, bool *isnull)
{
	*isnull = (day == CRM_NO_DAY);
	return DateADTGetDatum((DateADT) day);
}

static Datum
conditions_array(const CrmHealthProfile *p, const CrmCondMap *map)
{
	Datum	   *names = palloc(sizeof(Datum) * (p->nconds > 0 ? p->nconds : 1));

	for (int i = 0; i < p->nconds; i++)
		names[i] = PointerGetDatum(cstring_to_text(map->cond_name[p->conds[i].cond]));
	return PointerGetDatum(construct_array(names, p->nconds, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Fills the columns that sum up the conditions: count, non-adherent, max overdue, min PDC. */
static void
condition_summary(const CrmHealthProfile *p, Datum *v, bool *nulls)
{
	int			nonadh = 0;
	int			overdue = -1;
	int			min_bp = -1;

	for (int i = 0; i < p->nconds; i++)
	{
		const CrmCondStat *c = &p->conds[i];

		if (c->measurable && c->pdc_bp[2] >= 0 && !c->adherent)
			nonadh++;
		if (c->days_overdue > overdue)
			overdue = c->days_overdue;
		if (c->pdc_bp[2] >= 0 && (min_bp < 0 || c->pdc_bp[2] < min_bp))
			min_bp = c->pdc_bp[2];
	}
	v[2] = Int32GetDatum(p->nconds);
	v[3] = Int32GetDatum(nonadh);
	v[4] = Int32GetDatum(overdue);
	nulls[4] = overdue < 0;
	v[5] = min_bp >= 0 ? bp_numeric(min_bp) : (Datum) 0;
	nulls[5] = min_bp < 0;
}

#define SUMMARY_NATTS 18

Datum
crm_health_agg_final(PG_FUNCTION_ARGS)
{
	HealthAggState *st;
	HealthAggCache *cache;
	CrmHealthProfile p;
	CrmError	err;
	CrmBuf		json;
	int		   *atc_cond;
	Datum		v[SUMMARY_NATTS];
	bool		nulls[SUMMARY_NATTS] = {0};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (HealthAggState *) PG_GETARG_POINTER(0);
	cache = agg_cache(fcinfo, st->tenant);
	atc_cond = palloc(sizeof(int) * (st->natc > 0 ? st->natc : 1));
	for (int i = 0; i < st->natc; i++)
		atc_cond[i] = crm_condmap_lookup(&cache->map, st->atc[i]);
	if (!crm_health_profile(st->lines, st->n, atc_cond, st->natc, st->nchan, &cache->map,
							st->as_of, &p, &err))
		crm_report(&err, "crm.health_summary_agg");
	crm_buf_init(&json);
	crm_health_conditions_json(&p, &cache->map, &json);
	v[0] = conditions_array(&p, &cache->map);
	v[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data));
	condition_summary(&p, v, nulls);
	v[6] = Int32GetDatum(p.lines);
	v[7] = day_datum(p.first_purchase, &nulls[7]);
	v[8] = day_datum(p.last_purchase, &nulls[8]);
	v[9] = Int32GetDatum(p.as_of - p.last_purchase);
	nulls[9] = nulls[8];
	v[10] = Int32GetDatum(p.visits_90);
	v[11] = Int32GetDatum(p.visits_365);
	v[12] = NumericGetDatum(int64_div_fast_to_numeric(p.spend_365_fen, 2));
	v[13] = p.visits_365 > 0 ? NumericGetDatum(int64_div_fast_to_numeric(
		(p.spend_365_fen * 2 + p.visits_365) / (2 * p.visits_365), 2)) : (Datum) 0;
	nulls[13] = p.visits_365 == 0;
	v[14] = p.lines_365 > 0 ? NumericGetDatum(int64_div_fast_to_numeric(
		((int64) p.promo_lines_365 * 2000 + p.lines_365) / (2 * p.lines_365), 3)) : (Datum) 0;
	nulls[14] = p.lines_365 == 0;
	v[15] = Int64GetDatum(p.preferred_store_id);
	nulls[15] = p.preferred_store_id == 0;
	v[16] = Int32GetDatum(p.store_count_365);
	v[17] = p.preferred_channel >= 0 ? CStringGetTextDatum(st->chan[p.preferred_channel]) : (Datum) 0;
	nulls[17] = p.preferred_channel < 0;
	if (cache->desc->natts != SUMMARY_NATTS)
		elog(ERROR, "crm.health_summary has %d attributes, expected %d", cache->desc->natts, SUMMARY_NATTS);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->desc, v, nulls)));
}
