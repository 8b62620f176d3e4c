-- Tenant isolation through row-level security, and least privilege of the crm roles.
BEGIN;
SELECT plan(25);

CREATE ROLE tap_t1 LOGIN IN ROLE crm_manager;
CREATE ROLE tap_t2 LOGIN IN ROLE crm_admin;
CREATE ROLE tap_bi LOGIN IN ROLE crm_bi_reader;

-- open registry: everyone is tenant 1, nobody is tenant 2
SET ROLE tap_t2;
SELECT is(crm.current_tenant(), 1::bigint, 'with an empty registry every role works for tenant 1');
SET crm.tenant_id = 2;
SELECT throws_ok('SELECT crm.current_tenant()', '42501', NULL, 'with an empty registry tenant 2 is closed');
RESET crm.tenant_id;
RESET ROLE;

INSERT INTO crm.tenant_member VALUES (1, 'tap_t1'), (2, 'tap_t2'), (1, 'tap_bi');
INSERT INTO crm.rep (tenant_id, employee_no, name) VALUES (1, 'A1', '甲'), (1, 'A2', '乙'), (2, 'B1', '丙');
INSERT INTO crm.lead (tenant_id, company_name) VALUES (1, 't1 lead'), (1, 't1 lead 2'), (2, 't2 lead');
INSERT INTO crm.outbox (tenant_id, topic) VALUES (1, 'lead.assigned'), (2, 'lead.assigned');

-- tenant 2's admin
SET ROLE tap_t2;
SET crm.tenant_id = 2;
SELECT is((SELECT count(*) FROM crm.lead), 1::bigint, 'tenant 2 sees exactly its own lead');
SELECT is((SELECT count(*) FROM crm.lead WHERE tenant_id = 1), 0::bigint, 'tenant 2 sees none of tenant 1''s leads');
SELECT is((SELECT count(*) FROM crm.rep WHERE tenant_id = 1), 0::bigint, 'tenant 2 sees none of tenant 1''s reps');
SELECT results_eq('SELECT name FROM crm.rep', $$VALUES ('丙')$$, 'tenant 2 sees its own rep');
SELECT throws_ok($$INSERT INTO crm.lead (tenant_id, company_name) VALUES (1, 'planted')$$, '42501', NULL,
                 'tenant 2 cannot insert a lead for tenant 1');
SELECT throws_ok($$UPDATE crm.lead SET tenant_id = 1$$, '42501', NULL,
                 'tenant 2 cannot move its lead to tenant 1');
SELECT lives_ok($$INSERT INTO crm.lead (company_name) VALUES ('own lead')$$, 'tenant 2 inserts its own lead');
SELECT is((SELECT tenant_id FROM crm.lead WHERE company_name = 'own lead'), 2::bigint,
          'tenant_id defaults to the session''s tenant');
WITH u AS (UPDATE crm.lead SET status = 'lost' WHERE tenant_id = 1 RETURNING 1)
SELECT is(count(*), 0::bigint, 'updates cannot reach tenant 1''s rows') FROM u;
WITH d AS (DELETE FROM crm.lead WHERE tenant_id = 1 RETURNING 1)
SELECT is(count(*), 0::bigint, 'deletes cannot reach tenant 1''s rows') FROM d;
SET crm.tenant_id = 1;
SELECT throws_ok('SELECT count(*) FROM crm.lead', '42501', NULL,
                 'a role of tenant 2 cannot switch itself to tenant 1');
SELECT is((SELECT string_agg(tenant_id || ':' || role_name, ',') FROM crm.tenant_member), '2:tap_t2',
          'tenant 2''s role sees only its own membership row');
RESET crm.tenant_id;
RESET ROLE;

-- the registry is no longer open: tenant 1 needs membership too
SET ROLE tap_t2;
SELECT throws_ok('SELECT crm.current_tenant()', '42501', NULL,
                 'once tenants are registered, tenant 1 is closed to non-members');
RESET ROLE;

SET ROLE tap_t1;
SELECT is((SELECT count(*) FROM crm.lead), 2::bigint, 'tenant 1 sees its two leads and nothing of tenant 2');
SELECT throws_ok('SELECT count(*) FROM crm.outbox', '42501', NULL, 'a manager may not read the outbox');
RESET ROLE;

-- the BI reader reads views, not tables
SET ROLE tap_bi;
SELECT throws_ok('SELECT * FROM crm.lead', '42501', NULL, 'the BI reader cannot read the lead table');
SELECT lives_ok('SELECT * FROM crm.lead_funnel', 'the BI reader can read the funnel view');
RESET ROLE;

-- privileges as designed
SELECT table_privs_are('crm', 'lead', 'crm_bi_reader', ARRAY[]::text[], 'crm_bi_reader has no privilege on crm.lead');
SELECT table_privs_are('crm', 'lead', 'crm_rep', ARRAY['SELECT'], 'crm_rep only reads leads (and may update status)');
SELECT table_privs_are('crm', 'tenant_member', 'crm_admin', ARRAY['SELECT'], 'even crm_admin cannot change tenant membership');
SELECT function_privs_are('crm', 'outbox_claim', ARRAY['integer', 'interval'], 'crm_rep', ARRAY[]::text[],
                          'reps cannot claim outbox rows');
SELECT throws_ok($$SET crm.tenant_id = 'x'$$, '22023', NULL, 'a malformed tenant is rejected at SET time');
SELECT throws_ok($$SET crm.tenant_id = '0'$$, '22023', NULL, 'tenant 0 is rejected at SET time');

SELECT * FROM finish();
ROLLBACK;
