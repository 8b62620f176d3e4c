/*
 * dispatch_reserve.c - reserving a rep: its crm.rep_load row locked (FOR UPDATE, optionally
 * SKIP LOCKED), capacity re-checked on the locked row, open_leads + 1 written, all by direct
 * table access instead of a statement per attempt.
 *
 * Same semantics as
 *   SELECT ... FROM crm.rep_load WHERE (tenant_id, rep_id) = (..) FOR UPDATE [SKIP LOCKED];
 *   UPDATE crm.rep_load SET open_leads = open_leads + 1, ... WHERE ... AND open_leads < capacity;
 * When the version read has room and is still the newest, unlocked, it is updated at once
 * (bump_unlocked), which is what locking it and updating it would do, in one step.
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

/* the row version with open_leads + 1, assigned_total + 1, last_assigned_at = now */
static HeapTuple
bumped_tuple(Relation rel, TupleTableSlot *slot, const DispatchRels *dr)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);

	slot_getallattrs(slot);
	memcpy(values, slot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(nulls, slot->tts_isnull, sizeof(bool) * desc->natts);
	values[dr->load_open - 1] = Int32GetDatum(DatumGetInt32(values[dr->load_open - 1]) + 1);
	values[dr->load_total - 1] = Int64GetDatum(DatumGetInt64(values[dr->load_total - 1]) + 1);
	values[dr->load_last - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
	nulls[dr->load_last - 1] = false;
	return heap_form_tuple(desc, values, nulls);
}

/* after the new version is in place */
static void
bumped(Relation rel, HeapTuple newtup)
{
	if (!HeapTupleIsHeapOnly(newtup))
		insert_index_entries(rel, newtup);
	heap_freetuple(newtup);
	/* later statements of this transaction (and the next lead's ranking) see the new counters */
	CommandCounterIncrement();
}

/* the bump on the locked row version */
static void
bump_row(Relation rel, TupleTableSlot *slot, const DispatchRels *dr)
{
	HeapTuple	newtup = bumped_tuple(rel, slot, dr);

	simple_heap_update(rel, &slot->tts_tid, newtup);
	bumped(rel, newtup);
}

/*
 * The bump without a separate lock: when the version read with the snapshot has room, it is
 * updated directly, which succeeds only if it is still the newest version and nobody holds a
 * lock on it (no waiting).  An update takes the row lock itself, so the outcome is that of
 * locking, re-checking the same version and updating, with one WAL record instead of two.
 * False, with nothing changed, in every other case: the caller then locks as usual (waiting or
 * skipping, following a newer version, re-checking capacity there).
 */
static bool
bump_unlocked(Relation rel, TupleTableSlot *slot, const DispatchRels *dr, int32 capacity)
{
	bool		isnull;
	HeapTuple	newtup;
	TM_FailureData tmfd;
	LockTupleMode lockmode;

	if (DatumGetInt32(slot_getattr(slot, dr->load_open, &isnull)) >= capacity)
		return false;
	newtup = bumped_tuple(rel, slot, dr);
	if (heap_update(rel, &slot->tts_tid, newtup, GetCurrentCommandId(true), InvalidSnapshot,
					false, &tmfd, &lockmode) != TM_Ok)
	{
		heap_freetuple(newtup);
		return false;
	}
	bumped(rel, newtup);
	return true;
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

	if (bump_unlocked(rel, slot, dr, capacity))
		return DISPATCH_RESERVE_OK;
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
	bump_row(rel, slot, dr);
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
