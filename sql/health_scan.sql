-- The full rebuild's one-pass scan (crm.health_summaries) gives exactly the summaries of the
-- aggregate crm.health_summary_agg that the trigger uses, customer by customer: also for channels
-- that do not pack into 8 bytes, several tenants, and customer ids spread over other tenants' ids
-- (numbered by a hash table instead of an array).
\set VERBOSITY default
SET client_min_messages = warning;
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE EXTENSION crm;
SET crm_health.as_of = '2026-11-22';

CREATE FUNCTION pg_temp.scan_differences(t bigint)
    RETURNS TABLE (customers bigint, with_lines bigint, differences bigint)
    LANGUAGE sql
AS $$
    SELECT count(*), count(a.customer_id), count(*) FILTER (WHERE s.x IS DISTINCT FROM a.x)
      FROM crm.health_summaries(t, crm.health_today()) s
      FULL JOIN (SELECT d.customer_id,
                        crm.health_summary_agg(d.tenant_id, crm.health_today(), d.dispensed_at, d.atc_code,
                                               d.days_supply, d.price, d.promo, d.store_id, d.channel) AS x
                   FROM crm.dispense d WHERE d.tenant_id = t GROUP BY d.customer_id) a
        ON a.customer_id = s.customer_id
$$;

INSERT INTO crm.store (code, name, city) SELECT 'S' || s, '门店 ' || s, '南京' FROM generate_series(1, 5) s;
INSERT INTO crm.customer (member_no) SELECT 'A' || i FROM generate_series(1, 200) i;
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at, channel, promo, price)
SELECT c.customer_id, 1 + (c.customer_id + k) % 5,
       (ARRAY['C09CA01', 'C08CA01', 'A10BA02', 'C10AA05', 'J05AR03', 'N02BE01'])[1 + (c.customer_id * 7 + k * 3) % 6],
       (ARRAY[30, 60, 90, NULL, 28])[1 + (c.customer_id + k) % 5],
       timestamptz '2025-10-01 10:00+08' + ((k * 29 + c.customer_id * 5) % 420) * interval '1 day',
       (ARRAY['store', 'app', 'wechat_mini_program', NULL])[1 + (c.customer_id * k) % 4],
       (c.customer_id * k) % 3 = 0, (ARRAY[12.5, 0.333, NULL, 199.99])[1 + k % 4]
  FROM crm.customer c, generate_series(1, 1 + c.customer_id % 13) k;
-- customers without lines have no summary
INSERT INTO crm.customer (member_no) VALUES ('A-none');

-- a second tenant, its customers spread over 1 500 ids of the first
SET crm.tenant_id = '2';
INSERT INTO crm.customer (member_no) VALUES ('B1');
RESET crm.tenant_id;
INSERT INTO crm.customer (member_no) SELECT 'A-more' || i FROM generate_series(1, 1500) i;
SET crm.tenant_id = '2';
INSERT INTO crm.customer (member_no) VALUES ('B2'), ('B3');
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at, channel, price)
SELECT c.customer_id, 'C09CA01', 30, timestamptz '2026-06-01 10:00+08' + k * interval '27 days', 'o2o', 30
  FROM crm.customer c, generate_series(0, 5) k WHERE c.tenant_id = 2 AND c.member_no <> 'B3';
RESET crm.tenant_id;

SELECT 1 AS tenant, * FROM pg_temp.scan_differences(1);
SELECT 2 AS tenant, * FROM pg_temp.scan_differences(2);
-- in customer id order
SELECT bool_and(customer_id > prev) AS ordered FROM (
    SELECT customer_id, lag(customer_id, 1, 0::bigint) OVER () AS prev FROM crm.health_summaries(1, crm.health_today())) s;

-- the full rebuild writes the same profiles the trigger wrote
CREATE TEMP TABLE by_trigger AS SELECT * FROM crm.health_profile;
CALL crm.refresh_health_profiles(64);
SELECT count(*) AS profiles,
       count(*) FILTER (WHERE (p.tenant_id, p.customer_id, p.conditions, p.condition_detail, p.lines, p.spend_365,
                               p.promo_share, p.preferred_store_id, p.preferred_channel, p.visits_365d)
                          IS DISTINCT FROM (t.tenant_id, t.customer_id, t.conditions, t.condition_detail, t.lines,
                                            t.spend_365, t.promo_share, t.preferred_store_id, t.preferred_channel,
                                            t.visits_365d)) AS differences
  FROM crm.health_profile p FULL JOIN by_trigger t USING (tenant_id, customer_id);

-- internal: not callable by the application roles, and bad input is refused
SET ROLE crm_admin;
SELECT count(*) FROM crm.health_summaries(1, '2026-11-22');
RESET ROLE;
SELECT count(*) FROM crm.health_summaries(1, 'infinity');

-- many distinct (drug, days supply) and (store, channel) pairs: the scan's dictionaries of the
-- compact lines grow several times (short and long channels, with and without a promotion)
SET crm.tenant_id = '3';
INSERT INTO crm.customer (member_no) SELECT 'C' || i FROM generate_series(1, 40) i;
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at, channel, promo, price)
SELECT c.customer_id, (ARRAY['C09CA01', 'A10BA02', 'N02BE01'])[1 + k % 3], 1 + (k * 7 + c.customer_id) % 400,
       timestamptz '2025-12-01 10:00+08' + ((k * 3 + c.customer_id) % 350) * interval '1 day',
       CASE WHEN k % 2 = 0 THEN 'c' || ((k * 53 + c.customer_id * 17) % 1500)
            ELSE 'channel_number_' || ((k * 31 + c.customer_id * 11) % 900) END,
       k % 5 = 0, 1 + k % 97
  FROM crm.customer c, generate_series(1, 60) k WHERE c.tenant_id = 3;
RESET crm.tenant_id;
SELECT 3 AS tenant, * FROM pg_temp.scan_differences(3);
SELECT count(DISTINCT (drug_code, days_supply)) > 1024 AS many_items,
       count(DISTINCT channel) > 1024 AS many_places
  FROM crm.dispense WHERE tenant_id = 3;
