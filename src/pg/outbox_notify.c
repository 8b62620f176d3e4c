/*
 * outbox_notify.c - crm.outbox_notify(), the AFTER INSERT trigger of crm.outbox.
 *
 * Announces each new outbox row on channel crm_outbox with the payload
 * {"tenant_id" : .., "outbox_id" : .., "topic" : ".."} (the text of json_build_object), queued
 * with Async_Notify and so delivered at commit only.  In C because every assignment, care task
 * and rebate event writes an outbox row: the trigger runs once per event.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/rel.h"

#include "crm_pg.h"
#include "outbox.h"

PG_FUNCTION_INFO_V1(crm_outbox_notify);

/* attribute numbers of crm.outbox, looked up once per trigger call site */
typedef struct OutboxCols
{
	Oid			relid;
	int			tenant_id;
	int			outbox_id;
	int			topic;
} OutboxCols;

static int
outbox_fnum(TupleDesc d, const char *name)
{
	for (int i = 0; i < d->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(d, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return i + 1;
	}
	elog(ERROR, "crm.outbox has no column \"%s\"", name);
	return 0;
}

static const OutboxCols *
outbox_cols(FunctionCallInfo fcinfo, Relation rel)
{
	OutboxCols *oc = fcinfo->flinfo->fn_extra;
	TupleDesc	d = RelationGetDescr(rel);

	if (oc != NULL && oc->relid == RelationGetRelid(rel))
		return oc;
	oc = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(OutboxCols));
	oc->relid = RelationGetRelid(rel);
	oc->tenant_id = outbox_fnum(d, "tenant_id");
	oc->outbox_id = outbox_fnum(d, "outbox_id");
	oc->topic = outbox_fnum(d, "topic");
	fcinfo->flinfo->fn_extra = oc;
	return oc;
}

static void
append_int8(StringInfo buf, const char *key, Datum v, bool isnull)
{
	appendStringInfo(buf, "\"%s\" : ", key);
	if (isnull)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, INT64_FORMAT, DatumGetInt64(v));
}

/* queues the NOTIFY for one outbox row */
static void
announce(Datum tenant_id, bool tenant_null, Datum outbox_id, bool id_null, const char *topic)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	append_int8(&buf, "tenant_id", tenant_id, tenant_null);
	appendStringInfoString(&buf, ", ");
	append_int8(&buf, "outbox_id", outbox_id, id_null);
	appendStringInfoString(&buf, ", \"topic\" : ");
	if (topic == NULL)
		appendStringInfoString(&buf, "null");
	else
		escape_json(&buf, topic);
	appendStringInfoChar(&buf, '}');
	Async_Notify("crm_outbox", buf.data);
	pfree(buf.data);
}

void
crm_outbox_announce(int64 tenant_id, int64 outbox_id, const char *topic)
{
	announce(Int64GetDatum(tenant_id), false, Int64GetDatum(outbox_id), false, topic);
}

Datum
crm_outbox_notify(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const OutboxCols *oc;
	TupleDesc	d;
	HeapTuple	tup;
	bool		n1,
				n2,
				n3;
	Datum		tenant,
				id,
				topic;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm.outbox_notify() must run AFTER INSERT FOR EACH ROW"),
				 errhint("Use it only as the outbox_notify trigger of crm.outbox.")));
	oc = outbox_cols(fcinfo, td->tg_relation);
	d = RelationGetDescr(td->tg_relation);
	tup = td->tg_trigtuple;
	tenant = heap_getattr(tup, oc->tenant_id, d, &n1);
	id = heap_getattr(tup, oc->outbox_id, d, &n2);
	topic = heap_getattr(tup, oc->topic, d, &n3);
	announce(tenant, n1, id, n2, n3 ? NULL : TextDatumGetCString(topic));
	return PointerGetDatum(NULL);
}
