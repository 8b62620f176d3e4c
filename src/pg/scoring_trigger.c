/*
 * scoring_trigger.c - the trigger lead_10_score on crm.lead and
 * crm.score(jsonb): the scoring inputs of one lead, then the tenant's scoring
 * decision (scoring.c).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

#include "scoring.h"

static LeadAttnums *
lead_attnums(FunctionCallInfo fcinfo, Relation rel)
{
	LeadAttnums *a = fcinfo->flinfo->fn_extra;
	TupleDesc	desc = RelationGetDescr(rel);

	if (a != NULL && a->relid == RelationGetRelid(rel))
		return a;
	a = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(LeadAttnums));
	a->relid = RelationGetRelid(rel);
	a->tenant_id = SPI_fnumber(desc, "tenant_id");
	a->lead_id = SPI_fnumber(desc, "lead_id");
	for (int i = 0; i < NTEXT; i++)
		a->text_cols[i] = SPI_fnumber(desc, scoring_text_columns[i]);
	for (int i = 0; i < NNUMBER; i++)
		a->number_cols[i] = SPI_fnumber(desc, scoring_number_columns[i]);
	a->attributes = SPI_fnumber(desc, "attributes");
	a->score = SPI_fnumber(desc, "score");
	a->grade = SPI_fnumber(desc, "grade");
	a->score_reasons = SPI_fnumber(desc, "score_reasons");
	a->scored_at = SPI_fnumber(desc, "scored_at");
	if (a->tenant_id <= 0 || a->lead_id <= 0 || a->attributes <= 0 || a->score <= 0 || a->grade <= 0 ||
		a->score_reasons <= 0 || a->scored_at <= 0)
		elog(ERROR, "crm.lead_score_trigger() must be attached to crm.lead");
	fcinfo->flinfo->fn_extra = a;
	return a;
}

/* One input the scoring program needs, from the lead row, its attributes or its behaviour. */
static FeelValue *
lead_input(const InputSource *src, HeapTuple tuple, TupleDesc desc, const LeadAttnums *a,
		   Jsonb *attrs, const Behaviour *b)
{
	bool		isnull = true;
	Datum		d = (Datum) 0;
	JsonbValue	buf;
	JsonbValue *v;
	text	   *t;

	switch (src->kind)
	{
		case SRC_TEXT:
			if (a->text_cols[src->index] > 0)
				d = heap_getattr(tuple, a->text_cols[src->index], desc, &isnull);
			if (isnull)
				return feel_null();
			t = DatumGetTextPP(d);
			return feel_string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		case SRC_NUMBER:
			if (a->number_cols[src->index] > 0)
				d = heap_getattr(tuple, a->number_cols[src->index], desc, &isnull);
			return isnull ? feel_null() : scoring_number(DatumGetInt64(d));
		case SRC_BEHAVIOUR:
			return scoring_behaviour_value(b, src->index);
		case SRC_TOPICS:
			return b->zero ? feel_string("", 0) : feel_string(b->topics, strlen(b->topics));
		case SRC_ATTRIBUTES:
			return attrs ? dmn_jsonb_to_feel(attrs) : feel_null();
		case SRC_ATTRIBUTE_KEY:
			if (attrs == NULL || !JB_ROOT_IS_OBJECT(attrs))
				return feel_null();
			v = getKeyJsonValueFromContainer(&attrs->root, src->name, strlen(src->name), &buf);
			return v ? dmn_jsonb_value_to_feel(v) : feel_null();
		case SRC_NONE:
			break;
	}
	return feel_null();
}

/*
 * One input into the borrowed context: text columns and attribute values
 * without copies (the row and its attributes outlive the evaluation).
 */
static void
put_lead_input(FeelValue *ctx, const InputSource *src, HeapTuple tuple, TupleDesc desc,
			   const LeadAttnums *a, Jsonb *attrs, const Behaviour *b)
{
	size_t		keylen = strlen(src->name);
	bool		isnull = true;
	Datum		d;
	JsonbValue	buf;
	JsonbValue *v;
	text	   *t;

	if (src->kind == SRC_TEXT && a->text_cols[src->index] > 0)
	{
		d = heap_getattr(tuple, a->text_cols[src->index], desc, &isnull);
		if (!isnull)
		{
			t = DatumGetTextPP(d);
			(void) feel_borrowed_put_string(ctx, src->name, keylen, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			return;
		}
	}
	else if (src->kind == SRC_ATTRIBUTE_KEY && attrs != NULL && JB_ROOT_IS_OBJECT(attrs))
	{
		v = getKeyJsonValueFromContainer(&attrs->root, src->name, keylen, &buf);
		if (v != NULL)
		{
			dmn_put_jsonb_value(ctx, src->name, keylen, v);
			return;
		}
	}
	(void) feel_borrowed_put(ctx, src->name, keylen, lead_input(src, tuple, desc, a, attrs, b));
}

/* The inputs of the scoring decision for one lead: only the names the program reads. */
static FeelValue *
lead_inputs(const ScoringPlan *plan, HeapTuple tuple, TupleDesc desc, const LeadAttnums *a, const Behaviour *b)
{
	FeelValue  *ctx = feel_borrowed_context(plan->ninputs);
	bool		isnull;
	Datum		d = heap_getattr(tuple, a->attributes, desc, &isnull);
	Jsonb	   *attrs = isnull ? NULL : DatumGetJsonbP(d);

	for (int i = 0; i < plan->ninputs; i++)
		put_lead_input(ctx, &plan->inputs[i], tuple, desc, a, attrs, b);
	return ctx;
}

PG_FUNCTION_INFO_V1(crm_lead_score_trigger);

/* BEFORE INSERT OR UPDATE trigger lead_10_score on crm.lead. */
Datum
crm_lead_score_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	LeadAttnums *a;
	ScoringConfig *c;
	ScoringPlan *plan;
	DmnCacheEntry *e;
	Behaviour	b;
	bool		isnull;
	int64		tenant_id;
	Datum		score;
	const char *grade;
	Jsonb	   *reasons;
	int			cols[4];
	Datum		vals[4];
	bool		nulls[4] = {false, false, false, false};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm.lead_score_trigger() must run as a BEFORE ROW trigger")));
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	/* pg_restore (row_security = off): leads come back with their dumped scores */
	if (!row_security)
		return PointerGetDatum(tuple);
	desc = RelationGetDescr(td->tg_relation);
	a = lead_attnums(fcinfo, td->tg_relation);
	tenant_id = DatumGetInt64(heap_getattr(tuple, a->tenant_id, desc, &isnull));
	c = scoring_config(tenant_id);
	if (!c->found || !c->active)
		return PointerGetDatum(tuple);

	memset(&b, 0, sizeof(b));
	b.zero = true;
	plan = scoring_resolve(c, &e);
	/* behaviour of an existing lead (a new one has none), only if the model reads it */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && plan->needs_behaviour)
	{
		scoring_read_behaviour(&b, tenant_id, DatumGetInt64(heap_getattr(tuple, a->lead_id, desc, &isnull)), c);
		/* the query may have run invalidations: look everything up again (cheap when unchanged) */
		c = scoring_config(tenant_id);
		if (!c->found || !c->active)
			return PointerGetDatum(tuple);
		plan = scoring_resolve(c, &e);
	}
	/* from here on the compiled model is used without running SQL */
	scoring_evaluate(e, plan, c, lead_inputs(plan, tuple, desc, a, &b), &score, &grade, &reasons);

	cols[0] = a->score;
	vals[0] = score;
	cols[1] = a->grade;
	vals[1] = CStringGetTextDatum(grade);
	cols[2] = a->score_reasons;
	vals[2] = JsonbPGetDatum(reasons);
	cols[3] = a->scored_at;
	vals[3] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 4, cols, vals, nulls));
}

PG_FUNCTION_INFO_V1(crm_score);

/* crm.score(lead jsonb) RETURNS crm.lead_score */
Datum
crm_score(PG_FUNCTION_ARGS)
{
	Jsonb	   *lead = PG_GETARG_JSONB_P(0);
	int64		tenant_id = dmn_session_tenant();
	ScoringConfig *c;
	ScoringPlan *plan;
	DmnCacheEntry *e;
	FeelValue  *inputs;
	JsonbValue	buf;
	JsonbValue *attrs;
	TupleDesc	desc;
	Datum		vals[3];
	bool		nulls[3] = {false, false, false};
	const char *grade;
	Jsonb	   *reasons;

	if (!JB_ROOT_IS_OBJECT(lead))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the lead to score must be a JSON object"),
				 errhint("Pass the scoring inputs by name, e.g. '{\"source\": \"web\", \"page_views\": 3}'.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	c = scoring_config(tenant_id);
	if (!c->found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant " INT64_FORMAT " has no scoring model", tenant_id),
				 errhint("INSERT INTO crm.scoring_config (model_name, decision_name) names the model and decision.")));
	inputs = dmn_jsonb_to_feel(lead);
	attrs = getKeyJsonValueFromContainer(&lead->root, "attributes", 10, &buf);
	if (attrs && attrs->type == jbvBinary && JsonContainerIsObject(attrs->val.binary.data))
	{
		/* attribute keys at the top level too, as the trigger passes them; the lead's own keys win */
		int			n = feel_context_size(inputs);
		const char **taken = palloc(sizeof(char *) * (n + 1));

		for (int i = 0; i < n; i++)
			(void) feel_context_entry(inputs, i, &taken[i]);
		scoring_put_attributes(inputs, JsonbValueToJsonb(attrs), taken, n);
	}
	plan = scoring_resolve(c, &e);
	scoring_evaluate(e, plan, c, inputs, &vals[0], &grade, &reasons);
	vals[1] = CStringGetTextDatum(grade);
	vals[2] = JsonbPGetDatum(reasons);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), vals, nulls)));
}
