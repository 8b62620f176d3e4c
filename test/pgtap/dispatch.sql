-- Lead dispatch: fair ties, acknowledgement rights, SLA escalation and its idempotence, outbox rows.
BEGIN;
SELECT plan(38);

CREATE ROLE tap_rep_a LOGIN IN ROLE crm_rep;
CREATE ROLE tap_rep_b LOGIN IN ROLE crm_rep;
CREATE ROLE tap_boss LOGIN IN ROLE crm_rep;
CREATE ROLE tap_mgr LOGIN IN ROLE crm_manager;
CREATE ROLE tap_bi2 LOGIN IN ROLE crm_bi_reader;

INSERT INTO crm.rep (employee_no, name, role_name, capacity) VALUES ('BOSS', '主管', 'tap_boss', 100);
INSERT INTO crm.rep (employee_no, name, role_name, capacity, manager_id)
SELECT 'P' || g, 'rep ' || g, CASE g WHEN 1 THEN 'tap_rep_a' WHEN 2 THEN 'tap_rep_b' END, 1000, 1
  FROM generate_series(1, 4) g;
INSERT INTO crm.territory (code, name, fence, sla_seconds, manager_rep_id, assignment_policy) VALUES
  ('LL', 'least loaded', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))', 92, 1, 'least_loaded'),
  ('SOLO', 'one rep', 'POLYGON((120 31, 121 31, 121 32, 120 32, 120 31))', 60, NULL, 'round_robin');
INSERT INTO crm.territory_rep (territory_id, rep_id)
SELECT t.territory_id, r.rep_id FROM crm.territory t JOIN crm.rep r ON r.employee_no LIKE 'P%' WHERE t.code = 'LL';
INSERT INTO crm.territory_rep (territory_id, rep_id)
SELECT t.territory_id, r.rep_id FROM crm.territory t JOIN crm.rep r ON r.employee_no = 'P4' WHERE t.code = 'SOLO';

-- fairness: 4 equal reps, 400 leads under least_loaded: exactly 100 each (ties rotate, nobody is favoured)
INSERT INTO crm.lead (external_ref, lon, lat) SELECT 'f' || g, 118.5, 32 FROM generate_series(1, 400) g;
SELECT results_eq(
    $$SELECT count(*) FROM crm.lead l JOIN crm.rep r ON r.rep_id = l.owner_rep_id
       WHERE l.external_ref LIKE 'f%' GROUP BY r.rep_id ORDER BY 1$$,
    $$VALUES (100::bigint), (100), (100), (100)$$, 'least_loaded shares 400 leads 100/100/100/100');
-- every run of four consecutive leads reaches all four reps (never two to one while another waits)
SELECT is((SELECT count(*) FROM (
        SELECT (substr(l.external_ref, 2)::int - 1) / 4 AS grp FROM crm.lead l WHERE l.external_ref LIKE 'f%'
         GROUP BY 1 HAVING count(DISTINCT l.owner_rep_id) <> 4) s), 0::bigint,
    'each run of four leads goes to four different reps');
SELECT is((SELECT count(*) FROM crm.outbox WHERE topic = 'lead.assigned'), 400::bigint, 'one lead.assigned row per assignment');
SELECT is((SELECT count(*) FROM crm.outbox o JOIN crm.lead l ON l.lead_id = o.entity_id
            JOIN crm.rep r ON r.rep_id = l.owner_rep_id
           WHERE o.topic = 'lead.assigned' AND o.recipient = r.employee_no
             AND (o.payload->>'territory_id')::bigint = (SELECT territory_id FROM crm.territory WHERE code = 'LL')),
          400::bigint, 'each push names the owner''s staff number and the territory');
SELECT is((SELECT count(*) FROM crm.lead_dispatch WHERE sla_due_at - assigned_at <> interval '92 seconds'), 0::bigint,
          'the acknowledgement deadline is the territory''s SLA after assignment');
UPDATE crm.lead SET status = 'lost' WHERE external_ref LIKE 'f%';
SELECT is((SELECT sum(open_leads) FROM crm.rep_load), 0::bigint, 'closing leads releases every rep''s load');

-- acknowledgement
INSERT INTO crm.lead (external_ref, lon, lat, status) VALUES ('ack1', 118.5, 32, 'unassigned');
SELECT isnt(crm.dispatch((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack1')), NULL, 'ack1 dispatched');
-- make P1 (tap_rep_a) the owner whatever the ranking chose, through a re-dispatch-free manual move
UPDATE crm.lead SET owner_rep_id = (SELECT rep_id FROM crm.rep WHERE employee_no = 'P1') WHERE external_ref = 'ack1';
UPDATE crm.lead_dispatch SET rep_id = (SELECT rep_id FROM crm.rep WHERE employee_no = 'P1')
 WHERE lead_id = (SELECT lead_id FROM crm.lead WHERE external_ref = 'ack1');
SET ROLE tap_rep_b;
SELECT throws_ok($$SELECT crm.ack((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack1'))$$, '42501', NULL,
                 'another rep may not acknowledge the lead');
SELECT throws_ok($$SELECT crm.ack(987654)$$, 'P0002', NULL, 'an unknown lead is an error');
RESET ROLE;
SET ROLE tap_bi2;
SELECT throws_ok($$SELECT crm.ack(1)$$, '42501', NULL, 'the BI reader may not call crm.ack');
SELECT lives_ok($$SELECT * FROM crm.dispatch_latency, crm.dispatch_queue, crm.dispatch_rep_load, crm.dispatch_auto_share$$,
                'the BI reader reads the dispatch views');
SELECT throws_ok($$SELECT * FROM crm.lead_dispatch$$, '42501', NULL, 'but not the table behind them');
RESET ROLE;
SET ROLE tap_rep_a;
SELECT throws_ok($$SELECT crm.dispatch(1)$$, '42501', NULL, 'reps cannot dispatch');
SELECT isnt(crm.ack((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack1')), NULL, 'the owner acknowledges');
RESET ROLE;
SELECT is((SELECT status FROM crm.lead WHERE external_ref = 'ack1'), 'accepted', 'acknowledged leads are accepted');
SELECT is((SELECT acked_by::text FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'ack1'),
          'tap_rep_a', 'the acknowledging role is recorded');
SELECT is((SELECT count(*) FROM crm.outbox o JOIN crm.lead l ON l.lead_id = o.entity_id
           WHERE l.external_ref = 'ack1' AND o.topic = 'lead.acknowledged'), 1::bigint, 'acknowledgement is announced once');
SET ROLE tap_rep_a;
SELECT is(crm.ack((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack1')),
          (SELECT acked_at FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'ack1'),
          'a second acknowledgement returns the first time and changes nothing');
RESET ROLE;
-- the rep's manager (crm.rep.manager_id) may acknowledge for the rep
INSERT INTO crm.lead (external_ref, lon, lat, status) VALUES ('ack2', 118.5, 32, 'unassigned');
SELECT isnt(crm.dispatch((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack2')), NULL, 'ack2 dispatched');
SET ROLE tap_boss;
SELECT lives_ok($$SELECT crm.ack((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack2'))$$, 'the rep''s manager acknowledges');
RESET ROLE;
SET ROLE tap_mgr;
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('ack3', 118.5, 32);
SELECT lives_ok($$SELECT crm.ack((SELECT lead_id FROM crm.lead WHERE external_ref = 'ack3'))$$, 'a crm_manager acknowledges');
RESET ROLE;

-- escalation: SOLO has one rep and no territory manager: to the rep's manager (BOSS) after 60 s
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('solo', 120.5, 31.5);
-- LL: not acknowledged within 92 s: to another rep first, then to the territory manager
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('esc', 118.5, 32);
CREATE TEMP TABLE first_owner AS SELECT owner_rep_id FROM crm.lead WHERE external_ref = 'esc';
SELECT is((SELECT count(*) FROM crm.escalate_overdue(now() + interval '50 seconds')), 0::bigint, 'nothing is overdue yet');
CREATE TEMP TABLE run1 AS SELECT * FROM crm.escalate_overdue(now() + interval '100 seconds');
SELECT results_eq($$SELECT l.external_ref, r.action FROM run1 r JOIN crm.lead l USING (lead_id) ORDER BY 1$$,
                  $$VALUES ('esc', 'redispatched'), ('solo', 'escalated to manager')$$,
                  'overdue: esc goes to the next rep, solo (nobody else) to the rep''s manager');
SELECT isnt((SELECT owner_rep_id FROM crm.lead WHERE external_ref = 'esc'), (SELECT owner_rep_id FROM first_owner),
            're-dispatch picks a different rep');
SELECT is((SELECT count(*) FROM crm.escalate_overdue(now() + interval '100 seconds')), 0::bigint,
          'running it again at the same time does nothing');
SELECT is((SELECT count(*) FROM crm.escalate_overdue(now() + interval '150 seconds')), 0::bigint,
          'the next rep has a fresh SLA');
SELECT results_eq($$SELECT l.external_ref, r.action, r.to_rep_id FROM crm.escalate_overdue(now() + interval '200 seconds') r
                    JOIN crm.lead l USING (lead_id)$$,
                  $$SELECT 'esc'::text, 'escalated to manager'::text, 1::bigint$$,
                  'not acknowledged again: to the territory manager');
SELECT is((SELECT count(*) FROM crm.escalate_overdue(now() + interval '1 day')), 0::bigint,
          'a lead with the manager is not escalated further');
SELECT is((SELECT count(*) FROM crm.outbox o JOIN crm.lead l ON l.lead_id = o.entity_id
           WHERE l.external_ref IN ('esc', 'solo') AND o.topic = 'lead.escalated'), 2::bigint,
          'one lead.escalated row per escalation to a manager');
SELECT is((SELECT tried_reps[1] FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'esc'),
          (SELECT owner_rep_id FROM first_owner), 'the lead''s history of owners is kept');
SELECT results_eq($$SELECT r.employee_no, ld.open_leads::bigint FROM crm.rep r JOIN crm.rep_load ld USING (tenant_id, rep_id) ORDER BY 1$$,
                  $$SELECT r.employee_no, (SELECT count(*) FROM crm.lead l WHERE l.owner_rep_id = r.rep_id
                                                 AND l.status IN ('assigned', 'accepted', 'qualified'))
                      FROM crm.rep r ORDER BY 1$$,
                  'load counters equal a recount after escalations');

-- territories by priority: a district (priority 10, nobody assigned to it) inside LL falls back to LL
INSERT INTO crm.territory (code, name, fence, priority)
VALUES ('DIST', 'district', 'POLYGON((118.4 31.9, 118.5 31.9, 118.5 32.0, 118.4 32.0, 118.4 31.9))', 10);
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('dist', 118.45, 31.95);
SELECT is((SELECT d.territory_id FROM crm.lead_dispatch d JOIN crm.lead l USING (tenant_id, lead_id) WHERE l.external_ref = 'dist'),
          (SELECT territory_id FROM crm.territory WHERE code = 'LL'), 'a territory nobody serves falls back to the next one by priority');
INSERT INTO crm.lead (external_ref, lon, lat, required_skills) VALUES ('dist2', 118.45, 31.95, '{neurology}');
SELECT is((SELECT d.reason FROM crm.lead_dispatch d JOIN crm.lead l USING (tenant_id, lead_id) WHERE l.external_ref = 'dist2'),
          'no active rep', 'the reason kept is the first (most specific) territory''s');
SELECT is((SELECT d.detail->1->>'reason' FROM crm.lead_dispatch d JOIN crm.lead l USING (tenant_id, lead_id) WHERE l.external_ref = 'dist2'),
          'no qualified rep', 'the detail gives every containing territory''s reason');

-- another tenant's manager cannot reach these leads by switching crm.tenant_id, although the
-- dispatch functions run as the extension owner
CREATE ROLE tap_other_mgr LOGIN IN ROLE crm_manager;
INSERT INTO crm.tenant_member VALUES (1, 'tap_mgr'), (1, 'tap_rep_a'), (1, 'tap_rep_b'), (1, 'tap_boss'),
                                     (1, 'tap_bi2'), (2, 'tap_other_mgr');
SET ROLE tap_other_mgr;
SET crm.tenant_id = 1;
SELECT throws_ok($$SELECT crm.dispatch(1)$$, '42501', NULL, 'crm.dispatch checks the caller''s tenant membership');
SELECT throws_ok($$SELECT crm.ack(1)$$, '42501', NULL, 'crm.ack checks the caller''s tenant membership');
SELECT throws_ok($$SELECT * FROM crm.escalate_overdue()$$, '42501', NULL, 'crm.escalate_overdue checks it too');
SELECT throws_ok($$SELECT crm.dispatch_pending()$$, '42501', NULL, 'and crm.dispatch_pending');
RESET crm.tenant_id;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
