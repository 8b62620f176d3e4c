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
#include "health_pg.h"
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

/* The tenant's ATC → condition map and the result descriptor, cached per call site. */
typedef struct HealthAggCache
{
	int64		tenant;
	bool		loaded;
	CrmCondMap	map;
	TupleDesc	desc;
} HealthAggCache;

/* Packs up to 8 ASCII bytes into an integer (0 for the empty string); false if it does not fit. */
static bool
pack_word(const char *s, int len, uint64 *out)
{
	uint64		v = 0;

	if (len > 8)
		return false;
	for (int i = 0; i < len; i++)
	{
		if ((unsigned char) s[i] >= 0x80)
			return false;
		v |= (uint64) (unsigned char) s[i] << (8 * i);
	}
	*out = v;
	return true;
}

static void
unpack_word(uint64 v, char *buf)
{
	int			i;

	for (i = 0; i < 8 && (v >> (8 * i)) & 0xFF; i++)
		buf[i] = (char) ((v >> (8 * i)) & 0xFF);
	buf[i] = '\0';
}

static uint64
channel_key(HealthAggState *st, text *t, MemoryContext cxt)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	uint64		key;
	char	   *c;

	if (pack_word(s, len, &key) && key != 0)
		return key;
	c = text_to_cstring(t);
	for (int i = 0; i < st->nlong; i++)
		if (strcmp(st->long_chan[i], c) == 0)
			return LONG_KEY | i;
	st->long_chan = st->long_chan ? repalloc(st->long_chan, sizeof(char *) * (st->nlong + 1))
		: MemoryContextAlloc(cxt, sizeof(char *));
	st->long_chan[st->nlong] = MemoryContextStrdup(cxt, c);
	return LONG_KEY | st->nlong++;
}

static HealthAggState *
agg_state(FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	HealthAggState *st = (HealthAggState *) MemoryContextAllocZero(aggcxt, HEALTH_STATE_SIZE(16));

	st->tenant = PG_GETARG_INT64(1);
	st->as_of = date_arg(PG_GETARG_DATEADT(2), "as_of");
	st->cap = 16;
	return st;
}

/*
 * A price in fen.  Prices are numeric(12,2); their on-disk form (the one
 * pg_upgrade keeps stable: a 16-bit header with sign, display scale and
 * weight, then base-10000 digits) is read directly in the common "short"
 * case, which avoids two numeric operations per line.  Anything else (long
 * format, more than two decimals, very large values) takes the exact slow path.
 */
#define NUM_SHORT			0x8000
#define NUM_SPECIAL_MASK	0xC000
#define NUM_SHORT_SIGN		0x2000
#define NUM_SHORT_DSCALE(h)	(((h) & 0x1F80) >> 7)
#define NUM_SHORT_WEIGHT(h)	(((h) & 0x0040) ? ((int) ((h) | ~0x003F)) : ((int) ((h) & 0x003F)))

static bool
price_fen_fast(Numeric num, int64 *fen)
{
	const uint16 *p = (const uint16 *) VARDATA_ANY(num);
	int			ndigits = (VARSIZE_ANY_EXHDR(num) - sizeof(uint16)) / sizeof(int16);
	uint16		h;
	int			weight;
	int64		v = 0;

	if (VARSIZE_ANY_EXHDR(num) < sizeof(uint16))
		return false;
	memcpy(&h, p, sizeof(uint16));
	if ((h & NUM_SPECIAL_MASK) != NUM_SHORT || NUM_SHORT_DSCALE(h) > 2)
		return false;
	weight = NUM_SHORT_WEIGHT(h);
	if (weight > 3 || weight - ndigits + 1 < -1)
		return false;			/* beyond 10^16, or digits past the first 4 decimals */
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;
		int			pos = weight - i;	/* this digit counts 10000^pos */

		memcpy(&d, p + 1 + i, sizeof(int16));
		if (pos >= 0)
		{
			int64		m = 100;

			for (int k = 0; k < pos; k++)
				m *= 10000;
			v += d * m;
		}
		else if (d % 100 != 0)
			return false;		/* a third or fourth decimal: round the exact way */
		else
			v += d / 100;
	}
	*fen = (h & NUM_SHORT_SIGN) ? -v : v;
	return true;
}

static int64
price_fen(Datum price)
{
	static Numeric hundred = NULL;
	Numeric		num = (Numeric) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(price));
	Numeric		v;
	int64		fen;

	/* packed (short header) values are read in place: no copy per line */
	if (price_fen_fast(num, &fen))
		return fen;
	num = DatumGetNumeric(price);
	if (hundred == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		hundred = int64_to_numeric(100);
		MemoryContextSwitchTo(old);
	}
	v = numeric_mul_opt_error(num, hundred, NULL);
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v)));
}

bool
health_line_fill(RawLine *l, HealthAggState *dict, MemoryContext cxt, TimestampTz ts, text *atc,
				 bool days_null, int32 days, Datum price, bool price_null, bool promo,
				 int64 store_id, text *channel)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		return false;
	ts += CST_OFFSET_USECS;
	l->day = (int32) (ts / USECS_PER_DAY - (ts % USECS_PER_DAY < 0 ? 1 : 0));
	/* an ATC code has at most 7 characters: anything longer is not one */
	l->atc = 0;
	if (atc != NULL && !pack_word(VARDATA_ANY(atc), VARSIZE_ANY_EXHDR(atc), &l->atc))
		l->atc = 0;
	l->days_supply = days_null ? 0 : (int16) Min(Max(days, 0), CRM_MAX_DAYS_SUPPLY);
	l->price_fen = price_null ? 0 : price_fen(price);
	l->promo = promo;
	l->store_id = store_id;
	l->chan = channel == NULL ? 0 : channel_key(dict, channel, cxt);
	return true;
}

HealthAggState *
health_state_add(HealthAggState *st, MemoryContext cxt, TimestampTz ts, text *atc, bool days_null,
				 int32 days, Datum price, bool price_null, bool promo, int64 store_id, text *channel)
{
	if (st == NULL)
	{
		st = (HealthAggState *) MemoryContextAllocZero(cxt, HEALTH_STATE_SIZE(16));
		st->cap = 16;
	}
	if (st->n == st->cap)
	{
		st = repalloc(st, HEALTH_STATE_SIZE(st->cap * 2));
		st->cap *= 2;
	}
	if (health_line_fill(&st->lines[st->n], st, cxt, ts, atc, days_null, days, price, price_null,
						 promo, store_id, channel))
		st->n++;
	return st;
}

Datum
crm_health_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	HealthAggState *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "crm_health_agg_trans called in non-aggregate context");
	st = PG_ARGISNULL(0) ? agg_state(fcinfo, aggcxt) : (HealthAggState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	st = health_state_add(st, aggcxt, PG_GETARG_TIMESTAMPTZ(3),
						  PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4),
						  PG_ARGISNULL(5), PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5),
						  PG_ARGISNULL(6) ? (Datum) 0 : PG_GETARG_DATUM(6), PG_ARGISNULL(6),
						  !PG_ARGISNULL(7) && PG_GETARG_BOOL(7),
						  PG_ARGISNULL(8) ? 0 : PG_GETARG_INT64(8),
						  PG_ARGISNULL(9) ? NULL : PG_GETARG_TEXT_PP(9));
	PG_RETURN_POINTER(st);
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
		health_load_condmap(&cache->map, tenant, cxt);
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

/* Index of key in keys[0..*n), appended if new. */
static int
key_index(uint64 *keys, int *n, uint64 key)
{
	for (int i = 0; i < *n; i++)
		if (keys[i] == key)
			return i;
	keys[*n] = key;
	return (*n)++;
}

/* The lines in the core's form: ATC codes and channels as dictionary indexes. */
static CrmHealthLine *
core_lines(const HealthAggState *st, uint64 *atc, int *natc, uint64 *chan, int *nchan)
{
	CrmHealthLine *lines = palloc(sizeof(CrmHealthLine) * (st->n > 0 ? st->n : 1));

	for (int i = 0; i < st->n; i++)
	{
		const RawLine *r = &st->lines[i];

		lines[i].day = r->day;
		lines[i].days_supply = r->days_supply;
		lines[i].atc = r->atc ? key_index(atc, natc, r->atc) : -1;
		lines[i].channel = r->chan ? key_index(chan, nchan, r->chan) : -1;
		lines[i].store_id = r->store_id;
		lines[i].price_fen = r->price_fen;
		lines[i].promo = r->promo;
	}
	return lines;
}

static Datum
channel_datum(const HealthAggState *st, uint64 key)
{
	char		buf[9];

	if (key & LONG_KEY)
		return CStringGetTextDatum(st->long_chan[key & ~LONG_KEY]);
	unpack_word(key, buf);
	return CStringGetTextDatum(buf);
}

static int	atc_condition(HealthAggState *st, const CrmCondMap *map, uint64 key);

/* Doubles the state's ATC cache (or creates it). */
static void
cache_grow(HealthAggState *st)
{
	int			cap = st->cache_cap ? st->cache_cap * 2 : 64;
	uint64	   *keys = MemoryContextAllocZero(st->cache_cxt, sizeof(uint64) * cap);
	int		   *conds = MemoryContextAlloc(st->cache_cxt, sizeof(int) * cap);

	for (int i = 0; i < st->cache_cap; i++)
	{
		uint64		h;

		if (st->cache_key[i] == 0)
			continue;
		for (h = (st->cache_key[i] * UINT64CONST(0x9E3779B97F4A7C15)) >> 40;; h++)
			if (keys[h & (cap - 1)] == 0)
				break;
		keys[h & (cap - 1)] = st->cache_key[i];
		conds[h & (cap - 1)] = st->cache_cond[i];
	}
	if (st->cache_key != NULL)
	{
		pfree(st->cache_key);
		pfree(st->cache_cond);
	}
	st->cache_key = keys;
	st->cache_cond = conds;
	st->cache_cap = cap;
}

/* The condition of a packed ATC code (longest prefix), remembered in the state's cache if any. */
static int
atc_condition(HealthAggState *st, const CrmCondMap *map, uint64 key)
{
	char		code[9];
	uint64		h;
	int			cond;

	if (st->cache_cxt != NULL && st->cache_cap > 0)
	{
		for (h = (key * UINT64CONST(0x9E3779B97F4A7C15)) >> 40;; h++)
		{
			uint64		k = st->cache_key[h & (st->cache_cap - 1)];

			if (k == key)
				return st->cache_cond[h & (st->cache_cap - 1)];
			if (k == 0)
				break;
		}
	}
	unpack_word(key, code);
	cond = crm_condmap_lookup(map, code);
	if (st->cache_cxt == NULL)
		return cond;
	if (st->cache_n * 2 >= st->cache_cap)
		cache_grow(st);
	for (h = (key * UINT64CONST(0x9E3779B97F4A7C15)) >> 40;; h++)
		if (st->cache_key[h & (st->cache_cap - 1)] == 0)
			break;
	st->cache_key[h & (st->cache_cap - 1)] = key;
	st->cache_cond[h & (st->cache_cap - 1)] = cond;
	st->cache_n++;
	return cond;
}

void
health_state_summary(HealthAggState *st, const CrmCondMap *map, int32 as_of, Datum *v, bool *nulls)
{
	CrmHealthProfile p;
	CrmHealthLine *lines;
	CrmError	err;
	uint64	   *atc = palloc(sizeof(uint64) * (st->n + 1));
	uint64	   *chan = palloc(sizeof(uint64) * (st->n + 1));
	int		   *atc_cond = palloc(sizeof(int) * (st->n + 1));
	int			natc = 0,
				nchan = 0;

	memset(nulls, 0, sizeof(bool) * HEALTH_SUMMARY_NATTS);
	lines = core_lines(st, atc, &natc, chan, &nchan);
	for (int i = 0; i < natc; i++)
		atc_cond[i] = atc_condition(st, map, atc[i]);
	if (!crm_health_profile(lines, st->n, atc_cond, natc, nchan, map, as_of, &p, &err))
		crm_report(&err, "crm.health_summary_agg");
	v[0] = conditions_array(&p, map);
	v[1] = health_conditions_jsonb(&p, map);
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
	v[17] = p.preferred_channel >= 0 ? channel_datum(st, chan[p.preferred_channel]) : (Datum) 0;
	nulls[17] = p.preferred_channel < 0;
}

Datum
crm_health_agg_final(PG_FUNCTION_ARGS)
{
	HealthAggState *st;
	HealthAggCache *cache;
	Datum		v[HEALTH_SUMMARY_NATTS];
	bool		nulls[HEALTH_SUMMARY_NATTS];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (HealthAggState *) PG_GETARG_POINTER(0);
	cache = agg_cache(fcinfo, st->tenant);
	if (cache->desc->natts != HEALTH_SUMMARY_NATTS)
		elog(ERROR, "crm.health_summary has %d attributes, expected %d", cache->desc->natts, HEALTH_SUMMARY_NATTS);
	health_state_summary(st, &cache->map, st->as_of, v, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->desc, v, nulls)));
}
