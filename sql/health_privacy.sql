-- Protection of health data: keyed pseudonyms, re-identification vault, consent with withdrawal,
-- the append-only access log, and small-cell suppression in the BI views.
-- (Which role may read what is checked in test/pgtap/health_privileges.sql.)
\set VERBOSITY default
SET client_min_messages = warning;
-- a fresh install: other tests of this run leave rows behind
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE EXTENSION crm;
SET crm_health.as_of = '2026-11-22';

-- HMAC-SHA256 is PostgreSQL's own: RFC 4231 test case 1
SELECT encode(crm.hmac_sha256('\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', convert_to('Hi There', 'UTF8')), 'hex');
-- RFC 4231 test case 6: a key longer than the block size
SELECT encode(crm.hmac_sha256(decode(repeat('aa', 131), 'hex'),
              convert_to('Test Using Larger Than Block-Size Key - Hash Key First', 'UTF8')), 'hex');

INSERT INTO crm.store (code, name, province, city) VALUES ('NJ-1', '新街口店', '江苏', '南京'), ('SZ-1', '观前店', '江苏', '苏州');
INSERT INTO crm.customer (member_no, display_name)
SELECT 'M' || i, '会员' || i FROM generate_series(1, 16) i;

-- pseudonyms: one person, one pseudonym, whatever the spelling; no key before first use
SELECT count(*) AS keys_before FROM crm.pseudonym_key;
SELECT crm.pseudonym('phone', '138 1234 5678') = crm.pseudonym('phone', '+86 13812345678') AS same_phone,
       crm.pseudonym('phone', '13812345678') <> crm.pseudonym('phone', '13812345679') AS different_phone,
       crm.pseudonym('national_id', '32010219800101123x') = crm.pseudonym('national_id', '32010219800101123X') AS same_id,
       length(crm.pseudonym('phone', '13812345678')) AS hex_length;
SELECT count(*) AS keys_after, min(length(key)) AS key_bytes FROM crm.pseudonym_key;
-- the pseudonym is the HMAC of kind:normalised value under the tenant key
SELECT crm.pseudonym('phone', '13812345678')
     = encode(crm.hmac_sha256((SELECT key FROM crm.pseudonym_key), convert_to('phone:13812345678', 'UTF8')), 'hex') AS is_hmac;
SELECT crm.register_identifier(1, 'phone', '138-1234-5678', keep_for_reidentification => true) = crm.pseudonym('phone', '13812345678') AS registered;
SELECT crm.register_identifier(2, 'national_id', '320102198001011234') IS NOT NULL AS registered_without_vault;
SELECT crm.find_customer('phone', '+86 138 1234 5678') AS found, crm.find_customer('phone', '13900000000') AS not_found;
SELECT kind, customer_id, pseudonym ~ '^[0-9a-f]{64}$' AS hex FROM crm.customer_identifier ORDER BY kind;
-- nothing readable is stored next to the customer
SELECT count(*) AS plain_values_outside_vault
  FROM crm.customer_identifier i WHERE i.pseudonym LIKE '%1381234%';
-- re-identification only through the vault, and logged
SELECT crm.reidentify('phone', crm.pseudonym('phone', '13812345678')) AS phone;
SELECT crm.reidentify('national_id', crm.pseudonym('national_id', '320102198001011234')) AS not_kept;
SELECT action, object, customer_id, row_count, role_name = current_user AS by_me FROM crm.health_access_log ORDER BY log_id;

\set VERBOSITY terse
SELECT crm.pseudonym('phone', '12');
SELECT crm.pseudonym('national_id', '1234');
SELECT crm.pseudonym('email', 'a@b.c');
SELECT crm.register_identifier(999, 'phone', '13812345678');
SELECT crm.hmac_sha256('short', 'x');
\set VERBOSITY default

-- consent per purpose, with withdrawal; the history stays
SELECT crm.grant_consent(1, 'health_tagging', 'form 2026-001') AS first_grant;
SELECT crm.grant_consent(1, 'health_tagging') AS same_again;
SELECT crm.has_consent(1, 1, 'health_tagging') AS tagging, crm.has_consent(1, 1, 'marketing') AS marketing;
SELECT crm.withdraw_consent(1, 'health_tagging') AS withdrawn, crm.withdraw_consent(1, 'health_tagging') AS again;
SELECT crm.has_consent(1, 1, 'health_tagging') AS tagging_after_withdrawal;
SELECT crm.grant_consent(1, 'health_tagging') > 1 AS granted_anew;
SELECT purpose, withdrawn_at IS NOT NULL AS withdrawn FROM crm.consent ORDER BY consent_id;
\set VERBOSITY terse
SELECT crm.grant_consent(1, 'research');
\set VERBOSITY default

-- the access log is append-only, for its owner too
\set VERBOSITY terse
UPDATE crm.health_access_log SET role_name = 'nobody';
DELETE FROM crm.health_access_log;
TRUNCATE crm.health_access_log;
\set VERBOSITY default
SELECT count(*) > 0 AS log_kept FROM crm.health_access_log;

-- reading through the extension is logged with the row count
-- customers 1-6 (南京) and 13-16 (苏州) refill every 30 days all year; 7-12 (南京) every 45 days
-- five times and then stop (PDC about 2/3, over 90 days overdue)
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at, price)
SELECT i, CASE WHEN i <= 12 THEN 1 ELSE 2 END, 'C09CA01', 30,
       timestamptz '2026-01-05 10:00+08' + k * CASE WHEN i BETWEEN 7 AND 12 THEN 45 ELSE 30 END * interval '1 day', 45
  FROM generate_series(1, 16) i, generate_series(0, 10) k
 WHERE k <= 4 OR i NOT BETWEEN 7 AND 12;
SELECT customer_id, conditions FROM crm.health_profile_of(3);
SELECT count(*) AS exported FROM crm.export_health_profiles('hypertension');
SELECT action, object, customer_id, row_count, detail FROM crm.health_access_log
 WHERE action IN ('read', 'export') ORDER BY log_id;

-- BI: 12 hypertensive customers in 南京 (6 adherent, 6 overdue), 4 in 苏州 (all adherent)
SELECT p.customer_id <= 12 AS nanjing, (p.condition_detail -> 'hypertension' ->> 'adherent')::boolean AS adherent,
       p.max_days_overdue >= 90 AS overdue, count(*)
  FROM crm.health_profile p GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- k = 10 (default): 苏州 (4) is not shown; in 南京 6 adherent and 6 overdue are under 10: hidden
SELECT province, city, condition, customers, adherent_customers, overdue_90_customers, avg_pdc_365
  FROM crm.health_condition_stats ORDER BY city;
-- k = 5 for this tenant: 苏州 (4) still hidden; 6 of 12 and their complements reach 5: shown
INSERT INTO crm.tenant (tenant_id, name, settings) VALUES (1, '测试', '{"health_k_min": 5}');
SELECT province, city, condition, customers, adherent_customers, overdue_90_customers
  FROM crm.health_condition_stats ORDER BY city;
-- k = 3: 苏州 shows; all 4 adherent and none overdue reveal nothing beyond the group: shown
UPDATE crm.tenant SET settings = '{"health_k_min": 3}';
SELECT province, city, condition, customers, adherent_customers, overdue_90_customers
  FROM crm.health_condition_stats ORDER BY city;
-- k never goes below 2
UPDATE crm.tenant SET settings = '{"health_k_min": 0}';
SELECT crm.health_k(1);
SELECT crm.health_suppress(0, 5, 3) AS zero, crm.health_suppress(5, 5, 3) AS all_of_them,
       crm.health_suppress(2, 5, 3) AS small, crm.health_suppress(3, 5, 3) AS complement_small,
       crm.health_suppress(3, 6, 3) AS shown;
