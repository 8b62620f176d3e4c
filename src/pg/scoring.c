/*
 * scoring.c - lead scoring on the decision engine: the trigger lead_10_score
 * on crm.lead and crm.score(jsonb).
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
 * The score is the decision's number (COLLECT SUM of points), the grade
 * comes from the tenant's thresholds, the reasons are the matched rules'
 * annotations with their points (first output), largest first.
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
#include "utils/timestamp.h"

#include "dmn_pg.h"

#define MAX_CONFIGS 32

typedef struct ScoringConfig
{
	int64		tenant_id;
	bool		found;
	bool		active;
	char	   *model_name;
	char	   *decision_name;
	Datum		grade_min[3];	/* A, B, C thresholds (numeric) */
	Datum		window;			/* interval */
	Datum		large_purchase_min; /* numeric */
	int			max_reasons;
} ScoringConfig;

static MemoryContext config_cxt = NULL;
static ScoringConfig configs[MAX_CONFIGS];
static int	nconfigs = 0;
static uint64 config_generation = 0;
static SPIPlanPtr behaviour_plan = NULL;

static const char *const text_columns[] = {
	"source", "channel", "lead_type", "company_name", "province", "city", "district", "status"
};
static const char *const number_columns[] = {"store_id", "customer_id"};

#define NTEXT lengthof(text_columns)
#define NNUMBER lengthof(number_columns)

/* Attribute numbers of crm.lead, kept per trigger call site. */
typedef struct LeadAttnums
{
	Oid			relid;
	int			tenant_id;
	int			lead_id;
	int			text_cols[NTEXT];
	int			number_cols[NNUMBER];
	int			attributes;
	int			score;
	int			grade;
	int			score_reasons;
	int			scored_at;
} LeadAttnums;

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
static ScoringConfig *
get_config(int64 tenant_id)
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

static FeelValue *
number_from_int64(int64 v)
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

/* Puts every key of an attributes object at the top level (unless taken) and the object itself. */
static void
put_attributes(FeelValue *ctx, Jsonb *attrs, const char *const *taken, int ntaken, bool whole)
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
	if (whole)
		put(ctx, "attributes", dmn_jsonb_to_feel(attrs));
}

static const char *const behaviour_names[] = {
	"page_views", "drug_info_clicks", "questions", "purchases", "downloads", "visits", "events",
	"purchase_total", "purchase_max", "large_purchases"
};

#define NBEHAVIOUR lengthof(behaviour_names)
#define BEH_NUMERIC(i) ((i) == 7 || (i) == 8)	/* purchase_total, purchase_max are numeric */

/* Behaviour aggregates of one lead (all zero for a new lead). */
typedef struct Behaviour
{
	Datum		vals[NBEHAVIOUR];	/* int8 counts, numeric amounts */
	char	   *topics;
	bool		zero;
} Behaviour;

/* Reads the behaviour aggregates of one lead over the window from crm.lead_event. */
static void
read_behaviour(Behaviour *b, int64 tenant_id, int64 lead_id, const ScoringConfig *c)
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
	if (SPI_execute_plan(behaviour_plan, vals, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
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

static FeelValue *
behaviour_value(const Behaviour *b, int i)
{
	if (b->zero)
		return number_from_int64(0);
	if (BEH_NUMERIC(i))
		return number_from_numeric(b->vals[i]);
	return number_from_int64(DatumGetInt64(b->vals[i]));
}

/* ---------------------------------------------------------------- the plan */

/* Where each input the program needs comes from. */
typedef enum InputSourceKind
{
	SRC_NONE = 0,				/* nothing of the lead: null */
	SRC_TEXT,					/* a text column */
	SRC_NUMBER,					/* a bigint column */
	SRC_BEHAVIOUR,				/* an aggregate of crm.lead_event */
	SRC_TOPICS,					/* question_topics */
	SRC_ATTRIBUTES,				/* the attributes object */
	SRC_ATTRIBUTE_KEY			/* one key of the attributes object */
} InputSourceKind;

typedef struct InputSource
{
	InputSourceKind kind;
	int			index;
	const char *name;
} InputSource;

/*
 * Derived once per compiled model and scoring decision (kept with the cache
 * entry): the inputs to build for each lead, and each rule's points when its
 * output cell is a number literal (the usual case), so that reasons cost no
 * evaluation.
 */
typedef struct ScoringPlan
{
	int			decision;
	int			ninputs;
	InputSource *inputs;
	int			nrules;
	bool	   *constant;
	Datum	   *points;
	double	   *points_order;
} ScoringPlan;

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
		if ((k = name_index(text_columns, NTEXT, name)) >= 0)
			src->kind = SRC_TEXT;
		else if ((k = name_index(number_columns, NNUMBER, name)) >= 0)
			src->kind = SRC_NUMBER;
		else if ((k = name_index(behaviour_names, NBEHAVIOUR, name)) >= 0)
			src->kind = SRC_BEHAVIOUR;
		else if (strcmp(name, "question_topics") == 0)
			src->kind = SRC_TOPICS;
		else if (strcmp(name, "attributes") == 0)
			src->kind = SRC_ATTRIBUTES;
		else
			src->kind = SRC_ATTRIBUTE_KEY;
		src->index = k;
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
	for (int r = 0; r < plan->nrules && dec->table.noutputs > 0; r++)
	{
		plan->constant[r] = constant_points(dec->table.rules[r].output_entries[0], &plan->points[r]);
		if (plan->constant[r])
			plan->points_order[r] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, plan->points[r]));
	}
	MemoryContextSwitchTo(old);
	e->extra = plan;
	return plan;
}

/* ---------------------------------------------------------------- scoring */

typedef struct Reason
{
	int			rule;
	double		order;			/* points, for sorting */
	Datum		points;			/* numeric */
	const char *reason;
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

static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = (int) strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* The reasons, largest points first (ties in rule order), at most max of them. */
static Jsonb *
reasons_jsonb(Reason *r, int n, int max)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	qsort(r, n, sizeof(Reason), reason_cmp);
	if (n > max)
		n = max;
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		JsonbValue	v;

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_key(&st, "rule");
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int4_numeric, Int32GetDatum(r[i].rule)));
		pushJsonbValue(&st, WJB_VALUE, &v);
		push_key(&st, "points");
		v.val.numeric = DatumGetNumeric(r[i].points);
		pushJsonbValue(&st, WJB_VALUE, &v);
		push_key(&st, "reason");
		v.type = jbvString;
		v.val.string.val = (char *) r[i].reason;
		v.val.string.len = (int) strlen(r[i].reason);
		pushJsonbValue(&st, WJB_VALUE, &v);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(res);
}

/* The compiled scoring decision of a tenant; no SQL may run between this and evaluate_score. */
static ScoringPlan *
resolve_scoring(const ScoringConfig *c, DmnCacheEntry **entry)
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
static void
evaluate_score(DmnCacheEntry *e, const ScoringPlan *plan, const ScoringConfig *c, FeelValue *inputs,
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
		rule_points(e, plan, matched[i], inputs, &r[i]);
		r[i].reason = note ? note : psprintf("rule %d", matched[i] + 1);
	}
	*reasons = reasons_jsonb(r, nmatched, c->max_reasons);
}

/* ---------------------------------------------------------------- trigger */

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
		a->text_cols[i] = SPI_fnumber(desc, text_columns[i]);
	for (int i = 0; i < NNUMBER; i++)
		a->number_cols[i] = SPI_fnumber(desc, number_columns[i]);
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
			return isnull ? feel_null() : number_from_int64(DatumGetInt64(d));
		case SRC_BEHAVIOUR:
			return behaviour_value(b, src->index);
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

/* The inputs of the scoring decision for one lead: only the names the program reads. */
static FeelValue *
lead_inputs(const ScoringPlan *plan, HeapTuple tuple, TupleDesc desc, const LeadAttnums *a, const Behaviour *b)
{
	FeelValue  *ctx = feel_context_new();
	bool		isnull;
	Datum		d = heap_getattr(tuple, a->attributes, desc, &isnull);
	Jsonb	   *attrs = isnull ? NULL : DatumGetJsonbP(d);

	for (int i = 0; i < plan->ninputs; i++)
		put(ctx, plan->inputs[i].name, lead_input(&plan->inputs[i], tuple, desc, a, attrs, b));
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
	desc = RelationGetDescr(td->tg_relation);
	a = lead_attnums(fcinfo, td->tg_relation);
	tenant_id = DatumGetInt64(heap_getattr(tuple, a->tenant_id, desc, &isnull));
	c = get_config(tenant_id);
	if (!c->found || !c->active)
		return PointerGetDatum(tuple);

	/* all SQL first (behaviour of an existing lead; a new lead has none) ... */
	memset(&b, 0, sizeof(b));
	b.zero = true;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		read_behaviour(&b, tenant_id, DatumGetInt64(heap_getattr(tuple, a->lead_id, desc, &isnull)), c);
		/* the query may have run invalidations: look the settings up again (cheap) */
		c = get_config(tenant_id);
		if (!c->found || !c->active)
			return PointerGetDatum(tuple);
	}
	/* ... then the compiled model, used without running SQL */
	plan = resolve_scoring(c, &e);
	evaluate_score(e, plan, c, lead_inputs(plan, tuple, desc, a, &b), &score, &grade, &reasons);

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
	c = get_config(tenant_id);
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
		put_attributes(inputs, JsonbValueToJsonb(attrs), taken, n, false);
	}
	plan = resolve_scoring(c, &e);
	evaluate_score(e, plan, c, inputs, &vals[0], &grade, &reasons);
	vals[1] = CStringGetTextDatum(grade);
	vals[2] = JsonbPGetDatum(reasons);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), vals, nulls)));
}
