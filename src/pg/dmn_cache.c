/*
 * dmn_cache.c - the backend cache of compiled decision models, its
 * invalidation, and validation of models on write.
 *
 * The pg_cron pattern: every statement that changes a crm.dmn_* table (or
 * the scoring settings) runs the statement trigger crm.dmn_invalidate(),
 * which queues a relcache invalidation of crm.dmn_model.  Every backend
 * (at its next transaction or lock) and the changing transaction itself (at
 * its next command) runs our relcache callback, which marks the cache stale;
 * the next lookup drops every entry.  Dropping is deferred to the next lookup
 * so that an invalidation arriving while a caller still uses an entry (it
 * may run SQL after getting it) never frees memory under it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "dmn_pg.h"

extern Datum crm_tenant_setting(PG_FUNCTION_ARGS);

#define MAX_VALIDATED 64
#define MAX_ENTRIES 256		/* compiled models kept per backend */

static MemoryContext cache_cxt = NULL;
static List *entries = NIL;		/* of DmnCacheEntry *, in cache_cxt */
static bool callback_registered = false;
static bool stale = false;
static Oid	marker_relid = InvalidOid;
static uint64 generation = 1;
static uint64 stat_hits = 0;
static uint64 stat_misses = 0;
static uint64 stat_invalidations = 0;

/* Models validated in this transaction since the last invalidation. */
static LocalTransactionId validated_lxid = InvalidLocalTransactionId;
static int	nvalidated = 0;
static int64 validated[MAX_VALIDATED][2];

static void
cache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == marker_relid || marker_relid == InvalidOid)
	{
		stale = true;
		generation++;
		stat_invalidations++;
		nvalidated = 0;
		/* look the marker up again: the extension may have been dropped and recreated */
		marker_relid = InvalidOid;
	}
}

void
dmn_cache_register(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(cache_callback, (Datum) 0);
		callback_registered = true;
	}
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "crm dmn cache", ALLOCSET_DEFAULT_SIZES);
	if (marker_relid == InvalidOid)
		marker_relid = get_relname_relid("dmn_model", get_namespace_oid("crm", false));
}

uint64
dmn_cache_generation(void)
{
	dmn_cache_register();
	return generation;
}

/* Drops every entry if an invalidation arrived since the last lookup. */
static void
cache_refresh(void)
{
	dmn_cache_register();
	if (stale)
	{
		MemoryContextReset(cache_cxt);
		entries = NIL;
		stale = false;
	}
}

int64
dmn_session_tenant(void)
{
	LOCAL_FCINFO(fcinfo, 0);

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	return DatumGetInt64(crm_tenant_setting(fcinfo));
}

void
dmn_report(const CrmError *err, const char *model)
{
	char		context[NAMEDATALEN * 4];

	snprintf(context, sizeof(context), "decision model \"%s\"", model);
	crm_report(err, context);
}

static void
not_found(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("decision model \"%s\" does not exist", name),
			 errhint("Import it with crm.dmn_import() or create it with crm.dmn_create_model(); "
					 "models belong to the tenant in crm.tenant_id.")));
}

/* Loads and compiles the current version into a new entry (connects to SPI itself). */
static DmnCacheEntry *
cache_load(int64 tenant_id, const char *name, bool missing_ok)
{
	MemoryContext cxt = AllocSetContextCreate(cache_cxt, "crm dmn model", ALLOCSET_SMALL_SIZES);
	MemoryContext old;
	DmnCacheEntry *e;
	int64		model_id;
	CrmError	err;

	SPI_connect();
	/* the same membership rule as row-level security: refuses tenants the role is not in */
	(void) crm_current_tenant();
	model_id = dmn_store_find(tenant_id, name, 0);
	if (model_id == 0)
	{
		SPI_finish();
		MemoryContextDelete(cxt);
		if (!missing_ok)
			not_found(name);
		return NULL;
	}
	old = MemoryContextSwitchTo(cxt);
	e = palloc0(sizeof(DmnCacheEntry));
	e->cxt = cxt;
	e->tenant_id = tenant_id;
	e->user_id = GetUserId();
	e->name = pstrdup(name);
	e->model_id = model_id;
	e->model = dmn_store_load(tenant_id, model_id, NULL, &e->version);
	crm_error_clear(&err);
	e->program = dmn_compile(e->model, &err);
	MemoryContextSwitchTo(old);
	SPI_finish();
	if (e->program == NULL)
	{
		MemoryContextDelete(cxt);
		dmn_report(&err, name);
	}
	return e;
}

DmnCacheEntry *
dmn_cache_get(int64 tenant_id, const char *name, bool missing_ok)
{
	ListCell   *lc;
	Oid			user_id = GetUserId();
	DmnCacheEntry *e;
	MemoryContext old;

	cache_refresh();
	foreach(lc, entries)
	{
		e = lfirst(lc);
		if (e->tenant_id == tenant_id && e->user_id == user_id && strcmp(e->name, name) == 0)
		{
			stat_hits++;
			return e;
		}
	}
	stat_misses++;
	/* a bound on what one backend keeps: beyond it, start over */
	if (list_length(entries) >= MAX_ENTRIES)
	{
		MemoryContextReset(cache_cxt);
		entries = NIL;
		generation++;			/* call sites holding entries must look them up again */
	}
	e = cache_load(tenant_id, name, missing_ok);
	if (e == NULL)
		return NULL;
	old = MemoryContextSwitchTo(cache_cxt);
	entries = lappend(entries, e);
	MemoryContextSwitchTo(old);
	return e;
}

/* ---------------------------------------------------------------- triggers */

PG_FUNCTION_INFO_V1(crm_dmn_invalidate);

/* Statement trigger on the decision tables: every backend drops its compiled models. */
Datum
crm_dmn_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Oid			marker;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm.dmn_invalidate() may only be called as a trigger")));
	td = (TriggerData *) fcinfo->context;
	dmn_cache_register();
	/* looked up afresh: a remembered oid may belong to a dropped extension */
	marker = get_relname_relid("dmn_model", RelationGetNamespace(td->tg_relation));
	if (OidIsValid(marker))
		CacheInvalidateRelcacheByRelid(marker);
	return PointerGetDatum(NULL);
}

static bool
already_validated(int64 tenant_id, int64 model_id)
{
	if (validated_lxid != MyProc->lxid)
	{
		validated_lxid = MyProc->lxid;
		nvalidated = 0;
	}
	for (int i = 0; i < nvalidated; i++)
		if (validated[i][0] == tenant_id && validated[i][1] == model_id)
			return true;
	return false;
}

static void
remember_validated(int64 tenant_id, int64 model_id)
{
	if (nvalidated < MAX_VALIDATED)
	{
		validated[nvalidated][0] = tenant_id;
		validated[nvalidated][1] = model_id;
		nvalidated++;
	}
}

/* Compiles a stored model version; raises its first error. */
static void
validate_model(int64 tenant_id, int64 model_id)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "crm dmn validate", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	bool		is_current = false;
	DmnModel   *m;
	DmnProgram *prog;
	CrmError	err;

	SPI_connect();
	old = MemoryContextSwitchTo(cxt);
	m = dmn_store_load(tenant_id, model_id, &is_current, NULL);
	MemoryContextSwitchTo(old);
	SPI_finish();
	old = MemoryContextSwitchTo(cxt);
	if (m != NULL && is_current)
	{
		crm_error_clear(&err);
		prog = dmn_compile(m, &err);
		if (prog == NULL)
			dmn_report(&err, m->name);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

static int64
tuple_int8(HeapTuple tuple, TupleDesc desc, const char *col)
{
	int			attno = SPI_fnumber(desc, col);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		elog(ERROR, "column \"%s\" not found", col);
	d = heap_getattr(tuple, attno, desc, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

PG_FUNCTION_INFO_V1(crm_dmn_validate_trigger);

/* Deferred constraint trigger: compiles each changed model once per transaction. */
Datum
crm_dmn_validate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	int64		tenant_id;
	int64		model_id;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm.dmn_validate_trigger() may only be called as a trigger")));
	/* pg_restore (row_security = off) loads the tables one by one: partial models are expected */
	if (!row_security)
		return PointerGetDatum(NULL);
	cache_refresh();
	desc = td->tg_relation->rd_att;
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	tenant_id = tuple_int8(tuple, desc, "tenant_id");
	model_id = tuple_int8(tuple, desc, "model_id");
	if (!already_validated(tenant_id, model_id))
	{
		validate_model(tenant_id, model_id);
		remember_validated(tenant_id, model_id);
	}
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(crm_dmn_cache_stats);

Datum
crm_dmn_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		vals[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	cache_refresh();
	vals[0] = Int32GetDatum(list_length(entries));
	vals[1] = Int64GetDatum((int64) stat_hits);
	vals[2] = Int64GetDatum((int64) stat_misses);
	vals[3] = Int64GetDatum((int64) stat_invalidations);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), vals, nulls)));
}
