-- Lead scoring: trigger, grades, reasons, events, crm.score, tenants, privileges.
BEGIN;
SELECT plan(24);

SELECT lives_ok($i$SELECT crm.dmn_import($$<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="score" namespace="x">
  <inputData id="i_s" name="source"><variable name="source" typeRef="string"/></inputData>
  <inputData id="i_b" name="beds"><variable name="beds" typeRef="number"/></inputData>
  <inputData id="i_p" name="large_purchases"><variable name="large_purchases" typeRef="number"/></inputData>
  <inputData id="i_q" name="questions"><variable name="questions" typeRef="number"/></inputData>
  <decision id="d" name="points">
    <informationRequirement><requiredInput href="#i_s"/></informationRequirement>
    <informationRequirement><requiredInput href="#i_b"/></informationRequirement>
    <informationRequirement><requiredInput href="#i_p"/></informationRequirement>
    <informationRequirement><requiredInput href="#i_q"/></informationRequirement>
    <decisionTable hitPolicy="COLLECT" aggregation="SUM">
      <input label="Source"><inputExpression><text>source</text></inputExpression></input>
      <input label="Beds"><inputExpression><text>beds</text></inputExpression></input>
      <input label="Large purchases"><inputExpression><text>large_purchases</text></inputExpression></input>
      <input label="Questions"><inputExpression><text>questions</text></inputExpression></input>
      <output name="points" typeRef="number"/>
      <rule><description>referral</description><inputEntry><text>"referral"</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>10</text></outputEntry></rule>
      <rule><description>big hospital</description><inputEntry><text>-</text></inputEntry><inputEntry><text>&gt;= 300</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>beds / 10</text></outputEntry></rule>
      <rule><description>buys big</description><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>&gt;= 1</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>25</text></outputEntry></rule>
      <rule><description>curious</description><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>&gt;= 2</text></inputEntry><outputEntry><text>5</text></outputEntry></rule>
    </decisionTable></decision></definitions>$$)$i$, 'a scoring model imports');
INSERT INTO crm.scoring_config (model_name, decision_name, grade_a_min, grade_b_min, grade_c_min) VALUES ('score', 'points', 50, 30, 10);

INSERT INTO crm.lead (external_ref, source, attributes) VALUES
    ('t1', 'referral', '{"beds": 400}'), ('t2', 'web', '{"beds": 100}'), ('t3', 'referral', '{}');
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't1'), 50::numeric, 'points of every matched rule are summed');
SELECT is((SELECT grade FROM crm.lead WHERE external_ref = 't1'), 'A', 'a score at the A threshold is A');
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't2'), 0::numeric, 'no matching rule scores 0');
SELECT is((SELECT grade FROM crm.lead WHERE external_ref = 't2'), 'D', 'and grades D');
SELECT is((SELECT grade FROM crm.lead WHERE external_ref = 't3'), 'C', 'grade C between the thresholds');
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 't1'),
          '[{"rule": 2, "points": 40, "reason": "big hospital"}, {"rule": 1, "points": 10, "reason": "referral"}]'::jsonb,
          'reasons: matched rules with their points, largest first');
SELECT ok((SELECT scored_at IS NOT NULL FROM crm.lead WHERE external_ref = 't1'), 'scored_at is set');
UPDATE crm.scoring_config SET max_reasons = 1;
UPDATE crm.lead SET scored_at = NULL WHERE external_ref = 't1';
SELECT is((SELECT score_reasons FROM crm.lead WHERE external_ref = 't1'),
          '[{"rule": 2, "points": 40, "reason": "big hospital"}]'::jsonb, 'max_reasons keeps the top reasons only');
UPDATE crm.scoring_config SET max_reasons = 5;

-- events
INSERT INTO crm.lead_event (lead_id, kind, amount) SELECT lead_id, 'purchase', 9000 FROM crm.lead WHERE external_ref = 't3';
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't3'), 35::numeric, 'a large purchase event re-scores the lead');
SAVEPOINT refund;
DELETE FROM crm.lead_event WHERE kind = 'purchase';
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't3'), 10::numeric, 'deleting the event re-scores the lead too');
ROLLBACK TO SAVEPOINT refund;
INSERT INTO crm.lead_event (lead_id, kind, occurred_at)
SELECT lead_id, 'question', now() - interval '100 days' FROM crm.lead, generate_series(1, 3) WHERE external_ref = 't3';
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't3'), 35::numeric, 'events older than the window do not count');
UPDATE crm.scoring_config SET event_window = '120 days';
UPDATE crm.lead SET scored_at = NULL WHERE external_ref = 't3';
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't3'), 40::numeric, 'a wider window counts them (forced re-score)');
SELECT is((SELECT score_reasons->0->>'reason' FROM crm.lead WHERE external_ref = 't3'), 'buys big', 'the top reason is the largest');

-- thresholds and rules are editable; existing leads catch up through crm.rescore_leads
UPDATE crm.scoring_config SET grade_a_min = 60;
SELECT is((SELECT grade FROM crm.lead WHERE external_ref = 't1'), 'A', 'existing grades stay until re-scored');
SELECT isnt(crm.rescore_leads(100), NULL, 'crm.rescore_leads re-scores a batch');
SELECT is((SELECT grade FROM crm.lead WHERE external_ref = 't1'), 'B', 'with the new thresholds');
SELECT is(crm.rescore_leads(100, (SELECT max(lead_id) FROM crm.lead)), NULL, 'NULL when no lead is left');

-- crm.score
SELECT is((crm.score('{"source": "referral", "attributes": {"beds": 600}}')).score, 70::numeric, 'crm.score takes attributes too');
SELECT throws_ok($$SELECT crm.score('"x"')$$, '22023', NULL, 'crm.score wants an object');

-- configuration errors are loud
UPDATE crm.scoring_config SET decision_name = 'nope';
SELECT throws_ok($$INSERT INTO crm.lead (external_ref) VALUES ('t9')$$, '42704', NULL, 'an unknown scoring decision is an error');
UPDATE crm.scoring_config SET decision_name = 'points';
SELECT throws_ok($$INSERT INTO crm.scoring_config (model_name, decision_name) VALUES ('a', 'b')$$,
                 '23505', NULL, 'one scoring model per tenant');

-- another tenant is not scored by tenant 1's model
INSERT INTO crm.lead (tenant_id, external_ref, source) VALUES (2, 'other', 'referral');
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 'other'), NULL, 'a tenant without a scoring model is not scored');

-- a rep logs events and the lead is re-scored without the rep holding UPDATE rights on scores
CREATE ROLE tap_score_rep LOGIN IN ROLE crm_rep;
SET ROLE tap_score_rep;
INSERT INTO crm.lead_event (lead_id, kind) SELECT lead_id, 'question' FROM crm.lead WHERE external_ref = 't2';
INSERT INTO crm.lead_event (lead_id, kind) SELECT lead_id, 'question' FROM crm.lead WHERE external_ref = 't2';
RESET ROLE;
SELECT is((SELECT score FROM crm.lead WHERE external_ref = 't2'), 5::numeric, 'events logged by a rep re-score the lead');

SELECT * FROM finish();
ROLLBACK;
