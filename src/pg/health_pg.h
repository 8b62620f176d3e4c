/*
 * health_pg.h - server helpers of the health profile (src/pg/health_*.c).
 */
#ifndef CRM_HEALTH_PG_H
#define CRM_HEALTH_PG_H

#include "postgres.h"

#include "access/htup.h"
#include "health_profile.h"
#include "utils/date.h"
#include "utils/timestamp.h"

/*
 * One dispensing line as the transition function keeps it: 40 bytes, no
 * pointers.  ATC codes and channels are short ASCII words, packed into an
 * integer (one compare instead of a string match per line); longer or
 * non-ASCII channels go to a small per-customer list, keyed with the top bit.
 */
typedef struct RawLine
{
	int32		day;
	int16		days_supply;
	bool		promo;
	uint64		atc;			/* packed ATC code, 0 = none */
	uint64		chan;			/* packed channel, 0 = none */
	int64		store_id;
	int64		price_fen;
} RawLine;

#define LONG_KEY (UINT64CONST(1) << 63)

typedef struct HealthAggState
{
	int64		tenant;
	int32		as_of;
	int			n;
	int			cap;
	char	  **long_chan;		/* channels that do not pack */
	int			nlong;
	/* ATC code → condition, remembered across customers when cache_cxt is set (the rebuild) */
	MemoryContext cache_cxt;
	uint64	   *cache_key;		/* open addressing, 0 = empty */
	int		   *cache_cond;
	int			cache_cap;		/* a power of two */
	int			cache_n;
	RawLine		lines[FLEXIBLE_ARRAY_MEMBER];	/* inline: one cache line less per input row */
} HealthAggState;

#define HEALTH_STATE_SIZE(cap) (offsetof(HealthAggState, lines) + sizeof(RawLine) * (cap))

/* Loads the tenant's ATC prefix → condition map (overrides, then shipped defaults) into cxt. */
extern void health_load_condmap(CrmCondMap *map, int64 tenant, MemoryContext cxt);

/* The per-condition detail of a profile as a jsonb datum, built directly (no text parsing). */
extern Datum health_conditions_jsonb(const CrmHealthProfile *prof, const CrmCondMap *map);

/*
 * Fills one line in the state's form; channels that do not pack are interned
 * in dict's list.  False (nothing filled) for a line without a finite time.
 */
extern bool health_line_fill(RawLine *l, HealthAggState *dict, MemoryContext cxt, TimestampTz ts,
							 text *atc, bool days_null, int32 days, Datum price, bool price_null,
							 bool promo, int64 store_id, text *channel);

/* Adds one dispensing line to a customer's state (grown in cxt; the pointer may change). */
extern HealthAggState *health_state_add(HealthAggState *st, MemoryContext cxt, TimestampTz ts,
										text *atc, bool days_null, int32 days, Datum price,
										bool price_null, bool promo, int64 store_id, text *channel);

#define HEALTH_SUMMARY_NATTS 18

/* The crm.health_summary column values of a customer's state (st->lines are reordered). */
extern void health_state_summary(HealthAggState *st, const CrmCondMap *map, int32 as_of,
								 Datum *v, bool *nulls);

/* Where health_scan_summaries hands each customer's summary (values valid during the call). */
typedef struct HealthScanOut
{
	void		(*emit) (void *arg, int64 customer_id, Datum *v, bool *nulls);
	void	   *arg;
} HealthScanOut;

/*
 * Every customer's summary of one tenant as of a day, in customer id order,
 * from one sequential pass over crm.dispense (health_scan.c).
 */
extern void health_scan_summaries(int64 tenant, DateADT as_of, const HealthScanOut *out);

/* Asks for huge pages under a large private array before it is filled (advice only). */
extern void health_advise_huge_pages(void *p, Size len);

/* A rebuild's summaries in session memory (health_stage.c), in customer id order. */
typedef struct HealthStage
{
	MemoryContext cxt;			/* holds all of it; under TopMemoryContext */
	int64		tenant;
	DateADT		as_of;
	int64		n;
	int64		cap;
	int64	   *ids;
	HeapTuple  *tuples;			/* crm.health_summary of ids[i] */
	TupleDesc	sdesc;
	char	   *next;			/* free space of the current block of tuples */
	Size		free;
} HealthStage;

/* The session's stage of the tenant, NULL if none (an error if another tenant's). */
extern HealthStage *health_stage_get(int64 tenant);

/* True when crm.health_profile has exactly the shape health_apply.c writes. */
extern bool health_profile_direct_usable(void);

#endif							/* CRM_HEALTH_PG_H */
