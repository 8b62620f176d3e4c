-- Lead dispatch: policies, fair ties, unassigned reasons, hours, licences, load counters, outbox.
SET client_min_messages = warning;
INSERT INTO crm.rep (employee_no, name, skills, capacity) VALUES
  ('D1', '甲', '{}', 3), ('D2', '乙', '{oncology}', 3), ('D3', '丙', '{oncology,licensed_pharmacist}', 3),
  ('DM', '经理', '{}', 50), ('D4', '丁', '{}', 100), ('D5', '戊', '{}', 100), ('D6', '己', '{}', 100);
INSERT INTO crm.territory (code, name, fence, manager_rep_id, assignment_policy) VALUES
  ('NJ', '南京', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))', 4, 'round_robin'),
  ('SZ', '苏州', 'POLYGON((120 31, 121 31, 121 32, 120 32, 120 31))', 4, 'weighted'),
  ('EMPTY', '空片区', 'POLYGON((100 20, 101 20, 101 21, 100 21, 100 20))', NULL, 'least_loaded');
INSERT INTO crm.territory_rep (territory_id, rep_id)
SELECT t.territory_id, r.rep_id FROM crm.territory t, crm.rep r
 WHERE (t.code = 'NJ' AND r.employee_no IN ('D1', 'D2', 'D3')) OR (t.code = 'SZ' AND r.employee_no IN ('D4', 'D5', 'D6'));

-- round robin: nine leads over three reps of capacity 3: each gets three, never more
INSERT INTO crm.lead (external_ref, lon, lat) SELECT 'rr' || g, 118.5, 32 FROM generate_series(1, 9) g;
SELECT r.employee_no, count(*) AS leads, ld.open_leads
  FROM crm.lead l JOIN crm.rep r USING (tenant_id) JOIN crm.rep_load ld USING (tenant_id, rep_id)
 WHERE l.owner_rep_id = r.rep_id AND l.external_ref LIKE 'rr%' GROUP BY 1, 3 ORDER BY 1;
-- consecutive leads go to different reps (round robin turns)
SELECT count(DISTINCT l.owner_rep_id) AS reps_in_first_three FROM crm.lead l
 WHERE l.external_ref IN ('rr1', 'rr2', 'rr3');
-- the tenth finds everybody full: visible in the queue
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('rr10', 118.5, 32);
SELECT external_ref, reason, detail FROM crm.dispatch_queue;

-- closing a lead frees capacity; crm.dispatch() retries the queued lead
UPDATE crm.lead SET status = 'converted' WHERE external_ref = 'rr1';
SELECT (SELECT owner_rep_id FROM crm.lead WHERE external_ref = 'rr1') = crm.dispatch(lead_id) AS same_rep_again
  FROM crm.lead WHERE external_ref = 'rr10';
SELECT count(*) AS queued FROM crm.dispatch_queue;
SELECT sum(open_leads) AS open_total, (SELECT count(*) FROM crm.lead WHERE status = 'assigned') AS assigned_leads
  FROM crm.rep_load;

-- an upsert by external_ref that skips an existing lead dispatches nothing
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('rr2', 118.5, 32) ON CONFLICT (tenant_id, external_ref) DO NOTHING;
SELECT sum(open_leads) AS open_total, sum(assigned_total) AS assigned_total,
       (SELECT count(*) FROM crm.outbox) AS pushes, (SELECT count(*) FROM crm.lead_dispatch) AS dispatched
  FROM crm.rep_load;

-- every unassigned reason
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('far', 90, 40), ('empty', 100.5, 20.5);
INSERT INTO crm.lead (external_ref) VALUES ('noloc');
UPDATE crm.lead SET status = 'lost' WHERE external_ref IN ('rr2', 'rr3', 'rr4', 'rr5', 'rr6', 'rr7', 'rr8', 'rr9', 'rr10');
INSERT INTO crm.lead (external_ref, lon, lat, required_skills) VALUES ('chemo', 118.5, 32, '{chemotherapy}');
-- working hours (China Standard Time): D1 works Monday mornings only, D2/D3 Sundays only
INSERT INTO crm.rep_hours (rep_id, weekday, starts, ends)
SELECT rep_id, d, s, e FROM crm.rep, (VALUES ('D1', 1, time '09:00', time '12:00'), ('D2', 7, '09:00', '18:00'),
                                              ('D3', 7, '09:00', '18:00')) h(emp, d, s, e)
 WHERE employee_no = h.emp;
-- (leads inserted as unassigned are not dispatched on insert; crm.dispatch(lead, at) fixes the time)
INSERT INTO crm.lead (external_ref, lon, lat, status) VALUES ('night', 118.5, 32, 'unassigned');
SELECT l.external_ref, l.status, d.reason FROM crm.lead l JOIN crm.lead_dispatch d USING (tenant_id, lead_id)
 WHERE l.external_ref IN ('far', 'empty', 'noloc', 'chemo') ORDER BY 1;
-- at a fixed time: Monday 2026-11-23 10:00 in Shanghai is 02:00 UTC; D1 takes it
SELECT r.employee_no FROM crm.rep r
 WHERE r.rep_id = crm.dispatch((SELECT lead_id FROM crm.lead WHERE external_ref = 'night'), '2026-11-23 02:00+00');
-- Monday 13:00 Shanghai: nobody works
INSERT INTO crm.lead (external_ref, lon, lat, status) VALUES ('late', 118.5, 32, 'unassigned');
SELECT crm.dispatch((SELECT lead_id FROM crm.lead WHERE external_ref = 'late'), '2026-11-23 05:00+00') AS rep;
SELECT reason FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'late';

-- licences: an oncology lead needing a licensed pharmacist goes only to D3, and only while licensed
INSERT INTO crm.licensed_skill (skill) VALUES ('licensed_pharmacist');
INSERT INTO crm.lead (external_ref, lon, lat, required_skills, status)
VALUES ('dtp1', 118.5, 32, '{oncology,licensed_pharmacist}', 'unassigned');
SELECT crm.dispatch(lead_id, '2026-11-22 03:00+00') AS rep FROM crm.lead l WHERE external_ref = 'dtp1';
SELECT reason FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'dtp1';
INSERT INTO crm.rep_licence (rep_id, skill, licence_no, valid_from, valid_until)
SELECT rep_id, 'licensed_pharmacist', 'ZY-320100-001', '2024-01-01', '2026-11-30' FROM crm.rep WHERE employee_no = 'D3';
SELECT r.employee_no FROM crm.lead l JOIN crm.rep r ON r.rep_id = crm.dispatch(l.lead_id, '2026-11-22 03:00+00')
 WHERE l.external_ref = 'dtp1';
-- after the licence expires
INSERT INTO crm.lead (external_ref, lon, lat, required_skills, status)
VALUES ('dtp2', 118.5, 32, '{oncology,licensed_pharmacist}', 'unassigned');
SELECT crm.dispatch(lead_id, '2026-12-06 03:00+00') AS rep FROM crm.lead l WHERE external_ref = 'dtp2';
SELECT reason FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'dtp2';

-- inactive reps never get leads
UPDATE crm.rep SET active = false WHERE employee_no IN ('D2', 'D3');
INSERT INTO crm.lead (external_ref, lon, lat, required_skills) VALUES ('onc', 118.5, 32, '{oncology}');
SELECT reason FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'onc';

-- weighted (FMCG): score = Σ weight × metric; shares follow the scores 1 : 2 : 3
INSERT INTO crm.dispatch_weight (metric, weight) VALUES ('dealer_level', 1), ('fulfilment_rate', 2), ('inventory_saturation', -1);
INSERT INTO crm.rep_metric (rep_id, metric, value)
SELECT r.rep_id, m.metric, m.value FROM crm.rep r JOIN (VALUES
  ('D4', 'dealer_level', 1), ('D4', 'fulfilment_rate', 0.5), ('D4', 'inventory_saturation', 1),
  ('D5', 'dealer_level', 2), ('D5', 'fulfilment_rate', 0.5), ('D5', 'inventory_saturation', 1),
  ('D6', 'dealer_level', 2), ('D6', 'fulfilment_rate', 1.0), ('D6', 'inventory_saturation', 1)) m(emp, metric, value)
  ON r.employee_no = m.emp;
INSERT INTO crm.lead (external_ref, lon, lat) SELECT 'w' || g, 120.5, 31.5 FROM generate_series(1, 60) g;
SELECT r.employee_no, count(*) AS leads FROM crm.lead l JOIN crm.rep r ON r.rep_id = l.owner_rep_id
 WHERE l.external_ref LIKE 'w%' GROUP BY 1 ORDER BY 1;

-- a rep scored 0 or less is never chosen by the weighted policy
UPDATE crm.rep_metric SET value = 10 WHERE metric = 'inventory_saturation';
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('w0', 120.5, 31.5);
SELECT reason FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'w0';

-- one lead.assigned outbox row per assignment, addressed to the rep's staff number
SELECT (SELECT count(*) FROM crm.outbox WHERE topic = 'lead.assigned') =
       (SELECT sum(assigned_total) FROM crm.rep_load) AS outbox_matches_assignments;
SELECT o.recipient = r.employee_no AND (o.payload->>'rep_id')::bigint = l.owner_rep_id AS addressed_right
  FROM crm.outbox o JOIN crm.lead l ON l.lead_id = o.entity_id JOIN crm.rep r ON r.rep_id = l.owner_rep_id
 WHERE l.external_ref = 'w1' AND o.topic = 'lead.assigned';

-- the counters equal a recount after all of the above
SELECT r.employee_no, ld.open_leads,
       (SELECT count(*) FROM crm.lead l WHERE l.owner_rep_id = r.rep_id AND l.status IN ('assigned', 'accepted', 'qualified')) AS recount
  FROM crm.rep r JOIN crm.rep_load ld USING (tenant_id, rep_id) ORDER BY 1;

-- errors
SELECT crm.dispatch(999999);
SELECT crm.dispatch((SELECT lead_id FROM crm.lead WHERE external_ref = 'rr1'));
SELECT crm.redispatch((SELECT lead_id FROM crm.lead WHERE external_ref = 'far'));
SELECT crm.ack((SELECT lead_id FROM crm.lead WHERE external_ref = 'far'));

-- leave a fresh extension behind (identity counters included) for the tests that follow
RESET client_min_messages;
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE EXTENSION crm;
