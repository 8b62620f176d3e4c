/*
 * dispatch.h - lead dispatch inside the server: shared by dispatch.c (choosing and reserving a
 * rep through cached SPI plans) and dispatch_fn.c (the trigger and SQL-callable functions).
 * Every function here expects the caller to be connected to SPI.
 */
#ifndef CRM_DISPATCH_H
#define CRM_DISPATCH_H

#include "crm_pg.h"

#include "executor/tuptable.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "dispatch_rank.h"

/* The lead as dispatch sees it. */
typedef struct DispatchLead
{
	int64		tenant_id;
	int64		lead_id;
	bool		has_location;
	double		lon;
	double		lat;
	Datum		srs;			/* text */
	Datum		skills;			/* text[] */
	Datum		exclude;		/* int8[]: reps that may not get the lead */
	TimestampTz at;				/* dispatch time: working hours and licences are checked then */
	TimestampTz created_at;
	int16		level;			/* escalation level recorded with an assignment */
	bool		fresh;			/* being inserted: no dispatch state yet */
	/* filled by dispatch_choose() */
	int			nskills;
	char	  **skill_list;
	int			nexclude;
	int64	   *exclude_ids;
	int			weekday;		/* ISO weekday of at in Asia/Shanghai */
	double		local_secs;		/* seconds since local midnight */
	int32		local_day;		/* local date as DateADT */
} DispatchLead;

/* Cached facts about the members of one territory (dispatch_cache.c). */
typedef struct CachedShift
{
	int32		weekday;
	double		starts;			/* seconds since midnight, inclusive */
	double		ends;			/* exclusive */
} CachedShift;

typedef struct CachedLicence
{
	char	   *skill;
	int32		valid_from;		/* DateADT */
	int32		valid_until;	/* DateADT, inclusive; INT32_MAX = no expiry */
} CachedLicence;

typedef struct CachedRep
{
	int64		rep_id;
	char	   *employee_no;
	int32		capacity;
	double		score;			/* static weighted score: membership weight x sum of weights x metrics */
	char	   *inputs;			/* JSON inputs for crm.decide */
	int			nskills;
	char	  **skills;
	int			nhours;
	CachedShift *hours;
	int			nlicences;
	CachedLicence *licences;
} CachedRep;

typedef struct DispatchMembers
{
	bool		found;			/* the territory exists for this tenant */
	char	   *policy;
	char	   *weight_model;	/* NULL when unset */
	int32		sla_seconds;
	int			nreps;			/* active members whose rep is active */
	CachedRep  *reps;
	int			nlicensed;		/* the tenant's licensed skills */
	char	  **licensed;
} DispatchMembers;

extern const DispatchMembers *dispatch_members(int64 tenant_id, int64 territory_id);

/* The outcome: a rep, or the reason nobody could take the lead. */
typedef struct DispatchChoice
{
	DispatchReason reason;
	bool		has_territory;
	int64		territory_id;
	int32		sla_seconds;
	int64		rep_id;
	char	   *employee_no;
	char	   *detail;			/* JSON text: reason per territory, or NULL */
} DispatchChoice;

/* lead statuses in which the owner holds the lead (counted in crm.rep_load.open_leads) */
extern bool dispatch_status_open(const char *status);

/*
 * Locates, filters, ranks and reserves (rep_load row locked, open_leads + 1); an assignment is
 * recorded in crm.lead_dispatch and crm.outbox at the same time.
 */
extern void dispatch_choose(const DispatchLead *lead, DispatchChoice *out);

/* open_leads += delta for a rep; count_assignment also bumps assigned_total and last_assigned_at */
extern void dispatch_bump_load(int64 tenant_id, int64 rep_id, int delta, bool count_assignment);

/*
 * Writes crm.lead_dispatch (upsert) for a lead nobody could take.  An assignment is recorded by
 * dispatch_choose() itself, in the statement that reserves the rep, with its outbox row.
 */
extern void dispatch_record(const DispatchLead *lead, const DispatchChoice *c);

/* the 12 parameters of the record statements */
extern void dispatch_record_params(const DispatchLead *lead, const DispatchChoice *c, Datum *v,
								   char *nulls);

/* Sets owner and status of a lead without the load trigger counting it a second time. */
extern void dispatch_set_lead(int64 tenant_id, int64 lead_id, bool has_owner, int64 owner,
							  const char *status);

/* True while dispatch_set_lead() is updating this lead (the load trigger then stays out). */
extern bool dispatch_is_moving(int64 tenant_id, int64 lead_id);

/* The session's tenant, membership checked for the session's role (not the function owner). */
extern int64 dispatch_session_tenant(void);

/* The session's tenant setting (crm.tenant_setting()), without the membership check. */
extern int64 dispatch_tenant_setting(void);

/* An empty int8[] datum. */
extern Datum dispatch_empty_int8_array(void);

/*
 * Finds a rep's visible crm.rep_load row: from the cached root of its HOT chain, or by a probe of
 * the primary key (dispatch_load.c).  rel, idx and snap stay open while the finder is used.
 */
typedef struct DispatchRowFinder
{
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	BlockNumber nblocks;		/* the table's size when the finder began */
	AttrNumber	tenant_att;
	AttrNumber	rep_att;
	struct IndexScanDescData *scan;	/* opened on first use */
	struct IndexFetchTableData *fetch;	/* opened on first use */
} DispatchRowFinder;

extern void dispatch_finder_begin(DispatchRowFinder *f, Relation rel, Relation idx, Snapshot snap);
extern bool dispatch_finder_get(DispatchRowFinder *f, TupleTableSlot *slot, int64 tenant_id,
								int64 rep_id);
extern void dispatch_finder_end(DispatchRowFinder *f);

/*
 * Reads crm.rep_load counters by primary key probes (dispatch_load.c), and reserves reps with
 * the same relations, snapshot and slot (dispatch_reserve.c).  The table is opened with
 * RowExclusiveLock, as the reservation needs it.
 */
typedef struct DispatchLoadReader
{
	DispatchRowFinder finder;
	Relation	rel;
	Relation	idx;
	Snapshot	snap;
	TupleTableSlot *slot;
	AttrNumber	open_leads;
	AttrNumber	assigned_total;
	AttrNumber	last_assigned_at;
} DispatchLoadReader;

extern DispatchLoadReader *dispatch_load_begin(void);
extern bool dispatch_load_read(DispatchLoadReader *r, int64 tenant_id, int64 rep_id,
							   int32 *open_leads, int64 *assigned_total, double *last_assigned);
extern void dispatch_load_end(DispatchLoadReader *r);

/* Reserving a rep by its counter row (dispatch_reserve.c). */
typedef enum DispatchReserve
{
	DISPATCH_RESERVE_NONE,		/* no counter row: never reserved */
	DISPATCH_RESERVE_BUSY,		/* locked by another transaction (without wait only) */
	DISPATCH_RESERVE_FULL,		/* locked, no room (the lock is kept) */
	DISPATCH_RESERVE_OK			/* locked and open_leads + 1 */
} DispatchReserve;

extern DispatchReserve dispatch_reserve_rep(DispatchLoadReader *r, int64 tenant_id, int64 rep_id,
											int32 capacity, bool wait);

/*
 * Writes the dispatch state and outbox row of an automatic assignment of a fresh lead directly
 * (dispatch_write.c); false when that path does not apply and DP_RECORD must be used.
 */
extern bool dispatch_write_assignment(const DispatchLead *lead, const DispatchChoice *c);

/* Catalog facts of the direct paths, cached per backend (dispatch_rels.c). */
typedef struct DispatchRels
{
	Oid			rep_load;
	Oid			rep_load_pkey;
	AttrNumber	load_open;		/* crm.rep_load.open_leads */
	AttrNumber	load_total;		/* assigned_total */
	AttrNumber	load_last;		/* last_assigned_at */
	Oid			outbox;
	AttrNumber	outbox_id;		/* InvalidAttrNumber when missing */
	Oid			outbox_seq;		/* identity sequence of outbox_id, InvalidOid when none */
	Oid			lead_dispatch;
	Oid			lead;
	Oid			lead_ref_idx;	/* unique (tenant_id, external_ref) of crm.lead */
} DispatchRels;

extern const DispatchRels *dispatch_rels(void);
extern uint64 dispatch_rels_epoch(void);

/* The insert trigger's switch to the extension owner (dispatch_scope.c). */
typedef struct DispatchScope
{
	Oid			save_user;
	int			save_sec;
	bool		prev_open;
	int			prev_pin;
} DispatchScope;

extern void dispatch_scope_enter(DispatchScope *s, Oid owner);
extern void dispatch_scope_exit(DispatchScope *s);
extern void dispatch_scope_abort(DispatchScope *s);

/* Pins search_path to pg_catalog, pg_temp inside an open scope (before any SQL statement). */
extern void dispatch_pin_search_path(void);

/* Runs one of the cached plans; returns SPI's result code. */
typedef enum DispatchPlan
{
	DP_TERRITORY,
	DP_MEMBERS,
	DP_LICENSED,
	DP_BUMP,
	DP_RECORD,
	DP_LEAD_LOCK,
	DP_LEAD_SET,
	DP_TRIED,
	DP_DROP_STATE,
	DP_DECIDE,
	DP_COUNT
} DispatchPlan;

extern int	dispatch_exec(DispatchPlan id, Datum *values, const char *nulls, long limit);

#endif							/* CRM_DISPATCH_H */
