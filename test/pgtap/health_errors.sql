-- Health functions: every bad input gets its SQLSTATE, and a failed call changes nothing.
BEGIN;
SELECT plan(17);

SELECT throws_ok($$SELECT crm.pdc('{2026-01-01,2026-02-01}', '{30}', '{a,a}', '2026-01-01', '2026-12-31')$$,
                 '2202E', NULL, 'arrays of different lengths');
SELECT throws_ok($$SELECT crm.pdc('{2026-01-01,NULL}', '{30,30}', '{a,a}', '2026-01-01', '2026-12-31')$$,
                 '22004', NULL, 'a null fill date');
SELECT throws_ok($$SELECT crm.pdc('{2026-01-01}', '{30}', '{NULL}', '2026-01-01', '2026-12-31')$$,
                 '22004', NULL, 'a null drug');
SELECT throws_ok($$SELECT crm.pdc('{2026-01-01}', '{-5}', '{a}', '2026-01-01', '2026-12-31')$$,
                 '22023', NULL, 'a negative days supply');
SELECT throws_ok($$SELECT crm.pdc('{2026-01-01}', '{30}', '{a}', '2026-12-31', '2026-01-01')$$,
                 '22023', NULL, 'a period that ends before it starts');
SELECT throws_ok($$SELECT crm.pdc('{infinity}', '{30}', '{a}', '2026-01-01', '2026-12-31')$$,
                 '22008', NULL, 'an infinite fill date');
SELECT throws_ok($$SELECT crm.pdc('{{2026-01-01}}', '{{30}}', '{{a}}', '2026-01-01', '2026-12-31')$$,
                 '2202E', NULL, 'a two-dimensional array');
SELECT is(crm.pdc(NULL, '{30}', '{a}', '2026-01-01', '2026-12-31'), NULL, 'a null argument gives null (strict)');

INSERT INTO crm.customer (member_no) VALUES ('E1');
SELECT throws_ok($$INSERT INTO crm.dispense (customer_id, drug_code, dispensed_at)
                   SELECT customer_id, 'not-atc', now() FROM crm.customer WHERE member_no = 'E1'$$,
                 '22023', NULL, 'a drug code that is not ATC under code_system atc');
SELECT is((SELECT count(*) FROM crm.health_profile), 0::bigint, 'the failed insert left no profile behind');
SELECT throws_ok($$SELECT crm.pseudonym('phone', 'abc')$$, '22023', NULL, 'a malformed phone number');
SELECT throws_ok($$SELECT crm.pseudonym('passport', 'E1234567')$$, '22023', NULL, 'an unknown identifier kind');
SELECT throws_ok($$SELECT crm.grant_consent((SELECT customer_id FROM crm.customer WHERE member_no = 'E1'), 'research')$$,
                 '23514', NULL, 'an unknown consent purpose');
SELECT throws_ok($$SELECT crm.refresh_health_profile_chunk(-1)$$, '22023', NULL, 'a negative chunk');
SELECT throws_ok($$SELECT crm.health_period_start('2026-11-22', 'fortnight')$$, '22023', NULL, 'an unknown care period');
SELECT throws_ok($$SELECT crm.hmac_sha256('\x00', 'x')$$, '22023', NULL, 'a too short HMAC key');
SELECT throws_ok($$TRUNCATE crm.health_access_log$$, '42501', NULL, 'the access log cannot be truncated');

SELECT * FROM finish();
ROLLBACK;
