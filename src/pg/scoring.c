/*
 * scoring.c - lead scoring on the decision engine: per-tenant settings,
 * behaviour aggregates, the per-model plan and the evaluation of score,
 * grade and reasons (the trigger lead_10_score and crm.score(jsonb) are in
 * scoring_trigger.c).
 *
 * Inputs given to the tenant's scoring decision (a FEEL context):
 *   lead columns   source, channel, lead_type, company_name, province, city,
 *                  district, status (strings), store_id, customer_id (numbers)
 *   attributes     every key of crm.lead.attributes at the top level (unless
 *                  it clashes with a column), and the whole object as
 *                  "attributes"
 *   behaviour      over crm.lead_event within the tenant's event window:
 *                  page_views, drug_info_clicks, questions, purchases,
 *                  downloads, visits, events, purchase_total, purchase_max,
 *                  large_purchases (purchases >= large_purchase_min),
 *                  question_topics (distinct topics, comma-separated)
 * Only the inputs the compiled program reads are built for each lead (see
 * ScoringPlan).  The score is the decision's number (COLLECT SUM of points),
 * the grade comes from the tenant's thresholds, the reasons are the matched
 * rules' annotations with their points (first output), largest first, at
 * most max_reasons of them.  No SQL runs per inserted lead; an updated lead
 * costs one indexed aggregate over its events, if the model reads behaviour.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

#include "scoring.h"

#define MAX_CONFIGS 32

const char *const scoring_text_columns[NTEXT] = {
	"source", "channel", "lead_type", "company_name", "province", "city", "district", "status"
};
const char *const scoring_number_columns[NNUMBER] = {"store_id", "customer_id"};
const char *const scoring_behaviour_names[NBEHAVIOUR] = {
	"page_views", "drug_info_clicks", "questions", "purchases", "downloads", "visits", "events",
	"purchase_total", "purchase_max", "large_purchases"
};


static MemoryContext config_cxt = NULL;
static ScoringConfig configs[MAX_CONFIGS];
static int	nconfigs = 0;
static uint64 config_generation = 0;
static SPIPlanPtr behaviour_plan = NULL;



/* ---------------------------------------------------------------- settings */

static Datum
copy_datum(Datum d, bool byval, int len)
{
	return datumCopy(d, byval, len);
}

static void
load_config(ScoringConfig *c, int64 tenant_id)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1];
	HeapTuple	t;
	TupleDesc	desc;
	bool		isnull;
	MemoryContext old;

	memset(c, 0, sizeof(*c));
	c->tenant_id = tenant_id;
	vals[0] = Int64GetDatum(tenant_id);
	SPI_connect();
	if (SPI_execute_with_args("SELECT model_name, decision_name, grade_a_min, grade_b_min, grade_c_min, "
							  "event_window, large_purchase_min, active, max_reasons FROM crm.scoring_config WHERE tenant_id = $1",
							  1, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading crm.scoring_config failed");
	if (SPI_processed == 1)
	{
		t = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		old = MemoryContextSwitchTo(config_cxt);
		c->found = true;
		c->model_name = SPI_getvalue(t, desc, 1);
		c->decision_name = SPI_getvalue(t, desc, 2);
		for (int i = 0; i < 3; i++)
			c->grade_min[i] = copy_datum(SPI_getbinval(t, desc, 3 + i, &isnull), false, -1);
		c->window = copy_datum(SPI_getbinval(t, desc, 6, &isnull), false, sizeof(Interval));
		c->large_purchase_min = copy_datum(SPI_getbinval(t, desc, 7, &isnull), false, -1);
		c->active = DatumGetBool(SPI_getbinval(t, desc, 8, &isnull));
		c->max_reasons = DatumGetInt32(SPI_getbinval(t, desc, 9, &isnull));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
}

/* The tenant's scoring settings (cached until the next invalidation); found=false if none. */
ScoringConfig *
scoring_config(int64 tenant_id)
{
	uint64		gen = dmn_cache_generation();

	if (config_cxt == NULL)
		config_cxt = AllocSetContextCreate(CacheMemoryContext, "crm scoring settings", ALLOCSET_SMALL_SIZES);
	if (gen != config_generation || nconfigs >= MAX_CONFIGS)
	{
		MemoryContextReset(config_cxt);
		nconfigs = 0;
		config_generation = gen;
	}
	for (int i = 0; i < nconfigs; i++)
		if (configs[i].tenant_id == tenant_id)
			return &configs[i];
	load_config(&configs[nconfigs], tenant_id);
	/* an invalidation during loading leaves the generation changed: reload next time */
	if (dmn_cache_generation() != config_generation)
		config_generation = 0;
	return &configs[nconfigs++];
}

/* ---------------------------------------------------------------- inputs */

static void
put(FeelValue *ctx, const char *key, FeelValue *v)
{
	feel_context_put(ctx, key, strlen(key), v);
}

FeelValue *
scoring_number(int64 v)
{
	char		buf[MAXINT8LEN + 1];
	CrmError	err;

	pg_lltoa(v, buf);
	return feel_number_from_text(buf, &err);
}

static FeelValue *
number_from_numeric(Datum d)
{
	CrmError	err;
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, d));

	return feel_number_from_text(s, &err);
}

/* Puts every key of an attributes object at the top level, unless taken. */
void
scoring_put_attributes(FeelValue *ctx, Jsonb *attrs, const char *const *taken, int ntaken)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	char	   *key = NULL;

	if (attrs == NULL || !JB_ROOT_IS_OBJECT(attrs))
		return;
	it = JsonbIteratorInit(&attrs->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		clash = false;

		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		if (tok != WJB_VALUE || key == NULL)
			continue;
		for (int i = 0; i < ntaken; i++)
			clash |= strcmp(taken[i], key) == 0;
		if (!clash && strcmp(key, "attributes") != 0)
			put(ctx, key, dmn_jsonb_value_to_feel(&v));
	}
}



/* Reads the behaviour aggregates of one lead over the window from crm.lead_event. */
void
scoring_read_behaviour(Behaviour *b, int64 tenant_id, int64 lead_id, const ScoringConfig *c)
{
	Datum		vals[4];
	bool		isnull;
	HeapTuple	t;
	TupleDesc	desc;
	MemoryContext mine = CurrentMemoryContext;

	SPI_connect();
	if (behaviour_plan == NULL)
	{
		Oid			types[4] = {INT8OID, INT8OID, INTERVALOID, NUMERICOID};
		SPIPlanPtr	plan = SPI_prepare(
			"SELECT count(*) FILTER (WHERE kind = 'page_view'), count(*) FILTER (WHERE kind = 'drug_info_click'), "
			"count(*) FILTER (WHERE kind = 'question'), count(*) FILTER (WHERE kind = 'purchase'), "
			"count(*) FILTER (WHERE kind = 'download'), count(*) FILTER (WHERE kind = 'visit'), count(*), "
			"coalesce(sum(amount) FILTER (WHERE kind = 'purchase'), 0), "
			"coalesce(max(amount) FILTER (WHERE kind = 'purchase'), 0), "
			"count(*) FILTER (WHERE kind = 'purchase' AND amount >= $4), "
			"coalesce(string_agg(DISTINCT topic, ',' ORDER BY topic) FILTER (WHERE kind = 'question'), '') "
			"FROM crm.lead_event WHERE tenant_id = $1 AND lead_id = $2 AND occurred_at >= now() - $3",
			4, types);

		if (plan == NULL)
			elog(ERROR, "preparing the behaviour query failed");
		SPI_keepplan(plan);
		behaviour_plan = plan;
	}
	vals[0] = Int64GetDatum(tenant_id);
	vals[1] = Int64GetDatum(lead_id);
	vals[2] = c->window;
	vals[3] = c->large_purchase_min;
	/*
	 * Not read-only: in READ COMMITTED that takes a fresh snapshot, so a
	 * re-score that waited for another session's lock on this lead counts
	 * the events that session committed (test/isolation/specs/scoring_events).
	 */
	if (SPI_execute_plan(behaviour_plan, vals, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "behaviour query failed");
	/* the values go into the caller's context, not SPI's (freed by SPI_finish) */
	MemoryContextSwitchTo(mine);
	t = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	for (int i = 0; i < NBEHAVIOUR; i++)
	{
		Datum		d = SPI_getbinval(t, desc, i + 1, &isnull);

		b->vals[i] = BEH_NUMERIC(i) ? datumCopy(d, false, -1) : d;
	}
	b->topics = SPI_getvalue(t, desc, 11);
	b->zero = false;
	SPI_finish();
}

FeelValue *
scoring_behaviour_value(const Behaviour *b, int i)
{
	if (b->zero)
		return scoring_number(0);
	if (BEH_NUMERIC(i))
		return number_from_numeric(b->vals[i]);
	return scoring_number(DatumGetInt64(b->vals[i]));
}

/* ---------------------------------------------------------------- the plan */



static int
name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static void
plan_inputs(ScoringPlan *plan, const DmnProgram *program)
{
	plan->ninputs = dmn_program_ninputs(program);
	plan->inputs = palloc0(sizeof(InputSource) * (plan->ninputs + 1));
	for (int i = 0; i < plan->ninputs; i++)
	{
		InputSource *src = &plan->inputs[i];
		const char *name = dmn_program_input_name(program, i);
		int			k;

		src->name = pstrdup(name);
		if ((k = name_index(scoring_text_columns, NTEXT, name)) >= 0)
			src->kind = SRC_TEXT;
		else if ((k = name_index(scoring_number_columns, NNUMBER, name)) >= 0)
			src->kind = SRC_NUMBER;
		else if ((k = name_index(scoring_behaviour_names, NBEHAVIOUR, name)) >= 0)
			src->kind = SRC_BEHAVIOUR;
		else if (strcmp(name, "question_topics") == 0)
			src->kind = SRC_TOPICS;
		else if (strcmp(name, "attributes") == 0)
			src->kind = SRC_ATTRIBUTES;
		else
			src->kind = SRC_ATTRIBUTE_KEY;
		src->index = k;
		plan->needs_behaviour |= src->kind == SRC_BEHAVIOUR || src->kind == SRC_TOPICS;
	}
}

/* A number literal cell ("15", "-2.5") as numeric; false for anything else. */
static bool
constant_points(const char *cell, Datum *out)
{
	const char *p = cell;
	bool		digits = false;

	while (*p == ' ')
		p++;
	if (*p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits = true;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits = true;
	while (*p == ' ')
		p++;
	if (!digits || *p != '\0')
		return false;
	*out = DirectFunctionCall3(numeric_in, CStringGetDatum(cell), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return true;
}

/* One reason: {"rule": n, "points": p, "reason": text}. */
static void
push_reason(JsonbParseState **st, Datum number, Datum points, const char *reason)
{
	JsonbValue	v;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	crm_jsonb_push_key(st, "rule");
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(number);
	pushJsonbValue(st, WJB_VALUE, &v);
	crm_jsonb_push_key(st, "points");
	v.val.numeric = DatumGetNumeric(points);
	pushJsonbValue(st, WJB_VALUE, &v);
	crm_jsonb_push_key(st, "reason");
	v.type = jbvString;
	v.val.string.val = (char *) reason;
	v.val.string.len = (int) strlen(reason);
	pushJsonbValue(st, WJB_VALUE, &v);
}

static Jsonb *
reason_object(Datum number, Datum points, const char *reason)
{
	JsonbParseState *st = NULL;

	push_reason(&st, number, points, reason);
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

static ScoringPlan *
get_plan(DmnCacheEntry *e, int d)
{
	ScoringPlan *plan = e->extra;
	const DmnDecision *dec = &e->model->decisions[d];
	MemoryContext old;

	if (plan != NULL && plan->decision == d)
		return plan;
	old = MemoryContextSwitchTo(e->cxt);
	plan = palloc0(sizeof(ScoringPlan));
	plan->decision = d;
	plan_inputs(plan, e->program);
	plan->nrules = dec->kind == DMN_EXPR_DECISION_TABLE ? dec->table.nrules : 0;
	plan->constant = palloc0(sizeof(bool) * (plan->nrules + 1));
	plan->points = palloc0(sizeof(Datum) * (plan->nrules + 1));
	plan->points_order = palloc0(sizeof(double) * (plan->nrules + 1));
	plan->rule_number = palloc0(sizeof(Datum) * (plan->nrules + 1));
	for (int r = 0; r < plan->nrules; r++)
		plan->rule_number[r] = DirectFunctionCall1(int4_numeric, Int32GetDatum(r + 1));
	for (int r = 0; r < plan->nrules && dec->table.noutputs > 0; r++)
	{
		plan->constant[r] = constant_points(dec->table.rules[r].output_entries[0], &plan->points[r]);
		if (plan->constant[r])
			plan->points_order[r] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, plan->points[r]));
	}
	plan->reason = palloc0(sizeof(Jsonb *) * (plan->nrules + 1));
	for (int r = 0; r < plan->nrules; r++)
		if (plan->constant[r])
			plan->reason[r] = reason_object(plan->rule_number[r], plan->points[r],
											dec->table.rules[r].annotation ? dec->table.rules[r].annotation :
											psprintf("rule %d", r + 1));
	MemoryContextSwitchTo(old);
	e->extra = plan;
	return plan;
}

/* ---------------------------------------------------------------- scoring */

typedef struct Reason
{
	int			rule;
	Datum		number;			/* rule as numeric */
	double		order;			/* points, for sorting */
	Datum		points;			/* numeric */
	const char *reason;
	Jsonb	   *object;			/* the plan's ready object (constant rules), or NULL */
} Reason;

static int
reason_cmp(const void *a, const void *b)
{
	const Reason *x = a;
	const Reason *y = b;

	if (x->order != y->order)
		return x->order > y->order ? -1 : 1;
	return x->rule - y->rule;
}

static Datum
numeric_zero(void)
{
	return DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
}

/* The score as numeric: a number, null (nothing matched: 0) or a list of numbers (summed). */
static Datum
score_value(const FeelValue *v, const char *decision)
{
	Datum		sum;

	if (v == NULL || feel_kind(v) == FEEL_NULL)
		return numeric_zero();
	if (feel_kind(v) == FEEL_NUMBER)
		return dmn_feel_to_numeric(v);
	if (feel_kind(v) == FEEL_LIST)
	{
		sum = numeric_zero();
		for (int i = 0; i < feel_list_length(v); i++)
			if (feel_kind(feel_list_get(v, i)) == FEEL_NUMBER)
				sum = DirectFunctionCall2(numeric_add, sum, dmn_feel_to_numeric(feel_list_get(v, i)));
		return sum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("scoring decision \"%s\" must return a number", decision),
			 errhint("Make it a decision table with hit policy COLLECT SUM and one output: the points of each rule.")));
	return (Datum) 0;
}

static const char *
grade_of(Datum score, const ScoringConfig *c)
{
	static const char *const grades[] = {"A", "B", "C"};

	for (int i = 0; i < 3; i++)
		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, score, c->grade_min[i])) >= 0)
			return grades[i];
	return "D";
}

/*
 * The reasons array from the rules' ready objects, in the layout
 * convertToJsonb() gives an array of containers: the header, one JEntry per
 * element (an end offset every JB_OFFSET_STRIDE elements, else a length),
 * then each element's container, padded to 4 bytes; the padding counts in
 * the element's length.
 */
static Jsonb *
reasons_concat(const Reason *r, int n)
{
	StringInfoData buf;
	uint32		header = (uint32) n | JB_FARRAY;
	int			jentries;
	uint32		total = 0;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendBinaryStringInfo(&buf, (char *) &header, sizeof(uint32));
	jentries = buf.len;
	appendStringInfoSpaces(&buf, sizeof(JEntry) * n);
	for (int i = 0; i < n; i++)
	{
		int			start = buf.len;
		JEntry		meta;

		while (buf.len % sizeof(int32) != 0)
			appendStringInfoChar(&buf, '\0');
		appendBinaryStringInfo(&buf, VARDATA(r[i].object), VARSIZE(r[i].object) - VARHDRSZ);
		total += buf.len - start;
		if (total > JENTRY_OFFLENMASK)
			elog(ERROR, "score reasons exceed the jsonb size limit");
		meta = JENTRY_ISCONTAINER |
			((i % JB_OFFSET_STRIDE) == 0 ? (total | JENTRY_HAS_OFF) : (uint32) (buf.len - start));
		memcpy(buf.data + jentries + sizeof(JEntry) * i, &meta, sizeof(JEntry));
	}
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
}

/* The reasons, largest points first (ties in rule order), at most max of them. */
static Jsonb *
reasons_jsonb(Reason *r, int n, int max)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	bool		all_ready = true;

	/* a handful of matched rules: insertion sort, stable */
	for (int i = 1; i < n; i++)
	{
		Reason		x = r[i];
		int			j = i;

		for (; j > 0 && reason_cmp(&r[j - 1], &x) > 0; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
	if (n > max)
		n = max;
	for (int i = 0; i < n && all_ready; i++)
		all_ready = r[i].object != NULL;
	if (all_ready)
		return reasons_concat(r, n);
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		push_reason(&st, r[i].number, r[i].points, r[i].reason);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(res);
}

/* The compiled scoring decision of a tenant; no SQL may run between this and evaluate_score. */
ScoringPlan *
scoring_resolve(const ScoringConfig *c, DmnCacheEntry **entry)
{
	DmnCacheEntry *e = dmn_cache_get(c->tenant_id, c->model_name, false);
	int			d = dmn_find_decision(e->program, c->decision_name);

	if (d < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("scoring decision \"%s\" does not exist in model \"%s\"", c->decision_name, c->model_name),
				 errhint("Fix crm.scoring_config for tenant " INT64_FORMAT ".", c->tenant_id)));
	*entry = e;
	return get_plan(e, d);
}

/* A matched rule's points: the cached constant, or the rule's output evaluated for these inputs. */
static void
rule_points(DmnCacheEntry *e, const ScoringPlan *plan, int rule, const FeelValue *inputs, Reason *r)
{
	const DmnDecision *dec = &e->model->decisions[plan->decision];
	FeelValue  *pts;
	CrmError	err;

	if (plan->constant[rule])
	{
		r->points = plan->points[rule];
		r->order = plan->points_order[rule];
		return;
	}
	crm_error_clear(&err);
	pts = dec->table.noutputs > 0 ? dmn_rule_output(e->program, plan->decision, rule, 0, inputs, &err) : NULL;
	r->points = (pts && feel_kind(pts) == FEEL_NUMBER) ? dmn_feel_to_numeric(pts) : numeric_zero();
	r->order = DatumGetFloat8(DirectFunctionCall1(numeric_float8, r->points));
}

/* Evaluates the scoring decision: score, grade and reasons (largest points first). */
void
scoring_evaluate(DmnCacheEntry *e, const ScoringPlan *plan, const ScoringConfig *c, FeelValue *inputs,
			   Datum *score, const char **grade, Jsonb **reasons)
{
	const DmnDecision *dec = &e->model->decisions[plan->decision];
	int		   *matched = palloc(sizeof(int) * (plan->nrules + 1));
	int			nmatched = 0;
	Reason	   *r;
	FeelValue  *res;
	CrmError	err;

	crm_error_clear(&err);
	res = dmn_evaluate(e->program, plan->decision, inputs, matched, plan->nrules, &nmatched, &err);
	if (res == NULL)
		dmn_report(&err, c->model_name);
	*score = score_value(res, c->decision_name);
	*grade = grade_of(*score, c);
	r = palloc(sizeof(Reason) * (nmatched + 1));
	for (int i = 0; i < nmatched; i++)
	{
		const char *note = dec->table.rules[matched[i]].annotation;

		r[i].rule = matched[i] + 1;
		r[i].number = plan->rule_number[matched[i]];
		rule_points(e, plan, matched[i], inputs, &r[i]);
		r[i].reason = note ? note : psprintf("rule %d", matched[i] + 1);
		r[i].object = plan->constant[matched[i]] ? plan->reason[matched[i]] : NULL;
	}
	*reasons = reasons_jsonb(r, nmatched, c->max_reasons);
}

