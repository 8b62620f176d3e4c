/*
 * dispatch_load.c - reading the reps' counters (crm.rep_load) for ranking by direct probes,
 * instead of a statement per lead.  The values only rank the candidates: the reservation
 * re-reads open_leads on the locked row, so a value changed meanwhile costs a retry with the
 * next candidate, never an over-assignment.
 *
 * The snapshot is the one a statement would take now (GetTransactionSnapshot(): fresh in READ
 * COMMITTED, the transaction's in REPEATABLE READ), with the current command id, so the counters
 * bumped for earlier leads of the same statement are seen.
 *
 * Finding a rep's row: the primary key gives the root of the row's HOT chain, which stays the
 * same while the counter is updated in place (HOT), as it nearly always is.  The root is cached
 * per backend and rep, and the next probe starts there: the visible member of that chain is taken
 * when it carries the same key (the key is unique, so a visible row with the key is the row);
 * otherwise (the row moved, the line pointer was reused, the page is gone) the index is probed
 * and the new root cached.  The cache is dropped when the table is another relation or has
 * another file (TRUNCATE, VACUUM FULL, CLUSTER), and a root beyond the table's current end is
 * never read.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "dispatch.h"

typedef struct RootKey
{
	int64		tenant_id;
	int64		rep_id;
} RootKey;

typedef struct RootEntry
{
	RootKey		key;
	ItemPointerData root;
} RootEntry;

static HTAB *roots = NULL;
static Oid	roots_relid = InvalidOid;
static RelFileNode roots_node;

/* the cache of roots for this relation file, emptied when the relation or its file changed */
static void
roots_check(Relation rel)
{
	if (roots != NULL && roots_relid == RelationGetRelid(rel) &&
		RelFileNodeEquals(roots_node, rel->rd_node))
		return;
	if (roots != NULL)
		hash_destroy(roots);
	roots = NULL;
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(RootKey);
		ctl.entrysize = sizeof(RootEntry);
		ctl.hcxt = CacheMemoryContext;
		roots = hash_create("crm dispatch counter rows", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	roots_relid = RelationGetRelid(rel);
	roots_node = rel->rd_node;
}

void
dispatch_finder_begin(DispatchRowFinder *f, Relation rel, Relation idx, Snapshot snap)
{
	roots_check(rel);
	f->rel = rel;
	f->idx = idx;
	f->snap = snap;
	f->nblocks = RelationGetNumberOfBlocks(rel);
	f->tenant_att = idx->rd_index->indkey.values[0];
	f->rep_att = idx->rd_index->indkey.values[1];
	f->scan = NULL;
	f->fetch = NULL;
}

void
dispatch_finder_end(DispatchRowFinder *f)
{
	if (f->scan != NULL)
		index_endscan(f->scan);
	if (f->fetch != NULL)
		table_index_fetch_end(f->fetch);
	f->scan = NULL;
	f->fetch = NULL;
}

static bool
same_key(const DispatchRowFinder *f, TupleTableSlot *slot, int64 tenant_id, int64 rep_id)
{
	bool		n1,
				n2;
	Datum		t = slot_getattr(slot, f->tenant_att, &n1);
	Datum		r = slot_getattr(slot, f->rep_att, &n2);

	return !n1 && !n2 && DatumGetInt64(t) == tenant_id && DatumGetInt64(r) == rep_id;
}

/* the visible member of the cached chain, if it is the rep's row */
static bool
from_root(DispatchRowFinder *f, const RootEntry *e, TupleTableSlot *slot, int64 tenant_id,
		  int64 rep_id)
{
	ItemPointerData tid = e->root;
	bool		call_again = false;
	bool		all_dead = false;

	if (!ItemPointerIsValid(&tid) || ItemPointerGetBlockNumber(&tid) >= f->nblocks)
		return false;
	if (f->fetch == NULL)
		f->fetch = table_index_fetch_begin(f->rel);
	if (!table_index_fetch_tuple(f->fetch, &tid, f->snap, slot, &call_again, &all_dead))
		return false;
	if (same_key(f, slot, tenant_id, rep_id))
		return true;
	ExecClearTuple(slot);
	return false;
}

/* the rep's visible counter row into slot; false when there is none */
bool
dispatch_finder_get(DispatchRowFinder *f, TupleTableSlot *slot, int64 tenant_id, int64 rep_id)
{
	RootKey		key;
	RootEntry  *e;
	ScanKeyData keys[2];
	ItemPointer tid;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.tenant_id = tenant_id;
	key.rep_id = rep_id;
	e = hash_search(roots, &key, HASH_FIND, NULL);
	if (e != NULL && from_root(f, e, slot, tenant_id, rep_id))
		return true;
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(tenant_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(rep_id));
	if (f->scan == NULL)
		f->scan = index_beginscan(f->rel, f->idx, f->snap, 2, 0);
	index_rescan(f->scan, keys, 2, NULL, 0);
	while ((tid = index_getnext_tid(f->scan, ForwardScanDirection)) != NULL)
	{
		ItemPointerData root = *tid;	/* index_fetch_heap moves xs_heaptid along the chain */

		if (index_fetch_heap(f->scan, slot))
		{
			e = hash_search(roots, &key, HASH_ENTER, &found);
			e->root = root;
			return true;
		}
	}
	return false;
}

DispatchLoadReader *
dispatch_load_begin(void)
{
	DispatchLoadReader *r = palloc0(sizeof(DispatchLoadReader));
	const DispatchRels *dr = dispatch_rels();

	r->open_leads = dr->load_open;
	r->assigned_total = dr->load_total;
	r->last_assigned_at = dr->load_last;
	r->rel = table_open(dr->rep_load, RowExclusiveLock);
	r->idx = index_open(dr->rep_load_pkey, RowExclusiveLock);
	r->snap = RegisterSnapshot(GetTransactionSnapshot());
	r->slot = table_slot_create(r->rel, NULL);
	dispatch_finder_begin(&r->finder, r->rel, r->idx, r->snap);
	return r;
}

/* the counters of one rep; false when it has no counter row (never reserved then) */
bool
dispatch_load_read(DispatchLoadReader *r, int64 tenant_id, int64 rep_id, int32 *open_leads,
				   int64 *assigned_total, double *last_assigned)
{
	bool		isnull;
	Datum		d;

	if (!dispatch_finder_get(&r->finder, r->slot, tenant_id, rep_id))
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
	dispatch_finder_end(&r->finder);
	ExecDropSingleTupleTableSlot(r->slot);
	UnregisterSnapshot(r->snap);
	/* the locks are kept until the end of the transaction, as a statement keeps them */
	index_close(r->idx, NoLock);
	table_close(r->rel, NoLock);
	pfree(r);
}
