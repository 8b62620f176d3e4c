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

Datum
crm_outbox_notify(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const OutboxCols *oc;
	TupleDesc	d;
	HeapTuple	tup;
	StringInfoData buf;
	bool		isnull;
	Datum		v;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm.outbox_notify() must run AFTER INSERT FOR EACH ROW"),
				 errhint("Use it only as the outbox_notify trigger of crm.outbox.")));
	oc = outbox_cols(fcinfo, td->tg_relation);
	d = RelationGetDescr(td->tg_relation);
	tup = td->tg_trigtuple;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"tenant_id\" : ");
	v = heap_getattr(tup, oc->tenant_id, d, &isnull);
	if (isnull)
		appendStringInfoString(&buf, "null");
	else
		appendStringInfo(&buf, INT64_FORMAT, DatumGetInt64(v));
	appendStringInfoString(&buf, ", \"outbox_id\" : ");
	v = heap_getattr(tup, oc->outbox_id, d, &isnull);
	if (isnull)
		appendStringInfoString(&buf, "null");
	else
		appendStringInfo(&buf, INT64_FORMAT, DatumGetInt64(v));
	appendStringInfoString(&buf, ", \"topic\" : ");
	v = heap_getattr(tup, oc->topic, d, &isnull);
	if (isnull)
		appendStringInfoString(&buf, "null");
	else
		escape_json(&buf, TextDatumGetCString(v));
	appendStringInfoChar(&buf, '}');
	Async_Notify("crm_outbox", buf.data);
	pfree(buf.data);
	return PointerGetDatum(NULL);
}
