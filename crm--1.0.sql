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
            SELECT m.atc_code, COALESCE(NEW.drug_name, m.drug_name)
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
    FINALFUNC = crm.health_agg_final,
    FINALFUNC_EXTRA,
    FINALFUNC_MODIFY = READ_WRITE
);
COMMENT ON AGGREGATE crm.health_summary_agg(bigint, date, timestamptz, text, integer, numeric, boolean, bigint, text) IS 'One customer''s health summary as of a day from its dispensing lines (GROUP BY customer): conditions with PDC 90/180/365, refill gaps and persistence; visits, spend, promo share, preferred store and channel.';

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
COMMENT ON COLUMN crm.health_profile.preferred_channel IS 'Channel with most lines in the last 365 days (ties: most recent).';
CREATE INDEX health_profile_conditions_idx ON crm.health_profile USING gin (conditions);
SELECT crm.setup_tenant_table('crm.health_profile');

CREATE FUNCTION crm.health_spend_tier(tenant bigint, spend numeric) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN spend IS NULL OR spend OPERATOR(pg_catalog.<=) 0 THEN 'none'
                WHEN spend OPERATOR(pg_catalog.<) COALESCE((t.settings OPERATOR(pg_catalog.->) 'health_spend_tiers' OPERATOR(pg_catalog.->>) 0)::numeric, 500) THEN 'low'
                WHEN spend OPERATOR(pg_catalog.<) COALESCE((t.settings OPERATOR(pg_catalog.->) 'health_spend_tiers' OPERATOR(pg_catalog.->>) 1)::numeric, 2000) THEN 'mid'
                WHEN spend OPERATOR(pg_catalog.<) COALESCE((t.settings OPERATOR(pg_catalog.->) 'health_spend_tiers' OPERATOR(pg_catalog.->>) 2)::numeric, 8000) THEN 'high'
                ELSE 'top' END
      FROM (SELECT (SELECT x.settings FROM crm.tenant x WHERE x.tenant_id OPERATOR(pg_catalog.=) tenant) AS settings) t;
END;
COMMENT ON FUNCTION crm.health_spend_tier(bigint, numeric) IS 'Spend tier of a 365-day spend: none, low, mid, high or top against the tenant setting health_spend_tiers (three ascending yuan thresholds, default [500, 2000, 8000]).';

-- Writes the profiles of one tenant's customers [lo, hi] (or just those in ids) from their lines.
-- Internal: called by the trigger and the chunked refresh, as the extension owner.
CREATE FUNCTION crm.health_profile_write(tenant bigint, lo bigint, hi bigint, ids bigint[]) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    day date := crm.health_today();
    written integer;
BEGIN
    INSERT INTO crm.health_profile AS p (tenant_id, customer_id, as_of, conditions, condition_detail,
           chronic_count, non_adherent_count, max_days_overdue, min_pdc_365, lines, first_purchase,
           last_purchase, recency_days, visits_90d, visits_365d, visit_frequency, spend_365, spend_tier,
           avg_basket_365, promo_share, price_sensitivity, preferred_store_id, store_count_365,
           preferred_channel, updated_at)
    SELECT s.tenant_id, s.customer_id, day, (s.x).conditions, (s.x).condition_detail, (s.x).chronic_count,
           (s.x).non_adherent_count, (s.x).max_days_overdue, (s.x).min_pdc_365, (s.x).lines,
           (s.x).first_purchase, (s.x).last_purchase, (s.x).recency_days, (s.x).visits_90d,
           (s.x).visits_365d, round((s.x).visits_365d / 12.0, 2), (s.x).spend_365,
           crm.health_spend_tier(s.tenant_id, (s.x).spend_365), (s.x).avg_basket_365, (s.x).promo_share,
           CASE WHEN (s.x).promo_share IS NULL THEN NULL WHEN (s.x).promo_share >= 0.5 THEN 'high'
                WHEN (s.x).promo_share >= 0.2 THEN 'medium' ELSE 'low' END,
           (s.x).preferred_store_id, (s.x).store_count_365, (s.x).preferred_channel, clock_timestamp()
      FROM (SELECT d.tenant_id, d.customer_id,
                   crm.health_summary_agg(d.tenant_id, day, d.dispensed_at, d.atc_code, d.days_supply,
                                          d.price, d.promo, d.store_id, d.channel) AS x
              FROM crm.dispense d
             WHERE d.tenant_id = tenant AND d.customer_id BETWEEN lo AND hi
               AND (ids IS NULL OR d.customer_id = ANY (ids))
             GROUP BY d.tenant_id, d.customer_id) s
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
           updated_at = EXCLUDED.updated_at;
    GET DIAGNOSTICS written = ROW_COUNT;
    -- customers whose last line was deleted have no profile any more
    DELETE FROM crm.health_profile p
     WHERE p.tenant_id = tenant AND p.customer_id BETWEEN lo AND hi
       AND (ids IS NULL OR p.customer_id = ANY (ids))
       AND NOT EXISTS (SELECT 1 FROM crm.dispense d
                        WHERE d.tenant_id = tenant AND d.customer_id = p.customer_id);
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION crm.health_profile_write(bigint, bigint, bigint, bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION crm.health_profile_write(bigint, bigint, bigint, bigint[]) IS 'Internal: recomputes the profiles of a tenant''s customers in [lo, hi] (only those in ids, unless ids is NULL) with crm.health_summary_agg; removes profiles without lines. Returns the profiles written.';

-- Advisory lock keys: one per customer (writers of one customer serialize) and one per chunk of
-- 4096 customer ids (the chunked refresh takes it exclusively, the trigger shares it).
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
    chunk bigint := -1;
    k integer := crm.health_lock_key(tenant);
    written integer;
BEGIN
    FOREACH c IN ARRAY customers LOOP          -- sorted: locks are always taken in the same order
        IF c >> 12 <> chunk THEN
            chunk := c >> 12;
            PERFORM pg_advisory_xact_lock_shared(k # 1, (chunk % 2147483647)::integer);
        END IF;
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

-- The chunked rebuild. The chunk function runs as the extension owner (crm_admin may rebuild
-- profiles without reading health data); crm.caller_tenant() checks the caller's tenant first.
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
    PERFORM pg_advisory_xact_lock(crm.health_lock_key(t) # 1, (chunk % 2147483647)::integer);
    written := crm.health_profile_write(t, chunk << 12, (chunk << 12) + 4095, NULL);
    PERFORM crm.health_rules_after_profile(t, NULL, chunk << 12, (chunk << 12) + 4095);
    RETURN written;
END
$$;
REVOKE ALL ON FUNCTION crm.refresh_health_profile_chunk(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.refresh_health_profile_chunk(bigint) TO crm_admin;
COMMENT ON FUNCTION crm.refresh_health_profile_chunk(bigint) IS 'Rebuilds the profiles (and re-evaluates the tags) of the current tenant''s customers with ids chunk*4096 .. chunk*4096+4095 in one transaction; waits for (and holds off) concurrent dispensing writes of that chunk only. Returns the profiles written. For crm_admin.';

-- A procedure that commits cannot carry SET search_path; every name in it is qualified instead.
CREATE PROCEDURE crm.refresh_health_profiles(max_chunks integer DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    first_chunk bigint;
    last_chunk bigint;
    total bigint := 0;
    n integer := 0;
BEGIN
    SELECT pg_catalog.min(c.customer_id) OPERATOR(pg_catalog.>>) 12,
           pg_catalog.max(c.customer_id) OPERATOR(pg_catalog.>>) 12
      INTO first_chunk, last_chunk
      FROM crm.customer c;
    FOR c IN first_chunk .. COALESCE(last_chunk, -1) LOOP
        total := total OPERATOR(pg_catalog.+) crm.refresh_health_profile_chunk(c);
        n := n OPERATOR(pg_catalog.+) 1;
        COMMIT;
        EXIT WHEN max_chunks IS NOT NULL AND n OPERATOR(pg_catalog.>=) max_chunks;
    END LOOP;
    RAISE NOTICE 'refreshed % health profiles in % chunks', total, n;
END
$$;
REVOKE ALL ON PROCEDURE crm.refresh_health_profiles(integer) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE crm.refresh_health_profiles(integer) TO crm_admin;
COMMENT ON PROCEDURE crm.refresh_health_profiles(integer) IS 'Rebuilds every health profile of the current tenant, one chunk of 4096 customer ids per transaction (CALL it outside a transaction block; inside one, use crm.refresh_health_profile_chunk): locks are short, and several sessions may run it at once (chunks serialize on advisory locks). Run nightly (pg_cron) so that time-dependent dimensions stay current. For crm_admin.';

GRANT SELECT ON crm.health_profile TO crm_health_reader;
GRANT EXECUTE ON FUNCTION crm.pdc(date[], integer[], text[], date, date) TO PUBLIC;

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
