-- Decision models: SQL authoring, every hit policy through crm.decide, null semantics, requirement
-- graphs, versions, validation errors.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- ---------------------------------------------------------------------------------------------
-- Authoring in SQL: one model, one table per hit policy, all on input x (a number) and s (a string)
-- ---------------------------------------------------------------------------------------------
BEGIN;
SELECT crm.dmn_create_model('policies', 'https://example.com/policies') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref)
VALUES (:m, 'x', 1, 'number'), (:m, 's', 2, 'string');
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy, aggregation)
VALUES (:m, 'unique', 1, 'UNIQUE', NULL), (:m, 'any', 2, 'ANY', NULL), (:m, 'priority', 3, 'PRIORITY', NULL),
       (:m, 'first', 4, 'FIRST', NULL), (:m, 'rule order', 5, 'RULE ORDER', NULL),
       (:m, 'output order', 6, 'OUTPUT ORDER', NULL), (:m, 'collect', 7, 'COLLECT', NULL),
       (:m, 'sum', 8, 'COLLECT', 'SUM'), (:m, 'min', 9, 'COLLECT', 'MIN'), (:m, 'max', 10, 'COLLECT', 'MAX'),
       (:m, 'count', 11, 'COLLECT', 'COUNT'), (:m, 'two outputs', 12, 'FIRST', NULL);
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT d.decision_id, 'input', i.name, i.position
  FROM crm.dmn_decision d, crm.dmn_input_data i WHERE d.model_id = :m AND i.model_id = :m;
INSERT INTO crm.dmn_input (decision_id, position, expr, type_ref, label)
SELECT d.decision_id, 1, 'x', 'number', 'X' FROM crm.dmn_decision d WHERE d.model_id = :m;
-- every table but the last has one output with the priority list "high","medium","low"
INSERT INTO crm.dmn_output (decision_id, position, type_ref, output_values)
SELECT d.decision_id, 1, 'string', '"high","medium","low"' FROM crm.dmn_decision d
 WHERE d.model_id = :m AND d.hit_policy <> 'COLLECT' AND d.name <> 'two outputs';
INSERT INTO crm.dmn_output (decision_id, position, type_ref)
SELECT d.decision_id, 1, 'number' FROM crm.dmn_decision d WHERE d.model_id = :m AND d.hit_policy = 'COLLECT';
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref, default_output)
VALUES (crm.dmn_decision_id('policies', 'two outputs'), 1, 'label', 'string', '"none"'),
       (crm.dmn_decision_id('policies', 'two outputs'), 2, 'size', 'number', '0');
-- the same four rules everywhere (strings or numbers as outputs)
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation)
SELECT d.decision_id, r.pos, ARRAY[r.test],
       ARRAY[CASE WHEN d.hit_policy = 'COLLECT' THEN r.num ELSE r.str END], r.why
  FROM crm.dmn_decision d
 CROSS JOIN (VALUES (1, '< 0', '"low"', '-1', 'negative'),
                    (2, '[0..10]', '"medium"', '5', 'small'),
                    (3, '> 5', '"high"', '10', 'above five'),
                    (4, '> 100', '"medium"', '100', 'huge')) r(pos, test, str, num, why)
 WHERE d.model_id = :m AND d.name NOT IN ('unique', 'any', 'two outputs');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries)
VALUES (crm.dmn_decision_id('policies', 'unique'), 1, ARRAY['< 0'], ARRAY['"low"']),
       (crm.dmn_decision_id('policies', 'unique'), 2, ARRAY['[0..10]'], ARRAY['"medium"']),
       (crm.dmn_decision_id('policies', 'unique'), 3, ARRAY['>= 10'], ARRAY['"high"']),
       (crm.dmn_decision_id('policies', 'any'), 1, ARRAY['>= 0'], ARRAY['"medium"']),
       (crm.dmn_decision_id('policies', 'any'), 2, ARRAY['[0..10]'], ARRAY['"medium"']),
       (crm.dmn_decision_id('policies', 'any'), 3, ARRAY['> 50'], ARRAY['"high"']),
       (crm.dmn_decision_id('policies', 'two outputs'), 1, ARRAY['> 5'], ARRAY['"big"', 'x * 2']),
       (crm.dmn_decision_id('policies', 'two outputs'), 2, ARRAY['-'], ARRAY['"small"', 'x']);
COMMIT;

SELECT name, version, is_current, origin FROM crm.dmn_model;
SELECT d.name, d.hit_policy, d.aggregation, count(r.*) AS rules
  FROM crm.dmn_decision d LEFT JOIN crm.dmn_rule r USING (tenant_id, decision_id)
 GROUP BY d.name, d.hit_policy, d.aggregation, d.position ORDER BY d.position;

-- every hit policy: x = 7 matches rules 2 ([0..10]) and 3 (> 5) in the shared tables
SELECT d.name AS decision, crm.decide('policies', d.name, '{"x": 7}') AS x7,
       crm.decide('policies', d.name, '{"x": -3}') AS x_neg,
       crm.decide('policies', d.name, '{"x": 500}') AS x500
  FROM crm.dmn_decision d WHERE d.name NOT IN ('unique', 'any') ORDER BY d.position;
SELECT crm.decide('policies', 'unique', '{"x": 7}') AS u7, crm.decide('policies', 'unique', '{"x": 11}') AS u11,
       crm.decide('policies', 'any', '{"x": 3}') AS any3, crm.decide('policies', 'any', '{"x": 20}') AS any20;
-- UNIQUE with two matching rules and ANY with different outputs are errors
SELECT crm.decide('policies', 'unique', '{"x": 10.5}') AS no_overlap_here;
SELECT crm.decide('policies', 'unique', '{"x": 10}');
SELECT crm.decide('policies', 'any', '{"x": 60}');

-- null semantics: a null or missing input matches only "-" (and null tests); no match gives null
SELECT crm.decide('policies', 'unique', '{"x": null}') AS unique_null,
       crm.decide('policies', 'collect', '{}') AS collect_missing,
       crm.decide('policies', 'count', '{"x": null}') AS count_null,
       crm.decide('policies', 'sum', '{"x": null}') AS sum_null,
       crm.decide('policies', 'two outputs', '{"x": null}') AS two_null;
-- keys the model does not read are ignored
SELECT crm.decide('policies', 'first', '{"x": 7, "unused": {"deep": [1, 2]}, "s": "abc"}') AS extra_keys;
-- exact decimals: numbers are FEEL decimals, not doubles
SELECT crm.decide('policies', 'two outputs', '{"x": 0.1}') AS tenth,
       crm.decide('policies', 'two outputs', '{"x": 12345678901234567890.125}') AS big;

-- ---------------------------------------------------------------------------------------------
-- Literal decisions and requirement graphs: dates, strings, arithmetic
-- ---------------------------------------------------------------------------------------------
BEGIN;
SELECT crm.dmn_create_model('loan') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref)
VALUES (:m, 'Applicant Age', 1, 'number'), (:m, 'Monthly Income', 2, 'number'), (:m, 'Start', 3, 'date');
INSERT INTO crm.dmn_decision (model_id, name, position, kind, literal, type_ref)
VALUES (:m, 'Yearly Income', 1, 'literal', 'Monthly Income * 12', 'number'),
       (:m, 'Limit', 2, 'literal', 'if Risk = "low" then Yearly Income * 0.5 else Yearly Income * 0.1', 'number'),
       (:m, 'First Payment', 4, 'literal', 'Start + duration("P1M")', 'date');
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy, type_ref) VALUES (:m, 'Risk', 3, 'UNIQUE', 'string');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position) VALUES
    (crm.dmn_decision_id('loan', 'Yearly Income'), 'input', 'Monthly Income', 1),
    (crm.dmn_decision_id('loan', 'Limit'), 'decision', 'Risk', 1),
    (crm.dmn_decision_id('loan', 'Limit'), 'decision', 'Yearly Income', 2),
    (crm.dmn_decision_id('loan', 'Risk'), 'input', 'Applicant Age', 1),
    (crm.dmn_decision_id('loan', 'Risk'), 'decision', 'Yearly Income', 1),
    (crm.dmn_decision_id('loan', 'First Payment'), 'input', 'Start', 1);
INSERT INTO crm.dmn_input (decision_id, position, expr, label) VALUES
    (crm.dmn_decision_id('loan', 'Risk'), 1, 'Applicant Age', 'Age'),
    (crm.dmn_decision_id('loan', 'Risk'), 2, 'Yearly Income', 'Income');
INSERT INTO crm.dmn_output (decision_id, position, type_ref) VALUES (crm.dmn_decision_id('loan', 'Risk'), 1, 'string');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation) VALUES
    (crm.dmn_decision_id('loan', 'Risk'), 1, ARRAY['[25..60]', '>= 120000'], ARRAY['"low"'], 'prime age, good income'),
    (crm.dmn_decision_id('loan', 'Risk'), 2, ARRAY['-', '< 120000'], ARRAY['"high"'], 'low income'),
    (crm.dmn_decision_id('loan', 'Risk'), 3, ARRAY['< 25, > 60', '>= 120000'], ARRAY['"high"'], 'age');
COMMIT;
SELECT crm.decide('loan', 'Limit', '{"Applicant Age": 40, "Monthly Income": 15000}') AS limit_low_risk,
       crm.decide('loan', 'Limit', '{"Applicant Age": 70, "Monthly Income": 15000}') AS limit_high_risk,
       crm.decide('loan', 'Risk', '{"Applicant Age": 40, "Monthly Income": 8000.50}') AS risk,
       crm.decide('loan', 'First Payment', '{"Start": "2026-01-31"}') AS first_payment;

-- ---------------------------------------------------------------------------------------------
-- Errors: SQLSTATE, what is wrong, and a hint
-- ---------------------------------------------------------------------------------------------
SELECT crm.decide('no such model', 'x', '{}');
SELECT crm.decide('loan', 'Nope', '{}');
SELECT crm.decide('loan', 'Limit', '[1, 2]');
SELECT crm.decide('loan', 'First Payment', '{"Start": "not a date"}');
-- a bad cell is refused when the change is checked (at commit, or at SET CONSTRAINTS ... IMMEDIATE)
BEGIN;
UPDATE crm.dmn_rule SET input_entries = ARRAY['[25..60', '>= 120000']
 WHERE decision_id = crm.dmn_decision_id('loan', 'Risk') AND position = 1;
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK;
BEGIN;
UPDATE crm.dmn_rule SET output_entries = ARRAY['"low" +']
 WHERE decision_id = crm.dmn_decision_id('loan', 'Risk') AND position = 3;
COMMIT;
-- a rule with the wrong number of cells
BEGIN;
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries)
VALUES (crm.dmn_decision_id('loan', 'Risk'), 4, ARRAY['> 99'], ARRAY['"x"']);
COMMIT;
-- a requirement cycle
BEGIN;
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
VALUES (crm.dmn_decision_id('loan', 'Yearly Income'), 'decision', 'Limit', 1);
COMMIT;
-- nothing of the failed transactions stayed
SELECT count(*) AS rules, count(*) FILTER (WHERE input_entries[1] = '[25..60') AS broken
  FROM crm.dmn_rule WHERE decision_id = crm.dmn_decision_id('loan', 'Risk');
SELECT crm.decide('loan', 'Risk', '{"Applicant Age": 70, "Monthly Income": 15000}') AS still_works;

-- ---------------------------------------------------------------------------------------------
-- Versions: a new version is a copy; the old one stays, read-only, for audit
-- ---------------------------------------------------------------------------------------------
SELECT crm.dmn_new_version('loan') > crm.dmn_model_id('loan', 1) AS new_version_created;
UPDATE crm.dmn_rule SET output_entries = ARRAY['"medium"']
 WHERE decision_id = crm.dmn_decision_id('loan', 'Risk') AND position = 3;
SELECT crm.decide('loan', 'Risk', '{"Applicant Age": 70, "Monthly Income": 15000}') AS version_2;
SELECT name, version, is_current FROM crm.dmn_model WHERE name = 'loan' ORDER BY version;
SELECT r.output_entries FROM crm.dmn_rule r
 WHERE r.model_id = crm.dmn_model_id('loan', 1) AND r.position = 3
   AND r.decision_id = (SELECT decision_id FROM crm.dmn_decision WHERE model_id = crm.dmn_model_id('loan', 1) AND name = 'Risk');
UPDATE crm.dmn_rule SET annotation = 'rewriting history'
 WHERE model_id = crm.dmn_model_id('loan', 1) AND position = 1;
UPDATE crm.dmn_model SET name = 'renamed' WHERE name = 'loan' AND version = 1;
-- what changed between the versions, from the audit view of both
SELECT j1.value->>'name' AS decision
  FROM jsonb_array_elements(crm.dmn_model_json('loan', 1)->'decisions') j1
  JOIN jsonb_array_elements(crm.dmn_model_json('loan', 2)->'decisions') j2 ON j1.value->>'name' = j2.value->>'name'
 WHERE j1.value <> j2.value;

-- the cache follows every change at once, inside the changing transaction too
BEGIN;
SELECT crm.decide('policies', 'first', '{"x": 7}') AS before_change;
UPDATE crm.dmn_rule SET output_entries = ARRAY['"low"']
 WHERE decision_id = crm.dmn_decision_id('policies', 'first') AND position = 2;
SELECT crm.decide('policies', 'first', '{"x": 7}') AS after_change;
ROLLBACK;
SELECT crm.decide('policies', 'first', '{"x": 7}') AS after_rollback;
SELECT invalidations > 0 AS invalidated, hits > 0 AS served_from_cache FROM crm.dmn_cache_stats();
