/*
 * health_sync.c - keeps crm.health_profile current: a statement-level
 * trigger on crm.dispense that collects the customers a statement touched
 * (from its transition tables) and refreshes just their profiles.
 *
 * The refresh runs as the owner of crm.dispense (as PostgreSQL's own foreign
 * key triggers do): store systems may insert dispensing lines without being
 * allowed to read anybody's health data.  The tenant comes from the rows,
 * which row-level security has already checked for the inserting role.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "crm_pg.h"

PG_FUNCTION_INFO_V1(crm_health_dispense_sync);

typedef struct TenantCustomer
{
	int64		tenant;
	int64		customer;
} TenantCustomer;

static int
tc_cmp(const void *a, const void *b)
{
	const TenantCustomer *x = a;
	const TenantCustomer *y = b;

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	if (x->customer != y->customer)
		return x->customer < y->customer ? -1 : 1;
	return 0;
}

/* Appends the (tenant, customer) of every row of a transition table. */
static void
collect(Tuplestorestate *ts, TupleDesc desc, int att_tenant, int att_customer,
		TenantCustomer **out, int *n, int *cap)
{
	TupleTableSlot *slot;

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		n1,
					n2;
		Datum		t = slot_getattr(slot, att_tenant, &n1);
		Datum		c = slot_getattr(slot, att_customer, &n2);

		if (n1 || n2)
			continue;
		if (*n == *cap)
		{
			*cap *= 2;
			*out = repalloc_huge(*out, sizeof(TenantCustomer) * *cap);
		}
		(*out)[*n].tenant = DatumGetInt64(t);
		(*out)[*n].customer = DatumGetInt64(c);
		(*n)++;
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* Refreshes the profiles of customers[from..to) (one tenant, sorted, distinct). */
static void
refresh_group(const TenantCustomer *tc, int from, int to)
{
	static const char *sql = "SELECT crm.health_profile_sync($1, $2)";
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum	   *ids = palloc(sizeof(Datum) * (to - from));
	Datum		args[2];

	for (int i = from; i < to; i++)
		ids[i - from] = Int64GetDatum(tc[i].customer);
	args[0] = Int64GetDatum(tc[from].tenant);
	args[1] = PointerGetDatum(construct_array(ids, to - from, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args(sql, 2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "crm.health_profile_sync failed");
	pfree(ids);
}

Datum
crm_health_dispense_sync(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			att_tenant,
				att_customer;
	TenantCustomer *tc;
	int			n = 0,
				cap = 64,
				k = 0;
	Oid			save_user;
	int			save_sec;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("crm_health_dispense_sync must run as an AFTER ... FOR EACH STATEMENT trigger"),
						errhint("Create it with REFERENCING NEW TABLE / OLD TABLE on crm.dispense.")));
	desc = RelationGetDescr(td->tg_relation);
	att_tenant = SPI_fnumber(desc, "tenant_id");
	att_customer = SPI_fnumber(desc, "customer_id");
	if (att_tenant <= 0 || att_customer <= 0)
		elog(ERROR, "crm_health_dispense_sync: table has no tenant_id or customer_id");
	tc = palloc(sizeof(TenantCustomer) * cap);
	collect(td->tg_oldtable, desc, att_tenant, att_customer, &tc, &n, &cap);
	collect(td->tg_newtable, desc, att_tenant, att_customer, &tc, &n, &cap);
	if (n == 0)
		return PointerGetDatum(NULL);
	qsort(tc, n, sizeof(TenantCustomer), tc_cmp);
	for (int i = 1; i < n; i++)
		if (tc_cmp(&tc[i], &tc[k]) != 0)
			tc[++k] = tc[i];
	n = k + 1;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(td->tg_relation->rd_rel->relowner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	SPI_connect();
	for (int from = 0, i = 1; i <= n; i++)
	{
		if (i == n || tc[i].tenant != tc[from].tenant)
		{
			refresh_group(tc, from, i);
			from = i;
		}
	}
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);
	pfree(tc);
	return PointerGetDatum(NULL);
}
