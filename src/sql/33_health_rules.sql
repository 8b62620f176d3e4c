
-- ---------------------------------------------------------------------------------------------
-- 33_health_rules.sql: tags and care actions from decision tables over the health profile.
-- The rules themselves are DMN decision tables evaluated by crm.decide(model, decision, inputs)
-- (authored in SQL or imported as DMN XML); crm.health_rule_set says which decisions produce tags
-- and which produce care actions, and under which consent purpose. Adding a tag is adding a rule
-- to a decision table: no code. See docs/health.md.
-- ---------------------------------------------------------------------------------------------

CREATE VIEW crm.health_profile_full AS
SELECT p.*,
       COALESCE((SELECT pg_catalog.array_agg(DISTINCT c ORDER BY c)
                              FROM crm.household_member m
                              JOIN crm.health_profile q ON q.tenant_id OPERATOR(pg_catalog.=) m.tenant_id
                                                       AND q.customer_id OPERATOR(pg_catalog.=) m.member_id,
                                   LATERAL pg_catalog.unnest(q.conditions) c
                             WHERE m.tenant_id OPERATOR(pg_catalog.=) p.tenant_id
                               AND m.customer_id OPERATOR(pg_catalog.=) p.customer_id), '{}') AS household_conditions,
       (SELECT pg_catalog.count(*) FROM crm.household_member m
         WHERE m.tenant_id OPERATOR(pg_catalog.=) p.tenant_id
           AND m.customer_id OPERATOR(pg_catalog.=) p.customer_id)::integer AS household_size,
       (SELECT COALESCE(pg_catalog.sum(e.points), 0) FROM crm.loyalty_event e
         WHERE e.tenant_id OPERATOR(pg_catalog.=) p.tenant_id
           AND e.customer_id OPERATOR(pg_catalog.=) p.customer_id)::bigint AS loyalty_points
  FROM crm.health_profile p;
ALTER VIEW crm.health_profile_full SET (security_invoker = true);
COMMENT ON VIEW crm.health_profile_full IS 'crm.health_profile plus the dimensions that depend on other rows, computed when read: household_conditions (conditions of the customer''s family members), household_size, loyalty_points (balance). Health data: crm_health_reader.';

CREATE TABLE crm.health_rule_set (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    rule_set_id bigint      GENERATED ALWAYS AS IDENTITY,
    kind        text        NOT NULL CHECK (kind IN ('tag', 'care')),
    model       text        NOT NULL,
    decision    text        NOT NULL,
    purpose     text        NOT NULL
                CHECK (purpose IN ('health_tagging', 'care_outreach', 'marketing')),
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, rule_set_id),
    UNIQUE (tenant_id, kind, model, decision)
);
COMMENT ON TABLE crm.health_rule_set IS 'Which decisions (crm.decide(model, decision, profile)) produce customer tags (kind tag) or care actions (kind care), and the consent purpose they need. The decisions are COLLECT decision tables; see docs/health.md for their outputs.';
COMMENT ON COLUMN crm.health_rule_set.kind IS 'tag: outputs tag (text) | care: outputs action, target, period (and optionally note).';
COMMENT ON COLUMN crm.health_rule_set.purpose IS 'Consent purpose needed: health_tagging, care_outreach or marketing (coupons). Customers without a current consent for it get no tags / actions from this rule set.';

CREATE TABLE crm.customer_tag (
    tenant_id    bigint      NOT NULL DEFAULT crm.current_tenant(),
    customer_id  bigint      NOT NULL,
    tag          text        NOT NULL CHECK (tag ~ '^[a-z][a-z0-9_]*$'),
    rule_set_id  bigint      NOT NULL,
    rule         text        NOT NULL,
    since        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    evaluated_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (tenant_id, customer_id, tag),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, rule_set_id) REFERENCES crm.health_rule_set (tenant_id, rule_set_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.customer_tag IS 'Tags of customers derived from their health profile by decision tables (e.g. hypertension_refill_gap_90d, diabetic_household, high_value_dtp). Health data: crm_health_reader. Re-evaluated whenever the profile changes; a tag no rule produces any more is removed.';
COMMENT ON COLUMN crm.customer_tag.rule IS 'The rule that produced the tag: model/decision#rule position, with the rule''s annotation.';
COMMENT ON COLUMN crm.customer_tag.since IS 'When the customer first got the tag (kept while rules keep producing it).';
COMMENT ON COLUMN crm.customer_tag.evaluated_at IS 'When the rules last confirmed the tag.';
CREATE INDEX customer_tag_tag_idx ON crm.customer_tag (tenant_id, tag);

CREATE TABLE crm.care_task (
    tenant_id           bigint      NOT NULL DEFAULT crm.current_tenant(),
    care_task_id        bigint      GENERATED ALWAYS AS IDENTITY,
    customer_id         bigint      NOT NULL,
    subject_customer_id bigint      NOT NULL,
    action              text        NOT NULL
                        CHECK (action IN ('clinic_invite', 'coupon', 'pharmacist_call', 'refill_reminder',
                                          'home_visit', 'health_education')),
    period_start        date        NOT NULL,
    relation            text        NOT NULL DEFAULT 'self',
    purpose             text        NOT NULL,
    rule_set_id         bigint      NOT NULL,
    rule                text        NOT NULL,
    note                text,
    status              text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    store_id            bigint,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    closed_at           timestamptz,
    PRIMARY KEY (tenant_id, care_task_id),
    UNIQUE (tenant_id, customer_id, action, period_start),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, subject_customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, rule_set_id) REFERENCES crm.health_rule_set (tenant_id, rule_set_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.care_task IS 'Care actions (关怀任务) generated by crm.run_care_rules(): one per customer, action and period at most (running the rules again creates nothing new). Each new task is announced in crm.outbox (topic care.task_created). Health data: crm_health_reader.';
COMMENT ON COLUMN crm.care_task.customer_id IS 'Who receives the action (the customer or a family member).';
COMMENT ON COLUMN crm.care_task.subject_customer_id IS 'Whose profile triggered the action.';
COMMENT ON COLUMN crm.care_task.action IS 'clinic_invite | coupon | pharmacist_call | refill_reminder | home_visit | health_education';
COMMENT ON COLUMN crm.care_task.period_start IS 'First day of the period (week, month or quarter, as the rule says) the action belongs to: the idempotence key with customer and action.';
COMMENT ON COLUMN crm.care_task.relation IS 'self, or what the recipient is to the subject (spouse, child, ...).';
COMMENT ON COLUMN crm.care_task.rule IS 'The rule that produced the action: model/decision#rule position, with the rule''s annotation.';
COMMENT ON COLUMN crm.care_task.store_id IS 'The store that should act: the subject''s preferred store.';
CREATE INDEX care_task_subject_idx ON crm.care_task (tenant_id, subject_customer_id);

SELECT crm.setup_tenant_table('crm.health_rule_set');
SELECT crm.setup_tenant_table('crm.customer_tag');
SELECT crm.setup_tenant_table('crm.care_task');

-- What the decisions see: the full profile as one JSON object (every column of
-- crm.health_profile_full), plus each condition's detail under the condition's own name, e.g.
-- hypertension.days_overdue, and as_of.
CREATE FUNCTION crm.health_decision_inputs(tenant bigint, customer bigint) RETURNS jsonb
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT pg_catalog.to_jsonb(f) OPERATOR(pg_catalog.||) f.condition_detail
      FROM crm.health_profile_full f
     WHERE f.tenant_id OPERATOR(pg_catalog.=) tenant AND f.customer_id OPERATOR(pg_catalog.=) customer;
END;
COMMENT ON FUNCTION crm.health_decision_inputs(bigint, bigint) IS 'The inputs tag and care decisions get for a customer: every column of crm.health_profile_full, plus each condition''s detail object under its name (hypertension.days_overdue, diabetes.pdc_365, ...). NULL without a profile.';

-- The rule of a decision table that outputs a value in its first output column.
CREATE FUNCTION crm.health_rule_label(model text, decision text, first_output text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    label text;
BEGIN
    SELECT format('%s/%s#%s', model, decision, r.position) || coalesce(': ' || r.annotation, '')
      INTO label
      FROM crm.dmn_rule r
     WHERE r.decision_id = crm.dmn_decision_id(model, decision)
       AND btrim(r.output_entries[1]) = to_jsonb(first_output)::text
     ORDER BY r.position LIMIT 1;
    RETURN coalesce(label, format('%s/%s', model, decision));
END
$$;
COMMENT ON FUNCTION crm.health_rule_label(text, text, text) IS 'Names the rule behind a tag or care action: model/decision#position and its annotation (the first rule whose first output is that value).';

-- The decision result as rows: accepts a string, an object, or an array of either.
CREATE FUNCTION crm.health_decision_rows(result jsonb) RETURNS SETOF jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE pg_catalog.jsonb_typeof(e) WHEN 'object' THEN e ELSE pg_catalog.jsonb_build_object('value', e) END
      FROM pg_catalog.jsonb_array_elements(CASE pg_catalog.jsonb_typeof(result) WHEN 'array' THEN result
                                                WHEN 'null' THEN '[]'::jsonb
                                                ELSE pg_catalog.jsonb_build_array(result) END) e
     WHERE pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.<>) 'null';
END;
COMMENT ON FUNCTION crm.health_decision_rows(jsonb) IS 'Internal: a crm.decide result (null, a value, an object, or an array of them) as one object per hit; a bare value comes as {"value": ...}.';

CREATE FUNCTION crm.evaluate_health_tags(tenant bigint, customers bigint[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rs record;
    c bigint;
    inputs jsonb;
    changed integer := 0;
    n integer;
    tags text[];
BEGIN
    FOR rs IN SELECT * FROM crm.health_rule_set s
               WHERE s.tenant_id = tenant AND s.kind = 'tag' AND s.enabled ORDER BY s.rule_set_id
    LOOP
        FOREACH c IN ARRAY customers LOOP
            inputs := crm.health_decision_inputs(tenant, c);
            tags := '{}';
            IF inputs IS NOT NULL AND crm.has_consent(tenant, c, rs.purpose) THEN
                SELECT coalesce(array_agg(DISTINCT coalesce(r ->> 'tag', r ->> 'value')), '{}') INTO tags
                  FROM crm.health_decision_rows(crm.decide(rs.model, rs.decision, inputs)) r
                 WHERE coalesce(r ->> 'tag', r ->> 'value') IS NOT NULL;
            END IF;
            DELETE FROM crm.customer_tag g
             WHERE g.tenant_id = tenant AND g.customer_id = c AND g.rule_set_id = rs.rule_set_id
               AND g.tag <> ALL (tags);
            GET DIAGNOSTICS n = ROW_COUNT;
            changed := changed + n;
            INSERT INTO crm.customer_tag AS g (tenant_id, customer_id, tag, rule_set_id, rule)
            SELECT tenant, c, t, rs.rule_set_id, crm.health_rule_label(rs.model, rs.decision, t)
              FROM unnest(tags) t
            ON CONFLICT (tenant_id, customer_id, tag) DO UPDATE
               SET evaluated_at = clock_timestamp(), rule = EXCLUDED.rule, rule_set_id = EXCLUDED.rule_set_id;
            GET DIAGNOSTICS n = ROW_COUNT;
            changed := changed + n;
        END LOOP;
    END LOOP;
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION crm.evaluate_health_tags(bigint, bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION crm.evaluate_health_tags(bigint, bigint[]) IS 'Internal: evaluates every enabled tag rule set of the tenant for these customers (crm.decide over crm.health_decision_inputs) and brings crm.customer_tag in line: new tags added (since = now), confirmed ones kept, others removed. Customers without consent for the rule set''s purpose lose its tags.';

-- Called after profiles change: the customers themselves and their family members (whose
-- household conditions just changed). Does nothing while no tag rule set is enabled.
CREATE FUNCTION crm.health_rules_after_profile(tenant bigint, customers bigint[], lo bigint, hi bigint)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    affected bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM crm.health_rule_set s
                    WHERE s.tenant_id = tenant AND s.kind = 'tag' AND s.enabled) THEN
        RETURN 0;
    END IF;
    SELECT array_agg(DISTINCT x ORDER BY x) INTO affected FROM (
        SELECT p.customer_id AS x FROM crm.health_profile p
         WHERE p.tenant_id = tenant
           AND (p.customer_id = ANY (customers) OR (customers IS NULL AND p.customer_id BETWEEN lo AND hi))
        UNION
        SELECT g.customer_id FROM crm.customer_tag g
         WHERE g.tenant_id = tenant
           AND (g.customer_id = ANY (customers) OR (customers IS NULL AND g.customer_id BETWEEN lo AND hi))
        UNION
        SELECT m.member_id FROM crm.household_member m
         WHERE m.tenant_id = tenant AND m.customer_id = ANY (customers)) s;
    RETURN crm.evaluate_health_tags(tenant, coalesce(affected, '{}'));
END
$$;
REVOKE ALL ON FUNCTION crm.health_rules_after_profile(bigint, bigint[], bigint, bigint) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_rules_after_profile(bigint, bigint[], bigint, bigint) IS 'Internal: after profiles changed (the listed customers, or ids lo..hi), re-evaluates the tags of those customers and of their family members.';

CREATE FUNCTION crm.health_period_start(day date, period text) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF period IS NULL OR period = 'month' THEN
        RETURN date_trunc('month', day)::date;
    ELSIF period IN ('week', 'quarter', 'year') THEN
        RETURN date_trunc(period, day)::date;
    END IF;
    RAISE EXCEPTION 'unknown care period "%"', period
        USING ERRCODE = '22023', HINT = 'A care rule''s period output is week, month, quarter or year.';
END
$$;
COMMENT ON FUNCTION crm.health_period_start(date, text) IS 'First day of the week, month (default), quarter or year containing day: the period of a care action.';

CREATE FUNCTION crm.run_care_rules() RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    day date := crm.health_today();
    rs record;
    p record;
    hit jsonb;
    inputs jsonb;
    created integer := 0;
BEGIN
    FOR rs IN SELECT * FROM crm.health_rule_set s
               WHERE s.tenant_id = t AND s.kind = 'care' AND s.enabled ORDER BY s.rule_set_id
    LOOP
        FOR p IN SELECT f.customer_id, f.preferred_store_id FROM crm.health_profile f
                  WHERE f.tenant_id = t ORDER BY f.customer_id
        LOOP
            inputs := crm.health_decision_inputs(t, p.customer_id);
            FOR hit IN SELECT * FROM crm.health_decision_rows(crm.decide(rs.model, rs.decision, inputs))
            LOOP
                created := created + crm.health_care_hit(t, rs, p.customer_id, p.preferred_store_id, hit, day);
            END LOOP;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION crm.run_care_rules() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.run_care_rules() TO crm_admin;
COMMENT ON FUNCTION crm.run_care_rules() IS 'Evaluates every enabled care rule set of the caller''s tenant over every profile and creates the care tasks that do not exist yet for their customer, action and period (idempotent: a second run creates nothing), each announced in crm.outbox. Consent: the recipient needs a current consent for the rule set''s purpose, and a family member is contacted only if the subject consented to household_sharing. Returns the tasks created. For crm_admin (schedule it with pg_cron).';

CREATE FUNCTION crm.health_care_hit(tenant bigint, rs crm.health_rule_set, subject bigint, store bigint,
                                    hit jsonb, day date) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    action text := coalesce(hit ->> 'action', hit ->> 'value');
    target text := coalesce(hit ->> 'target', 'self');
    period date := crm.health_period_start(day, hit ->> 'period');
    rule text := crm.health_rule_label(rs.model, rs.decision, action);
    r record;
    id bigint;
    created integer := 0;
BEGIN
    IF action IS NULL THEN
        RAISE EXCEPTION 'care decision %/% returned no action', rs.model, rs.decision
            USING ERRCODE = '22023', HINT = 'A care decision outputs action (and optionally target, period, note).';
    END IF;
    FOR r IN
        SELECT subject AS customer_id, 'self' AS relation WHERE target = 'self'
        UNION ALL
        SELECT m.member_id, m.relation FROM crm.household_member m
         WHERE target <> 'self' AND m.tenant_id = tenant AND m.customer_id = subject
           AND (target = 'household' OR m.relation = target)
    LOOP
        CONTINUE WHEN NOT crm.has_consent(tenant, r.customer_id, rs.purpose);
        CONTINUE WHEN r.customer_id <> subject AND NOT crm.has_consent(tenant, subject, 'household_sharing');
        INSERT INTO crm.care_task (tenant_id, customer_id, subject_customer_id, action, period_start, relation,
                                   purpose, rule_set_id, rule, note, store_id)
        VALUES (tenant, r.customer_id, subject, action, period, r.relation, rs.purpose, rs.rule_set_id, rule,
                hit ->> 'note', store)
        ON CONFLICT ON CONSTRAINT care_task_tenant_id_customer_id_action_period_start_key DO NOTHING
        RETURNING care_task_id INTO id;
        IF id IS NOT NULL THEN
            INSERT INTO crm.outbox (tenant_id, topic, entity, entity_id, recipient, payload)
            VALUES (tenant, 'care.task_created', 'care_task', id,
                    (SELECT s.code FROM crm.store s WHERE s.tenant_id = tenant AND s.store_id = store),
                    jsonb_build_object('care_task_id', id, 'customer_id', r.customer_id, 'action', action,
                                       'period_start', period, 'store_id', store));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION crm.health_care_hit(bigint, crm.health_rule_set, bigint, bigint, jsonb, date) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_care_hit(bigint, crm.health_rule_set, bigint, bigint, jsonb, date) IS 'Internal: turns one hit of a care decision into care tasks for the subject or family members (consent checked), skipping those that exist for the customer, action and period; announces new ones in crm.outbox. The outbox payload carries ids and the action only, no health data.';

GRANT SELECT ON crm.health_profile_full, crm.customer_tag, crm.care_task TO crm_health_reader;
GRANT SELECT ON crm.health_rule_set TO crm_manager;
GRANT INSERT, UPDATE, DELETE ON crm.health_rule_set TO crm_admin;
GRANT UPDATE (status, closed_at) ON crm.care_task TO crm_health_reader;
