-- Tags and care actions from decision tables (crm.decide) over the health profile: consent,
-- re-evaluation when profiles change, the rule behind each tag, idempotent care tasks.
\set VERBOSITY default
SET client_min_messages = warning;
-- a fresh install: other tests of this run leave rows behind
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE EXTENSION crm;
SET crm_health.as_of = '2026-11-22';

INSERT INTO crm.store (code, name, city) VALUES ('NJ-1', '新街口店', '南京');
INSERT INTO crm.household (label) VALUES ('王家');
INSERT INTO crm.customer (member_no, display_name, household_id, home_store_id)
VALUES ('M1', '王先生', 1, 1), ('M2', '王女士', 1, 1), ('M3', '李先生', NULL, 1);
INSERT INTO crm.household_link (customer_id, related_customer_id, relation) VALUES (1, 2, 'spouse');

-- the rules: a tag table and a care table, authored in SQL (docs/health.md)
BEGIN;
SELECT crm.dmn_create_model('health') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position)
VALUES (:m, 'hypertension', 1), (:m, 'household_conditions', 2);
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy) VALUES (:m, 'tags', 1, 'COLLECT'), (:m, 'care', 2, 'COLLECT');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT crm.dmn_decision_id('health', d), 'input', n, p
  FROM unnest(ARRAY['tags', 'care']) d, unnest(ARRAY['hypertension', 'household_conditions']) WITH ORDINALITY x(n, p);
INSERT INTO crm.dmn_input (decision_id, position, expr)
SELECT crm.dmn_decision_id('health', d), p, e
  FROM unnest(ARRAY['tags', 'care']) d,
       unnest(ARRAY['hypertension.days_overdue', 'list contains(household_conditions, "diabetes")']) WITH ORDINALITY x(e, p);
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref) VALUES (crm.dmn_decision_id('health', 'tags'), 1, 'tag', 'string');
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref)
SELECT crm.dmn_decision_id('health', 'care'), p, n, 'string'
  FROM unnest(ARRAY['action', 'target', 'period']) WITH ORDINALITY x(n, p);
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation) VALUES
    (crm.dmn_decision_id('health', 'tags'), 1, ARRAY['>= 90', '-'], ARRAY['"hypertension_refill_gap_90d"'], 'no antihypertensive for 3 months'),
    (crm.dmn_decision_id('health', 'tags'), 2, ARRAY['-', 'true'], ARRAY['"diabetic_household"'], 'a diabetic at home'),
    (crm.dmn_decision_id('health', 'care'), 1, ARRAY['>= 90', '-'], ARRAY['"clinic_invite"', '"self"', '"month"'], 'invite to the clinic'),
    (crm.dmn_decision_id('health', 'care'), 2, ARRAY['>= 90', '-'], ARRAY['"coupon"', '"spouse"', '"quarter"'], 'glucose meter coupon for the spouse');
INSERT INTO crm.health_rule_set (kind, model, decision, purpose) VALUES
    ('tag', 'health', 'tags', 'health_tagging'), ('care', 'health', 'care', 'care_outreach');
COMMIT;

-- consent: 王先生 to tagging, care and household sharing; 王女士 to care; 李先生 to nothing
SELECT crm.grant_consent(1, p) > 0 FROM unnest(ARRAY['health_tagging', 'care_outreach', 'household_sharing']) p;
SELECT crm.grant_consent(2, 'care_outreach') > 0;

-- 王先生 stopped his antihypertensive in July; 李先生 too, but without consent
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at)
SELECT c, 1, 'C09CA01', 30, timestamptz '2026-05-01 10:00+08' + k * interval '30 days'
  FROM unnest(ARRAY[1, 3]) c, generate_series(0, 2) k;
SELECT customer_id, tag, rule FROM crm.customer_tag ORDER BY 1, 2;
CREATE TEMP TABLE first_tag AS SELECT since FROM crm.customer_tag WHERE customer_id = 1;

-- 王女士 starts metformin: her profile changes, and her husband's household tag follows at once
-- (she has not consented to tagging herself: no tag for her)
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at)
VALUES (2, 1, 'A10BA02', 90, '2026-10-01 10:00+08');
SELECT customer_id, tag, rule FROM crm.customer_tag ORDER BY 1, 2;
-- a tag that is confirmed keeps its since
SELECT g.since = f.since AS since_kept FROM crm.customer_tag g, first_tag f
 WHERE g.customer_id = 1 AND g.tag = 'hypertension_refill_gap_90d';

-- he refills: the gap tag goes, the household tag stays
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at)
VALUES (1, 1, 'C09CA01', 30, '2026-11-20 10:00+08');
SELECT customer_id, tag FROM crm.customer_tag ORDER BY 1, 2;
DELETE FROM crm.dispense WHERE customer_id = 1 AND dispensed_at = '2026-11-20 10:00+08';

-- care: invitation for him, coupon for his spouse (she consented to care, he to household sharing);
-- 李先生 has no consent: nothing. A second run creates nothing new.
SELECT crm.run_care_rules() AS created;
SELECT crm.run_care_rules() AS created_again;
SELECT customer_id, subject_customer_id, action, relation, period_start, status, rule FROM crm.care_task ORDER BY 1, 3;
SELECT topic, entity, recipient, payload - 'care_task_id' AS payload FROM crm.outbox ORDER BY outbox_id;

-- he withdraws household sharing: her open coupon is cancelled, and is not created again
SELECT crm.withdraw_consent(1, 'household_sharing');
SELECT customer_id, action, status FROM crm.care_task ORDER BY 1, 2;
SELECT crm.run_care_rules() AS created_after_withdrawal;
-- he withdraws tagging: his tags go
SELECT crm.withdraw_consent(1, 'health_tagging');
SELECT count(*) AS tags_left FROM crm.customer_tag;

-- a care decision that returns no action is an error naming the decision
BEGIN;
UPDATE crm.dmn_rule SET output_entries = ARRAY['null', '"self"', '"month"']
 WHERE decision_id = crm.dmn_decision_id('health', 'care') AND position = 1;
\set VERBOSITY terse
SELECT crm.run_care_rules();
ROLLBACK;
