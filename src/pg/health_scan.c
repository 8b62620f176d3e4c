/*
 * health_scan.c - crm.health_summaries(): every customer's health summary of
 * one tenant in a single sequential pass over crm.dispense.
 *
 * The rebuild of all profiles (crm.refresh_health_profiles) needs what
 * crm.health_summary_agg computes, for every customer at once.  A hash
 * aggregate keeps a growing state per customer and touches a cold one for
 * almost every line (the table is in time order).  Here the heap is read
 * directly (the caller's snapshot, the tenant filtered by hand), every line
 * is appended to one array in a 24-byte form (see ScanLine) together with a
 * small customer number (customer ids are identity values, dense in
 * practice; a hash table numbers the others), the lines are then grouped by
 * a counting sort, and each customer's lines are expanded and summarised by
 * the same code as the aggregate's, in customer id order.
 */
#include "postgres.h"

#include <sys/mman.h>

#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "crm_pg.h"
#include "health_pg.h"

PG_FUNCTION_INFO_V1(crm_health_summaries);

/* The crm.dispense columns read, in this order. */
static const char *const scan_cols[] = {
	"tenant_id", "customer_id", "dispensed_at", "atc_code", "days_supply", "price", "promo",
	"store_id", "channel"
};
#define NCOLS lengthof(scan_cols)

/* Customer numbering: id - lo inside the dense range, then the others in order of appearance. */
typedef struct CustNo
{
	int64		customer_id;	/* hash key */
	int32		no;
} CustNo;

typedef struct Numbering
{
	int64		lo;
	int64		ndense;			/* ids lo .. lo + ndense - 1 are numbered directly */
	HTAB	   *hash;			/* the others */
	int64	   *extra_ids;		/* id of number ndense + k */
	int64		nextra;
	int64		extra_cap;
	MemoryContext cxt;
} Numbering;

/*
 * A line with its customer number, as collected by the scan: 24 bytes
 * instead of a RawLine's 40 (the array of 2 M lines is the rebuild's largest
 * private memory, faulted in fresh by every rebuild).  The ATC code with the
 * days supply, and the store with the channel, are numbered by two small
 * dictionaries of the rebuild (a few hundred or thousand distinct pairs);
 * place carries the promotion flag in its lowest bit.  expand_line gives
 * back the RawLine the summary code reads.
 */
typedef struct ScanLine
{
	int32		no;
	int32		day;
	int64		price_fen;
	uint32		item;			/* (atc, days_supply) pair number */
	uint32		place;			/* (store_id, chan) pair number << 1 | promo */
} ScanLine;

StaticAssertDecl(sizeof(ScanLine) == 24, "ScanLine must stay 24 bytes");

/* Distinct (a, b) pairs numbered in order of appearance: open addressing on the numbers. */
typedef struct PairKey
{
	uint64		a;
	uint64		b;
} PairKey;

typedef struct PairDict
{
	PairKey    *keys;			/* pair of number i */
	uint32	   *slots;			/* number + 1, 0 = empty */
	uint32		mask;			/* slots - 1, a power of two minus one */
	uint32		n;
	uint32		cap;			/* of keys */
	MemoryContext cxt;
} PairDict;

typedef struct Lines
{
	ScanLine   *v;
	int64		n;
	int64		cap;
	PairDict	items;			/* (atc, days_supply) */
	PairDict	places;			/* (store_id, chan) */
} Lines;

/* The tenant's smallest and largest customer id and count (primary key index). */
static void
customer_range(int64 tenant, int64 *lo, int64 *hi, int64 *count)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(tenant)};
	bool		isnull;

	*lo = 1;
	*hi = 0;
	SPI_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.min(c.customer_id), pg_catalog.max(c.customer_id),"
							  " pg_catalog.count(*) FROM crm.customer c"
							  " WHERE c.tenant_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the customer id range");
	*count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (*count > 0)
	{
		*lo = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*hi = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
}

static void
numbering_init(Numbering *nb, int64 tenant, MemoryContext cxt)
{
	int64		count,
				hi;
	HASHCTL		ctl;

	customer_range(tenant, &nb->lo, &hi, &count);
	/* numbered directly when at most about a quarter of the range is other tenants' ids */
	nb->ndense = (count > 0 && hi - nb->lo < count + count / 3 + 1024) ? hi - nb->lo + 1 : 0;
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(CustNo);
	ctl.hcxt = cxt;
	nb->hash = hash_create("crm health customers", nb->ndense > 0 ? 64 : Max(count, 64), &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	nb->extra_cap = 64;
	nb->extra_ids = MemoryContextAlloc(cxt, sizeof(int64) * nb->extra_cap);
	nb->nextra = 0;
	nb->cxt = cxt;
}

static int32
customer_no(Numbering *nb, int64 id)
{
	CustNo	   *e;
	bool		found;

	if (id >= nb->lo && id - nb->lo < nb->ndense)
		return (int32) (id - nb->lo);
	e = hash_search(nb->hash, &id, HASH_ENTER, &found);
	if (!found)
	{
		if (nb->ndense + nb->nextra >= PG_INT32_MAX)
			elog(ERROR, "too many customers for one health profile rebuild");
		if (nb->nextra == nb->extra_cap)
		{
			nb->extra_cap *= 2;
			nb->extra_ids = repalloc_huge(nb->extra_ids, sizeof(int64) * nb->extra_cap);
		}
		nb->extra_ids[nb->nextra] = id;
		e->no = (int32) (nb->ndense + nb->nextra++);
	}
	return e->no;
}

static void
pairs_init(PairDict *d, MemoryContext cxt)
{
	d->cap = 256;
	d->keys = MemoryContextAlloc(cxt, sizeof(PairKey) * d->cap);
	d->mask = 1023;
	d->slots = MemoryContextAllocZero(cxt, sizeof(uint32) * (d->mask + 1));
	d->n = 0;
	d->cxt = cxt;
}

static inline uint32
pair_hash(uint64 a, uint64 b)
{
	/* murmur3's 64-bit finaliser over both words: every input bit moves the low bits */
	uint64		h = a * UINT64CONST(0x9E3779B97F4A7C15) ^ b;

	h ^= h >> 33;
	h *= UINT64CONST(0xFF51AFD7ED558CCD);
	h ^= h >> 33;
	h *= UINT64CONST(0xC4CEB9FE1A85EC53);
	h ^= h >> 33;
	return (uint32) h;
}

/* Doubles the slots (kept at most half full) and places every pair again. */
static void
pairs_grow(PairDict *d)
{
	uint32		mask = d->mask * 2 + 1;
	uint32	   *slots = MemoryContextAllocExtended(d->cxt, sizeof(uint32) * ((Size) mask + 1),
												   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	for (uint32 i = 0; i < d->n; i++)
	{
		uint32		h = pair_hash(d->keys[i].a, d->keys[i].b) & mask;

		while (slots[h] != 0)
			h = (h + 1) & mask;
		slots[h] = i + 1;
	}
	pfree(d->slots);
	d->slots = slots;
	d->mask = mask;
}

/* The number of the pair (a, b), numbered now if new. */
static inline uint32
pair_no(PairDict *d, uint64 a, uint64 b)
{
	uint32		h = pair_hash(a, b) & d->mask;

	for (;;)
	{
		uint32		s = d->slots[h];

		if (s == 0)
			break;
		if (d->keys[s - 1].a == a && d->keys[s - 1].b == b)
			return s - 1;
		h = (h + 1) & d->mask;
	}
	/* new: at most one number per line, and lines are fewer than 2^31 (checked by the scan) */
	if (d->n == d->cap)
	{
		d->cap *= 2;
		d->keys = repalloc_huge(d->keys, sizeof(PairKey) * d->cap);
	}
	d->keys[d->n].a = a;
	d->keys[d->n].b = b;
	d->slots[h] = ++d->n;
	if (d->n > d->mask / 2)
		pairs_grow(d);
	return d->n - 1;
}

/* The line in its compact form (see ScanLine). */
static inline void
compact_line(Lines *ls, ScanLine *s, const RawLine *r)
{
	s->day = r->day;
	s->price_fen = r->price_fen;
	s->item = pair_no(&ls->items, r->atc, (uint64) (uint16) r->days_supply);
	s->place = pair_no(&ls->places, (uint64) r->store_id, r->chan) << 1 | (r->promo ? 1 : 0);
}

/* The line as the summary code reads it. */
static inline void
expand_line(const Lines *ls, const ScanLine *s, RawLine *r)
{
	const PairKey *item = &ls->items.keys[s->item];
	const PairKey *place = &ls->places.keys[s->place >> 1];

	r->day = s->day;
	r->days_supply = (int16) (uint16) item->b;
	r->promo = (s->place & 1) != 0;
	r->atc = item->a;
	r->chan = place->b;
	r->store_id = (int64) place->a;
	r->price_fen = s->price_fen;
}

static ScanLine *
lines_next(Lines *ls, MemoryContext cxt)
{
	if (ls->n == ls->cap)
	{
		ls->cap = ls->cap ? ls->cap * 2 : 65536;
		ls->v = ls->v ? repalloc_huge(ls->v, sizeof(ScanLine) * ls->cap)
			: MemoryContextAllocHuge(cxt, sizeof(ScanLine) * ls->cap);
	}
	return &ls->v[ls->n];
}

/*
 * Large private arrays filled once (the scan's lines, the rebuild's stage):
 * backing them with huge pages (where the kernel does so only on request)
 * spares a page fault per 4 kB.  Advice only; errors are ignored.
 */
void
health_advise_huge_pages(void *p, Size len)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2 * 1024 * 1024;
	uintptr_t	start = TYPEALIGN(huge, (uintptr_t) p);
	uintptr_t	end = ((uintptr_t) p + len) & ~(huge - 1);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/* One pass over the relation: every line of the tenant, with its customer number. */
static void
scan_lines(Relation rel, int64 tenant, Numbering *nb, Lines *ls, HealthAggState *dict, MemoryContext cxt)
{
	AttrNumber	att[NCOLS];
	int			maxatt = 0;
	TableScanDesc scan;
	TupleTableSlot *slot;

	for (int i = 0; i < (int) NCOLS; i++)
	{
		att[i] = get_attnum(RelationGetRelid(rel), scan_cols[i]);
		if (att[i] == InvalidAttrNumber)
			elog(ERROR, "crm.dispense has no column %s", scan_cols[i]);
		maxatt = Max(maxatt, att[i]);
	}
	/* room for the table's estimated rows at once: no copying while the array grows */
	if (rel->rd_rel->reltuples > 0 && ls->cap == 0)
	{
		ls->cap = (int64) Min(rel->rd_rel->reltuples * 1.02 + 1024, (double) (MaxAllocHugeSize / sizeof(ScanLine)));
		ls->v = MemoryContextAllocHuge(cxt, sizeof(ScanLine) * ls->cap);
		health_advise_huge_pages(ls->v, sizeof(ScanLine) * ls->cap);
	}
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *v;
		bool	   *n;
		ScanLine   *l;
		RawLine		raw;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		v = slot->tts_values;
		n = slot->tts_isnull;
#define COL(i) (att[i] - 1)
		if (n[COL(0)] || DatumGetInt64(v[COL(0)]) != tenant || n[COL(1)] || n[COL(2)])
			continue;
		if (!health_line_fill(&raw, dict, cxt, DatumGetTimestampTz(v[COL(2)]),
							  n[COL(3)] ? NULL : DatumGetTextPP(v[COL(3)]),
							  n[COL(4)], n[COL(4)] ? 0 : DatumGetInt32(v[COL(4)]),
							  v[COL(5)], n[COL(5)], !n[COL(6)] && DatumGetBool(v[COL(6)]),
							  n[COL(7)] ? 0 : DatumGetInt64(v[COL(7)]),
							  n[COL(8)] ? NULL : DatumGetTextPP(v[COL(8)])))
			continue;
		if (ls->n >= (int64) PG_INT32_MAX)
			ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							errmsg("too many dispensing lines for one health profile rebuild"),
							errdetail("A rebuild reads at most %d lines of a tenant.", PG_INT32_MAX - 1),
							errhint("Rebuild the tenant's profiles in chunks of customer ids with crm.refresh_health_profile_chunk(n).")));
		l = lines_next(ls, cxt);
		compact_line(ls, l, &raw);
		l->no = customer_no(nb, DatumGetInt64(v[COL(1)]));
		ls->n++;
#undef COL
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Groups the lines by customer number (counting sort) without moving them:
 * returns the line indexes in customer order, start[c] .. start[c + 1] the
 * range of customer c.
 */
static uint32 *
group_lines(const Lines *ls, int64 ncust, int64 **startp, MemoryContext cxt)
{
	int64	   *start = MemoryContextAllocExtended(cxt, sizeof(int64) * (ncust + 1),
												   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	uint32	   *order;
	int64		sum = 0;

	if (ls->n >= (int64) PG_UINT32_MAX)
		elog(ERROR, "too many dispensing lines for one health profile rebuild");
	order = MemoryContextAllocHuge(cxt, sizeof(uint32) * (ls->n + 1));
	health_advise_huge_pages(order, sizeof(uint32) * (ls->n + 1));
	for (int64 i = 0; i < ls->n; i++)
		start[ls->v[i].no]++;
	for (int64 c = 0; c < ncust; c++)
	{
		int64		k = start[c];

		start[c] = sum;
		sum += k;
	}
	start[ncust] = sum;
	for (int64 i = 0; i < ls->n; i++)
		order[start[ls->v[i].no]++] = (uint32) i;
	/* start[c] now holds the end of c: shift back */
	for (int64 c = ncust; c > 0; c--)
		start[c] = start[c - 1];
	start[0] = 0;
	*startp = start;
	return order;
}

static int
id_no_cmp(const void *a, const void *b)
{
	int64		x = ((const CustNo *) a)->customer_id;
	int64		y = ((const CustNo *) b)->customer_id;

	return x < y ? -1 : x > y;
}

/* Computes one customer's summary and hands it to the caller's emit function. */
static void
emit(const HealthScanOut *out, const CrmCondMap *map, int32 as_of, int64 customer_id,
	 HealthAggState *st, MemoryContext rowcxt)
{
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
	Datum		v[HEALTH_SUMMARY_NATTS];
	bool		nulls[HEALTH_SUMMARY_NATTS];

	health_state_summary(st, map, as_of, v, nulls);
	MemoryContextSwitchTo(old);
	out->emit(out->arg, customer_id, v, nulls);
	MemoryContextReset(rowcxt);
}

/* How many lines ahead (in customer order) load_state prefetches. */
#define LINE_PREFETCH 16

/* Customer c's lines (indexes order[from..to) into ls) into the reusable state *stp (grown as needed). */
static HealthAggState *
load_state(HealthAggState **stp, const Lines *ls, const uint32 *order, int64 from, int64 to)
{
	HealthAggState *st = *stp;
	int64		n = to - from;

	if (n > st->cap)
	{
		if (n > PG_INT32_MAX / 2)
			elog(ERROR, "a customer has too many dispensing lines for a health profile");
		st = repalloc_huge(st, HEALTH_STATE_SIZE(n));
		st->cap = (int) n;
		*stp = st;
	}
	for (int64 j = 0; j < n; j++)
	{
		/* the lines are scattered over the array: ask early for those a few steps ahead */
#if defined(__GNUC__) || defined(__clang__)
		if (from + j + LINE_PREFETCH < ls->n)
			__builtin_prefetch(&ls->v[order[from + j + LINE_PREFETCH]]);
#endif
		expand_line(ls, &ls->v[order[from + j]], &st->lines[j]);
	}
	st->n = (int) n;
	return st;
}

static void
emit_all(const HealthScanOut *out, Numbering *nb, const Lines *ls, HealthAggState *dict,
		 const CrmCondMap *map, int32 as_of, MemoryContext cxt)
{
	MemoryContext rowcxt = AllocSetContextCreate(cxt, "crm health summary row", ALLOCSET_DEFAULT_SIZES);
	int64		ncust = nb->ndense + nb->nextra;
	int64	   *start;
	uint32	   *order = group_lines(ls, ncust, &start, cxt);
	HealthAggState *st = MemoryContextAllocZero(cxt, HEALTH_STATE_SIZE(64));
	CustNo	   *extra = MemoryContextAllocHuge(cxt, sizeof(CustNo) * (nb->nextra + 1));

	st->cap = 64;
	st->cache_cxt = cxt;		/* the condition of each ATC code is looked up once */
	st->long_chan = dict->long_chan;
	st->nlong = dict->nlong;
	for (int64 c = 0; c < nb->ndense; c++)
		if (start[c + 1] > start[c])
			emit(out, map, as_of, nb->lo + c, load_state(&st, ls, order, start[c], start[c + 1]), rowcxt);
	/* the customers numbered by the hash table, by id */
	for (int64 k = 0; k < nb->nextra; k++)
	{
		extra[k].customer_id = nb->extra_ids[k];
		extra[k].no = (int32) (nb->ndense + k);
	}
	qsort(extra, nb->nextra, sizeof(CustNo), id_no_cmp);
	for (int64 k = 0; k < nb->nextra; k++)
		emit(out, map, as_of, extra[k].customer_id,
			 load_state(&st, ls, order, start[extra[k].no], start[extra[k].no + 1]), rowcxt);
}

/*
 * Every summary of the tenant's customers as of a day, in customer id order,
 * handed to out->emit (values in a short-lived context).
 */
void
health_scan_summaries(int64 tenant, DateADT as_of, const HealthScanOut *out)
{
	Oid			relid = RangeVarGetRelid(makeRangeVar("crm", "dispense", -1), AccessShareLock, false);
	MemoryContext cxt;
	Relation	rel;
	Numbering	nb;
	Lines		ls = {0};
	HealthAggState *dict;
	CrmCondMap	map;

	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						errmsg("as_of must be a finite date"),
						errhint("Use a real calendar date, not infinity.")));
	/* the scan reads the heap directly: only for those who may read all of it */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("permission denied for table crm.dispense"),
						errhint("The health summaries are internal to crm.refresh_health_profiles().")));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "crm health summaries", ALLOCSET_DEFAULT_SIZES);
	dict = MemoryContextAllocZero(cxt, HEALTH_STATE_SIZE(0));
	health_load_condmap(&map, tenant, cxt);
	numbering_init(&nb, tenant, cxt);
	pairs_init(&ls.items, cxt);
	pairs_init(&ls.places, cxt);
	rel = table_open(relid, AccessShareLock);
	scan_lines(rel, tenant, &nb, &ls, dict, cxt);
	table_close(rel, AccessShareLock);
	emit_all(out, &nb, &ls, dict, &map, (int32) as_of, cxt);
	MemoryContextDelete(cxt);
}

typedef struct SrfOut
{
	ReturnSetInfo *rsi;
	TupleDesc	sdesc;
} SrfOut;

/* Puts one customer's (customer_id, summary) row into the result. */
static void
srf_emit(void *arg, int64 customer_id, Datum *v, bool *nulls)
{
	SrfOut	   *so = arg;
	Datum		out[2];
	bool		outnull[2] = {false, false};
	HeapTuple	tup = heap_form_tuple(so->sdesc, v, nulls);

	out[0] = Int64GetDatum(customer_id);
	out[1] = HeapTupleGetDatum(tup);
	tuplestore_putvalues(so->rsi->setResult, so->rsi->setDesc, out, outnull);
	heap_freetuple(tup);
}

Datum
crm_health_summaries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	SrfOut		so;
	HealthScanOut out = {srf_emit, &so};

	InitMaterializedSRF(fcinfo, MAT_SRF_BLESS);
	so.rsi = rsi;
	so.sdesc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(TupleDescAttr(rsi->setDesc, 1)->atttypid, -1));
	if (so.sdesc->natts != HEALTH_SUMMARY_NATTS)
		elog(ERROR, "crm.health_summary has %d attributes, expected %d", so.sdesc->natts, HEALTH_SUMMARY_NATTS);
	health_scan_summaries(PG_GETARG_INT64(0), PG_GETARG_DATEADT(1), &out);
	return (Datum) 0;
}
