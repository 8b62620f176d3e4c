-- Health profiles: dimensions from dispensing lines, kept current by the statement trigger (only
-- the customers a statement touched), rebuilt in chunks, ATC condition classes per tenant.
\set VERBOSITY default
SET client_min_messages = warning;
-- a fresh install: other tests of this run leave rows behind
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE EXTENSION crm;
SET crm_health.as_of = '2026-11-22';

INSERT INTO crm.store (code, name, city) VALUES ('NJ-1', '新街口店', '南京'), ('NJ-2', '河西店', '南京');
INSERT INTO crm.household (label) VALUES ('王家');
INSERT INTO crm.customer (member_no, display_name, household_id)
VALUES ('M1', '王先生', 1), ('M2', '王女士', 1), ('M3', '李先生', NULL), ('M4', '赵先生', NULL), ('M5', '陈女士', NULL);
INSERT INTO crm.drug_code_map (code_system, code, atc_code, drug_name)
VALUES ('sku', 'LOS50', 'C09CA01', '氯沙坦钾片 50mg'), ('gtin', '6901234567892', 'C08CA01', '氨氯地平片 5mg');

-- 王先生, hypertension: losartan every 30 days from 2026-05-01, the 2026-05-25 refill early (shifts
-- to 05-31), amlodipine added 2026-07-01 (a different drug: overlaps, not shifted), last fills
-- 2026-07-24 losartan (starts 07-30 after the shift chain, covers to 08-28).
INSERT INTO crm.dispense (customer_id, store_id, drug_code, code_system, days_supply, dispensed_at, channel, price, promo)
VALUES (1, 1, 'LOS50', 'sku', 30, '2026-05-01 09:00+08', 'store', 45.00, false),
       (1, 1, 'LOS50', 'sku', 30, '2026-05-25 09:00+08', 'store', 45.00, true),
       (1, 2, '6901234567892', 'gtin', 30, '2026-07-01 20:00+08', 'app', 28.50, false),
       (1, 1, 'C09CA01', 'atc', 30, '2026-06-26 09:00+08', 'store', 45.00, false),
       (1, 1, 'C09CA01', 'atc', 30, '2026-07-24 23:59+08', 'store', 45.00, true);
-- 王女士, diabetes: metformin 90 days on 2026-03-01, 2026-06-01, 2026-09-01; a one-off paracetamol
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at, channel, price)
VALUES (2, 2, 'A10BA02', 90, '2026-03-01 10:00+08', 'store', 60.00),
       (2, 2, 'A10BA02', 90, '2026-06-01 10:00+08', 'store', 60.00),
       (2, 2, 'A10BA02', 90, '2026-09-01 10:00+08', 'store', 60.00),
       (2, 1, 'N02BE01', NULL, '2026-11-20 10:00+08', 'o2o', 12.80);
-- 李先生: one short course of amlodipine is no condition
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at, channel, price)
VALUES (3, 1, 'C08CA01', 7, '2026-11-01 10:00+08', 'store', 9.90);

-- the fill date is the day in China Standard Time: 2026-07-24 23:59+08 is 15:59 UTC the same day
SELECT dispense_id, atc_code, drug_name FROM crm.dispense WHERE customer_id = 1 ORDER BY dispense_id;

-- 王先生 by hand: losartan 05-01..05-30, 05-31..06-29, 06-30..07-29 (06-26 shifted), 07-30..08-28
-- (07-24 shifted); amlodipine 07-01..07-30 inside. Covered 05-01..08-28 = 120 days, next refill
-- 08-29, 85 days overdue on 11-22. PDC 365: window starts at the first fill, 05-01..11-22 = 206
-- days -> 120/206 = 0.5825; 180: 05-27..11-22, covered 05-27..08-28 = 94 -> 0.5222; 90:
-- 08-25..11-22, covered 4 -> 0.0444. Not persistent (85 > 60 days without supply).
-- 王女士 by hand: metformin 03-01..05-29, 06-01..08-29, 09-01..11-29: 4 uncovered days of 267 since
-- 03-01 -> 0.9850; 90 days: 08-30 and 08-31 uncovered -> 88/90 = 0.9778; next refill 11-30.
SELECT customer_id, as_of, conditions, chronic_count, non_adherent_count, max_days_overdue, min_pdc_365,
       lines, first_purchase, last_purchase, recency_days, visits_90d, visits_365d, visit_frequency
  FROM crm.health_profile ORDER BY customer_id;
SELECT customer_id, spend_365, spend_tier, avg_basket_365, promo_share, price_sensitivity,
       preferred_store_id, store_count_365, preferred_channel
  FROM crm.health_profile ORDER BY customer_id;
SELECT customer_id, c AS condition, d.*
  FROM crm.health_profile p, jsonb_each(p.condition_detail) AS e(c, v),
       jsonb_to_record(e.v) AS d(fills int, drugs int, first_fill date, last_fill date, next_refill date,
                                 days_overdue int, pdc_90 numeric, pdc_180 numeric, pdc_365 numeric,
                                 threshold numeric, measurable boolean, adherent boolean, persistent boolean,
                                 persistence_days int)
 ORDER BY 1, 2;
-- the same figures from crm.pdc
SELECT crm.pdc(array_agg((d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date), array_agg(d.days_supply),
               array_agg(d.atc_code), '2026-05-01', '2026-11-22') AS pdc_365
  FROM crm.dispense d WHERE d.customer_id = 1;

-- household dimensions
SELECT customer_id, household_conditions, household_size, loyalty_points
  FROM crm.health_profile_full ORDER BY customer_id;

-- a new line touches only its customer's profile
CREATE TEMP TABLE before AS SELECT * FROM crm.health_profile;
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at, channel, price)
VALUES (3, 1, 'C08CA01', 30, '2026-11-08 10:00+08', 'store', 28.00);
SELECT p.customer_id, p.updated_at = b.updated_at AS untouched, p.conditions
  FROM crm.health_profile p JOIN before b USING (tenant_id, customer_id) ORDER BY 1;
-- moving a line to another customer refreshes both; deleting the last line removes the profile
UPDATE crm.dispense SET customer_id = 4 WHERE customer_id = 3 AND dispensed_at = '2026-11-01 10:00+08';
SELECT customer_id, lines, conditions FROM crm.health_profile WHERE customer_id IN (3, 4) ORDER BY 1;
DELETE FROM crm.dispense WHERE customer_id = 4;
SELECT customer_id FROM crm.health_profile ORDER BY 1;

-- the tenant's own condition classes: the antidiabetic class off, analgesics counted as pain
INSERT INTO crm.atc_condition_override (atc_prefix, condition) VALUES ('A10', NULL), ('N02', 'chronic_pain');
SELECT atc_prefix, condition, origin FROM crm.atc_condition WHERE atc_prefix IN ('A10', 'N02', 'C09') ORDER BY 1;
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at, price)
VALUES (2, 'N02BE01', 30, '2026-11-21 10:00+08', 12.80);
SELECT customer_id, conditions FROM crm.health_profile WHERE customer_id = 2;
-- changing the classes does not touch stored profiles; the next refresh applies them
DELETE FROM crm.atc_condition_override;

-- the chunked rebuild gives exactly what the trigger kept
TRUNCATE before;
INSERT INTO before SELECT * FROM crm.health_profile;
CALL crm.refresh_health_profiles();
SELECT count(*) AS profiles,
       count(*) FILTER (WHERE p.conditions IS DISTINCT FROM b.conditions) AS changed_conditions
  FROM crm.health_profile p FULL JOIN before b USING (tenant_id, customer_id);
SELECT customer_id, conditions FROM crm.health_profile WHERE customer_id = 2;
SELECT crm.refresh_health_profile_chunk(0);
SELECT crm.refresh_health_profile_chunk(5);

-- errors
\set VERBOSITY terse
INSERT INTO crm.dispense (customer_id, drug_code, dispensed_at) VALUES (1, 'Losartan', now());
INSERT INTO crm.dispense (customer_id, drug_code, dispensed_at) VALUES (1, 'C09CA01', 'infinity');
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at) VALUES (1, 'C09CA01', 0, now());
INSERT INTO crm.dispense (customer_id, drug_code, code_system, dispensed_at) VALUES (1, 'X1', 'hl7', now());
INSERT INTO crm.dispense (customer_id, drug_code, dispensed_at) VALUES (99, 'C09CA01', now());
INSERT INTO crm.atc_condition_override (atc_prefix, condition) VALUES ('c09', 'x');
SELECT crm.refresh_health_profile_chunk(-1);
-- lines after the as_of day do not count
SELECT (crm.health_summary_agg(1, '2026-01-01', now(), 'C09CA01', 30, 1, false, 1, 'store')).lines;
