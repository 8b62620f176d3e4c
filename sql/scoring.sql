-- Lead scoring: the trigger lead_10_score, grades, reasons, behaviour events, crm.score, re-scoring.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- a scoring model authored in SQL: COLLECT SUM of points
BEGIN;
SELECT crm.dmn_create_model('lead scoring') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref) VALUES
    (:m, 'source', 1, 'string'), (:m, 'company_size', 2, 'string'), (:m, 'licence_on_file', 3, 'boolean'),
    (:m, 'drug_info_clicks', 4, 'number'), (:m, 'large_purchases', 5, 'number'), (:m, 'question_topics', 6, 'string');
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy, aggregation, type_ref)
VALUES (:m, 'points', 1, 'COLLECT', 'SUM', 'number');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT crm.dmn_decision_id('lead scoring', 'points'), 'input', name, position FROM crm.dmn_input_data WHERE model_id = :m;
INSERT INTO crm.dmn_input (decision_id, position, expr, label) VALUES
    (crm.dmn_decision_id('lead scoring', 'points'), 1, 'source', 'Source'),
    (crm.dmn_decision_id('lead scoring', 'points'), 2, 'company_size', 'Company size'),
    (crm.dmn_decision_id('lead scoring', 'points'), 3, 'licence_on_file', 'Licence on file'),
    (crm.dmn_decision_id('lead scoring', 'points'), 4, 'drug_info_clicks', 'Drug information clicks'),
    (crm.dmn_decision_id('lead scoring', 'points'), 5, 'large_purchases', 'Large purchases'),
    (crm.dmn_decision_id('lead scoring', 'points'), 6, 'contains(question_topics, "oncology")', 'Asked about oncology');
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref)
VALUES (crm.dmn_decision_id('lead scoring', 'points'), 1, 'points', 'number');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation)
SELECT crm.dmn_decision_id('lead scoring', 'points'), r.pos, r.cells, ARRAY[r.pts], r.why
  FROM (VALUES (1, ARRAY['"referral","event"', '-', '-', '-', '-', '-'], '15', 'referred or met at an event'),
               (2, ARRAY['-', '"large"', '-', '-', '-', '-'], '20', 'large organisation'),
               (3, ARRAY['-', '"medium"', '-', '-', '-', '-'], '10', 'medium-sized organisation'),
               (4, ARRAY['-', '-', 'true', '-', '-', '-'], '25', 'licence on file'),
               (5, ARRAY['-', '-', '-', '>= 3', '-', '-'], '15', 'reads drug information'),
               (6, ARRAY['-', '-', '-', '-', '>= 1', '-'], '30', 'large purchase in the window'),
               (7, ARRAY['-', '-', '-', '-', '-', 'true'], '20', 'asked about oncology')) r(pos, cells, pts, why);
COMMIT;

-- without a scoring configuration leads are not scored
INSERT INTO crm.lead (external_ref, source, attributes) VALUES ('L0', 'web', '{"company_size": "large"}');
SELECT external_ref, score, grade, score_reasons FROM crm.lead;

INSERT INTO crm.scoring_config (model_name, decision_name, grade_a_min, grade_b_min, grade_c_min)
VALUES ('lead scoring', 'points', 70, 40, 20);
INSERT INTO crm.lead (external_ref, source, company_name, attributes) VALUES
    ('L1', 'referral', '鼓楼医院', '{"company_size": "large", "licence_on_file": true}'),
    ('L2', 'web', '社区诊所', '{"company_size": "medium"}'),
    ('L3', 'wechat', '个体药店', '{"company_size": "small", "licence_on_file": false}'),
    ('L4', 'event', NULL, '{}');
SELECT external_ref, score, grade, score_reasons, scored_at IS NOT NULL AS scored FROM crm.lead ORDER BY external_ref;

-- updating an input re-scores; updating something else does not
UPDATE crm.lead SET attributes = attributes || '{"licence_on_file": true}' WHERE external_ref = 'L2';
SELECT external_ref, score, grade FROM crm.lead WHERE external_ref = 'L2';
UPDATE crm.scoring_config SET grade_c_min = 0;   -- takes effect for the next scoring only
UPDATE crm.lead SET contact_name = '王主任' WHERE external_ref = 'L3';
SELECT external_ref, score, grade FROM crm.lead WHERE external_ref = 'L3';
UPDATE crm.scoring_config SET grade_c_min = 20;

-- behaviour events re-score their lead; events outside the window do not count
INSERT INTO crm.lead_event (lead_id, kind, topic, amount, occurred_at)
SELECT l.lead_id, e.kind, e.topic, e.amount, pg_catalog.now() - e.age
  FROM crm.lead l,
       (VALUES ('drug_info_click', 'oncology', NULL::numeric, interval '1 day'),
               ('drug_info_click', 'oncology', NULL, interval '2 days'),
               ('drug_info_click', 'cardiology', NULL, interval '3 days'),
               ('question', 'oncology', NULL, interval '4 days'),
               ('purchase', NULL, 6200, interval '200 days'),
               ('purchase', NULL, 800, interval '5 days')) e(kind, topic, amount, age)
 WHERE l.external_ref = 'L3';
SELECT external_ref, score, grade, score_reasons FROM crm.lead WHERE external_ref = 'L3';
INSERT INTO crm.lead_event (lead_id, kind, amount) SELECT lead_id, 'purchase', 5000 FROM crm.lead WHERE external_ref = 'L3';
SELECT external_ref, score, grade, score_reasons->0 AS top_reason FROM crm.lead WHERE external_ref = 'L3';

-- crm.score for apps with their own lead tables: the same inputs by name
SELECT * FROM crm.score('{"source": "referral", "attributes": {"company_size": "large"}, "drug_info_clicks": 4}');
SELECT * FROM crm.score('{"source": "web"}');
SELECT crm.score('[1]');

-- a rule change applies to new scoring at once; open leads catch up through crm.rescore_leads
UPDATE crm.dmn_rule SET output_entries = ARRAY['40']
 WHERE decision_id = crm.dmn_decision_id('lead scoring', 'points') AND position = 2;
SELECT external_ref, score FROM crm.lead WHERE external_ref = 'L1';
UPDATE crm.lead SET status = 'lost' WHERE external_ref = 'L4';
SELECT crm.rescore_leads(2) AS first_batch_last_id \gset
SELECT crm.rescore_leads(2, :first_batch_last_id) IS NOT NULL AS second_batch, crm.rescore_leads(2, 1000000) AS nothing_left;
SELECT external_ref, status, score, grade FROM crm.lead ORDER BY external_ref;
SELECT crm.rescore_leads(0);
-- the procedure does the same in batches, committing after each
UPDATE crm.dmn_rule SET output_entries = ARRAY['20']
 WHERE decision_id = crm.dmn_decision_id('lead scoring', 'points') AND position = 2;
CALL crm.rescore_open_leads(2);
SELECT external_ref, status, score FROM crm.lead ORDER BY external_ref;

-- paused scoring keeps the last score; a broken configuration is an error, not a silent zero
UPDATE crm.scoring_config SET active = false;
UPDATE crm.lead SET attributes = '{}' WHERE external_ref = 'L1';
SELECT external_ref, score FROM crm.lead WHERE external_ref = 'L1';
UPDATE crm.scoring_config SET active = true, decision_name = 'no such decision';
INSERT INTO crm.lead (external_ref) VALUES ('L9');
UPDATE crm.scoring_config SET decision_name = 'points';
\set VERBOSITY terse
UPDATE crm.scoring_config SET grade_b_min = 99;   -- thresholds must descend from A to C
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT count(*) AS leads_l9 FROM crm.lead WHERE external_ref = 'L9';

-- BI: leads per grade
SELECT city, source, grade, leads, avg_score FROM crm.lead_grades ORDER BY grade, source;

-- the trigger's name orders it before the dispatch triggers (lead_20_*)
SELECT tgname, pg_get_triggerdef(oid) LIKE '%BEFORE INSERT OR UPDATE OF%' AS before_row
  FROM pg_trigger WHERE tgrelid = 'crm.lead'::regclass AND tgname = 'lead_10_score';
