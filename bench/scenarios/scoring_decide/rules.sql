-- The 50-rule scoring table shared by the scoring benchmarks: rule k tests one input (k mod 5) and
-- is worth k points. bench_rule keeps each rule's FEEL cell and the equivalent SQL predicate, from
-- which the model, the PL/pgSQL function and the SQL CASE are all generated.
CREATE TABLE bench_rule AS
SELECT k, k % 5 AS col,
       CASE k % 5
           WHEN 0 THEN pg_catalog.format('"%s"', (ARRAY['web','wechat','phone','walk_in','referral','event'])[1 + (k / 5) % 6])
           WHEN 1 THEN pg_catalog.format('"%s"', (ARRAY['南京','苏州','杭州','宁波','无锡','常州','嘉兴','绍兴','扬州','温州'])[1 + (k / 5) % 10])
           WHEN 2 THEN pg_catalog.format('"%s"', (ARRAY['small','medium','large'])[1 + (k / 5) % 3])
           WHEN 3 THEN pg_catalog.format('>= %s', (k / 5) * 30)
           ELSE CASE WHEN (k / 5) % 2 = 0 THEN 'true' ELSE 'false' END
       END AS feel,
       CASE k % 5
           WHEN 0 THEN pg_catalog.format('source = %L', (ARRAY['web','wechat','phone','walk_in','referral','event'])[1 + (k / 5) % 6])
           WHEN 1 THEN pg_catalog.format('city = %L', (ARRAY['南京','苏州','杭州','宁波','无锡','常州','嘉兴','绍兴','扬州','温州'])[1 + (k / 5) % 10])
           WHEN 2 THEN pg_catalog.format('company_size = %L', (ARRAY['small','medium','large'])[1 + (k / 5) % 3])
           WHEN 3 THEN pg_catalog.format('beds >= %s', (k / 5) * 30)
           ELSE pg_catalog.format('licence_on_file = %s', CASE WHEN (k / 5) % 2 = 0 THEN 'true' ELSE 'false' END)
       END AS pred
  FROM generate_series(1, 50) k;

BEGIN;
SELECT crm.dmn_create_model('bench scoring') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref) VALUES
    (:m, 'source', 1, 'string'), (:m, 'city', 2, 'string'), (:m, 'company_size', 3, 'string'),
    (:m, 'beds', 4, 'number'), (:m, 'licence_on_file', 5, 'boolean');
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy, aggregation, type_ref)
VALUES (:m, 'points', 1, 'COLLECT', 'SUM', 'number');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT crm.dmn_decision_id('bench scoring', 'points'), 'input', name, position FROM crm.dmn_input_data WHERE model_id = :m;
INSERT INTO crm.dmn_input (decision_id, position, expr)
SELECT crm.dmn_decision_id('bench scoring', 'points'), position, name FROM crm.dmn_input_data WHERE model_id = :m;
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref)
VALUES (crm.dmn_decision_id('bench scoring', 'points'), 1, 'points', 'number');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation)
SELECT crm.dmn_decision_id('bench scoring', 'points'), k,
       ARRAY(SELECT CASE WHEN c = col THEN feel ELSE '-' END FROM generate_series(0, 4) c ORDER BY c),
       ARRAY[k::text], 'rule ' || k
  FROM bench_rule;
COMMIT;

-- the same 50 rules as a PL/pgSQL function (one IF per rule) and as one SQL expression (CASE per rule)
DO $gen$
DECLARE
    body text;
    expr text;
BEGIN
    SELECT string_agg(pg_catalog.format('    IF %s THEN s := s + %s; END IF;', pred, k), E'\n' ORDER BY k),
           string_agg(pg_catalog.format('CASE WHEN %s THEN %s ELSE 0 END', pred, k), E'\n + ' ORDER BY k)
      INTO body, expr FROM bench_rule;
    EXECUTE pg_catalog.format($f$
CREATE FUNCTION bench_points_plpgsql(source text, city text, company_size text, beds integer, licence_on_file boolean)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $body$
DECLARE s numeric := 0;
BEGIN
%s
    RETURN s;
END $body$$f$, body);
    EXECUTE pg_catalog.format($f$
CREATE FUNCTION bench_points_sql(source text, city text, company_size text, beds integer, licence_on_file boolean)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $body$ SELECT (%s)::numeric $body$$f$, expr);
END
$gen$;
