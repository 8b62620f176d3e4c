-- Who may see what of the health data: privileges as designed, and what each role can actually do.
BEGIN;
SELECT plan(63);

CREATE ROLE tap_h_bi LOGIN IN ROLE crm_bi_reader;
CREATE ROLE tap_h_rep LOGIN IN ROLE crm_rep;
CREATE ROLE tap_h_mgr LOGIN IN ROLE crm_manager;
CREATE ROLE tap_h_admin LOGIN IN ROLE crm_admin;
CREATE ROLE tap_h_reader LOGIN IN ROLE crm_health_reader;
CREATE ROLE tap_h_reader2 LOGIN IN ROLE crm_health_reader;
INSERT INTO crm.tenant_member VALUES (1, 'tap_h_bi'), (1, 'tap_h_rep'), (1, 'tap_h_mgr'), (1, 'tap_h_admin'),
                                     (1, 'tap_h_reader'), (2, 'tap_h_reader2');
SET crm_health.as_of = '2026-11-22';

-- privileges as designed: health tables are for crm_health_reader only
SELECT table_privs_are('crm', t, 'crm_bi_reader', ARRAY[]::text[], 'crm_bi_reader has no privilege on crm.' || t)
  FROM unnest(ARRAY['dispense', 'health_profile', 'customer_tag', 'care_task', 'consent', 'pseudonym_key',
                    'customer_identifier', 'identity_vault', 'health_access_log']) t;
SELECT table_privs_are('crm', t, 'crm_rep', ARRAY[]::text[], 'crm_rep has no privilege on crm.' || t)
  FROM unnest(ARRAY['dispense', 'health_profile', 'customer_tag', 'care_task', 'identity_vault']) t;
SELECT table_privs_are('crm', 'dispense', 'crm_manager', ARRAY['INSERT'], 'crm_manager writes dispensing lines but cannot read them');
SELECT table_privs_are('crm', t, 'crm_manager', ARRAY[]::text[], 'crm_manager has no privilege on crm.' || t)
  FROM unnest(ARRAY['health_profile', 'customer_tag', 'care_task', 'pseudonym_key', 'identity_vault']) t;
SELECT table_privs_are('crm', 'dispense', 'crm_health_reader', ARRAY['SELECT'], 'crm_health_reader reads dispensing lines');
SELECT table_privs_are('crm', t, 'crm_health_reader', ARRAY['SELECT'], 'crm_health_reader reads crm.' || t)
  FROM unnest(ARRAY['health_profile', 'health_profile_full', 'customer_tag', 'care_task']) t;
SELECT table_privs_are('crm', 'health_profile', 'crm_admin', ARRAY[]::text[], 'crm_admin does not read health profiles (grant it crm_health_reader if needed)');
SELECT table_privs_are('crm', 'identity_vault', 'crm_admin', ARRAY[]::text[], 'nobody, not even crm_admin, touches the re-identification vault directly');
SELECT table_privs_are('crm', 'pseudonym_key', 'crm_admin', ARRAY['SELECT'], 'only crm_admin reads the pseudonym key');
SELECT table_privs_are('crm', 'pseudonym_key', 'crm_health_reader', ARRAY[]::text[], 'crm_health_reader cannot read the pseudonym key');
SELECT table_privs_are('crm', 'health_access_log', 'crm_admin', ARRAY['SELECT'], 'crm_admin reads the access log and cannot change it');
SELECT table_privs_are('crm', v, 'crm_bi_reader', ARRAY['SELECT'], 'crm_bi_reader reads the aggregate view crm.' || v)
  FROM unnest(ARRAY['health_condition_stats', 'health_tag_stats', 'care_task_stats']) v;
SELECT function_privs_are('crm', 'reidentify', ARRAY['text', 'text'], 'crm_manager', ARRAY[]::text[], 'managers cannot re-identify');
SELECT function_privs_are('crm', 'reidentify', ARRAY['text', 'text'], 'crm_health_reader', ARRAY[]::text[], 'health readers cannot re-identify');
SELECT function_privs_are('crm', 'reidentify', ARRAY['text', 'text'], 'crm_admin', ARRAY['EXECUTE'], 'crm_admin may re-identify (logged)');
SELECT function_privs_are('crm', 'run_care_rules', ARRAY[]::text[], 'crm_manager', ARRAY[]::text[], 'managers cannot run the care rules');
SELECT function_privs_are('crm', 'health_profile_write', ARRAY['bigint', 'bigint', 'bigint', 'bigint[]'], 'crm_admin', ARRAY[]::text[], 'the internal profile writer is not callable');
SELECT function_privs_are('crm', 'export_health_profiles', ARRAY['text'], 'crm_bi_reader', ARRAY[]::text[], 'BI cannot export profiles');

-- data: one customer with hypertension, as the store system (a manager) writes it
SET ROLE tap_h_mgr;
INSERT INTO crm.store (code, name, city) VALUES ('T-1', '测试店', '南京');
INSERT INTO crm.customer (member_no, display_name) VALUES ('T1', '测试');
SELECT lives_ok($$INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at)
                  SELECT c.customer_id, 'C09CA01', 30, timestamptz '2026-10-01 10:00+08' + k * interval '30 days'
                    FROM crm.customer c, generate_series(0, 1) k WHERE c.member_no = 'T1'$$,
                'a manager records dispensing lines');
SELECT throws_ok('SELECT * FROM crm.dispense', '42501', NULL, 'but cannot read them back');
SELECT throws_ok('SELECT * FROM crm.health_profile', '42501', NULL, 'nor the profile they produced');
SELECT throws_ok('SELECT key FROM crm.pseudonym_key', '42501', NULL, 'nor the pseudonym key');
SELECT lives_ok($$SELECT crm.register_identifier((SELECT customer_id FROM crm.customer WHERE member_no = 'T1'), 'phone', '13912345678', true)$$,
                'a manager registers a phone number as a pseudonym');
SELECT throws_ok($$SELECT crm.reidentify('phone', 'x')$$, '42501', NULL, 'a manager cannot re-identify');
RESET ROLE;

SET ROLE tap_h_rep;
SELECT throws_ok('SELECT * FROM crm.customer_tag', '42501', NULL, 'a rep cannot read tags');
RESET ROLE;

SET ROLE tap_h_bi;
SELECT throws_ok('SELECT * FROM crm.health_profile', '42501', NULL, 'BI cannot read profiles');
SELECT throws_ok('SELECT * FROM crm.health_profile_full', '42501', NULL, 'BI cannot read the full profile view');
SELECT lives_ok('SELECT * FROM crm.health_condition_stats', 'BI reads the aggregate view');
SELECT is((SELECT count(*) FROM crm.health_condition_stats), 0::bigint, 'one customer is below k: no row');
RESET ROLE;

SET ROLE tap_h_reader;
SELECT is((SELECT conditions FROM crm.health_profile), ARRAY['hypertension'], 'the health reader sees the profile the trigger wrote');
SELECT is((SELECT count(*) FROM crm.health_profile_of((SELECT customer_id FROM crm.customer WHERE member_no = 'T1'))), 1::bigint,
          'the health reader reads a profile through the extension');
SELECT throws_ok('SELECT * FROM crm.health_access_log', '42501', NULL, 'the health reader cannot read the access log');
SELECT throws_ok('SELECT * FROM crm.identity_vault', '42501', NULL, 'nor the vault');
RESET ROLE;

-- tenant 2's health reader sees nothing of tenant 1, even through SECURITY DEFINER functions
SET ROLE tap_h_reader2;
SET crm.tenant_id = 2;
SELECT is((SELECT count(*) FROM crm.health_profile), 0::bigint, 'a tenant-2 reader sees no tenant-1 profile');
SET crm.tenant_id = 1;
SELECT throws_ok($$SELECT crm.log_health_access('read', 'x')$$, '42501', NULL,
                 'a tenant-2 role cannot write tenant 1''s log by switching crm.tenant_id');
RESET crm.tenant_id;
RESET ROLE;

SET ROLE tap_h_admin;
SELECT throws_ok('SELECT drug_code FROM crm.dispense', '42501', NULL, 'crm_admin cannot read what was dispensed');
SELECT throws_ok('SELECT * FROM crm.identity_vault', '42501', NULL, 'crm_admin cannot read the vault directly');
SELECT is(crm.reidentify('phone', crm.pseudonym('phone', '13912345678')), '13912345678', 'crm_admin re-identifies through the function');
SELECT is((SELECT role_name::text FROM crm.health_access_log WHERE action = 'reidentify' ORDER BY log_id DESC LIMIT 1),
          'tap_h_admin', 'and the access log names the admin');
SELECT is((SELECT role_name::text FROM crm.health_access_log WHERE action = 'read' ORDER BY log_id DESC LIMIT 1),
          'tap_h_reader', 'the log names the health reader who read the profile');
SELECT throws_ok('DELETE FROM crm.health_access_log', '42501', NULL, 'crm_admin cannot delete access records');
SELECT lives_ok('SELECT crm.refresh_health_profile_chunk(0)', 'crm_admin rebuilds profiles without reading them');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
