-- Dispatch on insert writes the lead's dispatch state and outbox row directly; re-dispatch and
-- outboxes with extra triggers go through the record statement.  Both must write the same rows.
BEGIN;
SELECT plan(8);

INSERT INTO crm.rep (employee_no, name, capacity) SELECT 'W' || g, 'rep ' || g, 100 FROM generate_series(1, 3) g;
INSERT INTO crm.territory (code, name, fence, sla_seconds, assignment_policy)
VALUES ('W', 'west', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))', 77, 'round_robin');
INSERT INTO crm.territory_rep (territory_id, rep_id) SELECT t.territory_id, r.rep_id FROM crm.territory t, crm.rep r;

-- the row each assignment should have in the outbox, computed independently of dispatch
CREATE TEMP VIEW expected_push AS
SELECT d.lead_id, r.employee_no AS recipient,
       pg_catalog.jsonb_build_object('lead_id', d.lead_id, 'rep_id', d.rep_id, 'territory_id', d.territory_id,
                                     'assigned_at', d.assigned_at,
                                     'ack_due_at', d.assigned_at + pg_catalog.make_interval(secs => t.sla_seconds)) AS payload
  FROM crm.lead_dispatch d JOIN crm.rep r ON r.rep_id = d.rep_id JOIN crm.territory t ON t.territory_id = d.territory_id;

INSERT INTO crm.lead (external_ref, lon, lat) SELECT 'd' || g, 118.5, 32 FROM generate_series(1, 6) g;
SELECT is((SELECT count(*) FROM crm.outbox o JOIN expected_push e ON e.lead_id = o.entity_id
            WHERE o.topic = 'lead.assigned' AND o.entity = 'lead' AND o.recipient = e.recipient
              AND o.payload = e.payload AND o.delivered_at IS NULL AND o.attempts = 0),
          6::bigint, 'direct path: one outbox row per assignment with the record statement''s payload');
SELECT is((SELECT count(*) FROM crm.lead_dispatch d JOIN crm.lead l USING (tenant_id, lead_id)
            WHERE d.rep_id = l.owner_rep_id AND d.tried_reps = ARRAY[d.rep_id] AND d.dispatch_count = 1
              AND d.auto AND d.reason IS NULL AND d.escalation_level = 0
              AND d.first_assigned_at = d.assigned_at AND d.sla_due_at = d.assigned_at + interval '77 seconds'
              AND d.lead_created_at = l.created_at),
          6::bigint, 'direct path: dispatch state complete (tried reps, SLA, counters)');
SELECT results_eq($$SELECT open_leads FROM crm.rep_load ORDER BY rep_id$$, $$VALUES (2), (2), (2)$$,
                  'round robin over three reps: two leads each, counted once');
SELECT is((SELECT count(DISTINCT outbox_id) FROM crm.outbox), 6::bigint, 'outbox ids from the identity sequence');

-- another trigger on the outbox: the record statement is used, so that trigger fires too
CREATE TEMP TABLE seen (outbox_id bigint);
CREATE FUNCTION pg_temp.seen() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO seen VALUES (NEW.outbox_id); RETURN NULL; END$$;
CREATE TRIGGER zz_seen AFTER INSERT ON crm.outbox FOR EACH ROW EXECUTE FUNCTION pg_temp.seen();
INSERT INTO crm.lead (external_ref, lon, lat) SELECT 's' || g, 118.5, 32 FROM generate_series(1, 3) g;
SELECT is((SELECT count(*) FROM seen JOIN crm.outbox o USING (outbox_id)
            JOIN crm.lead l ON l.lead_id = o.entity_id WHERE l.external_ref LIKE 's%'),
          3::bigint, 'with an extra outbox trigger every assignment goes through it');
SELECT is((SELECT count(*) FROM crm.outbox o JOIN expected_push e ON e.lead_id = o.entity_id
            WHERE o.payload = e.payload AND o.recipient = e.recipient),
          9::bigint, 'both paths write the same outbox rows');
DROP TRIGGER zz_seen ON crm.outbox;

-- a lead inserted again under an existing external_ref (ON CONFLICT DO NOTHING) leaves no trace
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('d1', 118.5, 32) ON CONFLICT (tenant_id, external_ref) DO NOTHING;
SELECT is((SELECT count(*) FROM crm.outbox), 9::bigint, 'skipped upsert: no outbox row');
SELECT is((SELECT sum(open_leads) FROM crm.rep_load), 9::bigint, 'skipped upsert: no load counted');

SELECT * FROM finish();
ROLLBACK;
