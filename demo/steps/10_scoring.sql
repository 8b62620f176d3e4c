-- Lead scoring: the marketing team draws its rules as a DMN decision table (here written in SQL; a
-- .dmn file from any DMN editor imports the same way with crm.dmn_import), names it the active
-- scoring model, and every lead is scored with its reasons. Events re-score their lead.
\echo
\echo '================ 2. Lead scoring with a decision table (DMN) ================'

BEGIN;
SELECT crm.dmn_create_model('线索评分') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref) VALUES
    (:m, 'source', 1, 'string'), (:m, 'lead_type', 2, 'string'), (:m, 'company_size', 3, 'string'),
    (:m, 'licence_on_file', 4, 'boolean'), (:m, 'beds', 5, 'number'), (:m, 'drug_info_clicks', 6, 'number'),
    (:m, 'large_purchases', 7, 'number'), (:m, 'question_topics', 8, 'string');
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy, aggregation, type_ref)
VALUES (:m, '得分', 1, 'COLLECT', 'SUM', 'number');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT crm.dmn_decision_id('线索评分', '得分'), 'input', name, position FROM crm.dmn_input_data WHERE model_id = :m;
INSERT INTO crm.dmn_input (decision_id, position, expr, label)
SELECT crm.dmn_decision_id('线索评分', '得分'), n, e, l
  FROM (VALUES (1, 'source', '来源'), (2, 'lead_type', '需求'), (3, 'company_size', '机构规模'),
               (4, 'licence_on_file', '资质在档'), (5, 'beds', '床位'), (6, 'drug_info_clicks', '药品资料点击'),
               (7, 'large_purchases', '大额采购'), (8, 'contains(question_topics, "oncology")', '咨询肿瘤用药')) v(n, e, l);
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref)
VALUES (crm.dmn_decision_id('线索评分', '得分'), 1, 'points', 'number');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation)
SELECT crm.dmn_decision_id('线索评分', '得分'), n, cells, ARRAY[pts], why
  FROM (VALUES
    (1, ARRAY['"referral"', '-', '-', '-', '-', '-', '-', '-'], '20', '医生推荐'),
    (2, ARRAY['"event"', '-', '-', '-', '-', '-', '-', '-'], '15', '学术会议结识'),
    (3, ARRAY['"wechat","web"', '-', '-', '-', '-', '-', '-', '-'], '5', '线上主动咨询'),
    (4, ARRAY['-', '"dtp"', '-', '-', '-', '-', '-', '-'], '15', '特药需求'),
    (5, ARRAY['-', '-', '"large"', '-', '-', '-', '-', '-'], '20', '大型机构'),
    (6, ARRAY['-', '-', '"medium"', '-', '-', '-', '-', '-'], '10', '中型机构'),
    (7, ARRAY['-', '-', '-', 'true', '-', '-', '-', '-'], '15', '执业资质在档'),
    (8, ARRAY['-', '-', '-', '-', '>= 200', '-', '-', '-'], '10', '床位 ≥ 200'),
    (9, ARRAY['-', '-', '-', '-', '-', '>= 3', '-', '-'], '10', '多次查看药品资料'),
    (10, ARRAY['-', '-', '-', '-', '-', '-', '>= 1', '-'], '25', '90天内单笔采购 ≥ 5000'),
    (11, ARRAY['-', '-', '-', '-', '-', '-', '-', 'true'], '15', '咨询过肿瘤用药')) v(n, cells, pts, why);
INSERT INTO crm.scoring_config (model_name, decision_name, grade_a_min, grade_b_min, grade_c_min)
VALUES ('线索评分', '得分', 70, 45, 25);
COMMIT;

-- the leads were loaded before the model existed: score them all once, in batches
SELECT crm.rescore_leads(1000) IS NOT NULL AS rescored \gset

-- a few leads show interest in the mini-program: events re-score them at once
INSERT INTO crm.lead_event (lead_id, kind, topic, amount, occurred_at)
SELECT l.lead_id, e.kind, e.topic, e.amount, pg_catalog.now() - e.age
  FROM crm.lead l
  JOIN (VALUES ('MP-20261122-0007', 'drug_info_click', 'oncology', NULL::numeric, interval '2 days'),
               ('MP-20261122-0007', 'drug_info_click', 'oncology', NULL, interval '3 days'),
               ('MP-20261122-0007', 'drug_info_click', 'oncology', NULL, interval '5 days'),
               ('MP-20261122-0007', 'question', 'oncology', NULL, interval '1 day'),
               ('MP-20261122-0007', 'purchase', NULL, 12800, interval '20 days'),
               ('MP-20261122-0021', 'question', 'oncology', NULL, interval '6 days'),
               ('MP-20261122-0021', 'purchase', NULL, 5600, interval '40 days'),
               ('MP-20261122-0033', 'page_view', NULL, NULL, interval '1 day'),
               ('MP-20261122-0033', 'purchase', NULL, 5200, interval '150 days')) e(ref, kind, topic, amount, age)
    ON e.ref = l.external_ref;

\echo 'The ten best leads of the day, with the reasons for their score (top three):'
SELECT l.external_ref AS "线索", l.company_name AS "机构", l.city AS "城市", l.score AS "得分", l.grade AS "等级",
       (SELECT string_agg(r->>'reason' || ' +' || (r->>'points'), '，' ORDER BY o)
          FROM jsonb_array_elements(l.score_reasons) WITH ORDINALITY AS x(r, o) WHERE o <= 3) AS "主要原因"
  FROM crm.lead l
 ORDER BY l.score DESC, l.external_ref
 LIMIT 10;

\echo 'Leads per grade:'
SELECT grade AS "等级", count(*) AS "线索", min(score) AS "最低分", max(score) AS "最高分"
  FROM crm.lead GROUP BY grade ORDER BY grade;

\echo 'The same decision for a lead kept in another system (crm.score):'
SELECT s.score AS "得分", s.grade AS "等级", s.reasons->0->>'reason' AS "首要原因"
  FROM crm.score('{"source": "referral", "lead_type": "dtp", "attributes": {"company_size": "large", "licence_on_file": true}}') s;

\echo 'A trade-show contact list (展会名单), still in its own table, scored row by row with crm.decide_row:'
CREATE TEMP TABLE expo_contacts (联系人 text, source text, lead_type text, company_size text, licence_on_file boolean, beds integer);
INSERT INTO expo_contacts VALUES
    ('王主任', 'event', 'dtp', 'large', true, 620),
    ('李药师', 'event', 'otc', 'small', false, NULL),
    ('陈院长', 'referral', 'chronic', 'medium', true, 180);
SELECT c.联系人, crm.decide_row('线索评分', '得分', c) AS "得分"
  FROM expo_contacts c ORDER BY 2 DESC;
