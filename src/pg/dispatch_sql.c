/*
 * dispatch_sql.c - the SQL statements of dispatch, prepared once per backend and kept
 * (SPI_keepplan).  The plan cache re-plans them when the tables change.  All run with
 * search_path = pg_catalog, pg_temp (SECURITY DEFINER functions set it; the insert trigger pins
 * it here, dispatch_scope.c), and take values only as $n parameters.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"

#include "dispatch.h"

typedef struct PlanDef
{
	const char *sql;
	int			nargs;
	Oid			types[13];
} PlanDef;

/* parameters of the dispatch record: tenant, lead, territory, rep, auto, reason, detail,
 * lead created, dispatch time, SLA seconds, escalation level, staff number */
#define RECORD_TYPES INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, \
	TIMESTAMPTZOID, INT4OID, INT2OID, TEXTOID

#define RECORD_UPSERT \
	"  ON CONFLICT (tenant_id, lead_id) DO UPDATE" \
	"     SET territory_id = EXCLUDED.territory_id, rep_id = EXCLUDED.rep_id, auto = EXCLUDED.auto," \
	"         reason = EXCLUDED.reason, detail = EXCLUDED.detail, assigned_at = EXCLUDED.assigned_at," \
	"         first_assigned_at = COALESCE(d.first_assigned_at, EXCLUDED.first_assigned_at)," \
	"         acked_at = NULL, acked_by = NULL, sla_due_at = EXCLUDED.sla_due_at," \
	"         escalation_level = EXCLUDED.escalation_level," \
	"         tried_reps = CASE WHEN EXCLUDED.rep_id IS NULL THEN d.tried_reps ELSE d.tried_reps || EXCLUDED.rep_id END," \
	"         dispatch_count = d.dispatch_count + 1, updated_at = clock_timestamp()"

#define RECORD_VALUES \
	" $1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $4 IS NOT NULL THEN $9 END," \
	" CASE WHEN $4 IS NOT NULL THEN $9 END," \
	" CASE WHEN $4 IS NOT NULL AND $5 THEN $9 + make_interval(secs => $10) END, $11," \
	" CASE WHEN $4 IS NULL THEN '{}'::int8[] ELSE ARRAY[$4] END"

#define RECORD_COLUMNS \
	" (tenant_id, lead_id, territory_id, rep_id, auto, reason, detail, lead_created_at," \
	"  first_assigned_at, assigned_at, sla_due_at, escalation_level, tried_reps)"

#define OUTBOX_SELECT \
	" SELECT $1, 'lead.assigned', 'lead', $2, $12," \
	"        jsonb_build_object('lead_id', $2, 'rep_id', $4, 'territory_id', $3, 'assigned_at', $9," \
	"                           'ack_due_at', $9 + make_interval(secs => $10))"

static const PlanDef plan_defs[DP_COUNT] = {
	[DP_TERRITORY] = {
		"SELECT assignment_policy, weight_model, sla_seconds FROM crm.territory"
		" WHERE tenant_id = $1 AND territory_id = $2",
		2, {INT8OID, INT8OID}
	},
	[DP_MEMBERS] = {
		"SELECT r.rep_id, r.employee_no, r.capacity,"
		"       (m.weight * COALESCE("
		"            (SELECT sum(w.weight * COALESCE(v.value, 0)) FROM crm.dispatch_weight w"
		"               LEFT JOIN crm.rep_metric v ON v.tenant_id = $1 AND v.rep_id = r.rep_id AND v.metric = w.metric"
		"              WHERE w.tenant_id = $1 AND w.territory_id IS NOT DISTINCT FROM"
		"                    (CASE WHEN EXISTS (SELECT 1 FROM crm.dispatch_weight x"
		"                                        WHERE x.tenant_id = $1 AND x.territory_id = $2) THEN $2 END)),"
		"            1))::float8,"
		"       (COALESCE((SELECT jsonb_object_agg(v.metric, v.value) FROM crm.rep_metric v"
		"                   WHERE v.tenant_id = $1 AND v.rep_id = r.rep_id), '{}'::jsonb)"
		"        || jsonb_build_object('rep_id', r.rep_id, 'territory_id', $2, 'capacity', r.capacity,"
		"                              'membership_weight', m.weight))::text,"
		"       r.skills,"
		"       ARRAY(SELECT h.weekday::int4 FROM crm.rep_hours h WHERE h.tenant_id = $1 AND h.rep_id = r.rep_id"
		"              ORDER BY h.weekday, h.starts),"
		"       ARRAY(SELECT EXTRACT(epoch FROM h.starts)::float8 FROM crm.rep_hours h"
		"              WHERE h.tenant_id = $1 AND h.rep_id = r.rep_id ORDER BY h.weekday, h.starts),"
		"       ARRAY(SELECT EXTRACT(epoch FROM h.ends)::float8 FROM crm.rep_hours h"
		"              WHERE h.tenant_id = $1 AND h.rep_id = r.rep_id ORDER BY h.weekday, h.starts),"
		"       ARRAY(SELECT c.skill FROM crm.rep_licence c WHERE c.tenant_id = $1 AND c.rep_id = r.rep_id"
		"              ORDER BY c.skill, c.licence_no),"
		"       ARRAY(SELECT (c.valid_from - date '2000-01-01')::int4 FROM crm.rep_licence c"
		"              WHERE c.tenant_id = $1 AND c.rep_id = r.rep_id ORDER BY c.skill, c.licence_no),"
		"       ARRAY(SELECT COALESCE(c.valid_until - date '2000-01-01', 2147483647)::int4 FROM crm.rep_licence c"
		"              WHERE c.tenant_id = $1 AND c.rep_id = r.rep_id ORDER BY c.skill, c.licence_no)"
		"  FROM crm.territory_rep m"
		"  JOIN crm.rep r ON r.tenant_id = m.tenant_id AND r.rep_id = m.rep_id"
		" WHERE m.tenant_id = $1 AND m.territory_id = $2 AND m.active AND r.active"
		" ORDER BY r.rep_id",
		2, {INT8OID, INT8OID}
	},
	[DP_LICENSED] = {
		"SELECT array_agg(skill) FROM crm.licensed_skill WHERE tenant_id = $1 AND $2 IS NOT NULL",
		2, {INT8OID, INT8OID}
	},
	[DP_BUMP] = {
		"UPDATE crm.rep_load SET open_leads = GREATEST(open_leads + $3, 0),"
		"       assigned_total = assigned_total + CASE WHEN $4 THEN 1 ELSE 0 END,"
		"       last_assigned_at = CASE WHEN $4 THEN clock_timestamp() ELSE last_assigned_at END"
		" WHERE tenant_id = $1 AND rep_id = $2",
		4, {INT8OID, INT8OID, INT4OID, BOOLOID}
	},
	/* the lead's dispatch state, and its lead.assigned outbox row when a rep was chosen automatically */
	[DP_RECORD] = {
		"WITH s AS (INSERT INTO crm.lead_dispatch AS d" RECORD_COLUMNS " VALUES (" RECORD_VALUES ")" RECORD_UPSERT ")"
		" INSERT INTO crm.outbox (tenant_id, topic, entity, entity_id, recipient, payload)"
		OUTBOX_SELECT " WHERE $4 IS NOT NULL AND $5",
		12, {RECORD_TYPES}
	},
	[DP_LEAD_LOCK] = {
		"SELECT lon, lat, srs, required_skills, status, owner_rep_id, created_at"
		"  FROM crm.lead WHERE tenant_id = $1 AND lead_id = $2 FOR UPDATE",
		2, {INT8OID, INT8OID}
	},
	[DP_LEAD_SET] = {
		"UPDATE crm.lead SET owner_rep_id = $3, status = $4 WHERE tenant_id = $1 AND lead_id = $2",
		4, {INT8OID, INT8OID, INT8OID, TEXTOID}
	},
	[DP_TRIED] = {
		"SELECT tried_reps, escalation_level FROM crm.lead_dispatch WHERE tenant_id = $1 AND lead_id = $2",
		2, {INT8OID, INT8OID}
	},
	[DP_DROP_STATE] = {
		"DELETE FROM crm.lead_dispatch WHERE tenant_id = $1 AND lead_id = $2",
		2, {INT8OID, INT8OID}
	},
	[DP_DECIDE] = {
		"SELECT CASE jsonb_typeof(r) WHEN 'number' THEN (r #>> '{}')::float8"
		"                            WHEN 'object' THEN (r ->> 'weight')::float8 END"
		"  FROM crm.decide($1, 'weight', $2::jsonb || jsonb_build_object('open_leads', $3)) r",
		3, {TEXTOID, TEXTOID, INT4OID}
	},
};

static SPIPlanPtr plans[DP_COUNT];

int
dispatch_exec(DispatchPlan id, Datum *values, const char *nulls, long limit)
{
	int			rc;

	/* inside the insert trigger's scope: the statement is parsed and planned with a safe path */
	dispatch_pin_search_path();
	if (plans[id] == NULL)
	{
		/*
		 * Generic plans for the per-lead statements: short key lookups on small tables whose
		 * plans are invalidated whenever the configuration changes.  Lookups of one lead or
		 * its dispatch state (tables that grow from empty) are planned per call, since a
		 * generic plan made on an empty table can pick the wrong index for good.
		 */
		int			opts = (id == DP_LEAD_LOCK || id == DP_TRIED || id == DP_DROP_STATE) ?
			CURSOR_OPT_CUSTOM_PLAN : CURSOR_OPT_GENERIC_PLAN;
		SPIPlanPtr	p = SPI_prepare_cursor(plan_defs[id].sql, plan_defs[id].nargs,
										   (Oid *) plan_defs[id].types, opts);

		if (p == NULL)
			elog(ERROR, "dispatch: SPI_prepare failed for statement %d: %s", (int) id,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "dispatch: SPI_keepplan failed");
		plans[id] = p;
	}
	rc = SPI_execute_plan(plans[id], values, nulls, false, limit);
	if (rc < 0)
		elog(ERROR, "dispatch: statement %d failed: %s", (int) id, SPI_result_code_string(rc));
	return rc;
}
