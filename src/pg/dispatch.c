/*
 * dispatch.c - choosing and reserving a rep for a lead.
 *
 * 1. crm.locate() gives the active territories containing the lead, by priority.
 * 2. Per territory: its active members with their flags (qualified, in hours), load and
 *    weight in one query; dispatch_rank() (src/core) filters and orders them.
 * 3. Reservation under a row lock on crm.rep_load (the rep's lock):
 *    pass 1 tries the candidates in rank order with FOR UPDATE SKIP LOCKED, so a rep another
 *    transaction is assigning to right now is skipped instead of waited for; pass 2 waits, in
 *    the same order, only for the candidates pass 1 skipped.  Capacity is re-checked on the
 *    locked row, so two sessions never push a rep over capacity.
 *    No deadlocks: a transaction waits for a rep's lock only if every rep lock it already
 *    holds (from earlier leads of the same transaction) sorts below that rep in (tenant_id,
 *    rep_id) order; otherwise the busy rep is treated as unavailable.  All waits therefore go
 *    up one global order, and a cycle of waits cannot form.
 * The first territory that yields a rep wins; otherwise the reason of the first territory is
 * kept, with every territory's reason in the detail.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "pgtime.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "dispatch.h"
#include "geo_pg.h"

/* the highest rep lock (tenant_id, rep_id) the current transaction holds, if any */
static LocalTransactionId held_lxid = InvalidLocalTransactionId;
static int64 held_tenant = 0;
static int64 held_rep = 0;

static bool
holds_rep_above(int64 tenant_id, int64 rep_id)
{
	if (held_lxid != MyProc->lxid)
		return false;
	return held_tenant > tenant_id || (held_tenant == tenant_id && held_rep > rep_id);
}

static void
note_rep_lock(int64 tenant_id, int64 rep_id)
{
	if (held_lxid != MyProc->lxid)
	{
		held_lxid = MyProc->lxid;
		held_tenant = tenant_id;
		held_rep = rep_id;
	}
	else if (holds_rep_above(tenant_id, rep_id) == false)
	{
		held_tenant = tenant_id;
		held_rep = rep_id;
	}
}

typedef struct Territory
{
	int64		territory_id;
	char	   *policy;
	char	   *weight_model;	/* NULL when unset */
	int32		sla_seconds;
} Territory;

bool
dispatch_status_open(const char *status)
{
	return strcmp(status, "assigned") == 0 || strcmp(status, "accepted") == 0 ||
		strcmp(status, "qualified") == 0;
}

Datum
dispatch_empty_int8_array(void)
{
	return PointerGetDatum(construct_empty_array(INT8OID));
}

static Datum
col(int row, int attno, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, attno, isnull);
}

/* the counters of the members of the containing territories, read with them */
typedef struct MemberLoad
{
	int64		territory_id;
	int64		rep_id;
	int32		open_leads;
	int64		assigned_total;
	double		last_assigned;
} MemberLoad;

static MemberLoad *member_loads;
static int	n_member_loads;

#define MAX_TERRITORIES 64

static bool could_take(const DispatchLead *lead, const DispatchMembers *m, const CachedRep *r);

/*
 * The containing active territories of the lead's tenant, by priority, with their settings and
 * the counters of their members.  The spatial index is probed directly (the tenant is checked
 * by the caller: crm.dispatch() through dispatch_session_tenant(), the insert trigger through
 * the row's default and row-level security).  A lead of another tenant than the session's is
 * located nowhere, as crm.locate() would locate it in the session's tenant.
 */
static int
locate(const DispatchLead *lead, Territory **out, DispatchLoadReader **reader)
{
	int64		ids[MAX_TERRITORIES];
	Territory  *t;
	DispatchLoadReader *lr = NULL;
	int			n;
	int			k = 0;
	int			cap = 0;

	n_member_loads = 0;
	n = lead->tenant_id == dispatch_tenant_setting() ?
		crm_geo_locate_tenant(lead->tenant_id, lead->lon, lead->lat, DatumGetTextPP(lead->srs),
							  ids, MAX_TERRITORIES) : 0;
	t = palloc0(sizeof(Territory) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		const DispatchMembers *m = dispatch_members(lead->tenant_id, ids[i]);

		if (!m->found)
			continue;
		t[k].territory_id = ids[i];
		t[k].policy = pstrdup(m->policy);
		t[k].weight_model = m->weight_model ? pstrdup(m->weight_model) : NULL;
		t[k].sla_seconds = m->sla_seconds;
		k++;
		cap += m->nreps;
	}
	member_loads = palloc(sizeof(MemberLoad) * Max(cap, 1));
	for (int i = 0; i < k; i++)
	{
		const DispatchMembers *m = dispatch_members(lead->tenant_id, t[i].territory_id);

		for (int j = 0; j < m->nreps; j++)
		{
			MemberLoad *ml = &member_loads[n_member_loads];

			/*
			 * Ranking filters by qualification and working hours before it looks at loads: a
			 * rep that fails them (or may not get the lead) needs no counter read.
			 */
			if (!could_take(lead, m, &m->reps[j]))
				continue;
			if (lr == NULL)
				lr = dispatch_load_begin();
			ml->territory_id = t[i].territory_id;
			ml->rep_id = m->reps[j].rep_id;
			if (dispatch_load_read(lr, lead->tenant_id, ml->rep_id, &ml->open_leads,
								   &ml->assigned_total, &ml->last_assigned))
				n_member_loads++;
		}
	}
	/* kept open for the reservation (dispatch_reserve_rep), ended by dispatch_choose() */
	*reader = lr;
	*out = t;
	return k;
}

/* weight of one candidate through crm.decide(model, 'weight', inputs) */
static double
decide_weight(const char *model, const CachedRep *rep, int32 open_leads)
{
	Datum		v[3];
	bool		isnull;
	Datum		d;

	v[0] = CStringGetTextDatum(model);
	v[1] = CStringGetTextDatum(rep->inputs);
	v[2] = Int32GetDatum(open_leads);
	dispatch_exec(DP_DECIDE, v, NULL, 1);
	if (SPI_processed != 1)
		return 0;
	d = col(0, 1, &isnull);
	return isnull ? 0 : DatumGetFloat8(d);
}

static bool
has_skill(const CachedRep *r, const char *skill)
{
	for (int i = 0; i < r->nskills; i++)
		if (strcmp(r->skills[i], skill) == 0)
			return true;
	return false;
}

static bool
is_licensed_skill(const DispatchMembers *m, const char *skill)
{
	for (int i = 0; i < m->nlicensed; i++)
		if (strcmp(m->licensed[i], skill) == 0)
			return true;
	return false;
}

static bool
has_valid_licence(const CachedRep *r, const char *skill, int32 day)
{
	for (int i = 0; i < r->nlicences; i++)
		if (strcmp(r->licences[i].skill, skill) == 0 &&
			r->licences[i].valid_from <= day && day <= r->licences[i].valid_until)
			return true;
	return false;
}

/* holds every required skill, with a valid licence where the skill needs one */
static bool
qualified(const DispatchLead *lead, const DispatchMembers *m, const CachedRep *r)
{
	for (int i = 0; i < lead->nskills; i++)
	{
		if (!has_skill(r, lead->skill_list[i]))
			return false;
		if (is_licensed_skill(m, lead->skill_list[i]) &&
			!has_valid_licence(r, lead->skill_list[i], lead->local_day))
			return false;
	}
	return true;
}

/* no shifts = works any time */
static bool
in_hours(const DispatchLead *lead, const CachedRep *r)
{
	if (r->nhours == 0)
		return true;
	for (int i = 0; i < r->nhours; i++)
		if (r->hours[i].weekday == lead->weekday && r->hours[i].starts <= lead->local_secs &&
			lead->local_secs < r->hours[i].ends)
			return true;
	return false;
}

static bool
excluded(const DispatchLead *lead, int64 rep_id)
{
	for (int i = 0; i < lead->nexclude; i++)
		if (lead->exclude_ids[i] == rep_id)
			return true;
	return false;
}

/* passes the filters that come before loads in ranking (dispatch_rank) */
static bool
could_take(const DispatchLead *lead, const DispatchMembers *m, const CachedRep *r)
{
	return !excluded(lead, r->rep_id) && qualified(lead, m, r) && in_hours(lead, r);
}

/* the loads located with the territory; a rep without a load row is never reserved */
static void
read_loads(int64 territory_id, DispatchCandidate *c, int n)
{
	for (int i = 0; i < n; i++)
	{
		c[i].open_leads = c[i].capacity;
		for (int j = 0; j < n_member_loads; j++)
			if (member_loads[j].territory_id == territory_id && member_loads[j].rep_id == c[i].rep_id)
			{
				c[i].open_leads = member_loads[j].open_leads;
				c[i].assigned_total = member_loads[j].assigned_total;
				c[i].last_assigned = member_loads[j].last_assigned;
				break;
			}
	}
}

/* the territory's candidates with their flags, loads and weights; returns their number */
static int
load_candidates(const DispatchLead *lead, const Territory *t, DispatchPolicy policy,
				const DispatchMembers **members, DispatchCandidate **cands_out)
{
	const DispatchMembers *m = dispatch_members(lead->tenant_id, t->territory_id);
	bool		use_decide;
	DispatchCandidate *c = palloc0(sizeof(DispatchCandidate) * Max(m->nreps, 1));
	int			n = 0;

	for (int i = 0; i < m->nreps; i++)
	{
		const CachedRep *r = &m->reps[i];

		if (excluded(lead, r->rep_id))
			continue;
		c[n].rep_id = r->rep_id;
		c[n].slot = i;
		c[n].capacity = r->capacity;
		c[n].last_assigned = -1;
		c[n].weight = r->score;
		c[n].qualified = qualified(lead, m, r);
		c[n].in_hours = c[n].qualified && in_hours(lead, r);
		n++;
	}
	if (n > 0)
		read_loads(t->territory_id, c, n);
	/* the decision model is asked only for candidates that passed the other filters */
	use_decide = policy == DISPATCH_WEIGHTED && t->weight_model != NULL && n > 0;
	for (int i = 0; use_decide && i < n; i++)
		if (c[i].qualified && c[i].in_hours && c[i].open_leads < c[i].capacity)
			c[i].weight = decide_weight(t->weight_model, &m->reps[c[i].slot], c[i].open_leads);
	*members = m;
	*cands_out = c;
	return n;
}

/*
 * Reserves a rep: open_leads + 1 under the row lock if there is room (dispatch_reserve.c), then
 * records the assignment (crm.lead_dispatch and the lead.assigned outbox row).  Without wait, a
 * rep locked by another transaction is reported busy (*busy) instead of waited for.
 */
static bool
try_reserve(DispatchLoadReader *lr, const DispatchLead *lead, const Territory *t,
			const DispatchCandidate *c, const char *employee_no, bool wait, bool *busy)
{
	DispatchChoice rec;
	Datum		v[12];
	char		nulls[12];
	DispatchReserve r;

	*busy = false;
	if (wait && holds_rep_above(lead->tenant_id, c->rep_id))
		return false;			/* waiting could close a cycle: treat the rep as unavailable */
	r = dispatch_reserve_rep(lr, lead->tenant_id, c->rep_id, c->capacity, wait);
	if (r == DISPATCH_RESERVE_BUSY)
	{
		*busy = true;
		return false;
	}
	if (r == DISPATCH_RESERVE_NONE)
		return false;
	note_rep_lock(lead->tenant_id, c->rep_id);
	if (r != DISPATCH_RESERVE_OK)
		return false;
	memset(&rec, 0, sizeof(rec));
	rec.reason = DISPATCH_OK;
	rec.has_territory = true;
	rec.territory_id = t->territory_id;
	rec.sla_seconds = t->sla_seconds;
	rec.rep_id = c->rep_id;
	rec.employee_no = (char *) employee_no;
	if (dispatch_write_assignment(lead, &rec))
		return true;
	dispatch_record_params(lead, &rec, v, nulls);
	dispatch_exec(DP_RECORD, v, nulls, 0);
	return true;
}

void
dispatch_bump_load(int64 tenant_id, int64 rep_id, int delta, bool count_assignment)
{
	Datum		v[4];

	v[0] = Int64GetDatum(tenant_id);
	v[1] = Int64GetDatum(rep_id);
	v[2] = Int32GetDatum(delta);
	v[3] = BoolGetDatum(count_assignment);
	dispatch_exec(DP_BUMP, v, NULL, 0);
	if (SPI_processed > 0)
		note_rep_lock(tenant_id, rep_id);
}

/* reserves (and records) the first ranked candidate with room; returns its index or -1 */
static int
reserve(DispatchLoadReader *lr, const DispatchLead *lead, const Territory *t,
		const DispatchMembers *m, DispatchCandidate *c, int n)
{
	bool	   *skipped = palloc0(sizeof(bool) * n);

	for (int i = 0; i < n; i++)
		if (try_reserve(lr, lead, t, &c[i], m->reps[c[i].slot].employee_no, false, &skipped[i]))
			return i;
	for (int i = 0; i < n; i++)
		if (skipped[i] && try_reserve(lr, lead, t, &c[i], m->reps[c[i].slot].employee_no, true, &skipped[i]))
			return i;
	return -1;
}

static DispatchReason
try_territory(DispatchLoadReader *lr, const DispatchLead *lead, const Territory *t, DispatchChoice *out)
{
	DispatchPolicy policy;
	DispatchCandidate *c;
	DispatchReason reason;
	const DispatchMembers *m;
	int			n;
	int			chosen;

	if (!dispatch_policy_parse(t->policy, &policy))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("territory %lld has unknown assignment policy \"%s\"",
						(long long) t->territory_id, t->policy),
				 errhint("Use round_robin, least_loaded or weighted.")));
	n = load_candidates(lead, t, policy, &m, &c);
	n = dispatch_rank(c, n, policy, lead->lead_id, &reason);
	if (n == 0)
		return reason;
	if (lr == NULL)
		return DISPATCH_ALL_AT_CAPACITY;	/* no member has a counter row: never reserved */
	chosen = reserve(lr, lead, t, m, c, n);
	if (chosen < 0)
		return DISPATCH_ALL_AT_CAPACITY;
	out->rep_id = c[chosen].rep_id;
	out->employee_no = pstrdup(m->reps[c[chosen].slot].employee_no);
	return DISPATCH_OK;
}

/* required skills and excluded reps as C arrays, and the dispatch time in Asia/Shanghai */
static void
prepare_lead(DispatchLead *lead)
{
	static pg_tz *shanghai = NULL;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	int			j;

	deconstruct_array(DatumGetArrayTypeP(lead->skills), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	lead->skill_list = palloc(sizeof(char *) * Max(n, 1));
	lead->nskills = 0;
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			lead->skill_list[lead->nskills++] = TextDatumGetCString(elems[i]);
	deconstruct_array(DatumGetArrayTypeP(lead->exclude), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	lead->exclude_ids = palloc(sizeof(int64) * Max(n, 1));
	lead->nexclude = n;
	for (int i = 0; i < n; i++)
		lead->exclude_ids[i] = nulls[i] ? 0 : DatumGetInt64(elems[i]);
	if (shanghai == NULL)
		shanghai = pg_tzset("Asia/Shanghai");
	if (shanghai == NULL)
		elog(ERROR, "time zone Asia/Shanghai is not available");
	if (timestamp2tm(lead->at, &tzoff, &tm, &fsec, NULL, shanghai) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("dispatch time is out of range"),
				 errhint("Pass a finite timestamp as the dispatch time.")));
	j = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	lead->weekday = j2day(j) == 0 ? 7 : j2day(j);
	lead->local_secs = tm.tm_hour * 3600.0 + tm.tm_min * 60.0 + tm.tm_sec + fsec / 1000000.0;
	lead->local_day = j - POSTGRES_EPOCH_JDATE;
}

void
dispatch_choose(const DispatchLead *lead_in, DispatchChoice *out)
{
	DispatchLead lead_copy = *lead_in;
	DispatchLead *lead = &lead_copy;
	Territory  *t;
	DispatchLoadReader *lr = NULL;
	StringInfoData detail;
	int			n;

	memset(out, 0, sizeof(*out));
	if (!lead->has_location)
	{
		out->reason = DISPATCH_NO_LOCATION;
		return;
	}
	prepare_lead(lead);
	n = locate(lead, &t, &lr);
	if (n == 0)
	{
		if (lr != NULL)
			dispatch_load_end(lr);
		out->reason = DISPATCH_NO_TERRITORY;
		return;
	}
	initStringInfo(&detail);
	appendStringInfoChar(&detail, '[');
	for (int i = 0; i < n; i++)
	{
		DispatchReason r = try_territory(lr, lead, &t[i], out);

		if (r == DISPATCH_OK || i == 0)
		{
			out->reason = r;
			out->has_territory = true;
			out->territory_id = t[i].territory_id;
			out->sla_seconds = t[i].sla_seconds;
		}
		if (r == DISPATCH_OK)
			break;
		appendStringInfo(&detail, "%s{\"territory_id\": " INT64_FORMAT ", \"reason\": \"%s\"}",
						 i > 0 ? ", " : "", t[i].territory_id, dispatch_reason_name(r));
	}
	if (lr != NULL)
		dispatch_load_end(lr);
	if (out->reason == DISPATCH_OK)
		return;
	appendStringInfoChar(&detail, ']');
	out->detail = detail.data;
}
