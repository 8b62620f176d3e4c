/*
 * dispatch_fn.c - the dispatch trigger on crm.lead, the load trigger, and crm.dispatch(),
 * crm.redispatch(), crm.dispatch_invoker().
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "dispatch.h"

PG_FUNCTION_INFO_V1(crm_lead_dispatch_trigger);
PG_FUNCTION_INFO_V1(crm_lead_dispatch_release);
PG_FUNCTION_INFO_V1(crm_dispatch);
PG_FUNCTION_INFO_V1(crm_redispatch);
PG_FUNCTION_INFO_V1(crm_dispatch_invoker);
PG_FUNCTION_INFO_V1(crm_dispatch_tenant);

/*
 * The session's tenant, checked for the role the session acts as.  Dispatch functions run as the
 * extension owner (SECURITY DEFINER), for whom crm.current_tenant() checks nothing; so the check
 * runs with the outer role, which SET ROLE can change but SECURITY DEFINER cannot.
 */
int64
dispatch_session_tenant(void)
{
	Oid			save_user;
	int			save_sec;
	int64		t = 0;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(GetOuterUserId(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		t = crm_current_tenant();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	return t;
}

extern Datum crm_tenant_setting(PG_FUNCTION_ARGS);

/* crm.tenant_setting(): the session's tenant setting, unchecked */
int64
dispatch_tenant_setting(void)
{
	LOCAL_FCINFO(fc, 0);

	InitFunctionCallInfoData(*fc, NULL, 0, InvalidOid, NULL, NULL);
	return DatumGetInt64(crm_tenant_setting(fc));
}

Datum
crm_dispatch_tenant(PG_FUNCTION_ARGS)
{
	int64		t;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	t = dispatch_session_tenant();
	SPI_finish();
	PG_RETURN_INT64(t);
}

/* the lead dispatch_set_lead() is updating right now (0 = none) */
static int64 moving_tenant = 0;
static int64 moving_lead = 0;

bool
dispatch_is_moving(int64 tenant_id, int64 lead_id)
{
	return moving_lead == lead_id && moving_tenant == tenant_id && lead_id != 0;
}

void
dispatch_set_lead(int64 tenant_id, int64 lead_id, bool has_owner, int64 owner, const char *status)
{
	Datum		v[4];
	char		nulls[4] = {' ', ' ', has_owner ? ' ' : 'n', ' '};

	v[0] = Int64GetDatum(tenant_id);
	v[1] = Int64GetDatum(lead_id);
	v[2] = Int64GetDatum(owner);
	v[3] = CStringGetTextDatum(status);
	moving_tenant = tenant_id;
	moving_lead = lead_id;
	PG_TRY();
	{
		dispatch_exec(DP_LEAD_SET, v, nulls, 0);
	}
	PG_FINALLY();
	{
		moving_tenant = 0;
		moving_lead = 0;
	}
	PG_END_TRY();
}

void
dispatch_record_params(const DispatchLead *lead, const DispatchChoice *c, Datum *v, char *nulls)
{
	bool		assigned = (c->reason == DISPATCH_OK);

	memset(nulls, ' ', 12);
	v[0] = Int64GetDatum(lead->tenant_id);
	v[1] = Int64GetDatum(lead->lead_id);
	v[2] = Int64GetDatum(c->territory_id);
	nulls[2] = c->has_territory ? ' ' : 'n';
	v[3] = Int64GetDatum(c->rep_id);
	nulls[3] = assigned ? ' ' : 'n';
	v[4] = BoolGetDatum(true);
	v[5] = CStringGetTextDatum(dispatch_reason_name(c->reason));
	nulls[5] = assigned ? 'n' : ' ';
	v[6] = c->detail ? DirectFunctionCall1(jsonb_in, CStringGetDatum(c->detail)) : (Datum) 0;
	nulls[6] = c->detail ? ' ' : 'n';
	v[7] = TimestampTzGetDatum(lead->created_at);
	v[8] = TimestampTzGetDatum(lead->at);
	v[9] = Int32GetDatum(c->sla_seconds);
	v[10] = Int16GetDatum(lead->level);
	v[11] = c->employee_no ? CStringGetTextDatum(c->employee_no) : (Datum) 0;
	nulls[11] = c->employee_no ? ' ' : 'n';
}

void
dispatch_record(const DispatchLead *lead, const DispatchChoice *c)
{
	Datum		v[12];
	char		nulls[12];

	Assert(c->reason != DISPATCH_OK);
	dispatch_record_params(lead, c, v, nulls);
	dispatch_exec(DP_RECORD, v, nulls, 0);
}

/* column numbers of crm.lead, looked up once per trigger call site */
typedef struct LeadCols
{
	Oid			relid;
	Oid			owner_role;		/* owner of the trigger function */
	int			tenant_id,
				lead_id,
				lon,
				lat,
				srs,
				skills,
				status,
				owner,
				created_at,
				external_ref;
} LeadCols;

static int
fnum(TupleDesc desc, const char *name)
{
	int			n = SPI_fnumber(desc, name);

	if (n <= 0)
		elog(ERROR, "crm.lead has no column \"%s\"", name);
	return n;
}

static Oid
function_owner(Oid fn_oid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);
	return owner;
}

static void
fill_cols(LeadCols *lc, Oid fn_oid, Relation rel)
{
	TupleDesc	d = RelationGetDescr(rel);

	lc->relid = RelationGetRelid(rel);
	lc->owner_role = function_owner(fn_oid);
	lc->tenant_id = fnum(d, "tenant_id");
	lc->lead_id = fnum(d, "lead_id");
	lc->lon = fnum(d, "lon");
	lc->lat = fnum(d, "lat");
	lc->srs = fnum(d, "srs");
	lc->skills = fnum(d, "required_skills");
	lc->status = fnum(d, "status");
	lc->owner = fnum(d, "owner_rep_id");
	lc->created_at = fnum(d, "created_at");
	lc->external_ref = fnum(d, "external_ref");
}

/*
 * For crm.lead, the column numbers and the function's owner are kept per backend and trigger
 * function, and looked up again after anything dispatch_rels() watches changed (crm.lead's
 * relcache, any function's pg_proc row); a trigger on another table keeps them per statement.
 */
#define BACKEND_COLS 2
static LeadCols backend_cols[BACKEND_COLS];
static Oid	backend_fn[BACKEND_COLS];
static uint64 backend_epoch[BACKEND_COLS];

static LeadCols *
lead_cols(FunctionCallInfo fcinfo, Relation rel)
{
	LeadCols   *lc = fcinfo->flinfo->fn_extra;
	Oid			fn_oid = fcinfo->flinfo->fn_oid;
	Oid			relid = RelationGetRelid(rel);

	if (lc != NULL && lc->relid == relid)
		return lc;
	if (relid == dispatch_rels()->lead)
	{
		uint64		epoch = dispatch_rels_epoch();
		int			slot = -1;

		for (int i = 0; i < BACKEND_COLS && slot < 0; i++)
			if (backend_fn[i] == fn_oid)
				slot = i;
		if (slot >= 0 && backend_epoch[slot] == epoch && backend_cols[slot].relid == relid)
			return &backend_cols[slot];
		for (int i = 0; i < BACKEND_COLS && slot < 0; i++)
			if (!OidIsValid(backend_fn[i]))
				slot = i;
		if (slot < 0)
			slot = 0;
		backend_fn[slot] = InvalidOid;	/* unusable until filled (an error may interrupt) */
		fill_cols(&backend_cols[slot], fn_oid, rel);
		/* an invalidation while filling: looked up again next time */
		backend_epoch[slot] = epoch;
		backend_fn[slot] = fn_oid;
		if (dispatch_rels_epoch() != epoch)
			backend_fn[slot] = InvalidOid;
		return &backend_cols[slot];
	}
	lc = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(LeadCols));
	fill_cols(lc, fn_oid, rel);
	fcinfo->flinfo->fn_extra = lc;
	return lc;
}

static Datum
getcol(HeapTuple tup, TupleDesc d, int attno, bool *isnull)
{
	return heap_getattr(tup, attno, d, isnull);
}

/* fills a DispatchLead from a crm.lead tuple */
static void
lead_from_tuple(HeapTuple tup, TupleDesc d, const LeadCols *lc, DispatchLead *lead)
{
	bool		n1,
				n2,
				isnull;

	lead->tenant_id = DatumGetInt64(getcol(tup, d, lc->tenant_id, &isnull));
	lead->lead_id = DatumGetInt64(getcol(tup, d, lc->lead_id, &isnull));
	lead->lon = DatumGetFloat8(getcol(tup, d, lc->lon, &n1));
	lead->lat = DatumGetFloat8(getcol(tup, d, lc->lat, &n2));
	lead->has_location = !n1 && !n2;
	lead->srs = getcol(tup, d, lc->srs, &isnull);
	lead->skills = getcol(tup, d, lc->skills, &isnull);
	if (isnull)
		lead->skills = PointerGetDatum(construct_empty_array(TEXTOID));
	lead->created_at = DatumGetTimestampTz(getcol(tup, d, lc->created_at, &isnull));
	lead->exclude = dispatch_empty_int8_array();
	lead->at = GetCurrentTimestamp();
	lead->level = 0;
	lead->fresh = true;
}

static char *
text_col(HeapTuple tup, TupleDesc d, int attno)
{
	bool		isnull;
	Datum		v = getcol(tup, d, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(v);
}

/*
 * A BEFORE trigger also runs for rows that INSERT ... ON CONFLICT then skips.  Leads are upserted
 * by external_ref (the only unique key besides the identity), so a lead whose external_ref is
 * already taken is not dispatched: its side effects would outlive the skipped row.
 */
static bool
external_ref_taken(Relation lead_rel, HeapTuple tup, TupleDesc d, const LeadCols *lc, int64 tenant_id)
{
	bool		isnull;
	Datum		ref = getcol(tup, d, lc->external_ref, &isnull);
	Oid			idx_oid;
	Relation	idx;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	bool		found;

	if (isnull)
		return false;
	/* a direct probe of the unique index: no plan to go stale while the table grows */
	if (RelationGetRelid(lead_rel) == dispatch_rels()->lead)
		idx_oid = dispatch_rels()->lead_ref_idx;
	else
		idx_oid = get_relname_relid("lead_tenant_id_external_ref_key", RelationGetNamespace(lead_rel));
	if (!OidIsValid(idx_oid))
		elog(ERROR, "unique index lead_tenant_id_external_ref_key of crm.lead is missing");
	idx = index_open(idx_oid, AccessShareLock);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(tenant_id));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   idx->rd_indcollation[1], F_TEXTEQ, ref);
	slot = table_slot_create(lead_rel, NULL);
	scan = index_beginscan(lead_rel, idx, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
	return found;
}

/*
 * The dispatch of a lead being inserted (status new, no owner), or the load of one inserted with
 * an owner; returns the row to insert.  Runs as the function's owner (crm_lead_dispatch_trigger()).
 */
static HeapTuple
dispatch_inserted(TriggerData *td, LeadCols *lc, const char *status)
{
	HeapTuple	tup = td->tg_trigtuple;
	TupleDesc	d = RelationGetDescr(td->tg_relation);
	DispatchLead lead;
	DispatchChoice c;
	bool		owner_null;
	int64		owner;
	Datum		newvals[2];
	bool		newnulls[2] = {false, false};
	int			cols[2];

	owner = DatumGetInt64(getcol(tup, d, lc->owner, &owner_null));
	lead_from_tuple(tup, d, lc, &lead);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (owner_null && external_ref_taken(td->tg_relation, tup, d, lc, lead.tenant_id))
	{
		/* INSERT ... ON CONFLICT DO NOTHING will skip this row (or the insert fails): no dispatch */
		SPI_finish();
		return tup;
	}
	if (!owner_null)
	{
		/*
		 * Inserted with an owner (by hand, an import, or pg_restore): not dispatched, but an
		 * open lead counts towards the owner's load.  No crm.lead_dispatch row is written, so
		 * that a restore can bring back the dumped one.
		 */
		if (dispatch_status_open(status))
			dispatch_bump_load(lead.tenant_id, owner, 1, false);
		SPI_finish();
		return tup;
	}
	dispatch_choose(&lead, &c);
	if (c.reason != DISPATCH_OK)
		dispatch_record(&lead, &c);
	owner = c.rep_id;
	SPI_finish();

	cols[0] = lc->owner;
	cols[1] = lc->status;
	newvals[0] = Int64GetDatum(owner);
	newnulls[0] = (c.reason != DISPATCH_OK);
	newvals[1] = CStringGetTextDatum(c.reason == DISPATCH_OK ? "assigned" : "unassigned");
	return heap_modify_tuple_by_cols(tup, d, 2, cols, newvals, newnulls);
}

/*
 * BEFORE INSERT ON crm.lead FOR EACH ROW.  A lead inserted with status new and no owner is
 * dispatched; one inserted with an owner and an open status only counts towards the owner's load.
 *
 * The function is not SECURITY DEFINER: the work runs inside a scope that switches to the
 * function's owner, as the definer call would, and pins search_path before any SQL statement
 * (dispatch_scope.c).  Rows that need no work are returned before the switch.
 */
Datum
crm_lead_dispatch_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	d;
	LeadCols   *lc;
	char	   *status;
	bool		owner_null;
	DispatchScope scope;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "crm.lead_dispatch_trigger() must run BEFORE INSERT FOR EACH ROW");
	tup = td->tg_trigtuple;
	d = RelationGetDescr(td->tg_relation);
	lc = lead_cols(fcinfo, td->tg_relation);
	status = text_col(tup, d, lc->status);
	(void) getcol(tup, d, lc->owner, &owner_null);
	if (status == NULL || (owner_null && strcmp(status, "new") != 0))
		return PointerGetDatum(tup);

	dispatch_scope_enter(&scope, lc->owner_role);
	PG_TRY();
	{
		tup = dispatch_inserted(td, lc, status);
	}
	PG_CATCH();
	{
		dispatch_scope_abort(&scope);
		PG_RE_THROW();
	}
	PG_END_TRY();
	dispatch_scope_exit(&scope);
	return PointerGetDatum(tup);
}

/* open owner of a lead tuple, or false */
static bool
open_owner(HeapTuple tup, TupleDesc d, const LeadCols *lc, int64 *owner)
{
	bool		isnull;
	char	   *status;

	*owner = DatumGetInt64(getcol(tup, d, lc->owner, &isnull));
	if (isnull)
		return false;
	status = text_col(tup, d, lc->status);
	return status != NULL && dispatch_status_open(status);
}

/*
 * AFTER UPDATE OF status, owner_rep_id / AFTER DELETE ON crm.lead FOR EACH ROW: keeps
 * crm.rep_load.open_leads right for changes made outside dispatch (closing a lead, manual
 * reassignment, escalation to a manager, deletion).
 */
Datum
crm_lead_dispatch_release(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	d;
	LeadCols   *lc;
	bool		isnull;
	int64		tenant_id,
				lead_id,
				old_owner,
				new_owner = 0;
	bool		old_open,
				new_open = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "crm.lead_dispatch_release() must run AFTER UPDATE or DELETE FOR EACH ROW");
	d = RelationGetDescr(td->tg_relation);
	lc = lead_cols(fcinfo, td->tg_relation);
	tenant_id = DatumGetInt64(getcol(td->tg_trigtuple, d, lc->tenant_id, &isnull));
	lead_id = DatumGetInt64(getcol(td->tg_trigtuple, d, lc->lead_id, &isnull));
	if (dispatch_is_moving(tenant_id, lead_id))
		return PointerGetDatum(NULL);
	old_open = open_owner(td->tg_trigtuple, d, lc, &old_owner);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		new_open = open_owner(td->tg_newtuple, d, lc, &new_owner);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (old_open && !(new_open && new_owner == old_owner))
		dispatch_bump_load(tenant_id, old_owner, -1, false);
	if (new_open && !(old_open && new_owner == old_owner))
		dispatch_bump_load(tenant_id, new_owner, 1, false);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		Datum		v[2] = {Int64GetDatum(tenant_id), Int64GetDatum(lead_id)};

		dispatch_exec(DP_DROP_STATE, v, NULL, 0);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* locks the lead of the current tenant and fills lead; returns its status (palloc'd) */
static char *
lock_lead(int64 lead_id, TimestampTz at, DispatchLead *lead, bool *has_owner, int64 *owner)
{
	Datum		v[2];
	bool		n1,
				n2,
				isnull;
	HeapTuple	row;
	TupleDesc	d;

	memset(lead, 0, sizeof(*lead));
	lead->tenant_id = dispatch_session_tenant();
	lead->lead_id = lead_id;
	lead->at = at;
	v[0] = Int64GetDatum(lead->tenant_id);
	v[1] = Int64GetDatum(lead_id);
	dispatch_exec(DP_LEAD_LOCK, v, NULL, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead " INT64_FORMAT " does not exist", lead_id),
				 errhint("Check the lead_id and the session's crm.tenant_id.")));
	row = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	lead->lon = DatumGetFloat8(SPI_getbinval(row, d, 1, &n1));
	lead->lat = DatumGetFloat8(SPI_getbinval(row, d, 2, &n2));
	lead->has_location = !n1 && !n2;
	lead->srs = SPI_datumTransfer(SPI_getbinval(row, d, 3, &isnull), false, -1);
	lead->skills = SPI_datumTransfer(SPI_getbinval(row, d, 4, &isnull), false, -1);
	*owner = DatumGetInt64(SPI_getbinval(row, d, 6, &isnull));
	*has_owner = !isnull;
	lead->created_at = DatumGetTimestampTz(SPI_getbinval(row, d, 7, &isnull));
	lead->exclude = dispatch_empty_int8_array();
	return SPI_getvalue(row, d, 5);
}

static void
closed_error(int64 lead_id, const char *status)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("lead " INT64_FORMAT " is closed (status %s) and cannot be dispatched", lead_id, status),
			 errhint("Only leads with status new or unassigned are dispatched.")));
}

Datum
crm_dispatch(PG_FUNCTION_ARGS)
{
	int64		lead_id = PG_GETARG_INT64(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	DispatchLead lead;
	DispatchChoice c;
	bool		has_owner;
	int64		owner;
	char	   *status;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lock_lead(lead_id, at, &lead, &has_owner, &owner);
	if (has_owner && dispatch_status_open(status))
	{
		SPI_finish();
		PG_RETURN_INT64(owner);
	}
	if (strcmp(status, "converted") == 0 || strcmp(status, "lost") == 0)
		closed_error(lead_id, status);
	dispatch_choose(&lead, &c);
	dispatch_set_lead(lead.tenant_id, lead_id, c.reason == DISPATCH_OK, c.rep_id,
					  c.reason == DISPATCH_OK ? "assigned" : "unassigned");
	if (c.reason != DISPATCH_OK)
		dispatch_record(&lead, &c);
	SPI_finish();
	if (c.reason != DISPATCH_OK)
		PG_RETURN_NULL();
	PG_RETURN_INT64(c.rep_id);
}

/* reps who held the lead before, plus the current owner */
static Datum
tried_reps(const DispatchLead *lead, int64 owner, int16 *level)
{
	Datum		v[2] = {Int64GetDatum(lead->tenant_id), Int64GetDatum(lead->lead_id)};
	ArrayType  *arr;
	Datum	   *elems;
	Datum	   *all;
	int			n = 0;
	bool		isnull;

	*level = 0;
	dispatch_exec(DP_TRIED, v, NULL, 1);
	elems = NULL;
	if (SPI_processed == 1)
	{
		Datum		a = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		*level = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		arr = DatumGetArrayTypeP(a);
		deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, NULL, &n);
	}
	all = palloc(sizeof(Datum) * (n + 1));
	for (int i = 0; i < n; i++)
		all[i] = elems[i];
	all[n] = Int64GetDatum(owner);
	return PointerGetDatum(construct_array(all, n + 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

Datum
crm_redispatch(PG_FUNCTION_ARGS)
{
	int64		lead_id = PG_GETARG_INT64(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	DispatchLead lead;
	DispatchChoice c;
	bool		has_owner;
	int64		owner;
	int16		level;
	char	   *status;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lock_lead(lead_id, at, &lead, &has_owner, &owner);
	if (!has_owner || !dispatch_status_open(status))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lead " INT64_FORMAT " is not assigned (status %s)", lead_id, status),
				 errhint("Use crm.dispatch() for leads without an owner.")));
	lead.exclude = tried_reps(&lead, owner, &level);
	lead.level = level;
	dispatch_choose(&lead, &c);
	if (c.reason != DISPATCH_OK)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	dispatch_bump_load(lead.tenant_id, owner, -1, false);
	dispatch_set_lead(lead.tenant_id, lead_id, true, c.rep_id, "assigned");
	SPI_finish();
	PG_RETURN_INT64(c.rep_id);
}

Datum
crm_dispatch_invoker(PG_FUNCTION_ARGS)
{
	char	   *who = GetUserNameFromId(GetOuterUserId(), false);

	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(who)));
}
