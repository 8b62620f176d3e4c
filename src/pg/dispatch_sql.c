/*
 * dispatch_sql.c - the SQL statements of dispatch, prepared once per backend and kept
 * (SPI_keepplan).  The plan cache re-plans them when the tables change.  All run inside
 * functions with search_path = pg_catalog, pg_temp, and take values only as $n parameters.
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
	Oid			types[12];
} PlanDef;

static const PlanDef plan_defs[DP_COUNT] = {
	[DP_LOCATE] = {
		"SELECT l.territory_id, t.assignment_policy, t.weight_model, t.sla_seconds"
		"  FROM crm.locate($1, $2, $3) l"
		"  JOIN crm.territory t ON t.tenant_id = $4 AND t.territory_id = l.territory_id"
		" ORDER BY l.priority, l.territory_id",
		4, {FLOAT8OID, FLOAT8OID, TEXTOID, INT8OID}
	},
	[DP_CANDIDATES] = {
		"WITH n AS (SELECT ($4 AT TIME ZONE 'Asia/Shanghai') AS lt)"
		" SELECT r.rep_id, r.employee_no, r.capacity, ld.open_leads, ld.assigned_total,"
		"        COALESCE(EXTRACT(epoch FROM ld.last_assigned_at)::float8, -1::float8),"
		"        (cardinality($3) = 0 OR (r.skills @> $3 AND NOT EXISTS ("
		"            SELECT 1 FROM unnest($3) s(skill)"
		"              JOIN crm.licensed_skill k ON k.tenant_id = $1 AND k.skill = s.skill"
		"             WHERE NOT EXISTS (SELECT 1 FROM crm.rep_licence c"
		"                                WHERE c.tenant_id = $1 AND c.rep_id = r.rep_id AND c.skill = s.skill"
		"                                  AND c.valid_from <= n.lt::date"
		"                                  AND (c.valid_until IS NULL OR c.valid_until >= n.lt::date)))))"
		"          AS qualified,"
		"        (NOT EXISTS (SELECT 1 FROM crm.rep_hours h WHERE h.tenant_id = $1 AND h.rep_id = r.rep_id)"
		"         OR EXISTS (SELECT 1 FROM crm.rep_hours h WHERE h.tenant_id = $1 AND h.rep_id = r.rep_id"
		"                       AND h.weekday = EXTRACT(isodow FROM n.lt)"
		"                       AND h.starts <= n.lt::time AND n.lt::time < h.ends)) AS in_hours,"
		"        CASE WHEN $5 THEN (m.weight * COALESCE("
		"            (SELECT sum(w.weight * COALESCE(v.value, 0)) FROM crm.dispatch_weight w"
		"               LEFT JOIN crm.rep_metric v ON v.tenant_id = $1 AND v.rep_id = r.rep_id AND v.metric = w.metric"
		"              WHERE w.tenant_id = $1 AND w.territory_id IS NOT DISTINCT FROM"
		"                    (CASE WHEN EXISTS (SELECT 1 FROM crm.dispatch_weight x"
		"                                        WHERE x.tenant_id = $1 AND x.territory_id = $2) THEN $2 END)),"
		"            1))::float8 ELSE 1::float8 END AS weight,"
		"        CASE WHEN $6 THEN COALESCE((SELECT jsonb_object_agg(v.metric, v.value) FROM crm.rep_metric v"
		"                                     WHERE v.tenant_id = $1 AND v.rep_id = r.rep_id), '{}'::jsonb)"
		"             || jsonb_build_object('rep_id', r.rep_id, 'territory_id', $2, 'open_leads', ld.open_leads,"
		"                                   'capacity', r.capacity, 'membership_weight', m.weight) END AS inputs"
		"   FROM n, crm.territory_rep m"
		"   JOIN crm.rep r ON r.tenant_id = m.tenant_id AND r.rep_id = m.rep_id"
		"   JOIN crm.rep_load ld ON ld.tenant_id = r.tenant_id AND ld.rep_id = r.rep_id"
		"  WHERE m.tenant_id = $1 AND m.territory_id = $2 AND m.active AND r.active"
		"    AND r.rep_id <> ALL ($7)",
		7, {INT8OID, INT8OID, TEXTARRAYOID, TIMESTAMPTZOID, BOOLOID, BOOLOID, INT8ARRAYOID}
	},
	[DP_LOCK_TRY] = {
		"SELECT open_leads FROM crm.rep_load WHERE tenant_id = $1 AND rep_id = $2 FOR UPDATE SKIP LOCKED",
		2, {INT8OID, INT8OID}
	},
	[DP_LOCK_WAIT] = {
		"SELECT open_leads FROM crm.rep_load WHERE tenant_id = $1 AND rep_id = $2 FOR UPDATE",
		2, {INT8OID, INT8OID}
	},
	[DP_BUMP] = {
		"UPDATE crm.rep_load SET open_leads = GREATEST(open_leads + $3, 0),"
		"       assigned_total = assigned_total + CASE WHEN $4 THEN 1 ELSE 0 END,"
		"       last_assigned_at = CASE WHEN $4 THEN clock_timestamp() ELSE last_assigned_at END"
		" WHERE tenant_id = $1 AND rep_id = $2",
		4, {INT8OID, INT8OID, INT4OID, BOOLOID}
	},
	[DP_STATE] = {
		"INSERT INTO crm.lead_dispatch AS d (tenant_id, lead_id, territory_id, rep_id, auto, reason, detail,"
		"       lead_created_at, first_assigned_at, assigned_at, sla_due_at, escalation_level, tried_reps)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $4 IS NOT NULL THEN $9 END, CASE WHEN $4 IS NOT NULL THEN $9 END,"
		"         CASE WHEN $4 IS NOT NULL AND $5 THEN $9 + make_interval(secs => $10) END, $11,"
		"         CASE WHEN $4 IS NULL THEN '{}'::int8[] ELSE ARRAY[$4] END)"
		" ON CONFLICT (tenant_id, lead_id) DO UPDATE"
		"   SET territory_id = EXCLUDED.territory_id, rep_id = EXCLUDED.rep_id, auto = EXCLUDED.auto,"
		"       reason = EXCLUDED.reason, detail = EXCLUDED.detail, assigned_at = EXCLUDED.assigned_at,"
		"       first_assigned_at = COALESCE(d.first_assigned_at, EXCLUDED.first_assigned_at),"
		"       acked_at = NULL, acked_by = NULL, sla_due_at = EXCLUDED.sla_due_at,"
		"       escalation_level = EXCLUDED.escalation_level,"
		"       tried_reps = CASE WHEN EXCLUDED.rep_id IS NULL THEN d.tried_reps ELSE d.tried_reps || EXCLUDED.rep_id END,"
		"       dispatch_count = d.dispatch_count + 1, updated_at = clock_timestamp()",
		11, {INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID, TEXTOID, JSONBOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, INT4OID, INT2OID}
	},
	[DP_OUTBOX] = {
		"INSERT INTO crm.outbox (tenant_id, topic, entity, entity_id, recipient, payload)"
		" VALUES ($1, 'lead.assigned', 'lead', $2, $3,"
		"         jsonb_build_object('lead_id', $2, 'rep_id', $4, 'territory_id', $5, 'assigned_at', $6,"
		"                            'ack_due_at', $6 + make_interval(secs => $7)))",
		7, {INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID, INT4OID}
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
		"  FROM crm.decide($1, 'weight', $2) r",
		2, {TEXTOID, JSONBOID}
	},
};

static SPIPlanPtr plans[DP_COUNT];

int
dispatch_exec(DispatchPlan id, Datum *values, const char *nulls, long limit)
{
	int			rc;

	if (plans[id] == NULL)
	{
		/* generic plans: these statements are short and index-driven, re-planning costs more */
		SPIPlanPtr	p = SPI_prepare_cursor(plan_defs[id].sql, plan_defs[id].nargs,
										   (Oid *) plan_defs[id].types, CURSOR_OPT_GENERIC_PLAN);

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
