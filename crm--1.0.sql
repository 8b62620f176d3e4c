-- crm--1.0.sql is assembled from src/sql/NN_*.sql by the Makefile; edit the parts, not the whole.
--
-- 00_base.sql: the foundation. Install-script safety, roles, the tenant model, the core reference
-- tables (rep, store, household, customer, lead) and the outbox.
--
-- Safety rules followed by every part (PostgreSQL docs, "Security Considerations for Extensions"):
-- every reference is schema-qualified, operators are spelled OPERATOR(pg_catalog.=) where a lookup
-- could be hijacked, no CREATE OR REPLACE / IF NOT EXISTS, PL/pgSQL functions carry
-- SET search_path = pg_catalog, pg_temp, SQL functions use BEGIN ATOMIC bodies (resolved at install).

\echo Use "CREATE EXTENSION crm" to load this file. \quit

-- Refuse to install into a schema somebody else prepared: CREATE EXTENSION reuses an existing
-- schema named in the control file, and objects planted there could shadow ours.
DO $guard$
DECLARE
    owner_ok boolean;
    planted bigint;
BEGIN
    SELECT n.nspowner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                               WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
      INTO owner_ok
      FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'crm';
    IF NOT owner_ok THEN
        RAISE EXCEPTION 'schema "crm" already exists and is not owned by the installing role'
            USING ERRCODE = '42501',
                  HINT = 'Drop or rename the existing schema "crm", then run CREATE EXTENSION crm again.';
    END IF;
    SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c
             WHERE c.relnamespace OPERATOR(pg_catalog.=) 'crm'::pg_catalog.regnamespace)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p
             WHERE p.pronamespace OPERATOR(pg_catalog.=) 'crm'::pg_catalog.regnamespace)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t
             WHERE t.typnamespace OPERATOR(pg_catalog.=) 'crm'::pg_catalog.regnamespace)
         OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o
             WHERE o.oprnamespace OPERATOR(pg_catalog.=) 'crm'::pg_catalog.regnamespace)
      INTO planted;
    IF planted OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION 'schema "crm" already contains % object(s)', planted
            USING ERRCODE = '42P06',
                  HINT = 'The extension must own every object in schema "crm"; drop the schema first.';
    END IF;
END
$guard$;

-- ---------------------------------------------------------------------------------------------
-- Roles. NOLOGIN group roles; grant them to login roles. They are cluster-wide, so a second
-- database reuses them; an existing role that can log in or bypass security is refused.
-- ---------------------------------------------------------------------------------------------
DO $roles$
DECLARE
    r text;
    bad boolean;
BEGIN
    FOREACH r IN ARRAY ARRAY['crm_admin', 'crm_manager', 'crm_rep', 'crm_bi_reader', 'crm_health_reader']
    LOOP
        SELECT a.rolcanlogin OR a.rolsuper OR a.rolbypassrls OR a.rolcreaterole
          INTO bad FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) r;
        IF NOT FOUND THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        ELSIF bad THEN
            RAISE EXCEPTION 'role "%" exists but is not a plain NOLOGIN group role', r
                USING ERRCODE = '42501',
                      HINT = 'The crm group roles must be NOLOGIN, NOSUPERUSER, NOBYPASSRLS, NOCREATEROLE.';
        END IF;
    END LOOP;
END
$roles$;

GRANT crm_rep TO crm_manager;
GRANT crm_manager TO crm_admin;
GRANT crm_bi_reader TO crm_manager;
GRANT USAGE ON SCHEMA crm TO crm_admin, crm_manager, crm_rep, crm_bi_reader, crm_health_reader;
COMMENT ON SCHEMA crm IS 'CRM logic inside PostgreSQL: see the crm extension''s docs/index.md';

-- ---------------------------------------------------------------------------------------------
-- Tenants
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.tenant (
    tenant_id  bigint      NOT NULL PRIMARY KEY CHECK (tenant_id > 0),
    name       text        NOT NULL,
    settings   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE crm.tenant IS 'Companies served by this database (one row per tenant). Optional for a single-company install, where everything is tenant 1.';
COMMENT ON COLUMN crm.tenant.settings IS 'Tenant-wide settings as JSON; each feature documents the keys it reads.';

CREATE TABLE crm.tenant_member (
    tenant_id bigint NOT NULL CHECK (tenant_id > 0),
    role_name name   NOT NULL,
    PRIMARY KEY (tenant_id, role_name)
);
COMMENT ON TABLE crm.tenant_member IS 'Which database roles (and their members) may work for which tenant. While this table is empty, every role works for tenant 1 only. Maintained by the DBA; each role sees only its own rows.';

-- The registry is open (single-company mode) while nobody is registered. SECURITY DEFINER because
-- row-level security hides other roles' rows from the caller; it reveals one boolean.
CREATE FUNCTION crm.tenant_registry_open() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN NOT EXISTS (SELECT 1 FROM crm.tenant_member);
COMMENT ON FUNCTION crm.tenant_registry_open() IS 'True while crm.tenant_member is empty (single-company mode: every role is tenant 1).';

CREATE FUNCTION crm.tenant_setting() RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_tenant_setting'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.tenant_setting() IS 'The value of setting crm.tenant_id as a bigint (1 when unset), without the membership check; use crm.current_tenant().';

CREATE FUNCTION crm.current_tenant() RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.tenant_setting();
BEGIN
    -- Superusers and BYPASSRLS roles are not restricted by policies anyway.
    IF (SELECT a.rolsuper OR a.rolbypassrls FROM pg_catalog.pg_roles a WHERE a.rolname = current_user) THEN
        RETURN t;
    END IF;
    IF EXISTS (SELECT 1 FROM crm.tenant_member m WHERE m.tenant_id = t) THEN
        RETURN t;                       -- the policy on tenant_member shows only the caller's roles
    END IF;
    IF t = 1 AND crm.tenant_registry_open() THEN
        RETURN t;
    END IF;
    RAISE EXCEPTION 'role "%" is not a member of tenant %', current_user, t
        USING ERRCODE = '42501',
              HINT = 'Ask the DBA to add one of your roles to crm.tenant_member for this tenant, or SET crm.tenant_id to your own tenant.';
END
$$;
COMMENT ON FUNCTION crm.current_tenant() IS 'The tenant this session works for: setting crm.tenant_id (default 1), checked against crm.tenant_member. Every row-level security policy and every tenant_id default uses it.';

-- Install-time helper for every tenant-scoped table of every part of the install script:
-- row-level security with the standard tenant_isolation policy (rows of the current tenant only, for
-- reading and writing), and pg_dump registration of the table and of its identity sequences.
-- Not callable by ordinary roles.
CREATE FUNCTION crm.setup_tenant_table(tbl regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seq regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = tbl AND a.attnum = 1 AND a.attname = 'tenant_id') THEN
        RAISE EXCEPTION 'table % does not lead with tenant_id', tbl USING ERRCODE = '42P16';
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE pg_catalog.format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())) '
        'WITH CHECK (tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant()))', tbl);
    PERFORM pg_catalog.pg_extension_config_dump(tbl, '');
    FOR seq IN
        SELECT d.objid::regclass FROM pg_catalog.pg_depend d
         WHERE d.refobjid = tbl AND d.classid = 'pg_catalog.pg_class'::regclass
           AND d.deptype = 'i' AND d.objid IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind = 'S')
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(seq, '');
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION crm.setup_tenant_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION crm.setup_tenant_table(regclass) IS 'Install-time helper: row-level security (policy tenant_isolation) and pg_dump registration for a tenant-scoped table and its identity sequences.';

ALTER TABLE crm.tenant ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crm.tenant
    USING (tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant()));
ALTER TABLE crm.tenant_member ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_memberships ON crm.tenant_member FOR SELECT
    USING (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                    WHERE r.rolname OPERATOR(pg_catalog.=) role_name
                      AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));
GRANT SELECT ON crm.tenant_member TO PUBLIC;
GRANT SELECT ON crm.tenant TO crm_rep;
GRANT UPDATE (name, settings) ON crm.tenant TO crm_admin;

-- ---------------------------------------------------------------------------------------------
-- Shared trigger: keeps updated_at current.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := pg_catalog.clock_timestamp();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.touch_updated_at() IS 'Trigger: sets updated_at to the current time on every update.';

-- ---------------------------------------------------------------------------------------------
-- Sales reps
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.rep (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    rep_id      bigint      GENERATED ALWAYS AS IDENTITY,
    employee_no text        NOT NULL,
    name        text        NOT NULL,
    role_name   name,
    manager_id  bigint,
    active      boolean     NOT NULL DEFAULT true,
    skills      text[]      NOT NULL DEFAULT '{}',
    capacity    integer     NOT NULL DEFAULT 20 CHECK (capacity >= 0),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, rep_id),
    UNIQUE (tenant_id, employee_no),
    FOREIGN KEY (tenant_id, manager_id) REFERENCES crm.rep (tenant_id, rep_id),
    CHECK (manager_id IS DISTINCT FROM rep_id)
);
COMMENT ON TABLE crm.rep IS 'Sales reps (医药代表 / 业务员) of a tenant: who can receive leads.';
COMMENT ON COLUMN crm.rep.employee_no IS 'The company''s own staff number (工号), unique per tenant.';
COMMENT ON COLUMN crm.rep.role_name IS 'The database login role of this rep, if the rep uses the database directly.';
COMMENT ON COLUMN crm.rep.manager_id IS 'The rep''s manager (another rep row); escalations go there.';
COMMENT ON COLUMN crm.rep.active IS 'Inactive reps never receive leads.';
COMMENT ON COLUMN crm.rep.skills IS 'Qualifications and trainings, e.g. {oncology,dtp,licensed_pharmacist}; leads requiring a skill go only to reps holding it.';
COMMENT ON COLUMN crm.rep.capacity IS 'Maximum number of open leads the rep may hold at once.';
CREATE INDEX rep_manager_idx ON crm.rep (tenant_id, manager_id);
CREATE TRIGGER rep_touch BEFORE UPDATE ON crm.rep FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Stores, pharmacies, dealer outlets
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.store (
    tenant_id  bigint      NOT NULL DEFAULT crm.current_tenant(),
    store_id   bigint      GENERATED ALWAYS AS IDENTITY,
    code       text        NOT NULL,
    name       text        NOT NULL,
    kind       text        NOT NULL DEFAULT 'pharmacy'
               CHECK (kind IN ('pharmacy', 'dtp_pharmacy', 'clinic', 'hospital', 'supermarket',
                               'convenience', 'dealer_outlet', 'warehouse', 'other')),
    province   text,
    city       text,
    district   text,
    address    text,
    lon        double precision CHECK (lon BETWEEN -180 AND 180),
    lat        double precision CHECK (lat BETWEEN -90 AND 90),
    srs        text        NOT NULL DEFAULT 'wgs84' CHECK (srs IN ('wgs84', 'gcj02', 'bd09')),
    active     boolean     NOT NULL DEFAULT true,
    opened_on  date,
    attributes jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, store_id),
    UNIQUE (tenant_id, code),
    CHECK ((lon IS NULL) = (lat IS NULL))
);
COMMENT ON TABLE crm.store IS 'Stores, pharmacies (门店/药房), DTP pharmacies, clinics and dealer outlets of a tenant, with their location.';
COMMENT ON COLUMN crm.store.kind IS 'pharmacy | dtp_pharmacy (特药药房) | clinic | hospital | supermarket | convenience | dealer_outlet | warehouse | other';
COMMENT ON COLUMN crm.store.lon IS 'Longitude in degrees, in the coordinate system named by srs.';
COMMENT ON COLUMN crm.store.lat IS 'Latitude in degrees, in the coordinate system named by srs.';
COMMENT ON COLUMN crm.store.srs IS 'Coordinate system of lon/lat: wgs84 (GPS), gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu).';
COMMENT ON COLUMN crm.store.attributes IS 'Free-form store attributes (area in m², medical-insurance designation, ...).';
CREATE INDEX store_city_idx ON crm.store (tenant_id, city);
CREATE TRIGGER store_touch BEFORE UPDATE ON crm.store FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Households and customers
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.household (
    tenant_id    bigint      NOT NULL DEFAULT crm.current_tenant(),
    household_id bigint      GENERATED ALWAYS AS IDENTITY,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, household_id)
);
COMMENT ON TABLE crm.household IS 'A household (家庭): customers who live together and whose care can be linked.';

CREATE TABLE crm.customer (
    tenant_id     bigint      NOT NULL DEFAULT crm.current_tenant(),
    customer_id   bigint      GENERATED ALWAYS AS IDENTITY,
    member_no     text,
    display_name  text,
    household_id  bigint,
    home_store_id bigint,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, customer_id),
    UNIQUE (tenant_id, member_no),
    FOREIGN KEY (tenant_id, household_id) REFERENCES crm.household (tenant_id, household_id),
    FOREIGN KEY (tenant_id, home_store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.customer IS 'Retail customers and loyalty members (会员). No direct identifiers here: phone and national ID are kept only as keyed pseudonyms.';
COMMENT ON COLUMN crm.customer.member_no IS 'Loyalty card number (会员卡号), unique per tenant.';
COMMENT ON COLUMN crm.customer.display_name IS 'How staff address the customer (e.g. 王女士); not an identifier.';
COMMENT ON COLUMN crm.customer.household_id IS 'The household this customer belongs to, if any.';
COMMENT ON COLUMN crm.customer.home_store_id IS 'The store the customer registered at.';
CREATE INDEX customer_household_idx ON crm.customer (tenant_id, household_id);
CREATE TRIGGER customer_touch BEFORE UPDATE ON crm.customer FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Leads
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.lead (
    tenant_id       bigint      NOT NULL DEFAULT crm.current_tenant(),
    lead_id         bigint      GENERATED ALWAYS AS IDENTITY,
    external_ref    text,
    source          text        NOT NULL DEFAULT 'other'
                    CHECK (source IN ('web', 'wechat', 'phone', 'walk_in', 'referral', 'event',
                                      'dealer', 'import', 'other')),
    channel         text,
    lead_type       text        NOT NULL DEFAULT 'visit',
    company_name    text,
    contact_name    text,
    province        text,
    city            text,
    district        text,
    address         text,
    lon             double precision CHECK (lon BETWEEN -180 AND 180),
    lat             double precision CHECK (lat BETWEEN -90 AND 90),
    srs             text        NOT NULL DEFAULT 'wgs84' CHECK (srs IN ('wgs84', 'gcj02', 'bd09')),
    store_id        bigint,
    customer_id     bigint,
    required_skills text[]      NOT NULL DEFAULT '{}',
    attributes      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status          text        NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'assigned', 'accepted', 'qualified', 'converted', 'lost',
                                      'unassigned')),
    owner_rep_id    bigint,
    score           numeric,
    grade           text        CHECK (grade IN ('A', 'B', 'C', 'D')),
    score_reasons   jsonb,
    scored_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, lead_id),
    UNIQUE (tenant_id, external_ref),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, owner_rep_id) REFERENCES crm.rep (tenant_id, rep_id),
    CHECK ((lon IS NULL) = (lat IS NULL))
);
COMMENT ON TABLE crm.lead IS 'Sales leads (线索): visit requests, enquiries and prospects to be scored and dispatched to a rep.';
COMMENT ON COLUMN crm.lead.external_ref IS 'The id the lead has in the system it came from (mini-program, call centre, spreadsheet), unique per tenant.';
COMMENT ON COLUMN crm.lead.source IS 'web | wechat | phone | walk_in | referral | event | dealer | import | other';
COMMENT ON COLUMN crm.lead.lead_type IS 'What the lead asks for, e.g. visit (拜访), dtp (特药), b2b, consultation.';
COMMENT ON COLUMN crm.lead.srs IS 'Coordinate system of lon/lat: wgs84, gcj02 or bd09.';
COMMENT ON COLUMN crm.lead.required_skills IS 'Qualifications a rep must hold to take this lead (e.g. {oncology}).';
COMMENT ON COLUMN crm.lead.attributes IS 'Scoring inputs and other attributes (company size, documents on file, ...).';
COMMENT ON COLUMN crm.lead.status IS 'new | assigned | accepted | qualified | converted | lost | unassigned';
COMMENT ON COLUMN crm.lead.owner_rep_id IS 'The rep who owns the lead now.';
COMMENT ON COLUMN crm.lead.score IS 'Lead score from the tenant''s scoring model.';
COMMENT ON COLUMN crm.lead.grade IS 'A-D grade from the score and the tenant''s thresholds.';
COMMENT ON COLUMN crm.lead.score_reasons IS 'Why the lead has its score: matched rules with their points, largest first.';
CREATE INDEX lead_owner_idx ON crm.lead (tenant_id, owner_rep_id) WHERE status IN ('assigned', 'accepted', 'qualified');
CREATE INDEX lead_created_idx ON crm.lead (tenant_id, created_at);
CREATE TRIGGER lead_touch BEFORE UPDATE ON crm.lead FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Outbox: events for apps to relay (WeChat Work, Feishu, SMS). Each insert is also announced with
-- NOTIFY crm_outbox, payload {"tenant_id":..,"outbox_id":..,"topic":..}.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.outbox (
    tenant_id    bigint      NOT NULL DEFAULT crm.current_tenant(),
    outbox_id    bigint      GENERATED ALWAYS AS IDENTITY,
    topic        text        NOT NULL CHECK (topic ~ '^[a-z][a-z0-9_.]*$'),
    entity       text,
    entity_id    bigint,
    recipient    text,
    payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    claimed_at   timestamptz,
    delivered_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, outbox_id)
);
COMMENT ON TABLE crm.outbox IS 'Transactional outbox: every notification the extension wants sent. Rows appear only if their transaction commits; NOTIFY crm_outbox announces them.';
COMMENT ON COLUMN crm.outbox.topic IS 'Event name, dotted lower case, e.g. lead.assigned, rebate.submitted, care.task_created.';
COMMENT ON COLUMN crm.outbox.entity IS 'Kind of row the event is about (lead, rebate_run, care_task, ...).';
COMMENT ON COLUMN crm.outbox.entity_id IS 'Id of that row within the tenant.';
COMMENT ON COLUMN crm.outbox.recipient IS 'Who should be told: a rep employee_no, a role, or an app-defined address.';
COMMENT ON COLUMN crm.outbox.created_at IS 'When the event happened (clock time, not transaction start).';
COMMENT ON COLUMN crm.outbox.claimed_at IS 'When a relay last claimed the row with crm.outbox_claim().';
COMMENT ON COLUMN crm.outbox.delivered_at IS 'When a relay confirmed delivery with crm.outbox_delivered().';
CREATE INDEX outbox_pending_idx ON crm.outbox (tenant_id, outbox_id) WHERE delivered_at IS NULL;

CREATE FUNCTION crm.outbox_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('crm_outbox',
        pg_catalog.json_build_object('tenant_id', NEW.tenant_id, 'outbox_id', NEW.outbox_id,
                                     'topic', NEW.topic)::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm.outbox_notify() IS 'Trigger: announces each new outbox row on channel crm_outbox (delivered at commit).';
CREATE TRIGGER outbox_notify AFTER INSERT ON crm.outbox FOR EACH ROW EXECUTE FUNCTION crm.outbox_notify();

CREATE FUNCTION crm.outbox_claim(batch_size integer DEFAULT 100, retry_after interval DEFAULT '1 minute')
    RETURNS SETOF crm.outbox
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF batch_size IS NULL OR batch_size < 1 OR batch_size > 10000 THEN
        RAISE EXCEPTION 'batch_size must be between 1 and 10000, got %', batch_size
            USING ERRCODE = '22023', HINT = 'Claim outbox rows in batches of at most 10000.';
    END IF;
    RETURN QUERY
    UPDATE crm.outbox o
       SET claimed_at = pg_catalog.clock_timestamp(), attempts = o.attempts + 1
     WHERE (o.tenant_id, o.outbox_id) IN (
            SELECT p.tenant_id, p.outbox_id FROM crm.outbox p
             WHERE p.delivered_at IS NULL
               AND (p.claimed_at IS NULL OR p.claimed_at < pg_catalog.clock_timestamp() - retry_after)
             ORDER BY p.outbox_id
             LIMIT batch_size
             FOR UPDATE SKIP LOCKED)
    RETURNING o.*;
END
$$;
COMMENT ON FUNCTION crm.outbox_claim(integer, interval) IS 'For relays: claims up to batch_size undelivered rows of the current tenant (oldest first, skipping rows another relay holds); unconfirmed claims come back after retry_after.';

CREATE FUNCTION crm.outbox_delivered(ids bigint[]) RETURNS integer
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH done AS (
        UPDATE crm.outbox o SET delivered_at = pg_catalog.clock_timestamp()
         WHERE o.outbox_id OPERATOR(pg_catalog.=) ANY (ids) AND o.delivered_at IS NULL
        RETURNING 1)
    SELECT pg_catalog.count(*)::integer FROM done;
END;
COMMENT ON FUNCTION crm.outbox_delivered(bigint[]) IS 'For relays: marks outbox rows of the current tenant delivered; returns how many were newly marked.';

-- ---------------------------------------------------------------------------------------------
-- BI: a lead funnel any BI tool can read.
-- ---------------------------------------------------------------------------------------------
-- BI views run with the owner's rights (BI roles get no table access) and filter the tenant
-- themselves.
CREATE VIEW crm.lead_funnel AS
SELECT l.tenant_id,
       (l.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
       l.city,
       l.source,
       l.status,
       pg_catalog.count(*) AS leads
  FROM crm.lead l
 WHERE l.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
 GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW crm.lead_funnel IS 'Leads per day (China Standard Time), city, source and status, for BI.';

-- ---------------------------------------------------------------------------------------------
-- Row-level security, privileges, and pg_dump registration for the tables above.
-- ---------------------------------------------------------------------------------------------
SELECT crm.setup_tenant_table('crm.rep');
SELECT crm.setup_tenant_table('crm.store');
SELECT crm.setup_tenant_table('crm.household');
SELECT crm.setup_tenant_table('crm.customer');
SELECT crm.setup_tenant_table('crm.lead');
SELECT crm.setup_tenant_table('crm.outbox');
SELECT pg_catalog.pg_extension_config_dump('crm.tenant', '');
SELECT pg_catalog.pg_extension_config_dump('crm.tenant_member', '');

GRANT SELECT, INSERT, UPDATE, DELETE ON crm.rep, crm.store, crm.household, crm.customer, crm.lead
    TO crm_admin;
GRANT SELECT, INSERT, UPDATE ON crm.store, crm.household, crm.customer, crm.lead TO crm_manager;
GRANT UPDATE (active, skills, capacity, manager_id) ON crm.rep TO crm_manager;
GRANT SELECT ON crm.rep, crm.store, crm.lead TO crm_rep;
GRANT UPDATE (status) ON crm.lead TO crm_rep;
GRANT SELECT, UPDATE (claimed_at, delivered_at, attempts) ON crm.outbox TO crm_admin;
GRANT SELECT ON crm.lead_funnel TO crm_bi_reader;
REVOKE ALL ON FUNCTION crm.outbox_claim(integer, interval), crm.outbox_delivered(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.outbox_claim(integer, interval), crm.outbox_delivered(bigint[]) TO crm_admin;


-- ---------------------------------------------------------------------------------------------
-- 30_health.sql: health data. Dispensing / purchase lines, drug code mapping to ATC, ATC to
-- chronic condition classes (shipped defaults + tenant overrides), household links, loyalty events.
-- Profiles, tags and care actions: 32_health_profile.sql, 33_health_rules.sql; protection
-- (pseudonyms, consent, access log, BI views): 34_health_privacy.sql. See docs/health.md.
-- ---------------------------------------------------------------------------------------------

-- Drug codes of other systems (RxNorm, GTIN barcodes, a chain's own SKUs, NMPA approval numbers)
-- mapped to WHO ATC codes.
CREATE TABLE crm.drug_code_map (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    code_system text        NOT NULL
                CHECK (code_system IN ('rxnorm', 'ndc', 'gtin', 'sku', 'nmpa', 'nhsa', 'other')),
    code        text        NOT NULL CHECK (code <> ''),
    atc_code    text        NOT NULL CHECK (atc_code ~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$'),
    drug_name   text,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, code_system, code)
);
COMMENT ON TABLE crm.drug_code_map IS 'Maps drug codes of other code systems (RxNorm, NDC, GTIN barcodes, chain SKUs, NMPA approval numbers 国药准字, NHSA 医保药品编码) to WHO ATC codes; crm.dispense resolves atc_code through it.';
COMMENT ON COLUMN crm.drug_code_map.code_system IS 'rxnorm | ndc | gtin | sku | nmpa | nhsa | other';
COMMENT ON COLUMN crm.drug_code_map.code IS 'The code in that system, exactly as it appears on dispensing lines.';
COMMENT ON COLUMN crm.drug_code_map.atc_code IS 'WHO ATC code (any level, usually the 7-character substance level, e.g. C09CA01 losartan).';

-- The shipped reference data: ATC prefixes of the common chronic condition classes. A view over
-- constant rows, so it is part of the extension itself (CREATE EXTENSION recreates it, pg_dump does
-- not need to carry it); tenants override or extend it in crm.atc_condition_override.
CREATE VIEW crm.atc_condition_default (atc_prefix, condition, condition_name, adherence_threshold) AS
VALUES ('C02', 'hypertension', '高血压 hypertension', 0.80),
       ('C03', 'hypertension', '高血压 hypertension', 0.80),
       ('C07', 'hypertension', '高血压 hypertension', 0.80),
       ('C08', 'hypertension', '高血压 hypertension', 0.80),
       ('C09', 'hypertension', '高血压 hypertension', 0.80),
       ('A10', 'diabetes', '糖尿病 diabetes', 0.80),
       ('C10', 'dyslipidemia', '血脂异常 dyslipidemia (lipid-modifying agents)', 0.80),
       ('R03', 'asthma_copd', '哮喘/慢阻肺 asthma / COPD', 0.80),
       ('H03', 'thyroid', '甲状腺疾病 thyroid disease', 0.80),
       ('B01', 'anticoagulation', '抗凝/抗血小板 antithrombotic therapy', 0.80),
       ('M04', 'gout', '痛风 gout', 0.80),
       ('M05', 'osteoporosis', '骨质疏松 osteoporosis', 0.80),
       ('N06A', 'depression', '抑郁症 depression', 0.80),
       ('N03', 'epilepsy', '癫痫 epilepsy', 0.80),
       ('N04', 'parkinson', '帕金森病 Parkinson''s disease', 0.80),
       ('N06D', 'dementia', '痴呆 dementia', 0.80),
       ('N05A', 'psychosis', '精神分裂症等 psychosis', 0.80),
       ('S01E', 'glaucoma', '青光眼 glaucoma', 0.80),
       ('G04C', 'bph', '前列腺增生 benign prostatic hyperplasia', 0.80),
       ('C01D', 'angina', '心绞痛 angina (nitrates)', 0.80),
       ('J05AE', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AF', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AG', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AJ', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AR', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('L01', 'oncology', '肿瘤 cancer (antineoplastic agents)', 0.80),
       ('L02', 'oncology', '肿瘤 cancer (endocrine therapy)', 0.80);
COMMENT ON VIEW crm.atc_condition_default IS 'Shipped reference data: ATC prefix → chronic condition class with its adherence threshold (PDC ≥ 0.80, 0.90 for antiretrovirals). The longest matching prefix wins. Tenants override rows in crm.atc_condition_override.';

CREATE TABLE crm.atc_condition_override (
    tenant_id           bigint      NOT NULL DEFAULT crm.current_tenant(),
    atc_prefix          text        NOT NULL CHECK (atc_prefix ~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$'),
    condition           text        CHECK (condition ~ '^[a-z][a-z0-9_]*$'),
    condition_name      text,
    adherence_threshold numeric(3,2) NOT NULL DEFAULT 0.80 CHECK (adherence_threshold > 0 AND adherence_threshold <= 1),
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, atc_prefix)
);
COMMENT ON TABLE crm.atc_condition_override IS 'Tenant overrides of crm.atc_condition_default: a row with a new prefix adds a class, a row with a shipped prefix replaces it, a row with condition NULL switches the shipped prefix off.';
COMMENT ON COLUMN crm.atc_condition_override.condition IS 'Condition key (lower case, e.g. hypertension); NULL disables the shipped mapping of this prefix.';
COMMENT ON COLUMN crm.atc_condition_override.adherence_threshold IS 'PDC at or above which a customer counts as adherent for this class.';

CREATE VIEW crm.atc_condition AS
SELECT o.tenant_id, o.atc_prefix, o.condition, o.condition_name, o.adherence_threshold, 'tenant'::text AS origin
  FROM crm.atc_condition_override o
 WHERE o.condition IS NOT NULL
UNION ALL
SELECT (SELECT crm.current_tenant()), d.atc_prefix, d.condition, d.condition_name, d.adherence_threshold, 'shipped'
  FROM crm.atc_condition_default d
 WHERE NOT EXISTS (SELECT 1 FROM crm.atc_condition_override o
                    WHERE o.atc_prefix OPERATOR(pg_catalog.=) d.atc_prefix);
ALTER VIEW crm.atc_condition SET (security_invoker = true);
COMMENT ON VIEW crm.atc_condition IS 'The ATC → condition mapping in force for the current tenant: its overrides plus the shipped defaults it did not override (origin says which).';

-- ---------------------------------------------------------------------------------------------
-- Dispensing and purchase lines. Contract shared with the clinical-document import (crm.import_cda
-- inserts here with source = 'cda'); see docs/health.md.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.dispense (
    tenant_id   bigint        NOT NULL DEFAULT crm.current_tenant(),
    dispense_id bigint        GENERATED ALWAYS AS IDENTITY,
    customer_id bigint        NOT NULL,
    store_id    bigint,
    drug_code   text          NOT NULL CHECK (drug_code <> ''),
    code_system text          NOT NULL DEFAULT 'atc'
                CHECK (code_system IN ('atc', 'rxnorm', 'ndc', 'gtin', 'sku', 'nmpa', 'nhsa', 'other')),
    atc_code    text          CHECK (atc_code ~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$'),
    drug_name   text,
    quantity    numeric       CHECK (quantity > 0),
    days_supply integer       CHECK (days_supply > 0 AND days_supply <= 400),
    dispensed_at timestamptz  NOT NULL,
    channel     text          CHECK (channel ~ '^[a-z][a-z0-9_]*$'),
    promo       boolean       NOT NULL DEFAULT false,
    price       numeric(12,2) CHECK (price >= 0),
    source      text          NOT NULL DEFAULT 'pos' CHECK (source IN ('pos', 'cda', 'import', 'app')),
    created_at  timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, dispense_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.dispense IS 'Medication dispensing and purchase lines (处方调剂/购药记录) per customer: health data, readable only by crm_health_reader. Each insert, update or delete refreshes that customer''s crm.health_profile.';
COMMENT ON COLUMN crm.dispense.drug_code IS 'The drug as the source system codes it (an ATC code, RxNorm CUI, GTIN barcode, chain SKU, ...).';
COMMENT ON COLUMN crm.dispense.code_system IS 'atc | rxnorm | ndc | gtin | sku | nmpa | nhsa | other: the system of drug_code.';
COMMENT ON COLUMN crm.dispense.atc_code IS 'WHO ATC code: drug_code itself for code_system atc, otherwise resolved through crm.drug_code_map on insert when not given; NULL when unknown (the line then counts for spend and visits, not for conditions).';
COMMENT ON COLUMN crm.dispense.quantity IS 'Units dispensed (packs, tablets, ...), as the source reports them.';
COMMENT ON COLUMN crm.dispense.days_supply IS 'Days the dispensed quantity lasts at the prescribed dose (1-400); NULL for non-chronic purchases.';
COMMENT ON COLUMN crm.dispense.dispensed_at IS 'When the drug was dispensed or bought; its day in China Standard Time is the fill date.';
COMMENT ON COLUMN crm.dispense.channel IS 'Sales channel, lower case: store, app, o2o (外卖), wechat, dtp, ...';
COMMENT ON COLUMN crm.dispense.promo IS 'Bought on promotion (price sensitivity).';
COMMENT ON COLUMN crm.dispense.price IS 'Amount paid for the line, in yuan.';
COMMENT ON COLUMN crm.dispense.source IS 'pos | cda (clinical document import) | import | app';
CREATE INDEX dispense_customer_idx ON crm.dispense (tenant_id, customer_id, dispensed_at);
CREATE INDEX dispense_store_idx ON crm.dispense (tenant_id, store_id);

CREATE FUNCTION crm.dispense_resolve_atc() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.atc_code IS NULL THEN
        IF NEW.code_system = 'atc' THEN
            IF NEW.drug_code !~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$' THEN
                RAISE EXCEPTION 'drug_code "%" is not an ATC code', NEW.drug_code
                    USING ERRCODE = '22023',
                          HINT = 'ATC codes look like C09CA01; give the right code_system for other codes.';
            END IF;
            NEW.atc_code := NEW.drug_code;
        ELSE
            SELECT m.atc_code, pg_catalog.coalesce(NEW.drug_name, m.drug_name)
              INTO NEW.atc_code, NEW.drug_name
              FROM crm.drug_code_map m
             WHERE m.tenant_id = NEW.tenant_id AND m.code_system = NEW.code_system
               AND m.code = NEW.drug_code;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.dispense_resolve_atc() IS 'Trigger: fills crm.dispense.atc_code from drug_code (code_system atc) or from crm.drug_code_map when not given.';
CREATE TRIGGER dispense_resolve_atc BEFORE INSERT OR UPDATE OF drug_code, code_system, atc_code ON crm.dispense
    FOR EACH ROW EXECUTE FUNCTION crm.dispense_resolve_atc();

-- ---------------------------------------------------------------------------------------------
-- Household links and loyalty events
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.household_link (
    tenant_id           bigint      NOT NULL DEFAULT crm.current_tenant(),
    customer_id         bigint      NOT NULL,
    related_customer_id bigint      NOT NULL,
    relation            text        NOT NULL
                        CHECK (relation IN ('spouse', 'parent', 'child', 'sibling', 'grandparent',
                                            'grandchild', 'caregiver', 'other')),
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, customer_id, related_customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, related_customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    CHECK (customer_id <> related_customer_id)
);
COMMENT ON TABLE crm.household_link IS 'Family links between customers: related_customer_id is the customer''s <relation> (e.g. customer 7, related 8, spouse: 8 is 7''s spouse). crm.household_member reads them in both directions.';
COMMENT ON COLUMN crm.household_link.relation IS 'spouse | parent | child | sibling | grandparent | grandchild | caregiver | other: what the related customer is to the customer.';

CREATE VIEW crm.household_member AS
SELECT l.tenant_id, l.customer_id, l.related_customer_id AS member_id, l.relation
  FROM crm.household_link l
UNION
SELECT l.tenant_id, l.related_customer_id, l.customer_id,
       CASE l.relation WHEN 'parent' THEN 'child' WHEN 'child' THEN 'parent'
                       WHEN 'grandparent' THEN 'grandchild' WHEN 'grandchild' THEN 'grandparent'
                       WHEN 'caregiver' THEN 'other' ELSE l.relation END
  FROM crm.household_link l
UNION
SELECT a.tenant_id, a.customer_id, b.customer_id, 'household'
  FROM crm.customer a
  JOIN crm.customer b ON b.tenant_id OPERATOR(pg_catalog.=) a.tenant_id
                     AND b.household_id OPERATOR(pg_catalog.=) a.household_id
                     AND b.customer_id OPERATOR(pg_catalog.<>) a.customer_id
 WHERE NOT EXISTS (SELECT 1 FROM crm.household_link x
                    WHERE x.tenant_id OPERATOR(pg_catalog.=) a.tenant_id
                      AND ((x.customer_id OPERATOR(pg_catalog.=) a.customer_id
                            AND x.related_customer_id OPERATOR(pg_catalog.=) b.customer_id)
                        OR (x.customer_id OPERATOR(pg_catalog.=) b.customer_id
                            AND x.related_customer_id OPERATOR(pg_catalog.=) a.customer_id)));
ALTER VIEW crm.household_member SET (security_invoker = true);
COMMENT ON VIEW crm.household_member IS 'Every customer''s family members: explicit links in both directions (relation seen from the customer), plus other members of the same crm.household as relation household.';

CREATE TABLE crm.loyalty_event (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    event_id    bigint      GENERATED ALWAYS AS IDENTITY,
    customer_id bigint      NOT NULL,
    store_id    bigint,
    kind        text        NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'expire', 'signup', 'tier_change')),
    points      integer     NOT NULL DEFAULT 0,
    occurred_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    note        text,
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.loyalty_event IS 'Loyalty programme events (积分): points earned, redeemed, adjusted or expired; the balance is their sum.';
COMMENT ON COLUMN crm.loyalty_event.kind IS 'earn | redeem | adjust | expire | signup | tier_change';
COMMENT ON COLUMN crm.loyalty_event.points IS 'Signed change of the points balance (redeem and expire are negative).';
CREATE INDEX loyalty_event_customer_idx ON crm.loyalty_event (tenant_id, customer_id, occurred_at);

SELECT crm.setup_tenant_table('crm.drug_code_map');
SELECT crm.setup_tenant_table('crm.atc_condition_override');
SELECT crm.setup_tenant_table('crm.dispense');
SELECT crm.setup_tenant_table('crm.household_link');
SELECT crm.setup_tenant_table('crm.loyalty_event');

-- Dispensing lines are health data: written by the store systems (crm_manager and up), read only by
-- crm_health_reader. Reference data is readable by every crm role.
GRANT SELECT ON crm.atc_condition_default, crm.atc_condition TO crm_rep, crm_health_reader;
GRANT SELECT ON crm.drug_code_map, crm.atc_condition_override TO crm_rep, crm_health_reader;
GRANT INSERT, UPDATE, DELETE ON crm.drug_code_map, crm.atc_condition_override TO crm_admin;
GRANT INSERT ON crm.dispense TO crm_manager;
GRANT UPDATE (store_id, drug_code, code_system, atc_code, drug_name, quantity, days_supply, dispensed_at,
              channel, promo, price) ON crm.dispense TO crm_admin;
GRANT DELETE ON crm.dispense TO crm_admin;
GRANT SELECT (tenant_id, dispense_id, source, created_at) ON crm.dispense TO crm_admin;
GRANT SELECT ON crm.dispense TO crm_health_reader;
GRANT SELECT, INSERT, DELETE ON crm.household_link TO crm_manager;
GRANT SELECT ON crm.household_member TO crm_manager;
GRANT SELECT, INSERT ON crm.loyalty_event TO crm_manager;
GRANT SELECT ON crm.household_link, crm.household_member, crm.loyalty_event TO crm_health_reader;
-- ---------------------------------------------------------------------------------------------
-- 32_cda.sql: clinical documents (HL7 CDA R2: C-CDA, CDA-CH-EMED, WS/T 500 西药处方).
-- The reader is src/core/cda_*.c over libxml2 (no entities, no network); docs/cda.md.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.cda_extract(doc xml)
    RETURNS TABLE (kind text, code text, code_system text, code_system_name text, display text,
                   alt_code text, alt_code_system text, start_date date, end_date date,
                   supplied_on date, dose_value numeric, dose_unit text, daily_dose numeric,
                   quantity numeric, quantity_unit text, route text, days_supply integer,
                   days_supply_source text, days_supply_note text, document_kind text,
                   document_date date)
    AS 'MODULE_PATHNAME', 'crm_cda_extract'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.cda_extract(xml) IS 'Medication lines and diagnoses of an HL7 CDA R2 document (C-CDA, CDA-CH-EMED, WS/T 500 西药处方 C0004), one row each: kind (medication | diagnosis), the code chosen (the element''s own code, else its first translation) with its system OID and name, display, alt_code / alt_code_system (a further translation: ICD-10 for diagnoses, ATC for drugs), start/end dates, supplied_on (date of a dispense), dose_value and dose_unit, daily_dose (in dose_unit per day), quantity and quantity_unit, route, and the derived days_supply with days_supply_source (explicit | supply | interval, NULL when not derivable) and days_supply_note (how, or why not), plus the document''s kind and date. Entity declarations, network access and nesting deeper than 200 elements are refused with SQLSTATE 2200M. Rules: docs/cda.md.';

CREATE TABLE crm.cda_import (
    tenant_id     bigint      NOT NULL DEFAULT crm.current_tenant(),
    cda_import_id bigint      GENERATED ALWAYS AS IDENTITY,
    document_id   text,
    document_kind text        NOT NULL,
    document_date date,
    customer_id   bigint      NOT NULL,
    store_id      bigint,
    lines         integer     NOT NULL CHECK (lines >= 0),
    imported_by   name        NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, cda_import_id),
    UNIQUE (tenant_id, document_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.cda_import IS 'One row per clinical document loaded by crm.import_cda: which document, for which customer, how many dispensing lines, by whom and when. A document id is loaded once per tenant. Health data: readable by crm_health_reader and crm_admin only.';
COMMENT ON COLUMN crm.cda_import.document_id IS 'ClinicalDocument/id as root^extension (or root); NULL for fragments without an id, which are not checked for repeats.';
COMMENT ON COLUMN crm.cda_import.document_kind IS 'WS/T 500 | CDA-CH-EMED | C-CDA | CDA | CDA fragment, as recognised by crm.cda_extract.';
COMMENT ON COLUMN crm.cda_import.document_date IS 'The document''s effectiveTime (its date).';
COMMENT ON COLUMN crm.cda_import.lines IS 'Medication lines written to crm.dispense (source cda).';
COMMENT ON COLUMN crm.cda_import.imported_by IS 'The role that called crm.import_cda.';
CREATE INDEX cda_import_customer_idx ON crm.cda_import (tenant_id, customer_id);
SELECT crm.setup_tenant_table('crm.cda_import');
GRANT SELECT ON crm.cda_import TO crm_health_reader, crm_admin;

CREATE FUNCTION crm.import_cda(customer_id bigint, doc xml, store_id bigint DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_import_cda'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION crm.import_cda(bigint, xml, bigint) IS 'Loads the medication lines of a clinical document into crm.dispense (source cda) for a pseudonymised customer of the current tenant, optionally at a store; returns the number of lines loaded. code_system from the code''s OID (ATC, RxNorm, NDC, GTIN, else other), atc_code from an ATC translation when the code is not ATC, dispensed_at = the dispense date, else the start date, else the document date (00:00 China Standard Time), days_supply as derived by crm.cda_extract (NULL beyond 400 days). Each call is recorded in crm.cda_import; a document id already imported for the tenant is refused (23505). All or nothing: a line without a drug code or date, an unknown customer or store, a repeated document or bad XML loads nothing. Only crm_health_reader and crm_admin may call it.';

REVOKE ALL ON FUNCTION crm.import_cda(bigint, xml, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.import_cda(bigint, xml, bigint) TO crm_health_reader, crm_admin;
REVOKE ALL ON FUNCTION crm.cda_extract(xml) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.cda_extract(xml) TO crm_health_reader, crm_admin;
