/*
 * health_stage.c - the staged summaries of a running profile rebuild, kept
 * in the session's memory between the rebuild's transactions.
 *
 * crm.refresh_health_profiles computes every customer's summary in one
 * transaction (stage) and writes the profiles in batches, one transaction
 * each (apply).  With the direct write (health_apply.c) the summaries stay
 * here, as formed crm.health_summary tuples in customer id order, instead of
 * in a temp table: no table to write, index and read back.  The stage
 * belongs to one session and one tenant and day; it is dropped by the
 * rebuild's end step, by the next stage, and when a transaction of the
 * session aborts (the CALL failed: the rebuild is over).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "crm_pg.h"
#include "health_pg.h"

PG_FUNCTION_INFO_V1(crm_health_stage);
PG_FUNCTION_INFO_V1(crm_health_stage_drop);

static HealthStage *stage = NULL;		/* complete, usable by apply */
static HealthStage *building = NULL;	/* being filled (left by an error caught in a subtransaction) */
static bool callback_registered = false;

static void
stage_drop(void)
{
	HealthStage *olds[2] = {stage, building};

	stage = NULL;
	building = NULL;
	for (int i = 0; i < 2; i++)
		if (olds[i] != NULL)
			MemoryContextDelete(olds[i]->cxt);
}

static void
stage_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		stage_drop();
}

/* A copy of crm.health_summary's descriptor in cxt. */
static TupleDesc
summary_desc(MemoryContext cxt)
{
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("health_summary"),
										ObjectIdGetDatum(get_namespace_oid("crm", false)));
	MemoryContext old = MemoryContextSwitchTo(cxt);
	TupleDesc	desc;

	if (!OidIsValid(typid))
		elog(ERROR, "type crm.health_summary is missing");
	desc = lookup_rowtype_tupdesc_copy(typid, -1);
	MemoryContextSwitchTo(old);
	if (desc->natts != HEALTH_SUMMARY_NATTS)
		elog(ERROR, "crm.health_summary has %d attributes, expected %d", desc->natts, HEALTH_SUMMARY_NATTS);
	return desc;
}

/* Space for a tuple of len bytes in the stage's 8 MB blocks (no per-chunk rounding). */
static char *
stage_space(HealthStage *st, Size len)
{
	len = MAXALIGN(len);
	if (len > st->free)
	{
		Size		block = Max(len, (Size) 8 * 1024 * 1024);

		st->next = MemoryContextAllocHuge(st->cxt, block);
		health_advise_huge_pages(st->next, block);
		st->free = block;
	}
	st->free -= len;
	st->next += len;
	return st->next - len;
}

/* Appends one customer's summary to the stage. */
static void
stage_emit(void *arg, int64 customer_id, Datum *v, bool *nulls)
{
	HealthStage *st = arg;
	HeapTuple	tup = heap_form_tuple(st->sdesc, v, nulls);
	HeapTuple	copy = (HeapTuple) stage_space(st, HEAPTUPLESIZE + tup->t_len);

	if (st->n == st->cap)
	{
		st->cap *= 2;
		st->ids = repalloc_huge(st->ids, sizeof(int64) * st->cap);
		st->tuples = repalloc_huge(st->tuples, sizeof(HeapTuple) * st->cap);
	}
	*copy = *tup;
	copy->t_data = (HeapTupleHeader) ((char *) copy + HEAPTUPLESIZE);
	memcpy(copy->t_data, tup->t_data, tup->t_len);
	heap_freetuple(tup);
	st->tuples[st->n] = copy;
	st->ids[st->n++] = customer_id;
}

/* The session's stage for the tenant and day, NULL if none; an error if it is another's. */
HealthStage *
health_stage_get(int64 tenant)
{
	if (stage == NULL)
		return NULL;
	if (stage->tenant != tenant)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("the staged health summaries are of another tenant"),
						errhint("Rebuild with CALL crm.refresh_health_profiles(), which stages and applies in one call.")));
	return stage;
}

/*
 * crm.health_stage(tenant, as_of): computes and keeps every summary of the
 * tenant's customers; returns how many, or NULL (nothing kept) when the
 * profiles cannot be written directly (then the rebuild stages in a table).
 */
Datum
crm_health_stage(PG_FUNCTION_ARGS)
{
	int64		tenant = PG_GETARG_INT64(0);
	DateADT		as_of = PG_GETARG_DATEADT(1);
	MemoryContext cxt;
	HealthStage *st;
	HealthScanOut out;

	stage_drop();
	if (!health_profile_direct_usable())
		PG_RETURN_NULL();
	if (!callback_registered)
	{
		RegisterXactCallback(stage_xact_callback, NULL);
		callback_registered = true;
	}
	cxt = AllocSetContextCreate(TopMemoryContext, "crm health rebuild stage", ALLOCSET_DEFAULT_SIZES);
	st = MemoryContextAllocZero(cxt, sizeof(HealthStage));
	st->cxt = cxt;
	st->tenant = tenant;
	st->as_of = as_of;
	st->cap = 1024;
	st->ids = MemoryContextAlloc(cxt, sizeof(int64) * st->cap);
	st->tuples = MemoryContextAlloc(cxt, sizeof(HeapTuple) * st->cap);
	st->sdesc = summary_desc(cxt);
	building = st;				/* dropped with the transaction if the scan fails */
	out.emit = stage_emit;
	out.arg = st;
	health_scan_summaries(tenant, as_of, &out);
	building = NULL;
	stage = st;
	PG_RETURN_INT64(st->n);
}

/* crm.health_stage_drop(): frees the session's stage. */
Datum
crm_health_stage_drop(PG_FUNCTION_ARGS)
{
	stage_drop();
	PG_RETURN_VOID();
}
