-- The direct dispatch paths cache relation OIDs, column numbers and the outbox's identity sequence
-- per backend: after DDL that replaces any of them, the next lead must use the new objects.  The
-- tables they write stay locked until the end of the transaction, as statements would keep them.
BEGIN;
SELECT plan(13);

INSERT INTO crm.rep (employee_no, name, capacity) SELECT 'K' || g, 'rep ' || g, 100 FROM generate_series(1, 2) g;
INSERT INTO crm.territory (code, name, fence, assignment_policy)
VALUES ('K', 'k', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))', 'round_robin');
INSERT INTO crm.territory_rep (territory_id, rep_id) SELECT t.territory_id, r.rep_id FROM crm.territory t, crm.rep r;

-- fills the caches of this backend
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k1', 118.5, 32);
SELECT is((SELECT count(*) FROM crm.outbox WHERE topic = 'lead.assigned'), 1::bigint, 'first lead assigned and pushed');

SELECT set_eq($$SELECT c.relname::text FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
                 WHERE l.pid = pg_catalog.pg_backend_pid() AND l.mode = 'RowExclusiveLock'
                   AND c.relname IN ('outbox', 'lead_dispatch', 'rep_load')$$,
              ARRAY['outbox', 'lead_dispatch', 'rep_load'],
              'the written tables stay locked until the end of the transaction');

-- a new identity sequence (the old one released from the extension first, as DDL on members requires) for the outbox: the next outbox row takes its id from it
ALTER EXTENSION crm DROP SEQUENCE crm.outbox_outbox_id_seq;
ALTER TABLE crm.outbox ALTER COLUMN outbox_id DROP IDENTITY;
ALTER TABLE crm.outbox ALTER COLUMN outbox_id ADD GENERATED ALWAYS AS IDENTITY (START WITH 7000);
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k2', 118.5, 32);
SELECT is((SELECT o.outbox_id FROM crm.outbox o JOIN crm.lead l ON l.lead_id = o.entity_id WHERE l.external_ref = 'k2'),
          7000::bigint, 'replaced identity sequence: the outbox id comes from the new sequence');
SELECT is((SELECT owner_rep_id IS NOT NULL FROM crm.lead WHERE external_ref = 'k2'), true, 'and the lead is assigned');

-- the external_ref key rebuilt (a new index): a duplicate under ON CONFLICT is still not dispatched
ALTER TABLE crm.lead DROP CONSTRAINT lead_tenant_id_external_ref_key;
ALTER TABLE crm.lead ADD CONSTRAINT lead_tenant_id_external_ref_key UNIQUE (tenant_id, external_ref);
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k1', 118.5, 32) ON CONFLICT (tenant_id, external_ref) DO NOTHING;
SELECT is((SELECT count(*) FROM crm.outbox), 2::bigint, 'rebuilt key: the skipped duplicate leaves no outbox row');
SELECT is((SELECT sum(open_leads) FROM crm.rep_load), 2::bigint, 'rebuilt key: and no load');

-- crm.rep_load replaced by a copy under the same name (a new relation): the next reservation uses it
CREATE TABLE crm.rep_load_new (LIKE crm.rep_load INCLUDING ALL);
INSERT INTO crm.rep_load_new SELECT * FROM crm.rep_load;
ALTER TABLE crm.rep_load RENAME TO rep_load_old;
ALTER INDEX crm.rep_load_pkey RENAME TO rep_load_old_pkey;
ALTER TABLE crm.rep_load_new RENAME TO rep_load;
ALTER INDEX crm.rep_load_new_pkey RENAME TO rep_load_pkey;
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k3', 118.5, 32);
SELECT is((SELECT sum(open_leads) FROM crm.rep_load), 3::bigint, 'replaced counter table: the new lead is counted in it');
SELECT is((SELECT sum(open_leads) FROM crm.rep_load_old), 2::bigint, 'and not in the old one');

-- the counter rows rewritten in the opposite order (other row positions, a new file): every rep's
-- counter found again by its key, none confused with another rep's row at a remembered position
CREATE TEMP TABLE keep AS SELECT * FROM crm.rep_load;
TRUNCATE crm.rep_load;
INSERT INTO crm.rep_load SELECT * FROM keep ORDER BY rep_id DESC;
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k4', 118.5, 32), ('k5', 118.5, 32), ('k6', 118.5, 32);
SELECT is((SELECT count(*) FROM crm.rep_load WHERE open_leads = 3), 2::bigint, 'rows moved: three more leads, split 3/3');
SELECT is((SELECT count(*) FROM crm.rep_load r
            WHERE r.open_leads = (SELECT count(*) FROM crm.lead l WHERE l.owner_rep_id = r.rep_id)),
          2::bigint, 'rows moved: every counter equals its rep''s open leads');

-- a column the direct path does not know: the record statement writes the rows instead; a
-- dropped column is skipped by the direct path
ALTER TABLE crm.lead_dispatch ADD COLUMN tap_note text DEFAULT 'by statement';
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k7', 118.5, 32);
SELECT is((SELECT d.tap_note FROM crm.lead_dispatch d JOIN crm.lead l USING (tenant_id, lead_id) WHERE l.external_ref = 'k7'),
          'by statement', 'unknown column in crm.lead_dispatch: written by the record statement (its default applied)');
SELECT is((SELECT count(*) FROM crm.outbox o JOIN crm.lead l ON l.lead_id = o.entity_id WHERE l.external_ref = 'k7'),
          1::bigint, 'and pushed once');
ALTER TABLE crm.lead_dispatch DROP COLUMN tap_note;
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('k8', 118.5, 32);
SELECT is((SELECT count(*) FROM crm.lead_dispatch d JOIN crm.lead l USING (tenant_id, lead_id)
            WHERE l.external_ref = 'k8' AND d.rep_id = l.owner_rep_id AND d.tried_reps = ARRAY[d.rep_id]),
          1::bigint, 'after the column is dropped: dispatch state complete');

SELECT * FROM finish();
ROLLBACK;
