
-- ---------------------------------------------------------------------------------------------
-- 34_health_privacy.sql: protection of health data (PIPL Art. 28, 51, 55). Keyed pseudonyms for
-- phone and national ID, a separate re-identification vault, consent per purpose with withdrawal,
-- an append-only access log, the reader and export functions that write it, and BI views with
-- small cells suppressed. The privacy model is described in docs/health.md.
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION crm.hmac_sha256(key bytea, message bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_hmac_sha256'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.hmac_sha256(bytea, bytea) IS 'HMAC-SHA256 (RFC 2104) computed with PostgreSQL''s own implementation (common/hmac.h); the key must have at least 16 bytes.';

CREATE FUNCTION crm.random_key() RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_random_key'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.random_key() IS '32 bytes from the operating system''s strong random source (pg_strong_random), for pseudonym keys.';
REVOKE ALL ON FUNCTION crm.random_key() FROM PUBLIC;

CREATE FUNCTION crm.caller_tenant() RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_caller_tenant'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.caller_tenant() IS 'crm.current_tenant() checked for the calling role (the session or SET ROLE role), also inside SECURITY DEFINER functions, which use it to serve only the caller''s tenant.';

CREATE FUNCTION crm.caller() RETURNS name
    AS 'MODULE_PATHNAME', 'crm_caller'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.caller() IS 'The calling role (the session or SET ROLE role), also inside SECURITY DEFINER functions.';

-- ---------------------------------------------------------------------------------------------
-- Pseudonyms
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.pseudonym_key (
    tenant_id  bigint      NOT NULL DEFAULT crm.current_tenant(),
    key        bytea       NOT NULL CHECK (pg_catalog.length(key) >= 16),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id)
);
COMMENT ON TABLE crm.pseudonym_key IS 'The tenant''s secret HMAC key for identifier pseudonyms; created on first use from crm.random_key(). Only crm_admin may read it. Changing it orphans every stored pseudonym.';

CREATE TABLE crm.customer_identifier (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    kind        text        NOT NULL CHECK (kind IN ('phone', 'national_id')),
    pseudonym   text        NOT NULL CHECK (pseudonym ~ '^[0-9a-f]{64}$'),
    customer_id bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, kind, pseudonym),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.customer_identifier IS 'Direct identifiers of customers, only as keyed pseudonyms: HMAC-SHA256 of the normalised value under the tenant''s crm.pseudonym_key. Find a customer with crm.find_customer(kind, value).';
COMMENT ON COLUMN crm.customer_identifier.kind IS 'phone | national_id';
COMMENT ON COLUMN crm.customer_identifier.pseudonym IS 'Hex HMAC-SHA256 of kind:normalised value (crm.pseudonym).';
CREATE INDEX customer_identifier_customer_idx ON crm.customer_identifier (tenant_id, customer_id);

CREATE TABLE crm.identity_vault (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    kind        text        NOT NULL CHECK (kind IN ('phone', 'national_id')),
    pseudonym   text        NOT NULL,
    plain_value text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, kind, pseudonym),
    FOREIGN KEY (tenant_id, kind, pseudonym) REFERENCES crm.customer_identifier (tenant_id, kind, pseudonym) ON DELETE CASCADE
);
COMMENT ON TABLE crm.identity_vault IS 'Re-identification mapping (pseudonym → identifier), kept only where re-identification is needed. No role has any privilege on it: values go in through crm.register_identifier(..., keep => true) and come out only through crm.reidentify(), which crm_admin alone may call and which writes the access log.';

CREATE FUNCTION crm.normalize_identifier(kind text, value text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text;
BEGIN
    IF kind = 'phone' THEN
        v := regexp_replace(value, '[\s\-().]', '', 'g');
        v := regexp_replace(v, '^(\+|00)?86(?=1\d{10}$)', '');
        IF v !~ '^\+?\d{5,15}$' THEN
            RAISE EXCEPTION 'phone number "%" is not valid', value
                USING ERRCODE = '22023', HINT = 'Give 5 to 15 digits, e.g. 13812345678 or +86 138 1234 5678.';
        END IF;
        RETURN v;
    ELSIF kind = 'national_id' THEN
        v := upper(regexp_replace(value, '\s', '', 'g'));
        IF v !~ '^(\d{17}[\dX]|\d{15})$' THEN
            RAISE EXCEPTION 'national ID "%" is not a resident identity card number', value
                USING ERRCODE = '22023', HINT = 'A resident ID (居民身份证号) has 18 characters (17 digits and a digit or X) or 15 digits.';
        END IF;
        RETURN v;
    END IF;
    RAISE EXCEPTION 'unknown identifier kind "%"', kind
        USING ERRCODE = '22023', HINT = 'Use phone or national_id.';
END
$$;
COMMENT ON FUNCTION crm.normalize_identifier(text, text) IS 'Canonical form of a phone number (digits, +86 dropped for mainland mobiles) or national ID (upper case, no blanks), so that one person always gets one pseudonym; 22023 on malformed values.';

CREATE FUNCTION crm.pseudonym(kind text, value text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    k bytea;
BEGIN
    SELECT p.key INTO k FROM crm.pseudonym_key p WHERE p.tenant_id = t;
    IF NOT FOUND THEN
        INSERT INTO crm.pseudonym_key (tenant_id, key) VALUES (t, crm.random_key())
            ON CONFLICT (tenant_id) DO NOTHING;
        SELECT p.key INTO k FROM crm.pseudonym_key p WHERE p.tenant_id = t;
    END IF;
    RETURN encode(crm.hmac_sha256(k, convert_to(kind || ':' || crm.normalize_identifier(kind, value), 'UTF8')), 'hex');
END
$$;
REVOKE ALL ON FUNCTION crm.pseudonym(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.pseudonym(text, text) TO crm_rep;
COMMENT ON FUNCTION crm.pseudonym(text, text) IS 'Keyed pseudonym of a phone number or national ID for the caller''s tenant: hex HMAC-SHA256 under the tenant''s secret key (created on first use). The key itself stays unreadable to the caller.';

CREATE FUNCTION crm.register_identifier(customer bigint, kind text, value text, keep_for_reidentification boolean DEFAULT false)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    p text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM crm.customer c WHERE c.tenant_id = t AND c.customer_id = customer) THEN
        RAISE EXCEPTION 'customer % does not exist', customer
            USING ERRCODE = '23503', HINT = 'Register the customer in crm.customer first.';
    END IF;
    p := crm.pseudonym(kind, value);
    INSERT INTO crm.customer_identifier (tenant_id, kind, pseudonym, customer_id)
    VALUES (t, kind, p, customer)
    ON CONFLICT ON CONSTRAINT customer_identifier_pkey DO UPDATE SET customer_id = EXCLUDED.customer_id;
    IF keep_for_reidentification THEN
        INSERT INTO crm.identity_vault (tenant_id, kind, pseudonym, plain_value)
        VALUES (t, kind, p, crm.normalize_identifier(kind, value))
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN p;
END
$$;
REVOKE ALL ON FUNCTION crm.register_identifier(bigint, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.register_identifier(bigint, text, text, boolean) TO crm_manager;
COMMENT ON FUNCTION crm.register_identifier(bigint, text, text, boolean) IS 'Stores a customer''s phone or national ID as a keyed pseudonym (and, only if keep_for_reidentification, the value in crm.identity_vault). Returns the pseudonym. For crm_manager.';

CREATE FUNCTION crm.find_customer(kind text, value text) RETURNS bigint
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT i.customer_id FROM crm.customer_identifier i
     WHERE i.kind OPERATOR(pg_catalog.=) find_customer.kind
       AND i.pseudonym OPERATOR(pg_catalog.=) crm.pseudonym(find_customer.kind, find_customer.value);
END;
COMMENT ON FUNCTION crm.find_customer(text, text) IS 'The customer with this phone number or national ID (compared by pseudonym), or NULL.';

-- ---------------------------------------------------------------------------------------------
-- Access log: append-only, even for the table owner (triggers), readable by crm_admin (auditors).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.health_access_log (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    log_id      bigint      GENERATED ALWAYS AS IDENTITY,
    logged_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    role_name   name        NOT NULL DEFAULT crm.caller(),
    session_role name       NOT NULL DEFAULT SESSION_USER,
    action      text        NOT NULL CHECK (action IN ('read', 'export', 'reidentify', 'consent_change', 'bi_read')),
    object      text        NOT NULL,
    customer_id bigint,
    row_count   bigint,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (tenant_id, log_id)
);
COMMENT ON TABLE crm.health_access_log IS 'Who read, exported or re-identified health data through the extension''s functions (PIPL Art. 55: keep at least 3 years). Append-only: UPDATE, DELETE and TRUNCATE raise an error for every role, owner included. Readable by crm_admin.';
COMMENT ON COLUMN crm.health_access_log.role_name IS 'The role that called (SET ROLE or login role).';
COMMENT ON COLUMN crm.health_access_log.session_role IS 'The login role of the session.';
COMMENT ON COLUMN crm.health_access_log.action IS 'read | export | reidentify | consent_change | bi_read';
COMMENT ON COLUMN crm.health_access_log.object IS 'The function or view used, e.g. crm.health_profile_of.';
COMMENT ON COLUMN crm.health_access_log.customer_id IS 'The customer concerned, when one.';
COMMENT ON COLUMN crm.health_access_log.row_count IS 'Rows returned or exported.';

CREATE FUNCTION crm.health_access_log_immutable() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'crm.health_access_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = '42501', HINT = 'Access records are kept for audit; they cannot be changed or removed.';
END
$$;
COMMENT ON FUNCTION crm.health_access_log_immutable() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE on crm.health_access_log.';
CREATE TRIGGER health_access_log_no_update BEFORE UPDATE OR DELETE ON crm.health_access_log
    FOR EACH ROW EXECUTE FUNCTION crm.health_access_log_immutable();
CREATE TRIGGER health_access_log_no_truncate BEFORE TRUNCATE ON crm.health_access_log
    FOR EACH STATEMENT EXECUTE FUNCTION crm.health_access_log_immutable();

CREATE FUNCTION crm.log_health_access(action text, object text, customer bigint DEFAULT NULL,
                                      row_count bigint DEFAULT NULL, detail jsonb DEFAULT '{}')
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO crm.health_access_log (tenant_id, role_name, action, object, customer_id, row_count, detail)
    VALUES (crm.caller_tenant(), crm.caller(), action, object, customer, row_count, coalesce(detail, '{}'));
END
$$;
REVOKE ALL ON FUNCTION crm.log_health_access(text, text, bigint, bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.log_health_access(text, text, bigint, bigint, jsonb) TO crm_health_reader, crm_admin;
COMMENT ON FUNCTION crm.log_health_access(text, text, bigint, bigint, jsonb) IS 'Appends a record to crm.health_access_log in the caller''s name (the caller cannot choose the role recorded).';

CREATE FUNCTION crm.reidentify(kind text, pseudonym text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    v text;
    c bigint;
BEGIN
    SELECT x.plain_value, i.customer_id INTO v, c
      FROM crm.identity_vault x
      JOIN crm.customer_identifier i USING (tenant_id, kind, pseudonym)
     WHERE x.tenant_id = t AND x.kind = reidentify.kind AND x.pseudonym = reidentify.pseudonym;
    PERFORM crm.log_health_access('reidentify', 'crm.reidentify', c, CASE WHEN v IS NULL THEN 0 ELSE 1 END,
                                  jsonb_build_object('kind', kind, 'pseudonym', pseudonym));
    RETURN v;
END
$$;
REVOKE ALL ON FUNCTION crm.reidentify(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.reidentify(text, text) TO crm_admin;
COMMENT ON FUNCTION crm.reidentify(text, text) IS 'The identifier behind a pseudonym, if it was kept in crm.identity_vault; every call is logged in crm.health_access_log. For crm_admin only.';

-- ---------------------------------------------------------------------------------------------
-- Consent per customer and purpose
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.consent (
    tenant_id    bigint      NOT NULL DEFAULT crm.current_tenant(),
    consent_id   bigint      GENERATED ALWAYS AS IDENTITY,
    customer_id  bigint      NOT NULL,
    purpose      text        NOT NULL
                 CHECK (purpose IN ('health_tagging', 'care_outreach', 'marketing', 'household_sharing')),
    granted_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    withdrawn_at timestamptz,
    evidence     text,
    PRIMARY KEY (tenant_id, consent_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= granted_at)
);
COMMENT ON TABLE crm.consent IS 'Separate consent (单独同意, PIPL Art. 29) per customer and purpose, with withdrawal; the history stays. Tags and care actions for a purpose happen only under a current consent: crm.grant_consent, crm.withdraw_consent.';
COMMENT ON COLUMN crm.consent.purpose IS 'health_tagging (tags from the health profile) | care_outreach (care actions to the customer) | marketing (coupons) | household_sharing (care actions to family members derived from this customer''s health data)';
COMMENT ON COLUMN crm.consent.evidence IS 'How consent was given (signed form number, app consent record id, ...).';
CREATE UNIQUE INDEX consent_current_idx ON crm.consent (tenant_id, customer_id, purpose) WHERE withdrawn_at IS NULL;

CREATE FUNCTION crm.has_consent(tenant bigint, customer bigint, purpose text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT EXISTS (SELECT 1 FROM crm.consent c
                    WHERE c.tenant_id OPERATOR(pg_catalog.=) tenant AND c.customer_id OPERATOR(pg_catalog.=) customer
                      AND c.purpose OPERATOR(pg_catalog.=) has_consent.purpose AND c.withdrawn_at IS NULL);
END;
COMMENT ON FUNCTION crm.has_consent(bigint, bigint, text) IS 'True while the customer has a current (not withdrawn) consent for the purpose.';

CREATE FUNCTION crm.grant_consent(customer bigint, purpose text, evidence text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id bigint;
BEGIN
    SELECT c.consent_id INTO id FROM crm.consent c
     WHERE c.customer_id = customer AND c.purpose = grant_consent.purpose AND c.withdrawn_at IS NULL;
    IF FOUND THEN
        RETURN id;
    END IF;
    INSERT INTO crm.consent (customer_id, purpose, evidence) VALUES (customer, purpose, evidence)
    RETURNING consent_id INTO id;
    RETURN id;
END
$$;
REVOKE ALL ON FUNCTION crm.grant_consent(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.grant_consent(bigint, text, text) TO crm_manager;
COMMENT ON FUNCTION crm.grant_consent(bigint, text, text) IS 'Records a customer''s consent for a purpose (no-op if one is current); returns its consent_id. For crm_manager.';

CREATE FUNCTION crm.withdraw_consent(customer bigint, purpose text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.caller_tenant();
    n integer;
BEGIN
    UPDATE crm.consent c SET withdrawn_at = greatest(now(), c.granted_at)
     WHERE c.tenant_id = t AND c.customer_id = customer AND c.purpose = withdraw_consent.purpose
       AND c.withdrawn_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- what was derived under the consent goes with it
    IF withdraw_consent.purpose = 'health_tagging' THEN
        DELETE FROM crm.customer_tag g WHERE g.tenant_id = t AND g.customer_id = customer;
    END IF;
    UPDATE crm.care_task k SET status = 'cancelled', closed_at = now()
     WHERE k.tenant_id = t AND k.status = 'open'
       AND ((k.customer_id = customer AND k.purpose = withdraw_consent.purpose)
         OR (withdraw_consent.purpose = 'household_sharing' AND k.subject_customer_id = customer
             AND k.customer_id <> customer));
    PERFORM crm.log_health_access('consent_change', 'crm.withdraw_consent', customer, n,
                                  jsonb_build_object('purpose', withdraw_consent.purpose));
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION crm.withdraw_consent(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.withdraw_consent(bigint, text) TO crm_manager;
COMMENT ON FUNCTION crm.withdraw_consent(bigint, text) IS 'Withdraws a customer''s consent for a purpose: withdrawing health_tagging removes the customer''s tags, and open care tasks under the purpose (or, for household_sharing, derived from this customer for family members) are cancelled. Returns the consents withdrawn (0 or 1). For crm_manager.';

SELECT crm.setup_tenant_table('crm.pseudonym_key');
SELECT crm.setup_tenant_table('crm.customer_identifier');
SELECT crm.setup_tenant_table('crm.identity_vault');
SELECT crm.setup_tenant_table('crm.health_access_log');
SELECT crm.setup_tenant_table('crm.consent');

GRANT SELECT ON crm.pseudonym_key TO crm_admin;
GRANT SELECT ON crm.customer_identifier TO crm_manager;
GRANT SELECT ON crm.consent TO crm_manager;
GRANT SELECT ON crm.health_access_log TO crm_admin;
GRANT SELECT ON crm.customer TO crm_health_reader;

-- ---------------------------------------------------------------------------------------------
-- Reading and exporting health data through the extension: every call is logged.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.health_profile_of(customer bigint) RETURNS SETOF crm.health_profile_full
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    RETURN QUERY SELECT * FROM crm.health_profile_full f WHERE f.customer_id = customer;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM crm.log_health_access('read', 'crm.health_profile_of', customer, n);
END
$$;
COMMENT ON FUNCTION crm.health_profile_of(bigint) IS 'One customer''s full health profile (crm.health_profile_full); the read is written to crm.health_access_log. For crm_health_reader.';

CREATE FUNCTION crm.export_health_profiles(condition text DEFAULT NULL) RETURNS SETOF crm.health_profile_full
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    RETURN QUERY SELECT * FROM crm.health_profile_full f
                  WHERE condition IS NULL OR condition = ANY (f.conditions)
                  ORDER BY f.customer_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM crm.log_health_access('export', 'crm.export_health_profiles', NULL, n,
                                  jsonb_build_object('condition', condition));
END
$$;
COMMENT ON FUNCTION crm.export_health_profiles(text) IS 'Every full health profile of the tenant (or those with the condition) for export; the export and its row count are written to crm.health_access_log. For crm_health_reader.';
REVOKE ALL ON FUNCTION crm.health_profile_of(bigint), crm.export_health_profiles(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.health_profile_of(bigint), crm.export_health_profiles(text) TO crm_health_reader;

-- ---------------------------------------------------------------------------------------------
-- BI: aggregates only, no group under k customers (k per tenant), complementary sub-counts hidden.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.health_k(tenant bigint) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT GREATEST(2, COALESCE((SELECT (t.settings OPERATOR(pg_catalog.->>) 'health_k_min')::integer
                                   FROM crm.tenant t WHERE t.tenant_id OPERATOR(pg_catalog.=) tenant), 10));
END;
COMMENT ON FUNCTION crm.health_k(bigint) IS 'Smallest group the health BI views show: crm.tenant.settings health_k_min (default 10, never below 2). The views compute the same inline.';

-- A sub-count is shown only if it and its complement in the group both reach k (or it is 0 / all).
CREATE FUNCTION crm.health_suppress(part bigint, total bigint, k integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN part OPERATOR(pg_catalog.=) 0 OR part OPERATOR(pg_catalog.=) total THEN part
                WHEN part OPERATOR(pg_catalog.>=) k AND total OPERATOR(pg_catalog.-) part OPERATOR(pg_catalog.>=) k THEN part
           END;
COMMENT ON FUNCTION crm.health_suppress(bigint, bigint, integer) IS 'part if both part and total - part reach k (or part is 0 or total), else NULL: small-cell suppression that also hides cells derivable by subtraction.';

CREATE VIEW crm.health_condition_stats AS
-- (k is read inline: the view runs as its owner, BI roles cannot read crm.tenant)
WITH k AS (SELECT (SELECT GREATEST(2, COALESCE((SELECT (t.settings OPERATOR(pg_catalog.->>) 'health_k_min')::integer
                                      FROM crm.tenant t
                                     WHERE t.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())), 10))) AS k),
g AS (
    SELECT p.tenant_id, s.province, s.city, c.condition,
           pg_catalog.count(*) AS customers,
           pg_catalog.count(*) FILTER (WHERE (p.condition_detail OPERATOR(pg_catalog.->) c.condition OPERATOR(pg_catalog.->>) 'adherent')::boolean) AS adherent,
           pg_catalog.count(*) FILTER (WHERE (p.condition_detail OPERATOR(pg_catalog.->) c.condition OPERATOR(pg_catalog.->>) 'days_overdue')::integer OPERATOR(pg_catalog.>=) 90) AS overdue_90,
           pg_catalog.avg((p.condition_detail OPERATOR(pg_catalog.->) c.condition OPERATOR(pg_catalog.->>) 'pdc_365')::numeric) AS avg_pdc
      FROM crm.health_profile p
      CROSS JOIN LATERAL pg_catalog.unnest(p.conditions) AS c(condition)
      LEFT JOIN crm.store s ON s.tenant_id OPERATOR(pg_catalog.=) p.tenant_id
                           AND s.store_id OPERATOR(pg_catalog.=) p.preferred_store_id
     WHERE p.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
     GROUP BY p.tenant_id, s.province, s.city, c.condition)
SELECT g.tenant_id, g.province, g.city, g.condition, g.customers,
       crm.health_suppress(g.adherent, g.customers, k.k) AS adherent_customers,
       crm.health_suppress(g.overdue_90, g.customers, k.k) AS overdue_90_customers,
       pg_catalog.round(g.avg_pdc, 2) AS avg_pdc_365
  FROM g, k
 WHERE g.customers OPERATOR(pg_catalog.>=) k.k;
COMMENT ON VIEW crm.health_condition_stats IS 'BI: customers per province, city (of their preferred store) and chronic condition, with adherent and 90-day-overdue counts and the mean 365-day PDC. Groups under k customers (crm.health_k) are left out; sub-counts under k, or whose complement is under k, are NULL.';

CREATE VIEW crm.health_tag_stats AS
SELECT g.tenant_id, g.tag, pg_catalog.count(*) AS customers
  FROM crm.customer_tag g
 WHERE g.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
 GROUP BY g.tenant_id, g.tag
HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>=) (SELECT GREATEST(2, COALESCE((SELECT (t.settings OPERATOR(pg_catalog.->>) 'health_k_min')::integer
                                      FROM crm.tenant t
                                     WHERE t.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())), 10)));
COMMENT ON VIEW crm.health_tag_stats IS 'BI: customers per health tag; tags held by fewer than k customers (crm.health_k) are left out.';

CREATE VIEW crm.care_task_stats AS
SELECT t.tenant_id, t.period_start, t.action, pg_catalog.count(*) AS tasks,
       pg_catalog.count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'done') AS done,
       pg_catalog.count(DISTINCT t.customer_id) AS customers
  FROM crm.care_task t
 WHERE t.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
 GROUP BY t.tenant_id, t.period_start, t.action
HAVING pg_catalog.count(DISTINCT t.customer_id) OPERATOR(pg_catalog.>=) (SELECT GREATEST(2, COALESCE((SELECT (x.settings OPERATOR(pg_catalog.->>) 'health_k_min')::integer
                                      FROM crm.tenant x
                                     WHERE x.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())), 10)));
COMMENT ON VIEW crm.care_task_stats IS 'BI: care tasks per period and action with how many are done; groups reaching fewer than k customers (crm.health_k) are left out.';

GRANT SELECT ON crm.health_condition_stats, crm.health_tag_stats, crm.care_task_stats TO crm_bi_reader;
