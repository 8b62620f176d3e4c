/*
 * dmn_store.c - reads a decision model version from the crm.dmn_* tables
 * into a DmnModel (for compiling and exporting), and stores a DmnModel
 * (from crm.dmn_import) as a new version.  Callers are connected to SPI;
 * every statement passes values as $n parameters.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "dmn_pg.h"

/* ---------------------------------------------------------------- reading */

static char *
col_text(DmnModel *m, int row, int col)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	if (s == NULL)
		return NULL;
	return crm_arena_strdup(&m->arena, s, strlen(s));
}

static int64
col_int64(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static int32
col_int4(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

static bool
col_bool(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? false : DatumGetBool(d);
}

/* Runs a query with parameters (tenant, model_id); the result stays in SPI_tuptable. */
static uint64
run2(const char *sql, int64 tenant_id, int64 model_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2];
	MemoryContext mine = CurrentMemoryContext;

	vals[0] = Int64GetDatum(tenant_id);
	vals[1] = Int64GetDatum(model_id);
	if (SPI_execute_with_args(sql, 2, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI query failed: %s", sql);
	/* SPI leaves us in its procedure context; the model belongs to the caller's */
	MemoryContextSwitchTo(mine);
	return SPI_processed;
}

static char *
json_str(DmnModel *m, JsonbContainer *c, const char *key)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(c, key, strlen(key), &buf);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return crm_arena_strdup(&m->arena, v->val.string.val, v->val.string.len);
}

/* Item components from a jsonb array of {"name", "type_ref", ...} objects. */
static void
load_components(DmnModel *m, DmnItemDef *item, JsonbContainer *arr)
{
	int			n = (arr && JsonContainerIsArray(arr)) ? JsonContainerSize(arr) : 0;

	item->ncomponents = n;
	item->components = n ? crm_arena_alloc(&m->arena, sizeof(DmnItemDef) * n) : NULL;
	for (int i = 0; i < n; i++)
	{
		DmnItemDef *c = &item->components[i];
		JsonbValue *v = getIthJsonbValueFromContainer(arr, i);
		JsonbValue	buf;
		JsonbValue *sub;

		memset(c, 0, sizeof(*c));
		if (v == NULL || v->type != jbvBinary)
			continue;
		c->name = json_str(m, v->val.binary.data, "name");
		c->type_ref = json_str(m, v->val.binary.data, "type_ref");
		c->allowed_values = json_str(m, v->val.binary.data, "allowed_values");
		sub = getKeyJsonValueFromContainer(v->val.binary.data, "is_collection", 13, &buf);
		c->is_collection = sub && sub->type == jbvBool && sub->val.boolean;
		sub = getKeyJsonValueFromContainer(v->val.binary.data, "components", 10, &buf);
		if (sub && sub->type == jbvBinary)
			load_components(m, c, sub->val.binary.data);
	}
}

static void
load_items(DmnModel *m, int64 tenant_id, int64 model_id)
{
	uint64		n = run2("SELECT name, type_ref, allowed_values, is_collection, components "
						 "FROM crm.dmn_item_definition WHERE tenant_id = $1 AND model_id = $2 ORDER BY position",
						 tenant_id, model_id);

	m->nitems = (int) n;
	m->items = n ? crm_arena_alloc(&m->arena, sizeof(DmnItemDef) * n) : NULL;
	for (uint64 i = 0; i < n; i++)
	{
		DmnItemDef *it = &m->items[i];
		bool		isnull;
		Datum		d;

		memset(it, 0, sizeof(*it));
		it->name = col_text(m, i, 1);
		it->type_ref = col_text(m, i, 2);
		it->allowed_values = col_text(m, i, 3);
		it->is_collection = col_bool(i, 4);
		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5, &isnull);
		if (!isnull)
			load_components(m, it, &DatumGetJsonbP(d)->root);
	}
}

static void
load_inputs(DmnModel *m, int64 tenant_id, int64 model_id)
{
	uint64		n = run2("SELECT name, xml_id, type_ref FROM crm.dmn_input_data "
						 "WHERE tenant_id = $1 AND model_id = $2 ORDER BY position",
						 tenant_id, model_id);

	m->ninputs = (int) n;
	m->inputs = n ? crm_arena_alloc(&m->arena, sizeof(DmnInputData) * n) : NULL;
	for (uint64 i = 0; i < n; i++)
	{
		m->inputs[i].name = col_text(m, i, 1);
		m->inputs[i].id = col_text(m, i, 2);
		m->inputs[i].type_ref = col_text(m, i, 3);
	}
}

static DmnHitPolicy
hit_policy_from_text(const char *s)
{
	static const char *const names[] = {"UNIQUE", "ANY", "PRIORITY", "FIRST", "RULE ORDER", "OUTPUT ORDER", "COLLECT"};

	for (int i = 0; i < lengthof(names); i++)
		if (s && strcmp(s, names[i]) == 0)
			return (DmnHitPolicy) i;
	return DMN_HIT_UNIQUE;
}

static DmnAggregation
aggregation_from_text(const char *s)
{
	static const char *const names[] = {"", "SUM", "MIN", "MAX", "COUNT"};

	for (int i = 1; i < lengthof(names); i++)
		if (s && strcmp(s, names[i]) == 0)
			return (DmnAggregation) i;
	return DMN_AGG_NONE;
}

/* decision_ids of the loaded decisions, in model order, to place their parts. */
typedef struct DecisionIds
{
	int			n;
	int64	   *ids;
} DecisionIds;

static int
decision_index(const DecisionIds *ids, int64 id)
{
	for (int i = 0; i < ids->n; i++)
		if (ids->ids[i] == id)
			return i;
	return -1;
}

static void
load_decisions(DmnModel *m, int64 tenant_id, int64 model_id, DecisionIds *ids)
{
	uint64		n = run2("SELECT decision_id, name, xml_id, type_ref, kind, literal, hit_policy, aggregation "
						 "FROM crm.dmn_decision WHERE tenant_id = $1 AND model_id = $2 ORDER BY position",
						 tenant_id, model_id);

	m->ndecisions = (int) n;
	m->decisions = n ? crm_arena_alloc(&m->arena, sizeof(DmnDecision) * n) : NULL;
	ids->n = (int) n;
	ids->ids = palloc(sizeof(int64) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		DmnDecision *d = &m->decisions[i];
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5);

		memset(d, 0, sizeof(*d));
		ids->ids[i] = col_int64(i, 1);
		d->name = col_text(m, i, 2);
		d->id = col_text(m, i, 3);
		d->type_ref = col_text(m, i, 4);
		d->kind = (kind && strcmp(kind, "literal") == 0) ? DMN_EXPR_LITERAL : DMN_EXPR_DECISION_TABLE;
		d->literal = col_text(m, i, 6);
		d->table.hit_policy = hit_policy_from_text(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 7));
		d->table.aggregation = aggregation_from_text(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 8));
	}
}

/* Counts rows per decision (column 1 = decision_id) and allocates the arrays. */
static int *
count_per_decision(const DecisionIds *ids, uint64 n)
{
	int		   *counts = palloc0(sizeof(int) * (ids->n + 1));

	for (uint64 i = 0; i < n; i++)
	{
		int			d = decision_index(ids, col_int64(i, 1));

		if (d >= 0)
			counts[d]++;
	}
	return counts;
}

static void
load_clauses(DmnModel *m, int64 tenant_id, int64 model_id, const DecisionIds *ids)
{
	uint64		n = run2("SELECT decision_id, xml_id, label, expr, type_ref, input_values FROM crm.dmn_input "
						 "WHERE tenant_id = $1 AND model_id = $2 ORDER BY decision_id, position",
						 tenant_id, model_id);
	int		   *counts = count_per_decision(ids, n);

	for (int d = 0; d < ids->n; d++)
		m->decisions[d].table.inputs = counts[d] ?
			crm_arena_alloc(&m->arena, sizeof(DmnInputClause) * counts[d]) : NULL;
	for (uint64 i = 0; i < n; i++)
	{
		int			d = decision_index(ids, col_int64(i, 1));
		DmnDecisionTable *t = &m->decisions[d].table;
		DmnInputClause *c = &t->inputs[t->ninputs++];

		c->id = col_text(m, i, 2);
		c->label = col_text(m, i, 3);
		c->expr = col_text(m, i, 4);
		c->type_ref = col_text(m, i, 5);
		c->input_values = col_text(m, i, 6);
	}

	n = run2("SELECT decision_id, xml_id, name, label, type_ref, output_values, default_output FROM crm.dmn_output "
			 "WHERE tenant_id = $1 AND model_id = $2 ORDER BY decision_id, position",
			 tenant_id, model_id);
	counts = count_per_decision(ids, n);
	for (int d = 0; d < ids->n; d++)
		m->decisions[d].table.outputs = counts[d] ?
			crm_arena_alloc(&m->arena, sizeof(DmnOutputClause) * counts[d]) : NULL;
	for (uint64 i = 0; i < n; i++)
	{
		int			d = decision_index(ids, col_int64(i, 1));
		DmnDecisionTable *t = &m->decisions[d].table;
		DmnOutputClause *c = &t->outputs[t->noutputs++];

		c->id = col_text(m, i, 2);
		c->name = col_text(m, i, 3);
		c->label = col_text(m, i, 4);
		c->type_ref = col_text(m, i, 5);
		c->output_values = col_text(m, i, 6);
		c->default_output = col_text(m, i, 7);
	}
}

/* A text[] column as an arena array of exactly `want` strings; false if its length differs. */
static bool
load_cells(DmnModel *m, int row, int col, int want, char ***out, int *got)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	*out = NULL;
	*got = 0;
	if (isnull)
		return want == 0;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*got = n;
	if (n != want)
		return false;
	*out = crm_arena_alloc(&m->arena, sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		char	   *s = nulls[i] ? pstrdup("-") : TextDatumGetCString(elems[i]);

		(*out)[i] = crm_arena_strdup(&m->arena, s, strlen(s));
	}
	return true;
}

static void
cells_mismatch(const DmnModel *m, const DmnDecision *d, int rule, const char *what, int got, int want)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("decision \"%s\" of model \"%s\", rule %d: %d %s cell(s) but the table has %d %s column(s)",
					d->name, m->name, rule, got, what, want, what),
			 errhint("Give every rule exactly one %s entry per %s column (\"-\" matches anything).",
					 what, what)));
}

static void
load_rules(DmnModel *m, int64 tenant_id, int64 model_id, const DecisionIds *ids)
{
	uint64		n = run2("SELECT decision_id, xml_id, input_entries, output_entries, annotation FROM crm.dmn_rule "
						 "WHERE tenant_id = $1 AND model_id = $2 ORDER BY decision_id, position",
						 tenant_id, model_id);
	int		   *counts = count_per_decision(ids, n);

	for (int d = 0; d < ids->n; d++)
		m->decisions[d].table.rules = counts[d] ?
			crm_arena_alloc(&m->arena, sizeof(DmnRule) * counts[d]) : NULL;
	for (uint64 i = 0; i < n; i++)
	{
		int			d = decision_index(ids, col_int64(i, 1));
		DmnDecision *dec = &m->decisions[d];
		DmnDecisionTable *t = &dec->table;
		DmnRule    *r = &t->rules[t->nrules++];
		int			got;

		r->id = col_text(m, i, 2);
		r->annotation = col_text(m, i, 5);
		if (!load_cells(m, i, 3, t->ninputs, &r->input_entries, &got))
			cells_mismatch(m, dec, t->nrules, "input", got, t->ninputs);
		if (!load_cells(m, i, 4, t->noutputs, &r->output_entries, &got))
			cells_mismatch(m, dec, t->nrules, "output", got, t->noutputs);
	}
}

/* The id a requirement refers to: the target's XML id, or its name for SQL-authored rows. */
static char *
requirement_ref(DmnModel *m, const char *kind, const char *name)
{
	if (strcmp(kind, "decision") == 0)
	{
		for (int i = 0; i < m->ndecisions; i++)
			if (strcmp(m->decisions[i].name, name) == 0 && m->decisions[i].id)
				return m->decisions[i].id;
	}
	else
	{
		for (int i = 0; i < m->ninputs; i++)
			if (strcmp(m->inputs[i].name, name) == 0 && m->inputs[i].id)
				return m->inputs[i].id;
	}
	return crm_arena_strdup(&m->arena, name, strlen(name));
}

static void
load_requirements(DmnModel *m, int64 tenant_id, int64 model_id, const DecisionIds *ids)
{
	uint64		n = run2("SELECT decision_id, kind, required FROM crm.dmn_requirement "
						 "WHERE tenant_id = $1 AND model_id = $2 ORDER BY decision_id, kind, position",
						 tenant_id, model_id);

	for (int d = 0; d < ids->n; d++)
	{
		m->decisions[d].required_decisions = crm_arena_alloc(&m->arena, sizeof(char *) * (n + 1));
		m->decisions[d].required_inputs = crm_arena_alloc(&m->arena, sizeof(char *) * (n + 1));
	}
	for (uint64 i = 0; i < n; i++)
	{
		DmnDecision *d = &m->decisions[decision_index(ids, col_int64(i, 1))];
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		if (strcmp(kind, "decision") == 0)
			d->required_decisions[d->nrequired_decisions++] = requirement_ref(m, kind, name);
		else
			d->required_inputs[d->nrequired_inputs++] = requirement_ref(m, kind, name);
	}
}

int64
dmn_store_find(int64 tenant_id, const char *name, int version)
{
	Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
	Datum		vals[3];
	MemoryContext mine = CurrentMemoryContext;
	const char *sql = version > 0 ?
		"SELECT model_id FROM crm.dmn_model WHERE tenant_id = $1 AND name = $2 AND version = $3" :
		"SELECT model_id FROM crm.dmn_model WHERE tenant_id = $1 AND name = $2 AND is_current AND $3 = 0";

	vals[0] = Int64GetDatum(tenant_id);
	vals[1] = CStringGetTextDatum(name);
	vals[2] = Int32GetDatum(version > 0 ? version : 0);
	if (SPI_execute_with_args(sql, 3, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI query failed: %s", sql);
	MemoryContextSwitchTo(mine);
	return SPI_processed == 1 ? col_int64(0, 1) : 0;
}

DmnModel *
dmn_store_load(int64 tenant_id, int64 model_id, bool *is_current, int *version)
{
	DmnModel   *m;
	DecisionIds ids;

	if (run2("SELECT name, namespace_uri, dmn_version, is_current, version FROM crm.dmn_model "
			 "WHERE tenant_id = $1 AND model_id = $2", tenant_id, model_id) != 1)
		return NULL;
	m = dmn_model_new();
	m->name = col_text(m, 0, 1);
	m->namespace_uri = col_text(m, 0, 2);
	m->dmn_version = col_text(m, 0, 3);
	if (is_current)
		*is_current = col_bool(0, 4);
	if (version)
		*version = (int) col_int4(0, 5);
	load_items(m, tenant_id, model_id);
	load_inputs(m, tenant_id, model_id);
	load_decisions(m, tenant_id, model_id, &ids);
	load_clauses(m, tenant_id, model_id, &ids);
	load_rules(m, tenant_id, model_id, &ids);
	load_requirements(m, tenant_id, model_id, &ids);
	return m;
}
