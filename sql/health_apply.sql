-- The rebuild's direct write (staged summaries in session memory, crm.health_profile_apply) gives
-- exactly the rows of the upsert from the temp-table stage it replaces (crm.health_profile_write
-- 'stage'), which remains the way when the table has a trigger or column the direct write does
-- not know; over existing profiles it replaces the old ones, removes those without lines, leaves
-- profiles written after the rebuild's mark alone and skips customers deleted meanwhile.
\set VERBOSITY default
SET client_min_messages = warning;
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE EXTENSION crm;
SET crm_health.as_of = '2026-11-22';

INSERT INTO crm.store (code, name, city) SELECT 'S' || s, '门店 ' || s, '南京' FROM generate_series(1, 5) s;
INSERT INTO crm.customer (member_no) SELECT 'A' || i FROM generate_series(1, 150) i;
INSERT INTO crm.dispense (customer_id, store_id, drug_code, days_supply, dispensed_at, channel, promo, price)
SELECT c.customer_id, 1 + (c.customer_id + k) % 5,
       (ARRAY['C09CA01', 'C08CA01', 'A10BA02', 'C10AA05', 'J05AR03', 'N02BE01'])[1 + (c.customer_id * 7 + k * 3) % 6],
       (ARRAY[30, 60, 90, NULL, 28])[1 + (c.customer_id + k) % 5],
       timestamptz '2025-10-01 10:00+08' + ((k * 29 + c.customer_id * 5) % 420) * interval '1 day',
       (ARRAY['store', 'app', 'wechat_mini_program', NULL])[1 + (c.customer_id * k) % 4],
       (c.customer_id * k) % 3 = 0, (ARRAY[12.5, 0.333, NULL, 199.99, 0, 2500, 9000])[1 + (c.customer_id + k) % 7]
  FROM crm.customer c, generate_series(1, 1 + c.customer_id % 13) k
 WHERE c.customer_id % 10 <> 0;               -- every tenth customer has no line
-- a second tenant whose ids sit among the first's
SET crm.tenant_id = '2';
INSERT INTO crm.customer (member_no) VALUES ('B1'), ('B2');
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at, channel, price)
SELECT c.customer_id, 'C09CA01', 30, timestamptz '2026-06-01 10:00+08' + k * interval '27 days', 'o2o', 30
  FROM crm.customer c, generate_series(0, 5) k WHERE c.tenant_id = 2;
RESET crm.tenant_id;
INSERT INTO crm.customer (member_no) SELECT 'A-more' || i FROM generate_series(1, 20) i;
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at, price)
SELECT c.customer_id, 'A10BA02', 90, '2026-09-01 10:00+08', 66.6 FROM crm.customer c WHERE c.member_no LIKE 'A-more%';

-- every column but updated_at and refresh_seq, numerics as text (scale included), jsonb as text
CREATE FUNCTION pg_temp.profiles() RETURNS TABLE (tenant_id bigint, customer_id bigint, row_text text)
    LANGUAGE sql
AS $$
    SELECT p.tenant_id, p.customer_id,
           ROW(p.as_of, p.conditions, p.condition_detail::text, pg_catalog.pg_column_size(p.condition_detail),
               p.chronic_count, p.non_adherent_count, p.max_days_overdue, p.min_pdc_365::text, p.lines,
               p.first_purchase, p.last_purchase, p.recency_days, p.visits_90d, p.visits_365d,
               p.visit_frequency::text, p.spend_365::text, p.spend_tier, p.avg_basket_365::text,
               p.promo_share::text, p.price_sensitivity, p.preferred_store_id, p.store_count_365,
               p.preferred_channel)::text
      FROM crm.health_profile p
$$;

-- the reference: the upsert from the temp-table stage, forced by a trigger the direct write does
-- not know (the stage then returns NULL and the table is used)
CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER unknown_trigger AFTER INSERT ON crm.health_profile FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.noop();
SELECT crm.health_stage(1, crm.health_today()) IS NULL AS stage_refused;
TRUNCATE crm.health_profile;
CALL crm.refresh_health_profiles(16);
SET crm.tenant_id = '2';
CALL crm.refresh_health_profiles(16);
RESET crm.tenant_id;
CREATE TEMP TABLE by_upsert AS SELECT * FROM pg_temp.profiles();
DROP TRIGGER unknown_trigger ON crm.health_profile;

-- the direct write from scratch, in batches of 16 ids
TRUNCATE crm.health_profile;
CALL crm.refresh_health_profiles(16);
SET crm.tenant_id = '2';
CALL crm.refresh_health_profiles(16);
RESET crm.tenant_id;
SELECT count(*) AS profiles, count(u.customer_id) AS in_reference,
       count(*) FILTER (WHERE p.row_text IS DISTINCT FROM u.row_text) AS differences
  FROM pg_temp.profiles() p FULL JOIN by_upsert u USING (tenant_id, customer_id);
-- customers without lines have none; one per customer with lines
SELECT count(*) FILTER (WHERE d.customer_id IS NOT NULL AND p.customer_id IS NULL) AS with_lines_without_profile,
       count(*) FILTER (WHERE d.customer_id IS NULL AND p.customer_id IS NOT NULL) AS profile_without_lines
  FROM crm.customer c
  LEFT JOIN (SELECT DISTINCT tenant_id, customer_id FROM crm.dispense) d USING (tenant_id, customer_id)
  LEFT JOIN crm.health_profile p USING (tenant_id, customer_id);

-- over existing profiles: every profile rewritten (new refresh_seq), same content; a stale profile
-- of a customer without lines is removed
INSERT INTO crm.health_profile (customer_id, as_of, lines) VALUES (10, '2026-01-01', 3);
CREATE TEMP TABLE seq_before AS SELECT tenant_id, customer_id, refresh_seq FROM crm.health_profile;
CALL crm.refresh_health_profiles(16);
SELECT count(*) AS profiles, count(*) FILTER (WHERE p.refresh_seq <= b.refresh_seq) AS not_rewritten,
       count(*) FILTER (WHERE p.customer_id = 10) AS stale_left
  FROM crm.health_profile p JOIN seq_before b USING (tenant_id, customer_id) WHERE p.tenant_id = 1;
SELECT count(*) FILTER (WHERE p.row_text IS DISTINCT FROM u.row_text) AS differences
  FROM pg_temp.profiles() p FULL JOIN by_upsert u USING (tenant_id, customer_id);

-- the steps one by one: a line recorded after the stage (its profile written by the trigger after
-- the mark) is not undone by the staged computation; a customer whose lines and record were
-- deleted after the stage is skipped
CREATE TEMP TABLE mark AS SELECT crm.health_refresh_step('begin') AS m;
SELECT crm.health_refresh_step('stage') AS staged;
INSERT INTO crm.dispense (customer_id, drug_code, days_supply, dispensed_at, price)
VALUES (3, 'C09CA01', 30, '2026-11-20 10:00+08', 20);
DELETE FROM crm.dispense WHERE customer_id = 4;
DELETE FROM crm.customer WHERE customer_id = 4;
SELECT crm.health_refresh_step('apply', 1, 200, (SELECT m FROM mark)) AS written;
SELECT crm.health_refresh_step('end');
SELECT p.customer_id, p.lines, (SELECT count(*) FROM crm.dispense d WHERE d.customer_id = 3) AS lines_now,
       p.refresh_seq > (SELECT m FROM mark) AS after_mark
  FROM crm.health_profile p WHERE p.customer_id IN (3, 4) ORDER BY 1;
SELECT count(*) FILTER (WHERE p.row_text IS DISTINCT FROM u.row_text) AS differences
  FROM pg_temp.profiles() p JOIN by_upsert u USING (tenant_id, customer_id) WHERE customer_id NOT IN (3, 4);

-- the stage lives in the session until the end step, the next stage or an abort
BEGIN;
SELECT crm.health_stage(1, crm.health_today()) AS staged;
ROLLBACK;
SELECT crm.health_profile_apply(1, 1, 200, 0, crm.health_today(), '{500,2000,8000}') IS NULL AS dropped_by_abort;
SELECT crm.health_stage(1, crm.health_today()) AS staged;
SELECT crm.health_stage_drop();
SELECT crm.health_profile_apply(1, 1, 200, 0, crm.health_today(), '{500,2000,8000}') IS NULL AS dropped;
-- a stage that failed inside a subtransaction is not used
SELECT crm.health_stage(1, crm.health_today()) AS staged;
DO $$ BEGIN PERFORM crm.health_stage(1, 'infinity'); EXCEPTION WHEN others THEN NULL; END $$;
SELECT crm.health_profile_apply(1, 1, 200, 0, crm.health_today(), '{500,2000,8000}') IS NULL AS no_partial_stage;

-- errors: another tenant's stage; not for the application roles
\set VERBOSITY terse
SELECT crm.health_stage(1, crm.health_today()) AS staged;
SELECT crm.health_profile_apply(2, 1, 200, 0, crm.health_today(), '{500,2000,8000}');
SELECT crm.health_profile_apply(1, 1, 200, NULL, crm.health_today(), '{500,2000,8000}');
-- (an error aborts the transaction: that drops the stage)
SELECT crm.health_profile_apply(1, 1, 200, 0, crm.health_today(), '{500,2000,8000}') IS NULL AS dropped_by_error;
-- the table changed between the stage and the write
SELECT crm.health_stage(1, crm.health_today()) AS staged;
CREATE TRIGGER unknown_trigger AFTER INSERT ON crm.health_profile FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.noop();
SELECT crm.health_profile_apply(1, 1, 200, 0, crm.health_today(), '{500,2000,8000}');
DROP TRIGGER unknown_trigger ON crm.health_profile;
-- the table's CHECK constraints hold on the direct write too
ALTER TABLE crm.health_profile ADD CONSTRAINT few_lines CHECK (lines < 3) NOT VALID;
SELECT crm.health_stage(1, crm.health_today()) AS staged;
SELECT crm.health_profile_apply(1, 1, 200, (SELECT max(refresh_seq) + 1 FROM crm.health_profile),
                                crm.health_today(), '{500,2000,8000}');
ALTER TABLE crm.health_profile DROP CONSTRAINT few_lines;
SELECT count(*) AS profiles_unchanged FROM crm.health_profile;
SELECT crm.health_stage_drop();
SET ROLE crm_admin;
SELECT crm.health_stage(1, crm.health_today());
SELECT crm.health_profile_apply(1, 1, 200, 0, crm.health_today(), '{500,2000,8000}');
RESET ROLE;
