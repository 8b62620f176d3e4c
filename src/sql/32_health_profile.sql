
-- ---------------------------------------------------------------------------------------------
-- 32_health_profile.sql: adherence (crm.pdc) and the per-customer health profile, kept current by a
-- C trigger on crm.dispense and rebuilt in chunks by crm.refresh_health_profiles(). See docs/health.md.
-- ---------------------------------------------------------------------------------------------

ALTER TABLE crm.dispense ADD CONSTRAINT dispense_dispensed_at_finite CHECK (pg_catalog.isfinite(dispensed_at));

CREATE FUNCTION crm.pdc(fill_dates date[], days_supply integer[], drugs text[], period_start date, period_end date)
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'crm_pdc'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.pdc(date[], integer[], text[], date, date) IS 'Proportion of days covered (Pharmacy Quality Alliance) of [period_start, period_end] by the fills (one array element per fill): same-drug early refills shift forward, different drugs overlap (shared days count once), supply beyond period_end is cut, fills before period_start count with what reaches into the period. Returns 0..1 rounded to 4 decimals.';

CREATE FUNCTION crm.health_today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE(
        NULLIF(pg_catalog.current_setting('crm_health.as_of', true), '')::date,
        (pg_catalog.now() AT TIME ZONE 'Asia/Shanghai')::date);
COMMENT ON FUNCTION crm.health_today() IS 'The day profiles are computed for: setting crm_health.as_of if set (for replays and tests), else today in China Standard Time.';

CREATE TYPE crm.health_summary AS (
    conditions         text[],
    condition_detail   jsonb,
    chronic_count      integer,
    non_adherent_count integer,
    max_days_overdue   integer,
    min_pdc_365        numeric,
    lines              integer,
    first_purchase     date,
    last_purchase      date,
    recency_days       integer,
    visits_90d         integer,
    visits_365d        integer,
    spend_365          numeric,
    avg_basket_365     numeric,
    promo_share        numeric,
    preferred_store_id bigint,
    store_count_365    integer,
    preferred_channel  text
);
COMMENT ON TYPE crm.health_summary IS 'What crm.health_summary_agg computes from one customer''s dispensing lines; the columns of crm.health_profile that depend on that customer alone.';

CREATE FUNCTION crm.health_agg_trans(internal, bigint, date, timestamptz, text, integer, numeric, boolean, bigint, text)
    RETURNS internal
    AS 'MODULE_PATHNAME', 'crm_health_agg_trans'
    LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION crm.health_agg_trans(internal, bigint, date, timestamptz, text, integer, numeric, boolean, bigint, text) IS 'Transition function of crm.health_summary_agg.';
CREATE FUNCTION crm.health_agg_final(internal, bigint, date, timestamptz, text, integer, numeric, boolean, bigint, text)
    RETURNS crm.health_summary
    AS 'MODULE_PATHNAME', 'crm_health_agg_final'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.health_agg_final(internal, bigint, date, timestamptz, text, integer, numeric, boolean, bigint, text) IS 'Final function of crm.health_summary_agg: computes the profile (reads the tenant''s ATC condition map).';

CREATE AGGREGATE crm.health_summary_agg(tenant_id bigint, as_of date, dispensed_at timestamptz, atc_code text,
                                         days_supply integer, price numeric, promo boolean, store_id bigint,
                                         channel text) (
    SFUNC = crm.health_agg_trans,
    STYPE = internal,
    SSPACE = 1024,
    FINALFUNC = crm.health_agg_final,
    FINALFUNC_EXTRA,
    FINALFUNC_MODIFY = READ_WRITE
);
COMMENT ON AGGREGATE crm.health_summary_agg(bigint, date, timestamptz, text, integer, numeric, boolean, bigint, text) IS 'One customer''s health summary as of a day from its dispensing lines (GROUP BY customer): conditions with PDC 90/180/365, refill gaps and persistence; visits, spend, promo share, preferred store and channel.';

CREATE FUNCTION crm.health_summaries(tenant bigint, as_of date)
    RETURNS TABLE (customer_id bigint, x crm.health_summary)
    AS 'MODULE_PATHNAME', 'crm_health_summaries'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 100000;
REVOKE ALL ON FUNCTION crm.health_summaries(bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_summaries(bigint, date) IS 'Internal (crm.refresh_health_profiles): every customer''s crm.health_summary_agg result for one tenant in one sequential pass over crm.dispense (read directly, the tenant filtered in C; requires SELECT on crm.dispense), in customer id order.';

CREATE SEQUENCE crm.health_profile_refresh_seq;
COMMENT ON SEQUENCE crm.health_profile_refresh_seq IS 'Orders profile writes: a rebuild never overwrites a profile written after it started (crm.health_profile.refresh_seq).';
SELECT pg_catalog.pg_extension_config_dump('crm.health_profile_refresh_seq', '');

CREATE TABLE crm.health_profile (
    tenant_id          bigint       NOT NULL DEFAULT crm.current_tenant(),
    customer_id        bigint       NOT NULL,
    as_of              date         NOT NULL,
    conditions         text[]       NOT NULL DEFAULT '{}',
    condition_detail   jsonb        NOT NULL DEFAULT '{}',
    chronic_count      integer      NOT NULL DEFAULT 0,
    non_adherent_count integer      NOT NULL DEFAULT 0,
    max_days_overdue   integer,
    min_pdc_365        numeric(5,4),
    lines              integer      NOT NULL DEFAULT 0,
    first_purchase     date,
    last_purchase      date,
    recency_days       integer,
    visits_90d         integer      NOT NULL DEFAULT 0,
    visits_365d        integer      NOT NULL DEFAULT 0,
    visit_frequency    numeric(6,2),
    spend_365          numeric(12,2) NOT NULL DEFAULT 0,
    spend_tier         text         NOT NULL DEFAULT 'none' CHECK (spend_tier IN ('none', 'low', 'mid', 'high', 'top')),
    avg_basket_365     numeric(12,2),
    promo_share        numeric(4,3),
    price_sensitivity  text         CHECK (price_sensitivity IN ('low', 'medium', 'high')),
    preferred_store_id bigint,
    store_count_365    integer      NOT NULL DEFAULT 0,
    preferred_channel  text,
    updated_at         timestamptz  NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    refresh_seq        bigint       NOT NULL DEFAULT pg_catalog.nextval('crm.health_profile_refresh_seq'),
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.health_profile IS 'Health profile per customer (健康画像), from dispensing lines: health data, readable only by crm_health_reader. Kept current by trigger dispense_profile_* (only the customers a statement touched) and rebuilt by crm.refresh_health_profiles(). crm.health_profile_full adds household conditions and loyalty points. Dimensions: docs/health.md.';
COMMENT ON COLUMN crm.health_profile.as_of IS 'The day the time-dependent dimensions (PDC windows, overdue days, recency) were computed for.';
COMMENT ON COLUMN crm.health_profile.conditions IS 'Chronic condition classes inferred from fills (ATC → condition, crm.atc_condition): fills on at least two dates, or one fill of 28 days or more.';
COMMENT ON COLUMN crm.health_profile.condition_detail IS 'Per condition: fills, drugs, first_fill, last_fill, next_refill (expected), days_overdue (refill gap), pdc_90, pdc_180, pdc_365, threshold, measurable, adherent, persistent, persistence_days.';
COMMENT ON COLUMN crm.health_profile.chronic_count IS 'Number of conditions.';
COMMENT ON COLUMN crm.health_profile.non_adherent_count IS 'Conditions with a measurable PDC over 365 days below their threshold (80%, 90% for antiretrovirals).';
COMMENT ON COLUMN crm.health_profile.max_days_overdue IS 'Largest refill gap over the conditions: days since the expected refill date.';
COMMENT ON COLUMN crm.health_profile.min_pdc_365 IS 'Lowest 365-day PDC over the conditions (0..1).';
COMMENT ON COLUMN crm.health_profile.lines IS 'Dispensing lines up to as_of.';
COMMENT ON COLUMN crm.health_profile.recency_days IS 'Days since the last purchase.';
COMMENT ON COLUMN crm.health_profile.visits_90d IS 'Purchase days in the last 90 days.';
COMMENT ON COLUMN crm.health_profile.visits_365d IS 'Purchase days in the last 365 days.';
COMMENT ON COLUMN crm.health_profile.visit_frequency IS 'Purchase days per month over the last 365 days.';
COMMENT ON COLUMN crm.health_profile.spend_365 IS 'Amount paid in the last 365 days (yuan).';
COMMENT ON COLUMN crm.health_profile.spend_tier IS 'none | low | mid | high | top: spend_365 against the tenant''s thresholds (crm.tenant.settings health_spend_tiers, default [500, 2000, 8000] yuan).';
COMMENT ON COLUMN crm.health_profile.avg_basket_365 IS 'Average spend per purchase day in the last 365 days.';
COMMENT ON COLUMN crm.health_profile.promo_share IS 'Share of lines bought on promotion in the last 365 days (0..1).';
COMMENT ON COLUMN crm.health_profile.price_sensitivity IS 'low | medium | high: promo_share below 0.2, below 0.5, or higher.';
COMMENT ON COLUMN crm.health_profile.preferred_store_id IS 'Store with most lines in the last 365 days (ties: most recent).';
COMMENT ON COLUMN crm.health_profile.store_count_365 IS 'Distinct stores bought at in the last 365 days.';
COMMENT ON COLUMN crm.health_profile.refresh_seq IS 'Write order (crm.health_profile_refresh_seq): lets a rebuild skip profiles that changed after it read the dispensing lines.';
COMMENT ON COLUMN crm.health_profile.preferred_channel IS 'Channel with most lines in the last 365 days (ties: most recent).';
CREATE INDEX health_profile_conditions_idx ON crm.health_profile USING gin (conditions);
SELECT crm.setup_tenant_table('crm.health_profile');

CREATE FUNCTION crm.health_spend_tiers(tenant bigint) RETURNS numeric[]
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT ARRAY[COALESCE((t.settings OPERATOR(pg_catalog.->) 'health_spend_tiers' OPERATOR(pg_catalog.->>) 0)::numeric, 500),
                 COALESCE((t.settings OPERATOR(pg_catalog.->) 'health_spend_tiers' OPERATOR(pg_catalog.->>) 1)::numeric, 2000),
                 COALESCE((t.settings OPERATOR(pg_catalog.->) 'health_spend_tiers' OPERATOR(pg_catalog.->>) 2)::numeric, 8000)]
      FROM (SELECT (SELECT x.settings FROM crm.tenant x WHERE x.tenant_id OPERATOR(pg_catalog.=) tenant) AS settings) t;
END;
COMMENT ON FUNCTION crm.health_spend_tiers(bigint) IS 'The tenant''s spend tier thresholds in yuan per 365 days: crm.tenant.settings health_spend_tiers (three ascending numbers), default [500, 2000, 8000].';

CREATE FUNCTION crm.health_spend_tier(spend numeric, tiers numeric[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN spend IS NULL OR spend OPERATOR(pg_catalog.<=) 0 THEN 'none'
                WHEN spend OPERATOR(pg_catalog.<) tiers[1] THEN 'low'
                WHEN spend OPERATOR(pg_catalog.<) tiers[2] THEN 'mid'
                WHEN spend OPERATOR(pg_catalog.<) tiers[3] THEN 'high'
                ELSE 'top' END;
COMMENT ON FUNCTION crm.health_spend_tier(numeric, numeric[]) IS 'Spend tier of a 365-day spend against thresholds (crm.health_spend_tiers): none, low, mid, high or top.';

-- Writes profiles from summaries (crm.health_summary) of one tenant's customers in [lo, hi]. The
-- summaries come straight from the aggregate over crm.dispense (source 'live', optionally only the
-- customers in ids), or from the session's staging table of a rebuild (source 'stage'); a rebuild
-- passes `since` and leaves alone every profile written after it started (refresh_seq >= since).
-- Internal: called by the trigger and the rebuilds, as the extension owner.
CREATE FUNCTION crm.health_profile_write(tenant bigint, lo bigint, hi bigint, ids bigint[],
                                         source text DEFAULT 'live', since bigint DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    day date := crm.health_today();
    tiers numeric[] := crm.health_spend_tiers(tenant);
    src text;
    written integer;
BEGIN
    IF source = 'live' THEN
        src := 'SELECT d.tenant_id, d.customer_id,
                       crm.health_summary_agg(d.tenant_id, $5, d.dispensed_at, d.atc_code, d.days_supply,
                                              d.price, d.promo, d.store_id, d.channel) AS x
                  FROM crm.dispense d
                 WHERE d.tenant_id = $1 AND d.customer_id BETWEEN $2 AND $3
                   AND ($4::bigint[] IS NULL OR d.customer_id = ANY ($4))
                 GROUP BY d.tenant_id, d.customer_id';
    ELSE
        src := 'SELECT $1::bigint AS tenant_id, g.customer_id, g.x FROM pg_temp.health_refresh_stage g
                 WHERE g.customer_id BETWEEN $2 AND $3';
    END IF;
    EXECUTE format($q$
    INSERT INTO crm.health_profile AS p (tenant_id, customer_id, as_of, conditions, condition_detail,
           chronic_count, non_adherent_count, max_days_overdue, min_pdc_365, lines, first_purchase,
           last_purchase, recency_days, visits_90d, visits_365d, visit_frequency, spend_365, spend_tier,
           avg_basket_365, promo_share, price_sensitivity, preferred_store_id, store_count_365,
           preferred_channel, updated_at, refresh_seq)
    SELECT s.tenant_id, s.customer_id, $5, (s.x).conditions, (s.x).condition_detail, (s.x).chronic_count,
           (s.x).non_adherent_count, (s.x).max_days_overdue, (s.x).min_pdc_365, (s.x).lines,
           (s.x).first_purchase, (s.x).last_purchase, (s.x).recency_days, (s.x).visits_90d,
           (s.x).visits_365d, round((s.x).visits_365d / 12.0, 2), (s.x).spend_365,
           crm.health_spend_tier((s.x).spend_365, $7), (s.x).avg_basket_365, (s.x).promo_share,
           CASE WHEN (s.x).promo_share IS NULL THEN NULL WHEN (s.x).promo_share >= 0.5 THEN 'high'
                WHEN (s.x).promo_share >= 0.2 THEN 'medium' ELSE 'low' END,
           (s.x).preferred_store_id, (s.x).store_count_365, (s.x).preferred_channel, clock_timestamp(),
           nextval('crm.health_profile_refresh_seq')
      FROM (%s) s
    ON CONFLICT (tenant_id, customer_id) DO UPDATE
       SET as_of = EXCLUDED.as_of, conditions = EXCLUDED.conditions,
           condition_detail = EXCLUDED.condition_detail, chronic_count = EXCLUDED.chronic_count,
           non_adherent_count = EXCLUDED.non_adherent_count, max_days_overdue = EXCLUDED.max_days_overdue,
           min_pdc_365 = EXCLUDED.min_pdc_365, lines = EXCLUDED.lines,
           first_purchase = EXCLUDED.first_purchase, last_purchase = EXCLUDED.last_purchase,
           recency_days = EXCLUDED.recency_days, visits_90d = EXCLUDED.visits_90d,
           visits_365d = EXCLUDED.visits_365d, visit_frequency = EXCLUDED.visit_frequency,
           spend_365 = EXCLUDED.spend_365, spend_tier = EXCLUDED.spend_tier,
           avg_basket_365 = EXCLUDED.avg_basket_365, promo_share = EXCLUDED.promo_share,
           price_sensitivity = EXCLUDED.price_sensitivity, preferred_store_id = EXCLUDED.preferred_store_id,
           store_count_365 = EXCLUDED.store_count_365, preferred_channel = EXCLUDED.preferred_channel,
           updated_at = EXCLUDED.updated_at, refresh_seq = EXCLUDED.refresh_seq
     WHERE $6::bigint IS NULL OR p.refresh_seq < $6$q$, src)
    USING tenant, lo, hi, ids, day, since, tiers;
    GET DIAGNOSTICS written = ROW_COUNT;
    -- customers whose last line was deleted have no profile any more
    DELETE FROM crm.health_profile p
     WHERE p.tenant_id = tenant AND p.customer_id BETWEEN lo AND hi
       AND (ids IS NULL OR p.customer_id = ANY (ids))
       AND (since IS NULL OR p.refresh_seq < since)
       AND NOT EXISTS (SELECT 1 FROM crm.dispense d
                        WHERE d.tenant_id = tenant AND d.customer_id = p.customer_id);
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION crm.health_profile_write(bigint, bigint, bigint, bigint[], text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_profile_write(bigint, bigint, bigint, bigint[], text, bigint) IS 'Internal: writes the profiles of a tenant''s customers in [lo, hi] (only those in ids, unless ids is NULL) from crm.health_summary_agg over crm.dispense (source live) or from a rebuild''s staging table (source stage, skipping profiles with refresh_seq >= since); removes profiles without lines. Returns the profiles written.';

CREATE FUNCTION crm.health_stage(tenant bigint, as_of date) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_health_stage'
    LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION crm.health_stage(bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_stage(bigint, date) IS 'Internal (crm.health_refresh_step stage): computes every customer''s summary of the tenant as of the day (crm.health_summaries) and keeps them in the session''s memory for crm.health_profile_apply; returns how many, or NULL (nothing kept) when crm.health_profile has columns, triggers or constraints the direct write does not know. The stage is dropped by crm.health_stage_drop(), by the next stage and when a transaction of the session aborts.';

CREATE FUNCTION crm.health_stage_drop() RETURNS void
    AS 'MODULE_PATHNAME', 'crm_health_stage_drop'
    LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION crm.health_stage_drop() FROM PUBLIC;
COMMENT ON FUNCTION crm.health_stage_drop() IS 'Internal (crm.health_refresh_step end): frees the session''s staged health summaries.';

CREATE FUNCTION crm.health_profile_apply(tenant bigint, lo bigint, hi bigint, since bigint, day date,
                                         tiers numeric[])
    RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_health_profile_apply'
    LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION crm.health_profile_apply(bigint, bigint, bigint, bigint, date, numeric[]) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_profile_apply(bigint, bigint, bigint, bigint, date, numeric[]) IS 'Internal (crm.health_refresh_step apply, with the tenant''s barrier lock held exclusively): writes the profiles of customer ids lo..hi from the session''s stage (crm.health_stage) directly: the rows of crm.health_profile_write(tenant, lo, hi, NULL, ''stage'', since) (profiles older than the mark replaced or, without lines, removed; newer ones left alone), the customers locked FOR KEY SHARE set-wise instead of the foreign key''s check per row (a customer deleted meanwhile is skipped), rows inserted in groups with their index entries. Returns the profiles written, or NULL when the session has no stage (then crm.health_profile_write reads the temp table).';

-- Advisory lock keys: one per customer (writers of one customer serialize), and a barrier per tenant
-- that writers share and a rebuild takes exclusively for an instant (to let writers in flight finish
-- before it reads the lines; see crm.refresh_health_profiles).
CREATE FUNCTION crm.health_lock_key(tenant bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (1213484116::bigint OPERATOR(pg_catalog.#) tenant OPERATOR(pg_catalog.%) 2147483647)::integer;
COMMENT ON FUNCTION crm.health_lock_key(bigint) IS 'Internal: first half of the advisory lock keys of health profile refreshes for a tenant.';

-- Internal: what the trigger runs (as the extension owner) for the customers of one tenant that a
-- statement on crm.dispense touched.
CREATE FUNCTION crm.health_profile_sync(tenant bigint, customers bigint[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c bigint;
    k integer := crm.health_lock_key(tenant);
    written integer;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(k # 1, 0);
    FOREACH c IN ARRAY customers LOOP          -- sorted: locks are always taken in the same order
        PERFORM pg_advisory_xact_lock(k, (c % 2147483647)::integer);
    END LOOP;
    written := crm.health_profile_write(tenant, customers[1], customers[array_length(customers, 1)], customers);
    PERFORM crm.health_rules_after_profile(tenant, customers, NULL, NULL);
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION crm.health_profile_sync(bigint, bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_profile_sync(bigint, bigint[]) IS 'Internal (trigger): locks the customers (sorted) and refreshes their profiles, then re-evaluates their tags.';

CREATE FUNCTION crm.health_dispense_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_health_dispense_sync'
    LANGUAGE C;
COMMENT ON FUNCTION crm.health_dispense_sync() IS 'Statement trigger on crm.dispense: refreshes the profiles of exactly the customers whose lines the statement inserted, changed or deleted (as the table owner).';
CREATE TRIGGER dispense_profile_insert AFTER INSERT ON crm.dispense
    REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION crm.health_dispense_sync();
CREATE TRIGGER dispense_profile_update AFTER UPDATE ON crm.dispense
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION crm.health_dispense_sync();
CREATE TRIGGER dispense_profile_delete AFTER DELETE ON crm.dispense
    REFERENCING OLD TABLE AS old_lines FOR EACH STATEMENT EXECUTE FUNCTION crm.health_dispense_sync();

-- Rebuilds. Both run as the extension owner (crm_admin may rebuild profiles without reading health
-- data); crm.caller_tenant() checks the caller's tenant first.
CREATE FUNCTION crm.refresh_health_profile_chunk(chunk bigint) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    written integer;
BEGIN
    IF chunk IS NULL OR chunk < 0 THEN
        RAISE EXCEPTION 'chunk must be a non-negative number, got %', chunk
            USING ERRCODE = '22023', HINT = 'Chunk n holds customer ids n*4096 .. n*4096+4095.';
    END IF;
    PERFORM pg_advisory_xact_lock(crm.health_lock_key(t) # 1, 0);
    written := crm.health_profile_write(t, chunk << 12, (chunk << 12) + 4095, NULL);
    PERFORM crm.health_rules_after_profile(t, NULL, chunk << 12, (chunk << 12) + 4095);
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION crm.refresh_health_profile_chunk(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.refresh_health_profile_chunk(bigint) TO crm_admin;
COMMENT ON FUNCTION crm.refresh_health_profile_chunk(bigint) IS 'Rebuilds the profiles (and re-evaluates the tags) of the current tenant''s customers with ids chunk*4096 .. chunk*4096+4095 in the current transaction, holding off the tenant''s dispensing writes until it commits. For use inside a transaction block; otherwise CALL crm.refresh_health_profiles(). Returns the profiles written. For crm_admin.';

CREATE FUNCTION crm.health_refresh_step(step text, lo bigint DEFAULT NULL, hi bigint DEFAULT NULL,
                                        since bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    day date := crm.health_today();
    n bigint;
BEGIN
    IF step = 'begin' THEN
        -- wait for dispensing transactions in flight; every profile written from now on is newer
        PERFORM pg_advisory_xact_lock(crm.health_lock_key(t) # 1, 0);
        RETURN nextval('crm.health_profile_refresh_seq');
    ELSIF step = 'stage' THEN
        -- one sequential pass over the lines, summaries in customer order (the same figures as
        -- crm.health_summary_agg per customer): kept in session memory for the direct write, or,
        -- when crm.health_profile does not have the shape that write knows, in a temp table
        DROP TABLE IF EXISTS pg_temp.health_refresh_stage;
        n := crm.health_stage(t, day);
        IF n IS NOT NULL THEN
            RETURN n;
        END IF;
        CREATE TEMP TABLE health_refresh_stage AS
        SELECT s.customer_id, s.x FROM crm.health_summaries(t, day) s;
        GET DIAGNOSTICS n = ROW_COUNT;
        CREATE INDEX ON pg_temp.health_refresh_stage (customer_id);
        -- statistics for the range scans of 'apply' only: sampling the composite summaries (jsonb
        -- inside) would cost a sixth of the rebuild and no plan uses them
        ANALYZE pg_temp.health_refresh_stage (customer_id);
        RETURN n;
    ELSIF step = 'apply' THEN
        -- no dispensing trigger writes a profile of the tenant while the batch is written
        PERFORM pg_advisory_xact_lock(crm.health_lock_key(t) # 1, 0);
        n := crm.health_profile_apply(t, lo, hi, since, day, crm.health_spend_tiers(t));
        IF n IS NULL THEN
            n := crm.health_profile_write(t, lo, hi, NULL, 'stage', since);
        END IF;
        PERFORM crm.health_rules_after_profile(t, NULL, lo, hi);
        RETURN n;
    ELSIF step = 'end' THEN
        PERFORM crm.health_stage_drop();
        DROP TABLE IF EXISTS pg_temp.health_refresh_stage;
        RETURN 0;
    END IF;
    RAISE EXCEPTION 'unknown refresh step "%"', step USING ERRCODE = '22023';
END
$$;
REVOKE ALL ON FUNCTION crm.health_refresh_step(text, bigint, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.health_refresh_step(text, bigint, bigint, bigint) TO crm_admin;
COMMENT ON FUNCTION crm.health_refresh_step(text, bigint, bigint, bigint) IS 'Internal steps of crm.refresh_health_profiles, each its own transaction: begin (wait for dispensing writes in flight, return the rebuild''s sequence mark), stage (one pass over the tenant''s lines, crm.health_stage: the summaries kept in session memory, or in a session temp table when the direct write does not apply), apply (write a range of customer ids holding the tenant''s barrier lock, skipping profiles written since the mark: crm.health_profile_apply, else crm.health_profile_write), end (drop the stage).';

-- A procedure that commits cannot carry SET search_path; every name in it is qualified instead.
CREATE PROCEDURE crm.refresh_health_profiles(batch_size integer DEFAULT 8192)
    LANGUAGE plpgsql
AS $$
DECLARE
    mark bigint;
    staged bigint;
    first_id bigint;
    last_id bigint;
    lo bigint;
    total bigint := 0;
BEGIN
    IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch_size must be positive, got %', batch_size
            USING ERRCODE = '22023', HINT = 'Give the number of customer ids written per transaction, e.g. 8192.';
    END IF;
    mark := crm.health_refresh_step('begin');
    COMMIT;
    staged := crm.health_refresh_step('stage');
    COMMIT;
    SELECT pg_catalog.min(c.customer_id), pg_catalog.max(c.customer_id) INTO first_id, last_id FROM crm.customer c;
    lo := first_id;
    WHILE lo OPERATOR(pg_catalog.<=) last_id LOOP
        total := total OPERATOR(pg_catalog.+)
                 crm.health_refresh_step('apply', lo, lo OPERATOR(pg_catalog.+) batch_size OPERATOR(pg_catalog.-) 1, mark);
        COMMIT;
        lo := lo OPERATOR(pg_catalog.+) batch_size;
    END LOOP;
    PERFORM crm.health_refresh_step('end');
    RAISE NOTICE 'refreshed % health profiles (% customers with lines)', total, staged;
END
$$;
REVOKE ALL ON PROCEDURE crm.refresh_health_profiles(integer) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE crm.refresh_health_profiles(integer) TO crm_admin;
COMMENT ON PROCEDURE crm.refresh_health_profiles(integer) IS 'Rebuilds every health profile of the current tenant (and re-evaluates the tags): one pass over the dispensing lines computing every summary (kept in session memory), then writes in batches of batch_size customer ids, one transaction each (CALL it outside a transaction block; inside one, use crm.refresh_health_profile_chunk). The tenant''s dispensing writes wait for the instant the rebuild starts and while a batch is written (tens of milliseconds per 8192 customers); profiles they write during the rebuild are newer and are not overwritten. Several sessions may run it at once. Run nightly (pg_cron) so that time-dependent dimensions stay current. For crm_admin.';

GRANT SELECT ON crm.health_profile TO crm_health_reader;
GRANT EXECUTE ON FUNCTION crm.pdc(date[], integer[], text[], date, date) TO PUBLIC;
