/*
 * dispatch_write.c - recording the assignment of a lead being inserted: its crm.lead_dispatch
 * row and its lead.assigned crm.outbox row written directly (heap insert, index entries through
 * the executor's index maintenance), and the outbox NOTIFY queued as crm.outbox_notify() would.
 *
 * The rows are exactly those of the record statement (dispatch_sql.c, DP_RECORD), which remains
 * the way for re-dispatch (an upsert of existing state) and whenever a table does not look as
 * expected here: a column this code does not know, or a trigger on crm.lead_dispatch, or any
 * trigger on crm.outbox besides an enabled outbox_notify.  Every value is produced here, so the
 * tables' checks hold by construction (reason NULL with a rep; escalation level 0..2; a topic of
 * lower-case letters and dots).
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "dispatch.h"
#include "outbox.h"

#define MAX_COLS 24

typedef struct ColValue
{
	const char *name;
	Oid			type;
	Datum		value;
	bool		isnull;
} ColValue;

/*
 * The index of the value named name, or -1; the values are listed in the table's column order,
 * so the search starts at the column's position (one comparison per column as a rule).
 */
static int
find_col(const char *name, int pos, const ColValue *cols, int ncols)
{
	for (int k = 0; k < ncols; k++)
	{
		int			j = (pos + k) % ncols;

		if (strcmp(name, cols[j].name) == 0)
			return j;
	}
	return -1;
}

/* forms the row from named values; false when the table has a column not named, or of another type */
static bool
form_row(Relation rel, const ColValue *cols, int ncols, HeapTuple *out)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum		values[MAX_COLS];
	bool		nulls[MAX_COLS];

	if (desc->natts > MAX_COLS)
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		int			j;

		values[i] = (Datum) 0;
		nulls[i] = true;
		if (a->attisdropped)
			continue;
		j = find_col(NameStr(a->attname), i, cols, ncols);
		if (j < 0 || a->attgenerated || a->atttypid != cols[j].type)
			return false;
		values[i] = cols[j].value;
		nulls[i] = cols[j].isnull;
	}
	*out = heap_form_tuple(desc, values, nulls);
	return true;
}

/* inserts the row and its index entries (partial and expression indexes included) */
static void
insert_row(Relation rel, HeapTuple tup)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	List	   *recheck;

	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	simple_heap_insert(rel, tup);
	ExecStoreHeapTuple(tup, slot, false);
	recheck = ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
	list_free(recheck);
	ExecCloseIndices(rri);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
}

/* true when the outbox's only trigger is an enabled outbox_notify (fired here instead) */
static bool
outbox_triggers_known(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return true;
	return td->numtriggers == 1 && strcmp(td->triggers[0].tgname, "outbox_notify") == 0 &&
		td->triggers[0].tgenabled == TRIGGER_FIRES_ON_ORIGIN &&
		SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA;
}

static void
push_int8(JsonbParseState **state, const char *key, int64 value)
{
	JsonbValue	v;

	crm_jsonb_push_key(state, key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(value);
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* a timestamptz as jsonb_build_object writes it: a string in the JSON (ISO 8601) style */
static void
push_time(JsonbParseState **state, const char *key, TimestampTz t)
{
	JsonbValue	v;
	char	   *s = JsonEncodeDateTime(NULL, TimestampTzGetDatum(t), TIMESTAMPTZOID, NULL);

	crm_jsonb_push_key(state, key);
	v.type = jbvString;
	v.val.string.len = strlen(s);
	v.val.string.val = s;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* the lead.assigned payload, as jsonb_build_object builds it (built as jsonb, not parsed from text) */
static Datum
assigned_payload(const DispatchLead *lead, const DispatchChoice *c, TimestampTz due)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_int8(&state, "lead_id", lead->lead_id);
	push_int8(&state, "rep_id", c->rep_id);
	push_int8(&state, "territory_id", c->territory_id);
	push_time(&state, "assigned_at", lead->at);
	push_time(&state, "ack_due_at", due);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

typedef struct ColType
{
	const char *name;
	Oid			type;
} ColType;

static const ColType outbox_columns[] = {
	{"tenant_id", INT8OID}, {"outbox_id", INT8OID}, {"topic", TEXTOID}, {"entity", TEXTOID},
	{"entity_id", INT8OID}, {"recipient", TEXTOID}, {"payload", JSONBOID},
	{"created_at", TIMESTAMPTZOID}, {"claimed_at", TIMESTAMPTZOID}, {"delivered_at", TIMESTAMPTZOID},
	{"attempts", INT4OID}
};

/* the outbox has only the columns written here and no trigger but outbox_notify */
static bool
outbox_usable(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		ok = outbox_triggers_known(rel);

	for (int i = 0; ok && i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		bool		known = false;
		int			n = (int) lengthof(outbox_columns);

		/* listed in the table's column order: the search starts at the column's position */
		for (int k = 0; k < n && !known; k++)
		{
			int			j = (i + k) % n;

			known = strcmp(NameStr(a->attname), outbox_columns[j].name) == 0 &&
				a->atttypid == outbox_columns[j].type;
		}
		ok = a->attisdropped || (known && !a->attgenerated);
	}
	return ok;
}

static bool
write_outbox(const DispatchRels *dr, Relation rel, const DispatchLead *lead, const DispatchChoice *c,
			 TimestampTz due)
{
	HeapTuple	tup;
	int64		outbox_id;
	bool		ok = false;

	if (OidIsValid(dr->outbox_seq) && outbox_triggers_known(rel))
	{
		ColValue	cols[] = {
			{"tenant_id", INT8OID, Int64GetDatum(lead->tenant_id), false},
			{"outbox_id", INT8OID, (Datum) 0, false},
			{"topic", TEXTOID, CStringGetTextDatum("lead.assigned"), false},
			{"entity", TEXTOID, CStringGetTextDatum("lead"), false},
			{"entity_id", INT8OID, Int64GetDatum(lead->lead_id), false},
			{"recipient", TEXTOID, c->employee_no ? CStringGetTextDatum(c->employee_no) : (Datum) 0, c->employee_no == NULL},
			{"payload", JSONBOID, assigned_payload(lead, c, due), false},
			{"created_at", TIMESTAMPTZOID, TimestampTzGetDatum(GetCurrentTimestamp()), false},
			{"claimed_at", TIMESTAMPTZOID, (Datum) 0, true},
			{"delivered_at", TIMESTAMPTZOID, (Datum) 0, true},
			{"attempts", INT4OID, Int32GetDatum(0), false},
		};

		outbox_id = nextval_internal(dr->outbox_seq, false);
		cols[1].value = Int64GetDatum(outbox_id);
		if (form_row(rel, cols, lengthof(cols), &tup))
		{
			insert_row(rel, tup);
			if (rel->trigdesc != NULL)
				crm_outbox_announce(lead->tenant_id, outbox_id, "lead.assigned");
			ok = true;
		}
	}
	return ok;
}

static bool
write_state(const DispatchRels *dr, const DispatchLead *lead, const DispatchChoice *c, TimestampTz due)
{
	Relation	rel = table_open(dr->lead_dispatch, RowExclusiveLock);
	TimestampTz now = GetCurrentTimestamp();
	Datum		tried = Int64GetDatum(c->rep_id);
	HeapTuple	tup;
	bool		ok = false;
	ColValue	cols[] = {
		{"tenant_id", INT8OID, Int64GetDatum(lead->tenant_id), false},
		{"lead_id", INT8OID, Int64GetDatum(lead->lead_id), false},
		{"territory_id", INT8OID, Int64GetDatum(c->territory_id), !c->has_territory},
		{"rep_id", INT8OID, Int64GetDatum(c->rep_id), false},
		{"auto", BOOLOID, BoolGetDatum(true), false},
		{"reason", TEXTOID, (Datum) 0, true},
		{"detail", JSONBOID, (Datum) 0, true},
		{"lead_created_at", TIMESTAMPTZOID, TimestampTzGetDatum(lead->created_at), false},
		{"first_dispatched_at", TIMESTAMPTZOID, TimestampTzGetDatum(now), false},
		{"first_assigned_at", TIMESTAMPTZOID, TimestampTzGetDatum(lead->at), false},
		{"assigned_at", TIMESTAMPTZOID, TimestampTzGetDatum(lead->at), false},
		{"acked_at", TIMESTAMPTZOID, (Datum) 0, true},
		{"acked_by", NAMEOID, (Datum) 0, true},
		{"sla_due_at", TIMESTAMPTZOID, TimestampTzGetDatum(due), false},
		{"escalation_level", INT2OID, Int16GetDatum(lead->level), false},
		{"tried_reps", INT8ARRAYOID, PointerGetDatum(construct_array(&tried, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)), false},
		{"dispatch_count", INT4OID, Int32GetDatum(1), false},
		{"updated_at", TIMESTAMPTZOID, TimestampTzGetDatum(now), false},
	};

	if (rel->trigdesc == NULL && lead->level >= 0 && lead->level <= 2 &&
		form_row(rel, cols, lengthof(cols), &tup))
	{
		insert_row(rel, tup);
		ok = true;
	}
	table_close(rel, NoLock);
	return ok;
}

/*
 * Records the automatic assignment of a lead being inserted (no dispatch state yet); false
 * when the tables are not as expected and the caller must use the record statement.
 */
bool
dispatch_write_assignment(const DispatchLead *lead, const DispatchChoice *c)
{
	TimestampTz due = lead->at + (int64) c->sla_seconds * USECS_PER_SEC;
	DispatchRels dr;
	Relation	outbox;
	bool		ok;

	if (!lead->fresh || c->reason != DISPATCH_OK)
		return false;
	/* the lock is kept until the end of the transaction, as an INSERT statement keeps it */
	outbox = table_open(dispatch_rels()->outbox, RowExclusiveLock);
	/* taken after the lock: DDL committed while waiting for it has been seen */
	dr = *dispatch_rels();
	ok = dr.outbox == RelationGetRelid(outbox) && OidIsValid(dr.outbox_seq) &&
		outbox_usable(outbox) && write_state(&dr, lead, c, due);
	if (ok && !write_outbox(&dr, outbox, lead, c, due))
		elog(ERROR, "dispatch: crm.outbox is not as expected after crm.lead_dispatch was written");
	table_close(outbox, NoLock);
	if (ok)
		CommandCounterIncrement();
	return ok;
}
