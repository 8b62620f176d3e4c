-- The insert trigger is not SECURITY DEFINER: it switches to its owner in C and pins search_path
-- before any SQL statement.  A role inserting leads gets them dispatched, cannot steer the
-- statements run as the owner through its search_path, gets its own identity and settings back
-- (also after an error), and gains no right it did not have.
BEGIN;
SELECT plan(15);

CREATE ROLE tap_ins LOGIN IN ROLE crm_manager;

INSERT INTO crm.rep (employee_no, name, capacity) SELECT 'R' || g, 'rep ' || g, 100 FROM generate_series(1, 2) g;
INSERT INTO crm.territory (code, name, fence, sla_seconds, assignment_policy)
VALUES ('R', 'r', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))', 90, 'round_robin');
INSERT INTO crm.territory_rep (territory_id, rep_id) SELECT t.territory_id, r.rep_id FROM crm.territory t, crm.rep r;

SELECT is((SELECT p.prosecdef OR p.proconfig IS NOT NULL FROM pg_catalog.pg_proc p
            WHERE p.oid = 'crm.lead_dispatch_trigger()'::pg_catalog.regprocedure),
          false, 'the trigger function is a plain function (no definer call per lead)');

-- functions that the record statement would call instead of pg_catalog's if it were planned
-- with the inserting role's search_path (an exact-type overload, searched first)
CREATE SCHEMA tap_evil;
CREATE TABLE tap_evil.calls (who name, fn text);
GRANT USAGE ON SCHEMA tap_evil TO PUBLIC;
GRANT INSERT ON tap_evil.calls TO PUBLIC;
CREATE FUNCTION tap_evil.make_interval(secs integer) RETURNS interval LANGUAGE sql
    AS $$ INSERT INTO tap_evil.calls VALUES (current_user, 'make_interval') RETURNING interval '1 second' $$;
CREATE FUNCTION tap_evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO tap_evil.calls VALUES (current_user, 'clock_timestamp') RETURNING now() $$;

-- an extra outbox trigger sends every assignment through the record statement, and shows who runs it
CREATE TABLE tap_seen (who name, path text);
CREATE FUNCTION tap_outbox_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('tap.fail', true) = 'on' THEN
        RAISE EXCEPTION 'tap outbox failure' USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO public.tap_seen VALUES (current_user, current_setting('search_path'));
    RETURN NULL;
END
$$;
CREATE TRIGGER zz_tap_seen AFTER INSERT ON crm.outbox FOR EACH ROW EXECUTE FUNCTION tap_outbox_seen();

SET ROLE tap_ins;
SET search_path = tap_evil, pg_catalog, public;
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('r1', 118.5, 32), ('r2', 118.5, 32);
-- a lead nobody can take (no territory) goes through the record statement too
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('r3', 100, 10);
SELECT is(current_user::text, 'tap_ins', 'the inserting role is itself again after the insert');
SELECT is(current_setting('search_path'), 'tap_evil, pg_catalog, public', 'and has its search_path back');
RESET search_path;
RESET ROLE;

SELECT is((SELECT count(*) FROM crm.lead WHERE external_ref IN ('r1', 'r2') AND owner_rep_id IS NOT NULL AND status = 'assigned'),
          2::bigint, 'a crm_manager''s leads are dispatched');
SELECT is((SELECT status FROM crm.lead WHERE external_ref = 'r3'), 'unassigned', 'the lead without territory is queued');
SELECT is((SELECT count(*) FROM tap_evil.calls), 0::bigint, 'no function of the inserting role''s search_path ran');
SELECT is((SELECT count(*) FROM crm.outbox o JOIN crm.lead_dispatch d ON d.lead_id = o.entity_id
            WHERE o.topic = 'lead.assigned' AND (o.payload->>'ack_due_at')::timestamptz = d.assigned_at + interval '90 seconds'),
          2::bigint, 'the pushes carry the SLA deadline computed by pg_catalog');
SELECT set_eq($$SELECT DISTINCT who::text, path FROM tap_seen$$,
              $$SELECT (SELECT p.proowner::regrole::text FROM pg_catalog.pg_proc p
                         WHERE p.oid = 'crm.lead_dispatch_trigger()'::pg_catalog.regprocedure), 'pg_catalog, pg_temp'$$,
              'the statements run as the function''s owner with the pinned search_path, as a definer would');

-- an error inside dispatch: the role and its settings are restored by the rollback, and the
-- next insert is dispatched normally
SET ROLE tap_ins;
SET search_path = tap_evil, pg_catalog, public;
SET tap.fail = 'on';
SELECT throws_ok($$INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('r4', 118.5, 32)$$, 'P0001', 'tap outbox failure',
                 'an error in a statement dispatch runs aborts the insert');
SELECT is(current_user::text || ' / ' || current_setting('search_path'), 'tap_ins / tap_evil, pg_catalog, public',
          'after the error: the inserting role and its search_path');
SET tap.fail = 'off';
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('r5', 118.5, 32);
RESET search_path;
RESET ROLE;
SELECT is((SELECT owner_rep_id IS NOT NULL FROM crm.lead WHERE external_ref = 'r5'), true, 'the next lead is dispatched');
SELECT is((SELECT count(*) FROM tap_evil.calls), 0::bigint, 'still no function of the role''s search_path ran');

-- no new rights: the tables dispatch writes stay closed to the role
SET ROLE tap_ins;
SELECT throws_ok($$UPDATE crm.rep_load SET open_leads = 0$$, '42501', NULL, 'the role cannot write the counters');
SELECT throws_ok($$INSERT INTO crm.lead_dispatch (lead_id, lead_created_at) VALUES (1, now())$$, '42501', NULL,
                 'nor the dispatch state');
RESET ROLE;

-- the switch follows the function's owner: a new owner (here one without any right) takes effect
-- at once in a backend that has dispatched before
CREATE ROLE tap_weak NOLOGIN;
ALTER FUNCTION crm.lead_dispatch_trigger() OWNER TO tap_weak;
SELECT throws_ok($$INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('r6', 118.5, 32)$$, '42501', NULL,
                 'a new owner of the trigger function is used at once');

SELECT * FROM finish();
ROLLBACK;
