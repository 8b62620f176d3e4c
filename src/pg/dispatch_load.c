/*
 * dispatch_load.c - reading the reps' counters (crm.rep_load) for ranking by direct probes of
 * its primary key, instead of a statement per lead.  The values only rank the candidates: the
 * reservation re-reads open_leads on the locked row, so a value changed meanwhile costs a retry
 * with the next candidate, never an over-assignment.
 *
 * The snapshot is the one a statement would take now (GetTransactionSnapshot(): fresh in READ
 * COMMITTED, the transaction's in REPEATABLE READ), with the current command id, so the counters
 * bumped for earlier leads of the same statement are seen.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "dispatch.h"

struct DispatchLoadReader
{
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	AttrNumber	open_leads;
	AttrNumber	assigned_total;
	AttrNumber	last_assigned_at;
};

DispatchLoadReader *
dispatch_load_begin(void)
{
	DispatchLoadReader *r = palloc0(sizeof(DispatchLoadReader));
	const DispatchRels *dr = dispatch_rels();

	r->open_leads = dr->load_open;
	r->assigned_total = dr->load_total;
	r->last_assigned_at = dr->load_last;
	r->rel = table_open(dr->rep_load, AccessShareLock);
	r->idx = index_open(dr->rep_load_pkey, AccessShareLock);
	r->snap = RegisterSnapshot(GetTransactionSnapshot());
	r->slot = table_slot_create(r->rel, NULL);
	r->scan = index_beginscan(r->rel, r->idx, r->snap, 2, 0);
	return r;
}

/* the counters of one rep; false when it has no counter row (never reserved then) */
bool
dispatch_load_read(DispatchLoadReader *r, int64 tenant_id, int64 rep_id, int32 *open_leads,
				   int64 *assigned_total, double *last_assigned)
{
	ScanKeyData keys[2];
	bool		isnull;
	Datum		d;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(rep_id));
	index_rescan(r->scan, keys, 2, NULL, 0);
	if (!index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
		return false;
	*open_leads = DatumGetInt32(slot_getattr(r->slot, r->open_leads, &isnull));
	*assigned_total = DatumGetInt64(slot_getattr(r->slot, r->assigned_total, &isnull));
	d = slot_getattr(r->slot, r->last_assigned_at, &isnull);
	/* seconds since the Unix epoch, as EXTRACT(epoch FROM ...) gives */
	*last_assigned = isnull ? -1 :
		(double) DatumGetTimestampTz(d) / USECS_PER_SEC +
		(double) ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
	ExecClearTuple(r->slot);
	return true;
}

void
dispatch_load_end(DispatchLoadReader *r)
{
	index_endscan(r->scan);
	ExecDropSingleTupleTableSlot(r->slot);
	UnregisterSnapshot(r->snap);
	/* the locks are kept until the end of the transaction, as a statement keeps them */
	index_close(r->idx, NoLock);
	table_close(r->rel, NoLock);
	pfree(r);
}
