/*
 * dispatch_reserve.c - reserving a rep: its crm.rep_load row locked (FOR UPDATE, optionally
 * SKIP LOCKED), capacity re-checked on the locked row, open_leads + 1 written, all by direct
 * table access instead of a statement per attempt.
 *
 * Same semantics as
 *   SELECT ... FROM crm.rep_load WHERE (tenant_id, rep_id) = (..) FOR UPDATE [SKIP LOCKED];
 *   UPDATE crm.rep_load SET open_leads = open_leads + 1, ... WHERE ... AND open_leads < capacity;
 * READ COMMITTED follows the row to its newest version after waiting; REPEATABLE READ and
 * SERIALIZABLE raise a serialization failure when the row changed since the snapshot.  The
 * table has no triggers; its check (open_leads >= 0) holds for an increment; its foreign key is
 * not touched (the key does not change); a non-HOT update gets its index entries here.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "dispatch.h"

/* index entries of a new (non-HOT) row version; only plain column indexes are expected */
static void
insert_index_entries(Relation rel, HeapTuple tup)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	ix = index_open(lfirst_oid(lc), RowExclusiveLock);
		Form_pg_index form = ix->rd_index;
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (!heap_attisnull(ix->rd_indextuple, Anum_pg_index_indexprs, NULL) ||
			!heap_attisnull(ix->rd_indextuple, Anum_pg_index_indpred, NULL))
			elog(ERROR, "crm.rep_load has an expression or partial index, which dispatch does not maintain");
		for (int i = 0; i < form->indnatts; i++)
			values[i] = heap_getattr(tup, form->indkey.values[i], RelationGetDescr(rel), &isnull[i]);
		index_insert(ix, values, isnull, &tup->t_self, rel,
					 form->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, BuildIndexInfo(ix));
		index_close(ix, NoLock);
	}
	list_free(indexes);
}

/* open_leads + 1, assigned_total + 1, last_assigned_at = now on the locked row version */
static void
bump_row(Relation rel, TupleTableSlot *slot, AttrNumber open_att, AttrNumber total_att,
		 AttrNumber last_att)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	HeapTuple	newtup;

	slot_getallattrs(slot);
	memcpy(values, slot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(nulls, slot->tts_isnull, sizeof(bool) * desc->natts);
	values[open_att - 1] = Int32GetDatum(DatumGetInt32(values[open_att - 1]) + 1);
	values[total_att - 1] = Int64GetDatum(DatumGetInt64(values[total_att - 1]) + 1);
	values[last_att - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
	nulls[last_att - 1] = false;
	newtup = heap_form_tuple(desc, values, nulls);
	simple_heap_update(rel, &slot->tts_tid, newtup);
	if (!HeapTupleIsHeapOnly(newtup))
		insert_index_entries(rel, newtup);
	heap_freetuple(newtup);
	/* later statements of this transaction (and the next lead's ranking) see the new counters */
	CommandCounterIncrement();
}

/* locks the row (waiting or not) and reserves a slot when there is room */
static DispatchReserve
lock_and_bump(Relation rel, const DispatchRels *dr, TupleTableSlot *slot, Snapshot snap,
			  int32 capacity, bool wait)
{
	TM_FailureData tmfd;
	TM_Result	res;
	bool		isnull;
	AttrNumber	open_att = dr->load_open;

	res = table_tuple_lock(rel, &slot->tts_tid, snap, slot, GetCurrentCommandId(true),
						   LockTupleExclusive, wait ? LockWaitBlock : LockWaitSkip,
						   IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	switch (res)
	{
		case TM_Ok:
			break;
		case TM_WouldBlock:
			return DISPATCH_RESERVE_BUSY;
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent delete")));
			return DISPATCH_RESERVE_NONE;	/* the rep is gone: nothing locked */
		case TM_Updated:
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
			break;
		default:
			elog(ERROR, "dispatch: unexpected result %d locking a crm.rep_load row", (int) res);
	}
	if (DatumGetInt32(slot_getattr(slot, open_att, &isnull)) >= capacity)
		return DISPATCH_RESERVE_FULL;
	bump_row(rel, slot, open_att, dr->load_total, dr->load_last);
	return DISPATCH_RESERVE_OK;
}

/*
 * The counter row is found with the reader's snapshot (taken when the loads were read for
 * ranking): if the row changed since, locking follows it to its newest version (READ COMMITTED)
 * or fails (REPEATABLE READ), exactly as for a snapshot taken now.
 */
DispatchReserve
dispatch_reserve_rep(DispatchLoadReader *r, int64 tenant_id, int64 rep_id, int32 capacity, bool wait)
{
	DispatchRels dr = *dispatch_rels();
	DispatchReserve res = DISPATCH_RESERVE_NONE;

	if (RelationGetRelid(r->rel) != dr.rep_load)
		elog(ERROR, "crm.rep_load changed while a lead was being dispatched");
	if (dispatch_finder_get(&r->finder, r->slot, tenant_id, rep_id))
		res = lock_and_bump(r->rel, &dr, r->slot, r->snap, capacity, wait);
	ExecClearTuple(r->slot);
	return res;
}
