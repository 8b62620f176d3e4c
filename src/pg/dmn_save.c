/*
 * dmn_save.c - stores a DmnModel (read from DMN XML) as a new current
 * version of its model in the crm.dmn_* tables.  The caller is connected to
 * SPI and has compiled the model already, so references resolve.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "dmn_pg.h"

#define MAX_PARAMS 10

typedef struct Params
{
	int			n;
	Oid			types[MAX_PARAMS];
	Datum		vals[MAX_PARAMS];
	char		nulls[MAX_PARAMS];
} Params;

static void
p_reset(Params *p)
{
	p->n = 0;
}

static void
p_int8(Params *p, int64 v)
{
	p->types[p->n] = INT8OID;
	p->vals[p->n] = Int64GetDatum(v);
	p->nulls[p->n++] = ' ';
}

static void
p_int4(Params *p, int v)
{
	p->types[p->n] = INT4OID;
	p->vals[p->n] = Int32GetDatum(v);
	p->nulls[p->n++] = ' ';
}

static void
p_bool(Params *p, bool v)
{
	p->types[p->n] = BOOLOID;
	p->vals[p->n] = BoolGetDatum(v);
	p->nulls[p->n++] = ' ';
}

static void
p_text(Params *p, const char *s)
{
	p->types[p->n] = TEXTOID;
	p->vals[p->n] = s ? CStringGetTextDatum(s) : (Datum) 0;
	p->nulls[p->n++] = s ? ' ' : 'n';
}

static void
p_cells(Params *p, char **cells, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n + 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(cells[i] ? cells[i] : "-");
	p->types[p->n] = TEXTARRAYOID;
	p->vals[p->n] = PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
	p->nulls[p->n++] = ' ';
}

/*
 * Statements prepared once per import (the SQL texts are literals, so their
 * addresses identify them); freed with the SPI connection.
 */
#define MAX_PLANS 12
static const char *plan_sql[MAX_PLANS];
static SPIPlanPtr plan_ptr[MAX_PLANS];
static int	nplans = 0;

static SPIPlanPtr
p_plan(Params *p, const char *sql)
{
	SPIPlanPtr	plan;

	for (int i = 0; i < nplans; i++)
		if (plan_sql[i] == sql)
			return plan_ptr[i];
	plan = SPI_prepare(sql, p->n, p->types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", sql);
	if (nplans < MAX_PLANS)
	{
		plan_sql[nplans] = sql;
		plan_ptr[nplans++] = plan;
	}
	return plan;
}

/* Runs an INSERT with the collected parameters; returns the first column of RETURNING, if any. */
static int64
p_exec(Params *p, const char *sql)
{
	int			rc = SPI_execute_plan(p_plan(p, sql), p->vals, p->nulls, false, 0);
	bool		isnull;

	if (rc != SPI_OK_INSERT && rc != SPI_OK_INSERT_RETURNING && rc != SPI_OK_SELECT && rc != SPI_OK_UPDATE)
		elog(ERROR, "SPI statement failed (%d): %s", rc, sql);
	if (SPI_tuptable != NULL && SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		return isnull ? 0 : DatumGetInt64(d);
	}
	return 0;
}

static void
components_json(StringInfo buf, const DmnItemDef *items, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		const DmnItemDef *c = &items[i];

		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, "{\"name\":");
		escape_json(buf, c->name ? c->name : "");
		if (c->type_ref)
		{
			appendStringInfoString(buf, ",\"type_ref\":");
			escape_json(buf, c->type_ref);
		}
		if (c->allowed_values)
		{
			appendStringInfoString(buf, ",\"allowed_values\":");
			escape_json(buf, c->allowed_values);
		}
		if (c->is_collection)
			appendStringInfoString(buf, ",\"is_collection\":true");
		if (c->ncomponents > 0)
		{
			appendStringInfoString(buf, ",\"components\":");
			components_json(buf, c->components, c->ncomponents);
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

static void
save_items(const DmnModel *m, int64 tenant, int64 model_id)
{
	Params		p;

	for (int i = 0; i < m->nitems; i++)
	{
		const DmnItemDef *it = &m->items[i];
		StringInfoData buf;

		p_reset(&p);
		p_int8(&p, tenant);
		p_int8(&p, model_id);
		p_text(&p, it->name);
		p_int4(&p, i + 1);
		p_text(&p, it->type_ref);
		p_text(&p, it->allowed_values);
		p_bool(&p, it->is_collection);
		if (it->ncomponents > 0)
		{
			initStringInfo(&buf);
			components_json(&buf, it->components, it->ncomponents);
			p_text(&p, buf.data);
		}
		else
			p_text(&p, NULL);
		p_exec(&p, "INSERT INTO crm.dmn_item_definition (tenant_id, model_id, name, position, type_ref, "
			   "allowed_values, is_collection, components) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)");
	}
}

static void
save_inputs(const DmnModel *m, int64 tenant, int64 model_id)
{
	Params		p;

	for (int i = 0; i < m->ninputs; i++)
	{
		p_reset(&p);
		p_int8(&p, tenant);
		p_int8(&p, model_id);
		p_text(&p, m->inputs[i].name);
		p_int4(&p, i + 1);
		p_text(&p, m->inputs[i].id);
		p_text(&p, m->inputs[i].type_ref);
		p_exec(&p, "INSERT INTO crm.dmn_input_data (tenant_id, model_id, name, position, xml_id, type_ref) "
			   "VALUES ($1, $2, $3, $4, $5, $6)");
	}
}

static const char *
hit_policy_text(DmnHitPolicy h)
{
	static const char *const names[] = {"UNIQUE", "ANY", "PRIORITY", "FIRST", "RULE ORDER", "OUTPUT ORDER", "COLLECT"};

	return (h >= 0 && h < lengthof(names)) ? names[h] : "UNIQUE";
}

static const char *
aggregation_text(DmnAggregation a)
{
	static const char *const names[] = {NULL, "SUM", "MIN", "MAX", "COUNT"};

	return (a >= 0 && a < lengthof(names)) ? names[a] : NULL;
}

static void
save_table(const DmnDecisionTable *t, int64 tenant, int64 model_id, int64 decision_id)
{
	Params		p;

	for (int i = 0; i < t->ninputs; i++)
	{
		const DmnInputClause *c = &t->inputs[i];

		p_reset(&p);
		p_int8(&p, tenant);
		p_int8(&p, model_id);
		p_int8(&p, decision_id);
		p_int4(&p, i + 1);
		p_text(&p, c->id);
		p_text(&p, c->label);
		p_text(&p, c->expr ? c->expr : "");
		p_text(&p, c->type_ref);
		p_text(&p, c->input_values);
		p_exec(&p, "INSERT INTO crm.dmn_input (tenant_id, model_id, decision_id, position, xml_id, label, expr, "
			   "type_ref, input_values) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
	}
	for (int i = 0; i < t->noutputs; i++)
	{
		const DmnOutputClause *c = &t->outputs[i];

		p_reset(&p);
		p_int8(&p, tenant);
		p_int8(&p, model_id);
		p_int8(&p, decision_id);
		p_int4(&p, i + 1);
		p_text(&p, c->id);
		p_text(&p, c->name);
		p_text(&p, c->label);
		p_text(&p, c->type_ref);
		p_text(&p, c->output_values);
		p_text(&p, c->default_output);
		p_exec(&p, "INSERT INTO crm.dmn_output (tenant_id, model_id, decision_id, position, xml_id, name, label, "
			   "type_ref, output_values, default_output) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
	}
	for (int i = 0; i < t->nrules; i++)
	{
		const DmnRule *r = &t->rules[i];

		p_reset(&p);
		p_int8(&p, tenant);
		p_int8(&p, model_id);
		p_int8(&p, decision_id);
		p_int4(&p, i + 1);
		p_text(&p, r->id);
		p_cells(&p, r->input_entries, t->ninputs);
		p_cells(&p, r->output_entries, t->noutputs);
		p_text(&p, r->annotation);
		p_exec(&p, "INSERT INTO crm.dmn_rule (tenant_id, model_id, decision_id, position, xml_id, input_entries, "
			   "output_entries, annotation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
	}
}

/* The name of the decision or input data an href id points at (the id itself if none). */
static const char *
ref_name(const DmnModel *m, bool decision, const char *ref)
{
	if (decision)
	{
		for (int i = 0; i < m->ndecisions; i++)
			if (m->decisions[i].id && strcmp(m->decisions[i].id, ref) == 0)
				return m->decisions[i].name;
	}
	else
	{
		for (int i = 0; i < m->ninputs; i++)
			if (m->inputs[i].id && strcmp(m->inputs[i].id, ref) == 0)
				return m->inputs[i].name;
	}
	return ref;
}

static void
save_requirements(const DmnModel *m, const DmnDecision *d, int64 tenant, int64 model_id, int64 decision_id)
{
	Params		p;

	for (int k = 0; k < 2; k++)
	{
		int			n = k == 0 ? d->nrequired_decisions : d->nrequired_inputs;
		char	  **refs = k == 0 ? d->required_decisions : d->required_inputs;

		for (int i = 0; i < n; i++)
		{
			p_reset(&p);
			p_int8(&p, tenant);
			p_int8(&p, model_id);
			p_int8(&p, decision_id);
			p_text(&p, k == 0 ? "decision" : "input");
			p_text(&p, ref_name(m, k == 0, refs[i]));
			p_int4(&p, i + 1);
			p_exec(&p, "INSERT INTO crm.dmn_requirement (tenant_id, model_id, decision_id, kind, required, position) "
				   "VALUES ($1, $2, $3, $4, $5, $6)");
		}
	}
}

static void
save_decisions(const DmnModel *m, int64 tenant, int64 model_id)
{
	Params		p;

	for (int i = 0; i < m->ndecisions; i++)
	{
		const DmnDecision *d = &m->decisions[i];
		bool		literal = d->kind == DMN_EXPR_LITERAL;
		int64		decision_id;

		p_reset(&p);
		p_int8(&p, tenant);
		p_int8(&p, model_id);
		p_text(&p, d->name);
		p_int4(&p, i + 1);
		p_text(&p, d->id);
		p_text(&p, d->type_ref);
		p_text(&p, literal ? "literal" : "table");
		p_text(&p, literal ? (d->literal ? d->literal : "null") : NULL);
		p_text(&p, hit_policy_text(literal ? DMN_HIT_UNIQUE : d->table.hit_policy));
		p_text(&p, literal ? NULL : aggregation_text(d->table.aggregation));
		decision_id = p_exec(&p, "INSERT INTO crm.dmn_decision (tenant_id, model_id, name, position, xml_id, type_ref, "
							 "kind, literal, hit_policy, aggregation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
							 "RETURNING decision_id");
		if (!literal)
			save_table(&d->table, tenant, model_id, decision_id);
		save_requirements(m, d, tenant, model_id, decision_id);
	}
}

int64
dmn_store_save(const DmnModel *m)
{
	Params		p;
	int64		model_id;
	int64		tenant;
	bool		isnull;

	nplans = 0;					/* plans of an earlier import died with its SPI connection */
	p_reset(&p);
	p_text(&p, m->name);
	p_text(&p, m->namespace_uri);
	p_exec(&p, "SELECT crm.dmn_create_model($1, $2), crm.current_tenant()");
	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	tenant = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	p_reset(&p);
	p_int8(&p, tenant);
	p_int8(&p, model_id);
	p_text(&p, m->dmn_version);
	p_exec(&p, "UPDATE crm.dmn_model SET origin = 'xml', dmn_version = $3 WHERE tenant_id = $1 AND model_id = $2");

	save_items(m, tenant, model_id);
	save_inputs(m, tenant, model_id);
	save_decisions(m, tenant, model_id);
	return model_id;
}
