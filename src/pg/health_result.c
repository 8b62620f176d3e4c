/*
 * health_result.c - what the profile aggregate needs from the server: the
 * tenant's ATC condition map, and the per-condition detail as jsonb.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "crm_pg.h"
#include "health_pg.h"

/*
 * Loads the tenant's ATC prefix → condition map (overrides, then shipped
 * defaults) into cxt.  The tenant is explicit: the trigger runs as the table
 * owner, whose queries row-level security does not filter.
 */
void
health_load_condmap(CrmCondMap *map, int64 tenant, MemoryContext cxt)
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


/* ---- jsonb built with pushJsonbValue: no text to format and parse again ---- */

static void
put_key(JsonbParseState **ps, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(ps, WJB_KEY, &k);
}

static void
put_null(JsonbParseState **ps, const char *key)
{
	JsonbValue	v;

	put_key(ps, key);
	v.type = jbvNull;
	pushJsonbValue(ps, WJB_VALUE, &v);
}

static void
put_numeric(JsonbParseState **ps, const char *key, Numeric n)
{
	JsonbValue	v;

	put_key(ps, key);
	v.type = jbvNumeric;
	v.val.numeric = n;
	pushJsonbValue(ps, WJB_VALUE, &v);
}

static void
put_bool(JsonbParseState **ps, const char *key, bool b)
{
	JsonbValue	v;

	put_key(ps, key);
	v.type = jbvBool;
	v.val.boolean = b;
	pushJsonbValue(ps, WJB_VALUE, &v);
}

static void
put_day(JsonbParseState **ps, const char *key, int32 day)
{
	JsonbValue	v;
	char	   *buf;

	if (day == CRM_NO_DAY)
	{
		put_null(ps, key);
		return;
	}
	buf = palloc(16);
	crm_day_format(day, buf);
	put_key(ps, key);
	v.type = jbvString;
	v.val.string.val = buf;
	v.val.string.len = strlen(buf);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

static void
put_bp(JsonbParseState **ps, const char *key, int bp)
{
	if (bp < 0)
		put_null(ps, key);
	else
		put_numeric(ps, key, int64_div_fast_to_numeric(bp, 4));
}

static void
put_condition(JsonbParseState **ps, const CrmCondStat *st, const CrmCondMap *map)
{
	bool		known = st->pdc_bp[2] >= 0;

	put_key(ps, map->cond_name[st->cond]);
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	put_numeric(ps, "fills", int64_to_numeric(st->fills));
	put_numeric(ps, "drugs", int64_to_numeric(st->drugs));
	put_day(ps, "first_fill", st->first_fill);
	put_day(ps, "last_fill", st->last_fill);
	put_day(ps, "next_refill", st->next_refill);
	if (known)
		put_numeric(ps, "days_overdue", int64_to_numeric(st->days_overdue));
	else
		put_null(ps, "days_overdue");
	put_bp(ps, "pdc_90", st->pdc_bp[0]);
	put_bp(ps, "pdc_180", st->pdc_bp[1]);
	put_bp(ps, "pdc_365", st->pdc_bp[2]);
	put_bp(ps, "threshold", map->threshold_bp[st->cond]);
	put_bool(ps, "measurable", st->measurable);
	if (known && st->measurable)
		put_bool(ps, "adherent", st->adherent);
	else
		put_null(ps, "adherent");
	if (known)
	{
		put_bool(ps, "persistent", st->persistent);
		put_numeric(ps, "persistence_days", int64_to_numeric(st->persistence_days));
	}
	else
	{
		put_null(ps, "persistent");
		put_null(ps, "persistence_days");
	}
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

Datum
health_conditions_jsonb(const CrmHealthProfile *prof, const CrmCondMap *map)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < prof->nconds; i++)
		put_condition(&ps, &prof->conds[i], map);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}
