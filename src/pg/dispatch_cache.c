/*
 * dispatch_cache.c - per-backend cache of what dispatch needs to know about a territory's
 * members: reps, skills, licences, working hours and static weighted scores.
 *
 * Built on first use per (tenant, territory) in its own memory context under CacheMemoryContext,
 * dropped whole when any of the configuration tables changes: a statement trigger on each of them
 * (crm.dispatch_config_changed) sends a relcache invalidation for crm.territory_rep, which every
 * backend (and the writing transaction itself, at command end) receives through the callback
 * registered here.  Loads (open leads, last assignment) are never cached: they are read per lead.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "dispatch.h"

PG_FUNCTION_INFO_V1(crm_dispatch_config_changed);

typedef struct TerritoryKey
{
	int64		tenant_id;
	int64		territory_id;
} TerritoryKey;

typedef struct TerritoryEntry
{
	TerritoryKey key;
	DispatchMembers members;
} TerritoryEntry;

static MemoryContext cache_cxt = NULL;
static HTAB *cache = NULL;
static bool cache_valid = false;
static bool callback_registered = false;
static Oid	anchor_relid = InvalidOid;

static Oid
lookup_anchor(void)
{
	Oid			nsp = get_namespace_oid("crm", false);

	return get_relname_relid("territory_rep", nsp);
}

static void
cache_inval(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == anchor_relid)
		cache_valid = false;
}

/* Statement trigger on the configuration tables: tells every backend to drop its cache. */
Datum
crm_dispatch_config_changed(PG_FUNCTION_ARGS)
{
	Oid			anchor;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "crm.dispatch_config_changed() must be called as a trigger");
	anchor = lookup_anchor();
	if (OidIsValid(anchor))
		CacheInvalidateRelcacheByRelid(anchor);
	return PointerGetDatum(NULL);
}

static void
cache_reset(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(cache_inval, (Datum) 0);
		callback_registered = true;
	}
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "crm dispatch cache",
										  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache_cxt);
	cache = NULL;
	anchor_relid = lookup_anchor();
	cache_valid = true;
}

/* copies an array column of the current SPI row into cache memory */
static int
array_col(HeapTuple row, TupleDesc desc, int attno, Oid elemtype, Datum **out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, attno, &isnull);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			n;
	MemoryContext old;

	if (isnull)
	{
		*out = NULL;
		return 0;
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	old = MemoryContextSwitchTo(cache_cxt);
	deconstruct_array(DatumGetArrayTypePCopy(d), elemtype, typlen, typbyval, typalign, &elems, NULL, &n);
	if (elemtype == TEXTOID)
		for (int i = 0; i < n; i++)
			elems[i] = PointerGetDatum(TextDatumGetCString(elems[i]));
	MemoryContextSwitchTo(old);
	*out = elems;
	return n;
}

static void
load_rep(HeapTuple row, TupleDesc d, CachedRep *r)
{
	bool		isnull;
	Datum	   *a,
			   *b,
			   *c;
	int			n;

	r->rep_id = DatumGetInt64(SPI_getbinval(row, d, 1, &isnull));
	r->employee_no = MemoryContextStrdup(cache_cxt, SPI_getvalue(row, d, 2));
	r->capacity = DatumGetInt32(SPI_getbinval(row, d, 3, &isnull));
	r->score = DatumGetFloat8(SPI_getbinval(row, d, 4, &isnull));
	r->inputs = MemoryContextStrdup(cache_cxt, SPI_getvalue(row, d, 5));
	r->nskills = array_col(row, d, 6, TEXTOID, &a);
	r->skills = (char **) a;
	r->nhours = array_col(row, d, 7, INT4OID, &a);
	array_col(row, d, 8, FLOAT8OID, &b);
	array_col(row, d, 9, FLOAT8OID, &c);
	r->hours = MemoryContextAllocZero(cache_cxt, sizeof(CachedShift) * Max(r->nhours, 1));
	for (int i = 0; i < r->nhours; i++)
		r->hours[i] = (CachedShift) {DatumGetInt32(a[i]), DatumGetFloat8(b[i]), DatumGetFloat8(c[i])};
	r->nlicences = array_col(row, d, 10, TEXTOID, &a);
	n = array_col(row, d, 11, INT4OID, &b);
	array_col(row, d, 12, INT4OID, &c);
	Assert(n == r->nlicences);
	r->licences = MemoryContextAllocZero(cache_cxt, sizeof(CachedLicence) * Max(n, 1));
	for (int i = 0; i < n; i++)
		r->licences[i] = (CachedLicence) {(char *) a[i], DatumGetInt32(b[i]), DatumGetInt32(c[i])};
}

static void
load_members(int64 tenant_id, int64 territory_id, DispatchMembers *m)
{
	Datum		v[2] = {Int64GetDatum(tenant_id), Int64GetDatum(territory_id)};
	SPITupleTable *tt;
	Datum	   *a;

	dispatch_exec(DP_TERRITORY, v, NULL, 1);
	m->found = (SPI_processed == 1);
	if (!m->found)
		return;
	m->policy = MemoryContextStrdup(cache_cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	m->weight_model = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (m->weight_model != NULL)
		m->weight_model = MemoryContextStrdup(cache_cxt, m->weight_model);
	m->sla_seconds = atoi(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
	dispatch_exec(DP_MEMBERS, v, NULL, 0);
	tt = SPI_tuptable;
	m->nreps = (int) SPI_processed;
	m->reps = MemoryContextAllocZero(cache_cxt, sizeof(CachedRep) * Max(m->nreps, 1));
	for (int i = 0; i < m->nreps; i++)
		load_rep(tt->vals[i], tt->tupdesc, &m->reps[i]);
	dispatch_exec(DP_LICENSED, v, NULL, 1);
	m->nlicensed = 0;
	if (SPI_processed == 1)
		m->nlicensed = array_col(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, TEXTOID, &a);
	m->licensed = m->nlicensed > 0 ? (char **) a : NULL;
}

const DispatchMembers *
dispatch_members(int64 tenant_id, int64 territory_id)
{
	TerritoryKey key;
	TerritoryEntry *e;
	bool		found;

	if (!cache_valid)
		cache_reset();
	if (cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(TerritoryKey);
		ctl.entrysize = sizeof(TerritoryEntry);
		ctl.hcxt = cache_cxt;
		cache = hash_create("crm dispatch territories", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.tenant_id = tenant_id;
	key.territory_id = territory_id;
	e = hash_search(cache, &key, HASH_FIND, NULL);
	if (e != NULL)
		return &e->members;
	{
		DispatchMembers m;

		memset(&m, 0, sizeof(m));
		PG_TRY();
		{
			load_members(tenant_id, territory_id, &m);
		}
		PG_CATCH();
		{
			cache_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
		/* an invalidation that arrived while loading makes the result stale: do not keep it */
		if (!cache_valid)
		{
			DispatchMembers *copy = palloc(sizeof(DispatchMembers));

			*copy = m;
			return copy;
		}
		e = hash_search(cache, &key, HASH_ENTER, &found);
		e->members = m;
		return &e->members;
	}
}
