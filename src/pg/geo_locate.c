/*
 * geo_locate.c - crm.locate(): which active territories of the session's
 * tenant cover a point.
 *
 * A backend-wide cache holds, per tenant, the active territories ordered by
 * (priority, territory_id), their fences converted to WGS-84, and a spatial
 * index over them (src/core/geo_index.c).  It lives in its own memory context
 * and is dropped when crm.territory changes: a statement trigger on the table
 * calls CacheInvalidateRelcache(), which reaches every backend (and the writing
 * transaction itself at command end) through the relcache callback registered
 * here on first use.
 *
 * Entries are per tenant and role (the territories are read as the calling
 * role, so its privileges and row-level security apply).  Tenant membership is
 * checked through crm.current_tenant() once per transaction, role and tenant
 * setting; within that the per-call cost is the index lookup.
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
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "geo_pg.h"

#define MAX_CACHED_TENANTS 16
#define MAX_HITS 64

typedef struct TenantFences
{
	int64		tenant;
	Oid			userid;			/* built as this role: its privileges and policies applied */
	MemoryContext cxt;
	int			n;
	int64	   *ids;
	char	  **names;
	int32	   *priorities;
	CrmFence   *fences;			/* WGS-84 */
	CrmGeoIndex *index;
	bool		xact_local;		/* built from a transaction snapshot: valid in that transaction only */
	LocalTransactionId lxid;
} TenantFences;

static MemoryContext geo_cache_cxt = NULL;
static TenantFences *cached[MAX_CACHED_TENANTS];
static int	ncached = 0;
static bool cache_stale = false;
static bool callback_registered = false;
static Oid	territory_relid = InvalidOid;

/* membership check memo */
static int64 checked_tenant = 0;
static Oid	checked_user = InvalidOid;
static LocalTransactionId checked_lxid = InvalidLocalTransactionId;

static void
geo_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == territory_relid)
		cache_stale = true;
}

static void
drop_cache(void)
{
	if (geo_cache_cxt != NULL)
		MemoryContextReset(geo_cache_cxt);
	ncached = 0;
	cache_stale = false;
}

static int64
tenant_setting(void)
{
	const char *s = GetConfigOption("crm.tenant_id", true, false);

	return (s == NULL || *s == '\0') ? 1 : strtoll(s, NULL, 10);
}

/* The session's tenant, with crm.current_tenant()'s membership check once per transaction. */
static int64
checked_current_tenant(void)
{
	int64		t = tenant_setting();
	int64		checked;

	if (t == checked_tenant && GetUserId() == checked_user && MyProc->lxid == checked_lxid)
		return t;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	checked = crm_current_tenant();
	SPI_finish();
	checked_tenant = checked;
	checked_user = GetUserId();
	checked_lxid = MyProc->lxid;
	return checked;
}

static void
load_row(TenantFences *tf, int i, HeapTuple tup, TupleDesc desc, CrmArena *arena)
{
	bool		isnull;
	Datum		d;
	struct varlena *v;
	CrmFence	f;
	CrmError	err;

	tf->ids[i] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	d = SPI_getbinval(tup, desc, 2, &isnull);
	tf->names[i] = isnull ? NULL : TextDatumGetCString(d);
	tf->priorities[i] = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	v = PG_DETOAST_DATUM_COPY(SPI_getbinval(tup, desc, 4, &isnull));
	if (!crm_fence_deserialize(v, VARSIZE(v), arena, &f, &err))
		crm_report(&err, "territory fence");
	crm_fence_transform(&f, CRM_SRS_WGS84, arena, &tf->fences[i]);
}

static TenantFences *
build_tenant(int64 tenant)
{
	MemoryContext cxt = AllocSetContextCreate(geo_cache_cxt, "crm locate tenant", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	TenantFences *tf;
	Datum		arg = Int64GetDatum(tenant);
	Oid			argtype = INT8OID;
	CrmArena   *arena;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * Not read-only: in READ COMMITTED that takes a fresh snapshot, which sees
	 * every commit whose invalidation has been processed (a commit is visible
	 * before its invalidation is sent).
	 */
	if (SPI_execute_with_args("SELECT territory_id, name, priority, fence FROM crm.territory "
							  "WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND active "
							  "ORDER BY priority, territory_id",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading crm.territory failed");
	old = MemoryContextSwitchTo(cxt);
	tf = palloc0(sizeof(TenantFences));
	tf->tenant = tenant;
	tf->userid = GetUserId();
	tf->cxt = cxt;
	tf->xact_local = IsolationUsesXactSnapshot();
	tf->lxid = MyProc->lxid;
	tf->n = (int) SPI_processed;
	tf->ids = palloc(sizeof(int64) * (tf->n + 1));
	tf->names = palloc(sizeof(char *) * (tf->n + 1));
	tf->priorities = palloc(sizeof(int32) * (tf->n + 1));
	tf->fences = palloc(sizeof(CrmFence) * (tf->n + 1));
	arena = palloc(sizeof(CrmArena));
	crm_arena_init(arena, 65536);
	for (int i = 0; i < tf->n; i++)
		load_row(tf, i, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arena);
	tf->index = crm_geo_index_build(tf->fences, tf->n, arena);
	MemoryContextSwitchTo(old);
	SPI_finish();
	return tf;
}

static void
ensure_cache_setup(void)
{
	if (geo_cache_cxt == NULL)
		geo_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "crm locate cache", ALLOCSET_DEFAULT_SIZES);
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(geo_relcache_callback, (Datum) 0);
		callback_registered = true;
	}
}

/*
 * The table's OID, looked up on every call (two syscache probes): after DROP
 * EXTENSION / CREATE EXTENSION in another session the table is a new one,
 * and an index built from the old one must go.
 */
static void
check_territory_relid(void)
{
	Oid			relid = get_relname_relid("territory", get_namespace_oid("crm", false));

	if (relid != territory_relid)
	{
		drop_cache();
		territory_relid = relid;
	}
}

static TenantFences *
tenant_fences(int64 tenant)
{
	TenantFences *tf;

	ensure_cache_setup();
	AcceptInvalidationMessages();
	check_territory_relid();
	if (cache_stale)
		drop_cache();
	for (int i = 0; i < ncached; i++)
		if (cached[i]->xact_local && cached[i]->lxid != MyProc->lxid)
		{
			/* built from an older transaction's snapshot: may miss changes it could not see */
			drop_cache();
			break;
		}
	for (int i = 0; i < ncached; i++)
		if (cached[i]->tenant == tenant && cached[i]->userid == GetUserId())
			return cached[i];
	if (ncached == MAX_CACHED_TENANTS)
		drop_cache();
	tf = build_tenant(tenant);
	if (cache_stale)
	{
		/* changed while we read it: use this once, rebuild next time */
		MemoryContextSetParent(tf->cxt, CurrentMemoryContext);
		return tf;
	}
	cached[ncached++] = tf;
	return tf;
}

static int
locate_point(TenantFences **tfp, double lon, double lat, text *srs_name, int32 *hits, int max)
{
	CrmSrs		srs = crm_geo_srs_arg(srs_name);
	CrmError	err;
	double		x,
				y;

	if (!crm_geo_check_coord(lon, lat, 0, &err))
		crm_report(&err, "crm.locate");
	crm_srs_transform(srs, CRM_SRS_WGS84, lon, lat, &x, &y);
	*tfp = tenant_fences(checked_current_tenant());
	return crm_geo_index_lookup((*tfp)->index, x, y, hits, max);
}

PG_FUNCTION_INFO_V1(crm_locate);
Datum
crm_locate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TenantFences *tf;
	int32		hits[MAX_HITS];
	int			n;

	n = locate_point(&tf, PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_TEXT_PP(2), hits, MAX_HITS);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		int			k = hits[i];

		values[0] = Int64GetDatum(tf->ids[k]);
		nulls[1] = tf->names[k] == NULL;
		values[1] = nulls[1] ? (Datum) 0 : CStringGetTextDatum(tf->names[k]);
		values[2] = Int32GetDatum(tf->priorities[k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The first territory by priority, or NULL: the scalar form for triggers and joins. */
PG_FUNCTION_INFO_V1(crm_locate_id);
Datum
crm_locate_id(PG_FUNCTION_ARGS)
{
	TenantFences *tf;
	int32		hits[1];

	if (locate_point(&tf, PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_TEXT_PP(2), hits, 1) == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(tf->ids[hits[0]]);
}

/* Statement trigger on crm.territory: tell every backend to drop its cached index. */
PG_FUNCTION_INFO_V1(crm_territory_changed);
Datum
crm_territory_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm.territory_changed() must be called as a trigger")));
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}

/*
 * The active territories of a given tenant containing a point, by priority: for dispatch, which
 * has already checked the tenant (crm.dispatch() through dispatch_session_tenant(); the insert
 * trigger through the row's tenant_id default and row-level security).  No membership check and
 * no SPI here: the per-call cost is the index lookup.
 */
int
crm_geo_locate_tenant(int64 tenant, double lon, double lat, text *srs_name, int64 *ids, int max)
{
	int32		hits[MAX_HITS];
	TenantFences *tf;
	CrmSrs		srs = crm_geo_srs_arg(srs_name);
	CrmError	err;
	double		x,
				y;
	int			n;

	if (!crm_geo_check_coord(lon, lat, 0, &err))
		crm_report(&err, "crm.locate");
	crm_srs_transform(srs, CRM_SRS_WGS84, lon, lat, &x, &y);
	tf = tenant_fences(tenant);
	n = crm_geo_index_lookup(tf->index, x, y, hits, Min(max, MAX_HITS));
	for (int i = 0; i < n; i++)
		ids[i] = tf->ids[hits[i]];
	return n;
}
