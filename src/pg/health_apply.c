/*
 * health_apply.c - crm.health_profile_apply(): one batch of a rebuild's
 * staged summaries (health_stage.c, in session memory) written straight
 * into crm.health_profile.
 *
 * The rows are those of crm.health_profile_write(..., 'stage', since), the
 * upsert from a temp table that remains the way whenever the table does not
 * look as expected here (a column this code does not know, a trigger or
 * foreign key other than the one to crm.customer, rules, row security, a
 * deferrable or exclusion index: health_profile_direct_usable()).  Instead
 * of a speculative insertion and a foreign-key query per row, one batch:
 *
 *   - runs with the tenant's barrier lock held exclusively (the caller takes
 *     it), so no dispensing trigger writes a profile of the tenant meanwhile;
 *   - reads the batch's profiles with one range scan: those written after the
 *     rebuild's mark are kept; the older ones of staged customers are
 *     deleted (and replaced below), those of other customers only if they
 *     have no line any more (the upsert's clean-up);
 *   - locks the batch's customer rows FOR KEY SHARE with one range scan, as
 *     the foreign key's check does row by row (a customer deleted meanwhile
 *     is not returned and its profile not written);
 *   - forms every row with the values of the upsert (the same functions for
 *     the derived columns, the columns' typmods applied, CHECK constraints
 *     evaluated) and inserts them in groups with table_multi_insert and the
 *     executor's index maintenance, as COPY does.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/typcache.h"

#include "crm_pg.h"
#include "health_pg.h"

PG_FUNCTION_INFO_V1(crm_health_profile_apply);

/* The profile's columns, in the order of the values formed below. */
enum
{
	P_TENANT, P_CUSTOMER, P_AS_OF, P_CONDITIONS, P_DETAIL, P_CHRONIC, P_NON_ADHERENT,
	P_MAX_OVERDUE, P_MIN_PDC, P_LINES, P_FIRST, P_LAST, P_RECENCY, P_VISITS_90, P_VISITS_365,
	P_VISIT_FREQ, P_SPEND, P_SPEND_TIER, P_AVG_BASKET, P_PROMO_SHARE, P_PRICE_SENS,
	P_PREF_STORE, P_STORE_COUNT, P_PREF_CHANNEL, P_UPDATED_AT, P_REFRESH_SEQ, P_NCOLS
};

typedef struct ProfileCol
{
	const char *name;
	Oid			type;
	int			summary;		/* attribute of crm.health_summary copied, -1 = derived */
} ProfileCol;

static const ProfileCol profile_cols[P_NCOLS] = {
	{"tenant_id", INT8OID, -1}, {"customer_id", INT8OID, -1}, {"as_of", DATEOID, -1},
	{"conditions", TEXTARRAYOID, 0}, {"condition_detail", JSONBOID, 1},
	{"chronic_count", INT4OID, 2}, {"non_adherent_count", INT4OID, 3},
	{"max_days_overdue", INT4OID, 4}, {"min_pdc_365", NUMERICOID, 5}, {"lines", INT4OID, 6},
	{"first_purchase", DATEOID, 7}, {"last_purchase", DATEOID, 8}, {"recency_days", INT4OID, 9},
	{"visits_90d", INT4OID, 10}, {"visits_365d", INT4OID, 11}, {"visit_frequency", NUMERICOID, -1},
	{"spend_365", NUMERICOID, 12}, {"spend_tier", TEXTOID, -1}, {"avg_basket_365", NUMERICOID, 13},
	{"promo_share", NUMERICOID, 14}, {"price_sensitivity", TEXTOID, -1},
	{"preferred_store_id", INT8OID, 15}, {"store_count_365", INT4OID, 16},
	{"preferred_channel", TEXTOID, 17}, {"updated_at", TIMESTAMPTZOID, -1},
	{"refresh_seq", INT8OID, -1}
};

#define FLUSH_ROWS 1000

/* What one batch needs besides the staged rows. */
typedef struct ApplyCtx
{
	Relation	rel;
	int			attno[P_NCOLS];	/* table attribute (0-based) of each profile column */
	int32		typmod[P_NCOLS];
	int64		tenant;
	DateADT		day;
	Oid			seq;
	Datum		tiers[3];
	bool		tier_null[3];
	Datum		twelve;			/* the literals of crm.health_profile_write */
	Datum		half;
	Datum		fifth;
	Datum	   *visit_freq;		/* round(visits / 12.0, 2) by visits, made once per call */
	MemoryContext cxt;			/* of the call */
} ApplyCtx;

#define CACHED_VISITS 1024

/* round(visits_365d / 12.0, 2), as crm.health_profile_write computes it */
static Datum
visit_frequency(const ApplyCtx *ac, int32 visits)
{
	MemoryContext old;
	Datum		v;

	if (visits >= 0 && visits < CACHED_VISITS && ac->visit_freq[visits] != (Datum) 0)
		return ac->visit_freq[visits];
	old = MemoryContextSwitchTo(ac->cxt);
	v = DirectFunctionCall2(numeric_round,
							DirectFunctionCall2(numeric_div, NumericGetDatum(int64_to_numeric(visits)), ac->twelve),
							Int32GetDatum(2));
	MemoryContextSwitchTo(old);
	if (visits >= 0 && visits < CACHED_VISITS)
		ac->visit_freq[visits] = v;
	return v;
}

/* fk's columns are (tenant_id, customer_id) on both sides */
static bool
fk_on_customer(const ForeignKeyCacheInfo *fk, Oid relid, Oid customer)
{
	static const char *const cols[2] = {"tenant_id", "customer_id"};

	if (fk->confrelid != customer || fk->nkeys != 2)
		return false;
	for (int i = 0; i < 2; i++)
		if (fk->conkey[i] != get_attnum(relid, cols[i]) || fk->confkey[i] != get_attnum(customer, cols[i]))
			return false;
	return true;
}

/*
 * A plain table whose only trigger is the foreign key to crm.customer (its
 * RI check triggers, replaced here by the set-wise lock), no rules, no
 * row-level security applying to the current user, and only immediate
 * indexes without exclusion constraints.
 */
static bool
constraints_known(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;
	Oid			relid = RelationGetRelid(rel);
	Oid			customer = get_relname_relid("customer", get_namespace_oid("crm", false));
	List	   *fks = RelationGetFKeyList(rel);
	List	   *indexes;
	ListCell   *lc;
	bool		ok = true;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relhasrules ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED ||
		list_length(fks) != 1 || !fk_on_customer(linitial_node(ForeignKeyCacheInfo, fks), relid, customer))
		return false;
	for (int i = 0; td != NULL && i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (!t->tgisinternal || (t->tgfoid != F_RI_FKEY_CHECK_INS && t->tgfoid != F_RI_FKEY_CHECK_UPD))
			return false;
	}
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	ind = index_open(lfirst_oid(lc), AccessShareLock);

		ok = ok && ind->rd_index->indimmediate && !ind->rd_index->indisexclusion;
		index_close(ind, AccessShareLock);
	}
	list_free(indexes);
	return ok;
}

/* Maps the columns; false when the table has a column not written here, or of another type. */
static bool
columns_known(ApplyCtx *ac)
{
	TupleDesc	desc = RelationGetDescr(ac->rel);
	int			seen = 0;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		int			j;

		if (a->attisdropped)
			continue;
		for (j = 0; j < P_NCOLS; j++)
			if (strcmp(NameStr(a->attname), profile_cols[j].name) == 0)
				break;
		if (j == P_NCOLS || a->attgenerated || a->atttypid != profile_cols[j].type)
			return false;
		ac->attno[j] = i;
		ac->typmod[j] = a->atttypmod;
		seen++;
	}
	return seen == P_NCOLS;
}

static void
load_tiers(ApplyCtx *ac, ArrayType *tiers)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(tiers, NUMERICOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < 3; i++)
	{
		ac->tier_null[i] = i >= n || nulls[i];
		ac->tiers[i] = ac->tier_null[i] ? (Datum) 0 : elems[i];
	}
}

static bool
num_lt(Datum a, Datum b)
{
	return DatumGetBool(DirectFunctionCall2(numeric_lt, a, b));
}

/* crm.health_spend_tier(spend, tiers) */
static const char *
spend_tier(const ApplyCtx *ac, Datum spend, bool spend_null)
{
	static const char *const names[3] = {"low", "mid", "high"};

	if (spend_null || !num_lt(NumericGetDatum(int64_to_numeric(0)), spend))
		return "none";
	for (int i = 0; i < 3; i++)
		if (!ac->tier_null[i] && num_lt(spend, ac->tiers[i]))
			return names[i];
	return "top";
}

/* The row of one staged summary, as crm.health_profile_write's upsert forms it. */
static void
form_profile(const ApplyCtx *ac, int64 customer_id, Datum *s, bool *snull, Datum *v, bool *n)
{
	TupleDesc	desc = RelationGetDescr(ac->rel);

	memset(n, true, sizeof(bool) * desc->natts);
	for (int j = 0; j < P_NCOLS; j++)
	{
		int			k = profile_cols[j].summary;

		if (k >= 0)
		{
			v[ac->attno[j]] = s[k];
			n[ac->attno[j]] = snull[k];
		}
	}
#define SET(col, val) (v[ac->attno[col]] = (val), n[ac->attno[col]] = false)
	SET(P_TENANT, Int64GetDatum(ac->tenant));
	SET(P_CUSTOMER, Int64GetDatum(customer_id));
	SET(P_AS_OF, DateADTGetDatum(ac->day));
	if (!snull[11])				/* round(visits_365d / 12.0, 2) */
		SET(P_VISIT_FREQ, visit_frequency(ac, DatumGetInt32(s[11])));
	SET(P_SPEND_TIER, CStringGetTextDatum(spend_tier(ac, s[12], snull[12])));
	if (!snull[14])
		SET(P_PRICE_SENS, CStringGetTextDatum(!num_lt(s[14], ac->half) ? "high" :
											  !num_lt(s[14], ac->fifth) ? "medium" : "low"));
	SET(P_UPDATED_AT, TimestampTzGetDatum(GetCurrentTimestamp()));
	SET(P_REFRESH_SEQ, Int64GetDatum(nextval_internal(ac->seq, true)));
#undef SET
	/* the columns' typmods, as the INSERT's assignment coerces */
	for (int j = 0; j < P_NCOLS; j++)
		if (profile_cols[j].type == NUMERICOID && ac->typmod[j] >= 0 && !n[ac->attno[j]])
			v[ac->attno[j]] = DirectFunctionCall2(numeric, v[ac->attno[j]], Int32GetDatum(ac->typmod[j]));
}

/* Inserts the formed rows and their index entries. */
static void
flush_rows(ResultRelInfo *rri, EState *estate, TupleTableSlot **slots, int nslots)
{
	/*
	 * No bulk-insert buffer ring: recycling its few buffers would write WAL
	 * and pages out in this backend, as an INSERT does not.
	 */
	table_multi_insert(rri->ri_RelationDesc, slots, nslots, GetCurrentCommandId(true), 0, NULL);
	for (int i = 0; i < nslots; i++)
	{
		List	   *recheck;

		ResetPerTupleExprContext(estate);
		recheck = ExecInsertIndexTuples(rri, slots[i], estate, false, false, NULL, NIL);
		list_free(recheck);
		ExecClearTuple(slots[i]);
	}
}

/* An int8[] of ids[0..n). */
static Datum
id_array(const int64 *ids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(ids[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

static bool
id_in(const int64 *ids, int64 n, int64 id)
{
	return bsearch(&id, ids, n, sizeof(int64), int64_cmp) != NULL;
}

/* First index of ids[0..n) (sorted) not below id. */
static int64
lower_bound(const int64 *ids, int64 n, int64 id)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A batch's key: the tenant and the customer id range, and the rebuild's mark. */
typedef struct BatchKey
{
	int64		tenant;
	int64		lo;
	int64		hi;
	int64		since;
} BatchKey;

/*
 * Runs a statement with ($1 tenant, $2 lo, $3 hi, $4 since, $5 ids[]) and a
 * generic plan (a custom one would estimate every element of the array);
 * returns the rows it returned or touched.
 */
static uint64
run_batch_sql(const char *sql, int expect, const BatchKey *k, const int64 *ids, int n)
{
	Oid			types[5] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8ARRAYOID};
	Datum		args[5] = {Int64GetDatum(k->tenant), Int64GetDatum(k->lo), Int64GetDatum(k->hi),
	Int64GetDatum(k->since), id_array(ids, n)};
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, 5, types, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL || SPI_execute_plan(plan, args, NULL, false, 0) != expect)
		elog(ERROR, "could not write the health profiles: %s", sql);
	SPI_freeplan(plan);
	return SPI_processed;
}

#define IN_BATCH(p) " " p ".tenant_id OPERATOR(pg_catalog.=) $1 AND " p ".customer_id OPERATOR(pg_catalog.>=) $2" \
	" AND " p ".customer_id OPERATOR(pg_catalog.<=) $3"

/* The batch's customers, as they stand in crm.health_profile and crm.customer. */
typedef struct Batch
{
	const int64 *staged;		/* the stage's ids in [lo, hi] */
	int			nstaged;
	int64	   *keep;			/* profiles written after the mark: left alone */
	int			nkeep;
	int64	   *locked;			/* customers in [lo, hi] that exist, locked FOR KEY SHARE */
	int			nlocked;
} Batch;

/* The ids of the rows in SPI_tuptable (first column), sorted. */
static int64 *
result_ids(int *n)
{
	int64	   *ids = palloc(sizeof(int64) * (SPI_processed + 1));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	*n = (int) SPI_processed;
	qsort(ids, *n, sizeof(int64), int64_cmp);
	return ids;
}

/*
 * Removes what the upsert would replace or clean up (profiles older than the
 * mark: of staged customers, or of customers without lines), notes the
 * profiles to keep, and locks the batch's customers.
 */
static void
prepare_batch(const BatchKey *k, Batch *b)
{
	int64	   *orphan;
	int			nold = 0,
				norphan = 0;

	run_batch_sql("SELECT p.customer_id, p.refresh_seq OPERATOR(pg_catalog.<) $4 FROM crm.health_profile p"
				  " WHERE" IN_BATCH("p"), SPI_OK_SELECT, k, NULL, 0);
	orphan = palloc(sizeof(int64) * (SPI_processed + 1));
	b->keep = palloc(sizeof(int64) * (SPI_processed + 1));
	b->nkeep = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		bool		old = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

		if (!old)
			b->keep[b->nkeep++] = id;
		else if (id_in(b->staged, b->nstaged, id))
			nold++;
		else
			orphan[norphan++] = id;
	}
	qsort(b->keep, b->nkeep, sizeof(int64), int64_cmp);
	qsort(orphan, norphan, sizeof(int64), int64_cmp);
	if (nold > 0)				/* the staged customers' old profiles, replaced below */
		run_batch_sql("DELETE FROM crm.health_profile p WHERE" IN_BATCH("p")
					  " AND p.refresh_seq OPERATOR(pg_catalog.<) $4 AND p.customer_id OPERATOR(pg_catalog.<>) ALL ($5)",
					  SPI_OK_DELETE, k, orphan, norphan);
	if (norphan > 0)			/* the others' unless they have lines */
		run_batch_sql("DELETE FROM crm.health_profile p WHERE" IN_BATCH("p")
					  " AND p.refresh_seq OPERATOR(pg_catalog.<) $4 AND p.customer_id OPERATOR(pg_catalog.=) ANY ($5)"
					  " AND NOT EXISTS (SELECT 1 FROM crm.dispense d WHERE d.tenant_id OPERATOR(pg_catalog.=) $1"
					  "                    AND d.customer_id OPERATOR(pg_catalog.=) p.customer_id)",
					  SPI_OK_DELETE, k, orphan, norphan);
	/* the foreign key's check, set-wise: a customer deleted meanwhile is not returned */
	run_batch_sql("SELECT c.customer_id FROM crm.customer c WHERE" IN_BATCH("c")
				  " FOR KEY SHARE OF c", SPI_OK_SELECT, k, NULL, 0);
	b->locked = result_ids(&b->nlocked);
}

/* Writes the staged rows of the batch's locked customers; returns how many. */
static int64
write_rows(ApplyCtx *ac, const HealthStage *st, int64 from, const Batch *b, MemoryContext cxt)
{
	TupleDesc	desc = RelationGetDescr(ac->rel);
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slots[FLUSH_ROWS];
	MemoryContext rows;
	MemoryContext old;
	Datum		s[HEALTH_SUMMARY_NATTS];
	bool		snull[HEALTH_SUMMARY_NATTS];
	int			nslots = 0;
	int64		total = 0;

	if (b->nlocked == 0)
		return 0;
	old = MemoryContextSwitchTo(cxt);
	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	/* a kept first block large enough for a group: no memory handed back and refetched per group */
	rows = AllocSetContextCreate(cxt, "crm health profile rows", 1024 * 1024, 1024 * 1024,
								 ALLOCSET_DEFAULT_MAXSIZE);
	InitResultRelInfo(rri, ac->rel, 0, NULL, 0);
	ExecOpenIndices(rri, false);
	for (int i = 0; i < FLUSH_ROWS; i++)
		slots[i] = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
	for (int i = 0; i < b->nstaged; i++)
	{
		TupleTableSlot *slot = slots[nslots];
		MemoryContext prev;

		CHECK_FOR_INTERRUPTS();
		if (id_in(b->keep, b->nkeep, b->staged[i]) || !id_in(b->locked, b->nlocked, b->staged[i]))
			continue;
		prev = MemoryContextSwitchTo(rows);
		heap_deform_tuple(st->tuples[from + i], st->sdesc, s, snull);
		form_profile(ac, b->staged[i], s, snull, slot->tts_values, slot->tts_isnull);
		MemoryContextSwitchTo(prev);
		ExecStoreVirtualTuple(slot);
		ResetPerTupleExprContext(estate);
		if (desc->constr)
			ExecConstraints(rri, slot, estate);
		total++;
		if (++nslots == FLUSH_ROWS)
		{
			flush_rows(rri, estate, slots, nslots);
			nslots = 0;
			MemoryContextReset(rows);
		}
	}
	if (nslots > 0)
		flush_rows(rri, estate, slots, nslots);
	for (int i = 0; i < FLUSH_ROWS; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	MemoryContextSwitchTo(old);
	return total;
}

static Oid
profile_relid(void)
{
	return get_relname_relid("health_profile", get_namespace_oid("crm", false));
}

/* True when crm.health_profile has exactly the columns, triggers and foreign key written here. */
bool
health_profile_direct_usable(void)
{
	Oid			relid = profile_relid();
	ApplyCtx	ac;
	bool		ok;

	if (!OidIsValid(relid))
		return false;
	ac.rel = table_open(relid, AccessShareLock);
	ok = constraints_known(ac.rel) && columns_known(&ac);
	table_close(ac.rel, AccessShareLock);
	return ok;
}

Datum
crm_health_profile_apply(PG_FUNCTION_ARGS)
{
	Oid			relid = profile_relid();
	MemoryContext cxt;
	MemoryContext old;
	ApplyCtx	ac;
	HealthStage *st;
	Batch		b;
	BatchKey	key;
	int64		from;
	int64		to;
	int64		written;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("crm.health_profile_apply needs every argument"),
						errhint("It is internal to crm.refresh_health_profiles().")));
	st = health_stage_get(PG_GETARG_INT64(0));
	if (st == NULL)
		PG_RETURN_NULL();
	if (!OidIsValid(relid) || pg_class_aclmask(relid, GetUserId(), ACL_SELECT | ACL_INSERT | ACL_DELETE, ACLMASK_ALL) !=
		(ACL_SELECT | ACL_INSERT | ACL_DELETE))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("permission denied for table crm.health_profile"),
						errhint("crm.health_profile_apply is internal to crm.refresh_health_profiles().")));
	ac.rel = table_open(relid, RowExclusiveLock);
	if (!constraints_known(ac.rel) || !columns_known(&ac))
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("crm.health_profile changed during the profile rebuild"),
						errhint("CALL crm.refresh_health_profiles() again.")));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "crm health profile apply", ALLOCSET_DEFAULT_SIZES);
	ac.tenant = PG_GETARG_INT64(0);
	ac.day = PG_GETARG_DATEADT(4);
	ac.seq = get_relname_relid("health_profile_refresh_seq", get_namespace_oid("crm", false));
	load_tiers(&ac, PG_GETARG_ARRAYTYPE_P(5));
	ac.cxt = cxt;
	ac.visit_freq = MemoryContextAllocZero(cxt, sizeof(Datum) * CACHED_VISITS);
	ac.twelve = DirectFunctionCall3(numeric_in, CStringGetDatum("12.0"), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	ac.half = DirectFunctionCall3(numeric_in, CStringGetDatum("0.5"), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	ac.fifth = DirectFunctionCall3(numeric_in, CStringGetDatum("0.2"), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	from = lower_bound(st->ids, st->n, PG_GETARG_INT64(1));
	b.staged = st->ids + from;
	to = lower_bound(st->ids, st->n, PG_GETARG_INT64(2));
	if (to < st->n && st->ids[to] == PG_GETARG_INT64(2))
		to++;
	b.nstaged = (int) Max(to - from, 0);
	key.tenant = ac.tenant;
	key.lo = PG_GETARG_INT64(1);
	key.hi = PG_GETARG_INT64(2);
	key.since = PG_GETARG_INT64(3);
	SPI_connect();
	old = MemoryContextSwitchTo(cxt);
	prepare_batch(&key, &b);
	MemoryContextSwitchTo(old);
	written = write_rows(&ac, st, from, &b, cxt);
	SPI_finish();
	MemoryContextDelete(cxt);
	table_close(ac.rel, NoLock);
	PG_RETURN_INT32((int32) written);
}
