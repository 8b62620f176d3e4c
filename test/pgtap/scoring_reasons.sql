-- score_reasons as the trigger assembles it: every matched rule's reason, largest points first (ties in
-- rule order), checked against the same list built in SQL from the rule table, for a table of constant
-- outputs (reasons copied from the compiled plan) and one with a computed output (built per row), with
-- more reasons than one jsonb offset stride (32) so that lengths and offsets are both exercised.
BEGIN;
SELECT plan(9);

CREATE TEMP TABLE r AS
SELECT k, CASE WHEN k % 7 = 0 THEN 'annotation ' || k || ' 说明' END AS note, (k * 37) % 11 AS pts
  FROM generate_series(1, 40) k;

CREATE FUNCTION pg_temp.model(name text, computed boolean) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
    m bigint := crm.dmn_create_model(name);
    d bigint;
BEGIN
    INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref) VALUES (m, 'source', 1, 'string');
    INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy, aggregation, type_ref)
    VALUES (m, 'points', 1, 'COLLECT', 'SUM', 'number') RETURNING decision_id INTO d;
    INSERT INTO crm.dmn_requirement (decision_id, kind, required, position) VALUES (d, 'input', 'source', 1);
    INSERT INTO crm.dmn_input (decision_id, position, expr) VALUES (d, 1, 'source');
    INSERT INTO crm.dmn_output (decision_id, position, name, type_ref) VALUES (d, 1, 'points', 'number');
    INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation)
    SELECT d, k, ARRAY[CASE WHEN k % 5 = 4 THEN '"web"' ELSE '-' END],
           ARRAY[CASE WHEN computed AND k = 3 THEN '1 + ' || (pts - 1) ELSE pts::text END], note
      FROM r;
END $f$;
SELECT pg_temp.model('reasons const', false);
SELECT pg_temp.model('reasons computed', true);

-- the expected reasons of a lead from source src, straight from the rule table
CREATE FUNCTION pg_temp.expected(src text, lim integer) RETURNS jsonb LANGUAGE sql AS $f$
    SELECT COALESCE(jsonb_agg(x ORDER BY pts DESC, k), '[]')
      FROM (SELECT k, pts, jsonb_build_object('rule', k, 'points', pts, 'reason', COALESCE(note, 'rule ' || k)) AS x
              FROM r WHERE k % 5 <> 4 OR src = 'web' ORDER BY pts DESC, k LIMIT lim) s
$f$;

INSERT INTO crm.scoring_config (model_name, decision_name, max_reasons) VALUES ('reasons const', 'points', 1000);
INSERT INTO crm.lead (external_ref, source) VALUES ('c_web', 'web'), ('c_tel', 'phone');
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 'c_web'), pg_temp.expected('web', 1000),
          'constant outputs: all 40 reasons in order');
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 'c_tel'), pg_temp.expected('phone', 1000),
          'constant outputs: the 32 reasons of the other source');
SELECT is((SELECT score_reasons::text::jsonb = score_reasons AND jsonb_array_length(score_reasons) = 40
             FROM crm.lead WHERE external_ref = 'c_web'), true,
          'the assembled jsonb reads back identically through its text form');
SELECT is((SELECT array_agg(e->>'reason' ORDER BY i) FROM crm.lead, jsonb_array_elements(score_reasons) WITH ORDINALITY a(e, i)
            WHERE external_ref = 'c_web' AND i > 30),
          (SELECT array_agg(x->>'reason' ORDER BY i) FROM jsonb_array_elements(pg_temp.expected('web', 1000)) WITH ORDINALITY b(x, i) WHERE i > 30),
          'elements past the first offset stride are found by position');
SELECT ok((SELECT score_reasons @> '[{"rule": 7, "reason": "annotation 7 说明"}]' FROM crm.lead WHERE external_ref = 'c_web'),
          'containment finds an annotated reason');

UPDATE crm.scoring_config SET max_reasons = 3;
UPDATE crm.lead SET scored_at = NULL WHERE external_ref = 'c_web';
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 'c_web'), pg_temp.expected('web', 3),
          'max_reasons keeps the top three');
UPDATE crm.scoring_config SET max_reasons = 0;
UPDATE crm.lead SET scored_at = NULL WHERE external_ref = 'c_web';
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 'c_web'), '[]'::jsonb,
          'max_reasons 0 keeps an empty array');

UPDATE crm.scoring_config SET model_name = 'reasons computed', max_reasons = 1000;
INSERT INTO crm.lead (external_ref, source) VALUES ('x_web', 'web');
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 'x_web'), pg_temp.expected('web', 1000),
          'a computed output gives the same reasons');
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 'x_web'), (SELECT sum(pts)::numeric FROM r),
          'and the same score');

SELECT * FROM finish();
ROLLBACK;
