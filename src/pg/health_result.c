/*
 * health_result.c - what the profile aggregate needs from the server: the
 * tenant's ATC condition map, and the per-condition detail as jsonb.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
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


/*
 * ---- jsonb built as a JsonbValue tree and converted once: no text to
 * format and parse again, and no sorting of keys (they are laid out here in
 * jsonb's key order: shorter first, then bytewise).  The result equals what
 * pushJsonbValue would build from the same pairs.
 */

/* The keys of one condition's object, in jsonb order. */
enum
{
	K_DRUGS, K_FILLS, K_PDC_90, K_PDC_180, K_PDC_365, K_ADHERENT, K_LAST_FILL, K_THRESHOLD,
	K_FIRST_FILL, K_MEASURABLE, K_PERSISTENT, K_NEXT_REFILL, K_DAYS_OVERDUE, K_PERSISTENCE_DAYS,
	K_NKEYS
};

static const char *const cond_keys[K_NKEYS] = {
	"drugs", "fills", "pdc_90", "pdc_180", "pdc_365", "adherent", "last_fill", "threshold",
	"first_fill", "measurable", "persistent", "next_refill", "days_overdue", "persistence_days"
};

/* jsonb's order of object keys (lengthCompareJsonbStringValue) */
static int
key_cmp(const char *a, int alen, const char *b, int blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/* Checked once per backend: the table above really is in jsonb order. */
static void
check_key_order(void)
{
	static bool checked = false;

	if (checked)
		return;
	for (int i = 1; i < K_NKEYS; i++)
		if (key_cmp(cond_keys[i - 1], strlen(cond_keys[i - 1]), cond_keys[i], strlen(cond_keys[i])) >= 0)
			elog(ERROR, "health condition keys out of jsonb order at \"%s\"", cond_keys[i]);
	checked = true;
}

static void
set_str(JsonbValue *v, const char *s, int len)
{
	v->type = jbvString;
	v->val.string.val = (char *) s;
	v->val.string.len = len;
}

static void
set_numeric(JsonbValue *v, Numeric n)
{
	v->type = jbvNumeric;
	v->val.numeric = n;
}

static void
set_bool(JsonbValue *v, bool b)
{
	v->type = jbvBool;
	v->val.boolean = b;
}

static void
set_null(JsonbValue *v)
{
	v->type = jbvNull;
}

static void
set_day(JsonbValue *v, int32 day)
{
	char	   *buf;

	if (day == CRM_NO_DAY)
	{
		set_null(v);
		return;
	}
	buf = palloc(16);
	crm_day_format(day, buf);
	set_str(v, buf, strlen(buf));
}

/*
 * The numbers the detail repeats (small counts and day spans, basis points)
 * are made once per backend, in their own context: a jsonb only copies them.
 */
#define CACHED_INTS 1024
#define CACHED_BPS 10001
static MemoryContext numeric_cxt = NULL;
static Numeric int_cache[CACHED_INTS];
static Numeric bp_cache[CACHED_BPS];

static Numeric
cache_numeric(Numeric *slot, int64 v, int scale)
{
	if (*slot == NULL)
	{
		MemoryContext old;

		if (numeric_cxt == NULL)
			numeric_cxt = AllocSetContextCreate(TopMemoryContext, "crm health numerics", ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(numeric_cxt);
		*slot = scale > 0 ? int64_div_fast_to_numeric(v, scale) : int64_to_numeric(v);
		MemoryContextSwitchTo(old);
	}
	return *slot;
}

static Numeric
int_numeric(int64 v)
{
	if (v >= 0 && v < CACHED_INTS)
		return cache_numeric(&int_cache[v], v, 0);
	return int64_to_numeric(v);
}

static void
set_bp(JsonbValue *v, int bp)
{
	if (bp < 0)
		set_null(v);
	else if (bp < CACHED_BPS)
		set_numeric(v, cache_numeric(&bp_cache[bp], bp, 4));
	else
		set_numeric(v, int64_div_fast_to_numeric(bp, 4));
}

/* One condition's object (its pairs in jsonb key order). */
static void
condition_object(JsonbValue *obj, const CrmCondStat *st, const CrmCondMap *map)
{
	bool		known = st->pdc_bp[2] >= 0;
	JsonbPair  *p = palloc(sizeof(JsonbPair) * K_NKEYS);

	for (int k = 0; k < K_NKEYS; k++)
	{
		set_str(&p[k].key, cond_keys[k], strlen(cond_keys[k]));
		p[k].order = k;
	}
	set_numeric(&p[K_FILLS].value, int_numeric(st->fills));
	set_numeric(&p[K_DRUGS].value, int_numeric(st->drugs));
	set_day(&p[K_FIRST_FILL].value, st->first_fill);
	set_day(&p[K_LAST_FILL].value, st->last_fill);
	set_day(&p[K_NEXT_REFILL].value, st->next_refill);
	if (known)
		set_numeric(&p[K_DAYS_OVERDUE].value, int_numeric(st->days_overdue));
	else
		set_null(&p[K_DAYS_OVERDUE].value);
	set_bp(&p[K_PDC_90].value, st->pdc_bp[0]);
	set_bp(&p[K_PDC_180].value, st->pdc_bp[1]);
	set_bp(&p[K_PDC_365].value, st->pdc_bp[2]);
	set_bp(&p[K_THRESHOLD].value, map->threshold_bp[st->cond]);
	set_bool(&p[K_MEASURABLE].value, st->measurable);
	if (known && st->measurable)
		set_bool(&p[K_ADHERENT].value, st->adherent);
	else
		set_null(&p[K_ADHERENT].value);
	if (known)
	{
		set_bool(&p[K_PERSISTENT].value, st->persistent);
		set_numeric(&p[K_PERSISTENCE_DAYS].value, int_numeric(st->persistence_days));
	}
	else
	{
		set_null(&p[K_PERSISTENT].value);
		set_null(&p[K_PERSISTENCE_DAYS].value);
	}
	obj->type = jbvObject;
	obj->val.object.nPairs = K_NKEYS;
	obj->val.object.pairs = p;
}

Datum
health_conditions_jsonb(const CrmHealthProfile *prof, const CrmCondMap *map)
{
	JsonbValue	top;
	JsonbPair  *p = palloc(sizeof(JsonbPair) * Max(prof->nconds, 1));

	check_key_order();
	for (int i = 0; i < prof->nconds; i++)
	{
		const char *name = map->cond_name[prof->conds[i].cond];
		int			j = i;

		/* insertion in jsonb key order (condition names are distinct) */
		while (j > 0 && key_cmp(p[j - 1].key.val.string.val, p[j - 1].key.val.string.len,
								name, strlen(name)) > 0)
		{
			p[j] = p[j - 1];
			j--;
		}
		set_str(&p[j].key, name, strlen(name));
		p[j].order = i;
		condition_object(&p[j].value, &prof->conds[i], map);
	}
	top.type = jbvObject;
	top.val.object.nPairs = prof->nconds;
	top.val.object.pairs = p;
	return JsonbPGetDatum(JsonbValueToJsonb(&top));
}
