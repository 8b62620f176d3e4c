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
#include "storage/proc.h"
#include "utils/builtins.h"

#include "dispatch.h"

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

/* the containing territories, copied out of SPI's tuple table */
static int
locate(const DispatchLead *lead, Territory **out)
{
	Datum		v[4];
	Territory  *t;
	int			n;

	v[0] = Float8GetDatum(lead->lon);
	v[1] = Float8GetDatum(lead->lat);
	v[2] = lead->srs;
	v[3] = Int64GetDatum(lead->tenant_id);
	dispatch_exec(DP_LOCATE, v, NULL, 0);
	n = (int) SPI_processed;
	t = palloc0(sizeof(Territory) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		t[i].territory_id = DatumGetInt64(col(i, 1, &isnull));
		t[i].policy = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		t[i].weight_model = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		t[i].sla_seconds = DatumGetInt32(col(i, 4, &isnull));
		if (isnull)
			t[i].sla_seconds = 300;
	}
	*out = t;
	return n;
}

static bool
decide_available(void)
{
	Oid			args[3] = {TEXTOID, TEXTOID, JSONBOID};
	List	   *name = list_make2(makeString("crm"), makeString("decide"));

	return OidIsValid(LookupFuncName(name, 3, args, true));
}

/* weight of one candidate through crm.decide(model, 'weight', inputs) */
static double
decide_weight(const char *model, Datum inputs)
{
	Datum		v[2];
	bool		isnull;
	Datum		d;

	v[0] = CStringGetTextDatum(model);
	v[1] = inputs;
	dispatch_exec(DP_DECIDE, v, NULL, 1);
	if (SPI_processed != 1)
		return 0;
	d = col(0, 1, &isnull);
	return isnull ? 0 : DatumGetFloat8(d);
}

/* reads the members of a territory into cands[]; returns their number */
static int
load_candidates(const DispatchLead *lead, const Territory *t, DispatchPolicy policy,
				DispatchCandidate **cands_out, char ***emp_out)
{
	bool		weighted = (policy == DISPATCH_WEIGHTED);
	bool		use_decide = weighted && t->weight_model != NULL && decide_available();
	Datum		v[7];
	DispatchCandidate *c;
	char	  **emp;
	Datum	   *inputs;
	int			n;

	v[0] = Int64GetDatum(lead->tenant_id);
	v[1] = Int64GetDatum(t->territory_id);
	v[2] = lead->skills;
	v[3] = TimestampTzGetDatum(lead->at);
	v[4] = BoolGetDatum(weighted);
	v[5] = BoolGetDatum(use_decide);
	v[6] = lead->exclude;
	dispatch_exec(DP_CANDIDATES, v, NULL, 0);
	n = (int) SPI_processed;
	c = palloc0(sizeof(DispatchCandidate) * Max(n, 1));
	emp = palloc0(sizeof(char *) * Max(n, 1));
	inputs = palloc0(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		c[i].rep_id = DatumGetInt64(col(i, 1, &isnull));
		c[i].slot = i;
		emp[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		c[i].capacity = DatumGetInt32(col(i, 3, &isnull));
		c[i].open_leads = DatumGetInt32(col(i, 4, &isnull));
		c[i].assigned_total = DatumGetInt64(col(i, 5, &isnull));
		c[i].last_assigned = DatumGetFloat8(col(i, 6, &isnull));
		c[i].qualified = DatumGetBool(col(i, 7, &isnull));
		c[i].in_hours = DatumGetBool(col(i, 8, &isnull));
		c[i].weight = DatumGetFloat8(col(i, 9, &isnull));
		if (use_decide)
			inputs[i] = SPI_datumTransfer(col(i, 10, &isnull), false, -1);
	}
	/* the decision model is asked only for candidates that passed the other filters */
	for (int i = 0; use_decide && i < n; i++)
		if (c[i].qualified && c[i].in_hours && c[i].open_leads < c[i].capacity)
			c[i].weight = decide_weight(t->weight_model, inputs[i]);
	*cands_out = c;
	*emp_out = emp;
	return n;
}

static bool
lock_rep(const DispatchLead *lead, int64 rep_id, bool wait, int32 *open_leads)
{
	Datum		v[2];
	bool		isnull;

	if (wait && holds_rep_above(lead->tenant_id, rep_id))
		return false;			/* waiting could close a cycle: treat the rep as busy */
	v[0] = Int64GetDatum(lead->tenant_id);
	v[1] = Int64GetDatum(rep_id);
	dispatch_exec(wait ? DP_LOCK_WAIT : DP_LOCK_TRY, v, NULL, 1);
	if (SPI_processed != 1)
		return false;
	note_rep_lock(lead->tenant_id, rep_id);
	*open_leads = DatumGetInt32(col(0, 1, &isnull));
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

/* reserves the first ranked candidate with room; returns its index or -1 */
static int
reserve(const DispatchLead *lead, DispatchCandidate *c, int n)
{
	bool	   *skipped = palloc0(sizeof(bool) * n);
	int32		open_leads;

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < n; i++)
		{
			if (pass == 1 && !skipped[i])
				continue;
			if (!lock_rep(lead, c[i].rep_id, pass == 1, &open_leads))
			{
				skipped[i] = true;
				continue;
			}
			if (open_leads < c[i].capacity)
			{
				dispatch_bump_load(lead->tenant_id, c[i].rep_id, 1, true);
				return i;
			}
		}
	}
	return -1;
}

static DispatchReason
try_territory(const DispatchLead *lead, const Territory *t, DispatchChoice *out)
{
	DispatchPolicy policy;
	DispatchCandidate *c;
	DispatchReason reason;
	char	  **emp;
	int			n;
	int			chosen;

	if (!dispatch_policy_parse(t->policy, &policy))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("territory %lld has unknown assignment policy \"%s\"",
						(long long) t->territory_id, t->policy),
				 errhint("Use round_robin, least_loaded or weighted.")));
	n = load_candidates(lead, t, policy, &c, &emp);
	n = dispatch_rank(c, n, policy, lead->lead_id, &reason);
	if (n == 0)
		return reason;
	chosen = reserve(lead, c, n);
	if (chosen < 0)
		return DISPATCH_ALL_AT_CAPACITY;
	out->rep_id = c[chosen].rep_id;
	out->employee_no = emp[c[chosen].slot];
	return DISPATCH_OK;
}

void
dispatch_choose(const DispatchLead *lead, DispatchChoice *out)
{
	Territory  *t;
	StringInfoData detail;
	int			n;

	memset(out, 0, sizeof(*out));
	if (!lead->has_location)
	{
		out->reason = DISPATCH_NO_LOCATION;
		return;
	}
	n = locate(lead, &t);
	if (n == 0)
	{
		out->reason = DISPATCH_NO_TERRITORY;
		return;
	}
	initStringInfo(&detail);
	appendStringInfoChar(&detail, '[');
	for (int i = 0; i < n; i++)
	{
		DispatchReason r = try_territory(lead, &t[i], out);

		if (r == DISPATCH_OK || i == 0)
		{
			out->reason = r;
			out->has_territory = true;
			out->territory_id = t[i].territory_id;
			out->sla_seconds = t[i].sla_seconds;
		}
		if (r == DISPATCH_OK)
			return;
		appendStringInfo(&detail, "%s{\"territory_id\": " INT64_FORMAT ", \"reason\": \"%s\"}",
						 i > 0 ? ", " : "", t[i].territory_id, dispatch_reason_name(r));
	}
	appendStringInfoChar(&detail, ']');
	out->detail = detail.data;
}
