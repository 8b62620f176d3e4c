
-- =============================================================================================
-- 15_scoring.sql: lead scoring on the decision engine. Each tenant names its active scoring
-- decision (COLLECT SUM of points by default) and its grade thresholds; the C trigger
-- lead_10_score fills crm.lead.score, grade, score_reasons and scored_at on insert and on updates
-- of the scoring inputs; behaviour events (crm.lead_event) re-score their lead.
-- =============================================================================================

CREATE TABLE crm.scoring_config (
    tenant_id          bigint      NOT NULL DEFAULT crm.current_tenant(),
    model_name         text        NOT NULL,
    decision_name      text        NOT NULL,
    grade_a_min        numeric     NOT NULL DEFAULT 80,
    grade_b_min        numeric     NOT NULL DEFAULT 50,
    grade_c_min        numeric     NOT NULL DEFAULT 20,
    event_window       interval    NOT NULL DEFAULT '90 days' CHECK (event_window > '0'::interval),
    large_purchase_min numeric     NOT NULL DEFAULT 5000 CHECK (large_purchase_min >= 0),
    max_reasons        integer     NOT NULL DEFAULT 5 CHECK (max_reasons BETWEEN 0 AND 1000),
    active             boolean     NOT NULL DEFAULT true,
    updated_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id),
    CHECK (grade_a_min >= grade_b_min AND grade_b_min >= grade_c_min)
);
COMMENT ON TABLE crm.scoring_config IS 'The active lead scoring model of each tenant (one row per tenant) and its grade thresholds. Changing it takes effect at once in every session; re-score existing leads with crm.rescore_leads / CALL crm.rescore_open_leads().';
COMMENT ON COLUMN crm.scoring_config.model_name IS 'Decision model (crm.dmn_model.name; its current version is used).';
COMMENT ON COLUMN crm.scoring_config.decision_name IS 'Decision returning the score: a number, normally a COLLECT SUM table whose single output is the points of each rule.';
COMMENT ON COLUMN crm.scoring_config.grade_a_min IS 'Score from which a lead is grade A.';
COMMENT ON COLUMN crm.scoring_config.grade_b_min IS 'Score from which a lead is grade B (below grade_a_min).';
COMMENT ON COLUMN crm.scoring_config.grade_c_min IS 'Score from which a lead is grade C; below it D.';
COMMENT ON COLUMN crm.scoring_config.event_window IS 'Behaviour events older than this do not count (default 90 days).';
COMMENT ON COLUMN crm.scoring_config.large_purchase_min IS 'A purchase event of at least this amount counts in large_purchases (default 5000).';
COMMENT ON COLUMN crm.scoring_config.max_reasons IS 'How many reasons (largest points first) a lead keeps in score_reasons; default 5, the "top reasons" a rep reads.';
COMMENT ON COLUMN crm.scoring_config.active IS 'False pauses scoring: leads keep their last score.';
CREATE TRIGGER scoring_config_touch BEFORE UPDATE ON crm.scoring_config
    FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.scoring_config
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
SELECT crm.setup_tenant_table('crm.scoring_config');

CREATE TABLE crm.lead_event (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    event_id    bigint      GENERATED ALWAYS AS IDENTITY,
    lead_id     bigint      NOT NULL,
    kind        text        NOT NULL
                CHECK (kind IN ('page_view', 'drug_info_click', 'question', 'purchase', 'download', 'visit')),
    topic       text,
    amount      numeric     CHECK (amount >= 0),
    occurred_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES crm.lead (tenant_id, lead_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.lead_event IS 'Behaviour of a lead (mini-program page views, drug-information clicks, questions, purchases, ...). Inserting events re-scores their lead.';
COMMENT ON COLUMN crm.lead_event.kind IS 'page_view | drug_info_click | question | purchase | download | visit';
COMMENT ON COLUMN crm.lead_event.topic IS 'What the event was about, e.g. a therapeutic area (oncology) or a product code.';
COMMENT ON COLUMN crm.lead_event.amount IS 'For purchases: the amount in yuan.';
CREATE INDEX lead_event_lead_idx ON crm.lead_event (tenant_id, lead_id, occurred_at);
SELECT crm.setup_tenant_table('crm.lead_event');

CREATE TYPE crm.lead_score AS (score numeric, grade text, reasons jsonb);
COMMENT ON TYPE crm.lead_score IS 'A lead''s score, grade (A-D) and reasons (matched rules: [{"rule", "points", "reason"}], largest points first).';

CREATE FUNCTION crm.lead_score_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_score_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION crm.lead_score_trigger() IS 'Trigger lead_10_score: scores a lead with its tenant''s active scoring decision (lead columns, attributes and behaviour aggregates as inputs).';

CREATE TRIGGER lead_10_score
    BEFORE INSERT OR UPDATE OF source, channel, lead_type, company_name, province, city, district, store_id,
        customer_id, attributes, status, scored_at ON crm.lead
    FOR EACH ROW EXECUTE FUNCTION crm.lead_score_trigger();
COMMENT ON TRIGGER lead_10_score ON crm.lead IS 'Scores the lead on insert and when a scoring input changes; SET scored_at = NULL forces a re-score.';

CREATE FUNCTION crm.score(lead jsonb) RETURNS crm.lead_score
    AS 'MODULE_PATHNAME', 'crm_score'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.score(jsonb) IS 'Scores a lead given as JSON (the same inputs the trigger passes: source, channel, city, ..., attribute keys, behaviour counts) with the current tenant''s active scoring decision. For apps with their own lead tables.';

CREATE FUNCTION crm.lead_event_rescore() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('row_security') = 'off' THEN
        RETURN NULL;                    -- pg_restore: leads come back with their dumped scores
    END IF;
    IF TG_OP = 'DELETE' THEN
        UPDATE crm.lead l SET scored_at = NULL
         WHERE (l.tenant_id, l.lead_id) IN (SELECT DISTINCT e.tenant_id, e.lead_id FROM old_events e);
    ELSE
        UPDATE crm.lead l SET scored_at = NULL
         WHERE (l.tenant_id, l.lead_id) IN (SELECT DISTINCT e.tenant_id, e.lead_id FROM new_events e);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm.lead_event_rescore() IS 'Statement trigger: re-scores the leads whose behaviour events were added, changed or deleted, once per lead (runs as owner so reps who log events need no UPDATE right on scores).';
REVOKE ALL ON FUNCTION crm.lead_event_rescore() FROM PUBLIC;
CREATE TRIGGER lead_event_rescore AFTER INSERT ON crm.lead_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION crm.lead_event_rescore();
CREATE TRIGGER lead_event_rescore_update AFTER UPDATE ON crm.lead_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION crm.lead_event_rescore();
CREATE TRIGGER lead_event_rescore_delete AFTER DELETE ON crm.lead_event
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION crm.lead_event_rescore();

CREATE FUNCTION crm.rescore_leads(batch_size integer DEFAULT 1000, after_lead_id bigint DEFAULT 0)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    last_id bigint;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 OR batch_size > 100000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 100000, got %', batch_size
            USING ERRCODE = '22023', HINT = 'Re-score in batches of a few thousand leads per transaction.';
    END IF;
    WITH batch AS (
        SELECT l.tenant_id, l.lead_id FROM crm.lead l
         WHERE l.tenant_id = crm.current_tenant() AND l.lead_id > COALESCE(after_lead_id, 0)
           AND l.status IN ('new', 'assigned', 'accepted', 'qualified', 'unassigned')
         ORDER BY l.lead_id
         LIMIT batch_size
           FOR UPDATE),
    done AS (
        UPDATE crm.lead l SET scored_at = NULL
          FROM batch b WHERE l.tenant_id = b.tenant_id AND l.lead_id = b.lead_id
        RETURNING l.lead_id)
    SELECT pg_catalog.max(d.lead_id) INTO last_id FROM done d;
    RETURN last_id;
END
$$;
COMMENT ON FUNCTION crm.rescore_leads(integer, bigint) IS 'Re-scores the next batch of open leads of the current tenant with lead_id > after_lead_id; returns the last lead_id done, or NULL when none is left. Call it repeatedly, one transaction per call, so that rows stay locked only briefly (or CALL crm.rescore_open_leads()).';

-- No SET clause: a procedure with one cannot COMMIT. Every reference is qualified instead.
CREATE PROCEDURE crm.rescore_open_leads(batch_size integer DEFAULT 1000)
    LANGUAGE plpgsql
AS $$
DECLARE
    last_id bigint := 0;
BEGIN
    LOOP
        last_id := crm.rescore_leads(batch_size, last_id);
        COMMIT;
        EXIT WHEN last_id IS NULL;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE crm.rescore_open_leads(integer) IS 'After a scoring model change: re-scores every open lead of the current tenant in batches, committing after each batch (CALL it outside a transaction block).';

GRANT SELECT ON crm.scoring_config TO crm_rep;
GRANT INSERT, UPDATE, DELETE ON crm.scoring_config TO crm_admin;
GRANT SELECT, INSERT ON crm.lead_event TO crm_rep;
GRANT DELETE ON crm.lead_event TO crm_admin;
REVOKE ALL ON FUNCTION crm.score(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.score(jsonb) TO crm_rep;
REVOKE ALL ON FUNCTION crm.rescore_leads(integer, bigint) FROM PUBLIC;
REVOKE ALL ON PROCEDURE crm.rescore_open_leads(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.rescore_leads(integer, bigint) TO crm_admin;
GRANT EXECUTE ON PROCEDURE crm.rescore_open_leads(integer) TO crm_admin;

-- BI: scored leads by grade. Runs with the owner's rights (BI roles get no table access) and filters
-- the tenant itself, like crm.lead_funnel.
CREATE VIEW crm.lead_grades AS
SELECT l.tenant_id,
       (l.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
       l.city,
       l.source,
       l.grade,
       pg_catalog.count(*) AS leads,
       pg_catalog.round(pg_catalog.avg(l.score), 1) AS avg_score
  FROM crm.lead l
 WHERE l.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
   AND l.grade IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW crm.lead_grades IS 'Scored leads per day (China Standard Time), city, source and grade, with their average score, for BI.';
GRANT SELECT ON crm.lead_grades TO crm_bi_reader;
