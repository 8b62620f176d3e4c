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
    AS 'MODULE_PATHNAME', 'crm_outbox_notify'
    LANGUAGE C;
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


-- =============================================================================================
-- 10_dmn.sql: decision models (OMG DMN decision tables and FEEL) stored in tables, with two front
-- doors: plain SQL authoring (INSERT into the tables below) and DMN XML (crm.dmn_import /
-- crm.dmn_export). crm.decide evaluates a decision; compiled models are cached per backend and
-- dropped the moment any of these tables changes (statement triggers -> relcache invalidation of
-- crm.dmn_model, seen by every backend and by the changing transaction at its next command).
-- =============================================================================================

CREATE TABLE crm.dmn_model (
    tenant_id     bigint      NOT NULL DEFAULT crm.current_tenant(),
    model_id      bigint      GENERATED ALWAYS AS IDENTITY,
    name          text        NOT NULL CHECK (name <> ''),
    version       integer     NOT NULL CHECK (version > 0),
    is_current    boolean     NOT NULL DEFAULT true,
    namespace_uri text,
    dmn_version   text        CHECK (dmn_version IN ('1.1', '1.2', '1.3', '1.4', '1.5')),
    origin        text        NOT NULL DEFAULT 'sql' CHECK (origin IN ('sql', 'xml')),
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name        NOT NULL DEFAULT CURRENT_USER,
    PRIMARY KEY (tenant_id, model_id),
    UNIQUE (tenant_id, name, version)
);
COMMENT ON TABLE crm.dmn_model IS 'Decision models (DMN definitions), one row per version. Re-importing or re-versioning a model adds a version and makes it current; older versions stay for audit and are read-only.';
COMMENT ON COLUMN crm.dmn_model.name IS 'The model name (DMN definitions/@name); crm.decide and crm.dmn_export address models by it.';
COMMENT ON COLUMN crm.dmn_model.version IS 'Version number, 1, 2, ... per model name.';
COMMENT ON COLUMN crm.dmn_model.is_current IS 'True for the one version crm.decide uses.';
COMMENT ON COLUMN crm.dmn_model.namespace_uri IS 'DMN definitions/@namespace, kept for export.';
COMMENT ON COLUMN crm.dmn_model.dmn_version IS 'DMN version of the imported document (1.1-1.5); exports are always DMN 1.5.';
COMMENT ON COLUMN crm.dmn_model.origin IS 'sql (authored in the tables) or xml (crm.dmn_import).';
CREATE UNIQUE INDEX dmn_model_current_idx ON crm.dmn_model (tenant_id, name) WHERE is_current;

CREATE TABLE crm.dmn_item_definition (
    tenant_id      bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id       bigint  NOT NULL,
    name           text    NOT NULL CHECK (name <> ''),
    position       integer NOT NULL CHECK (position > 0),
    type_ref       text,
    allowed_values text,
    is_collection  boolean NOT NULL DEFAULT false,
    components     jsonb,
    PRIMARY KEY (tenant_id, model_id, name),
    UNIQUE (tenant_id, model_id, position),
    FOREIGN KEY (tenant_id, model_id) REFERENCES crm.dmn_model (tenant_id, model_id) ON DELETE CASCADE,
    CHECK (components IS NULL OR pg_catalog.jsonb_typeof(components) OPERATOR(pg_catalog.=) 'array')
);
COMMENT ON TABLE crm.dmn_item_definition IS 'Named types of a model (DMN itemDefinition): a base type, a structure of components, or a collection.';
COMMENT ON COLUMN crm.dmn_item_definition.type_ref IS 'Base type (number, string, boolean, date, time, date and time, days and time duration, years and months duration) or another item name; NULL for a structure.';
COMMENT ON COLUMN crm.dmn_item_definition.allowed_values IS 'FEEL unary tests the values must pass, e.g. "low","high" or [0..100].';
COMMENT ON COLUMN crm.dmn_item_definition.components IS 'For structures: JSON array of {"name", "type_ref", "allowed_values", "is_collection", "components"} (nested the same way).';

CREATE TABLE crm.dmn_input_data (
    tenant_id bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id  bigint  NOT NULL,
    name      text    NOT NULL CHECK (name <> ''),
    position  integer NOT NULL CHECK (position > 0),
    xml_id    text,
    type_ref  text,
    PRIMARY KEY (tenant_id, model_id, name),
    UNIQUE (tenant_id, model_id, position),
    FOREIGN KEY (tenant_id, model_id) REFERENCES crm.dmn_model (tenant_id, model_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.dmn_input_data IS 'Input data of a model (DMN inputData): the names crm.decide takes from its inputs object.';
COMMENT ON COLUMN crm.dmn_input_data.xml_id IS 'The id the element had in DMN XML (NULL for SQL-authored rows; the name serves as id).';
COMMENT ON COLUMN crm.dmn_input_data.type_ref IS 'Type of the input (base type or item definition name); inputs are coerced to it, e.g. ISO text to a date.';

CREATE TABLE crm.dmn_decision (
    tenant_id   bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id    bigint  NOT NULL,
    decision_id bigint  GENERATED ALWAYS AS IDENTITY,
    name        text    NOT NULL CHECK (name <> ''),
    position    integer NOT NULL CHECK (position > 0),
    xml_id      text,
    type_ref    text,
    kind        text    NOT NULL DEFAULT 'table' CHECK (kind IN ('table', 'literal')),
    literal     text,
    hit_policy  text    NOT NULL DEFAULT 'UNIQUE'
                CHECK (hit_policy IN ('UNIQUE', 'ANY', 'PRIORITY', 'FIRST', 'RULE ORDER', 'OUTPUT ORDER', 'COLLECT')),
    aggregation text    CHECK (aggregation IN ('SUM', 'MIN', 'MAX', 'COUNT')),
    PRIMARY KEY (tenant_id, decision_id),
    UNIQUE (tenant_id, model_id, decision_id),
    UNIQUE (tenant_id, model_id, name),
    UNIQUE (tenant_id, model_id, position),
    FOREIGN KEY (tenant_id, model_id) REFERENCES crm.dmn_model (tenant_id, model_id) ON DELETE CASCADE,
    CHECK ((kind OPERATOR(pg_catalog.=) 'literal') = (literal IS NOT NULL)),
    CHECK (aggregation IS NULL OR hit_policy OPERATOR(pg_catalog.=) 'COLLECT')
);
COMMENT ON TABLE crm.dmn_decision IS 'Decisions of a model: a decision table (inputs, outputs, rules in the tables below) or a FEEL literal expression.';
COMMENT ON COLUMN crm.dmn_decision.name IS 'Decision name, unique in the model; crm.decide addresses decisions by it (or by xml_id).';
COMMENT ON COLUMN crm.dmn_decision.position IS 'Order of the decision in the model (and in exported XML).';
COMMENT ON COLUMN crm.dmn_decision.type_ref IS 'Result type (DMN variable typeRef), or NULL.';
COMMENT ON COLUMN crm.dmn_decision.kind IS 'table (decision table) | literal (FEEL literal expression in column literal).';
COMMENT ON COLUMN crm.dmn_decision.literal IS 'FEEL expression of a literal decision, e.g. Base + max(Extra 1, Extra 2).';
COMMENT ON COLUMN crm.dmn_decision.hit_policy IS 'UNIQUE | ANY | PRIORITY | FIRST | RULE ORDER | OUTPUT ORDER | COLLECT.';
COMMENT ON COLUMN crm.dmn_decision.aggregation IS 'For COLLECT: SUM | MIN | MAX | COUNT, or NULL for the list of outputs.';

CREATE TABLE crm.dmn_input (
    tenant_id    bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id     bigint  NOT NULL,
    decision_id  bigint  NOT NULL,
    position     integer NOT NULL CHECK (position > 0),
    xml_id       text,
    label        text,
    expr         text    NOT NULL,
    type_ref     text,
    input_values text,
    PRIMARY KEY (tenant_id, decision_id, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.dmn_input IS 'Input columns of a decision table, left to right by position.';
COMMENT ON COLUMN crm.dmn_input.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_input.label IS 'Column heading; errors name the column by it (or by expr).';
COMMENT ON COLUMN crm.dmn_input.expr IS 'FEEL input expression, usually an input data name, e.g. Applicant.Age or company size.';
COMMENT ON COLUMN crm.dmn_input.input_values IS 'FEEL unary tests listing the allowed input values, or NULL.';

CREATE TABLE crm.dmn_output (
    tenant_id      bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id       bigint  NOT NULL,
    decision_id    bigint  NOT NULL,
    position       integer NOT NULL CHECK (position > 0),
    xml_id         text,
    name           text,
    label          text,
    type_ref       text,
    output_values  text,
    default_output text,
    PRIMARY KEY (tenant_id, decision_id, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.dmn_output IS 'Output columns of a decision table, left to right by position.';
COMMENT ON COLUMN crm.dmn_output.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_output.name IS 'Output name (the key in the result object when a table has several outputs); NULL for a single unnamed output.';
COMMENT ON COLUMN crm.dmn_output.output_values IS 'FEEL list of the possible values in priority order, e.g. "high","medium","low": used by PRIORITY and OUTPUT ORDER.';
COMMENT ON COLUMN crm.dmn_output.default_output IS 'FEEL expression returned when no rule matches, or NULL.';

CREATE TABLE crm.dmn_rule (
    tenant_id      bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id       bigint  NOT NULL,
    decision_id    bigint  NOT NULL,
    position       integer NOT NULL CHECK (position > 0),
    xml_id         text,
    input_entries  text[]  NOT NULL,
    output_entries text[]  NOT NULL,
    annotation     text,
    PRIMARY KEY (tenant_id, decision_id, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE,
    CHECK (pg_catalog.array_position(input_entries, NULL) IS NULL),
    CHECK (pg_catalog.array_position(output_entries, NULL) IS NULL)
);
COMMENT ON TABLE crm.dmn_rule IS 'Rules of a decision table, top to bottom by position: one FEEL text cell per input and per output.';
COMMENT ON COLUMN crm.dmn_rule.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_rule.input_entries IS 'FEEL unary tests, one per input column, e.g. {">= 18", "\"web\",\"wechat\"", "-"}; "-" matches anything.';
COMMENT ON COLUMN crm.dmn_rule.output_entries IS 'FEEL expressions, one per output column, e.g. {"20"}.';
COMMENT ON COLUMN crm.dmn_rule.annotation IS 'Why the rule exists, in words; lead scoring shows it as the reason.';

CREATE TABLE crm.dmn_requirement (
    tenant_id   bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id    bigint  NOT NULL,
    decision_id bigint  NOT NULL,
    kind        text    NOT NULL CHECK (kind IN ('decision', 'input')),
    required    text    NOT NULL,
    position    integer NOT NULL CHECK (position > 0),
    PRIMARY KEY (tenant_id, decision_id, kind, required),
    UNIQUE (tenant_id, decision_id, kind, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.dmn_requirement IS 'Information requirements: which other decisions and input data a decision reads (evaluated first; cycles are rejected).';
COMMENT ON COLUMN crm.dmn_requirement.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_requirement.kind IS 'decision (another decision of the model) | input (an input data).';
COMMENT ON COLUMN crm.dmn_requirement.required IS 'Name of the required decision or input data.';

CREATE INDEX dmn_decision_model_idx ON crm.dmn_decision (tenant_id, model_id, position);
CREATE INDEX dmn_input_model_idx ON crm.dmn_input (tenant_id, model_id);
CREATE INDEX dmn_output_model_idx ON crm.dmn_output (tenant_id, model_id);
CREATE INDEX dmn_rule_model_idx ON crm.dmn_rule (tenant_id, model_id);
CREATE INDEX dmn_requirement_model_idx ON crm.dmn_requirement (tenant_id, model_id);

SELECT crm.setup_tenant_table('crm.dmn_model');
SELECT crm.setup_tenant_table('crm.dmn_item_definition');
SELECT crm.setup_tenant_table('crm.dmn_input_data');
SELECT crm.setup_tenant_table('crm.dmn_decision');
SELECT crm.setup_tenant_table('crm.dmn_input');
SELECT crm.setup_tenant_table('crm.dmn_output');
SELECT crm.setup_tenant_table('crm.dmn_rule');
SELECT crm.setup_tenant_table('crm.dmn_requirement');

-- ---------------------------------------------------------------------------------------------
-- Guards: child rows get their model_id from the decision; only the current version may change.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_child_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current_ok boolean;
    mname text;
    mversion integer;
BEGIN
    -- pg_dump and pg_restore run with row_security = off: restored rows are taken as dumped
    IF pg_catalog.current_setting('row_security') = 'off' THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME IN ('dmn_input', 'dmn_output', 'dmn_rule', 'dmn_requirement') AND NEW.model_id IS NULL THEN
        SELECT d.model_id INTO NEW.model_id FROM crm.dmn_decision d
         WHERE d.tenant_id = NEW.tenant_id AND d.decision_id = NEW.decision_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'decision % does not exist', NEW.decision_id
                USING ERRCODE = '23503',
                      HINT = 'Create the decision in crm.dmn_decision first; crm.dmn_decision_id(model, decision) finds its id.';
        END IF;
    END IF;
    -- editors of one model take turns (the row lock lasts until commit), so that the check at commit
    -- sees every concurrent edit and two edits that are fine alone cannot combine into a broken model
    SELECT m.is_current, m.name, m.version INTO current_ok, mname, mversion FROM crm.dmn_model m
     WHERE m.tenant_id = NEW.tenant_id AND m.model_id = NEW.model_id
       FOR UPDATE;
    IF FOUND AND NOT current_ok THEN
        RAISE EXCEPTION 'version % of decision model "%" is not the current version and cannot change', mversion, mname
            USING ERRCODE = '55000',
                  HINT = 'Old versions are kept read-only for audit; edit the current version, or start a new one with crm.dmn_new_version().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.dmn_child_guard() IS 'Trigger: fills model_id of decision parts from decision_id and refuses changes to non-current model versions (not with row_security = off, as pg_restore runs, so that every version restores).';

CREATE FUNCTION crm.dmn_model_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'the name and version of decision model "%" version % cannot change', OLD.name, OLD.version
            USING ERRCODE = '55000',
                  HINT = 'Import or create a model under the new name instead.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.dmn_model_guard() IS 'Trigger: a model version keeps its name and number (audit).';

CREATE TRIGGER dmn_model_guard BEFORE UPDATE ON crm.dmn_model
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_model_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_item_definition
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_input_data
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_decision
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_input
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_output
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_rule
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_requirement
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();

-- ---------------------------------------------------------------------------------------------
-- Validation on write: at commit (or at SET CONSTRAINTS ... IMMEDIATE) every changed model is
-- compiled once; a bad cell aborts the transaction with the decision, rule and column named.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_validate_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_dmn_validate_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION crm.dmn_validate_trigger() IS 'Constraint trigger: compiles the changed model (once per model and transaction) and rejects it with the engine''s error (decision, rule, column, position). Skipped with row_security = off (pg_restore loads tables one by one).';

CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE ON crm.dmn_model
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_item_definition
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_input_data
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_decision
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_input
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_output
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_rule
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_requirement
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();

-- ---------------------------------------------------------------------------------------------
-- Cache invalidation (pg_cron pattern): any statement changing a decision table queues a relcache
-- invalidation of crm.dmn_model; every backend's callback drops its compiled programs.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_dmn_invalidate'
    LANGUAGE C;
COMMENT ON FUNCTION crm.dmn_invalidate() IS 'Statement trigger: invalidates every backend''s cache of compiled decision models (and scoring settings).';

CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_model
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_item_definition
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_input_data
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_decision
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_input
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_output
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_rule
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_requirement
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();

-- ---------------------------------------------------------------------------------------------
-- Versions and SQL authoring helpers
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_create_model(model text, namespace_uri text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.current_tenant();
    next_version integer;
    id bigint;
BEGIN
    IF model IS NULL OR model = '' THEN
        RAISE EXCEPTION 'a decision model needs a name'
            USING ERRCODE = '22023', HINT = 'Pass the model name, e.g. crm.dmn_create_model(''lead scoring'').';
    END IF;
    -- one writer per model name at a time, so that version numbers never collide
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('crm.dmn_model:' || t || ':' || model, 0));
    SELECT COALESCE(pg_catalog.max(m.version), 0) + 1 INTO next_version
      FROM crm.dmn_model m WHERE m.tenant_id = t AND m.name = model;
    UPDATE crm.dmn_model m SET is_current = false WHERE m.tenant_id = t AND m.name = model AND m.is_current;
    INSERT INTO crm.dmn_model (tenant_id, name, version, namespace_uri)
    VALUES (t, model, next_version, dmn_create_model.namespace_uri)
    RETURNING model_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION crm.dmn_create_model(text, text) IS 'Starts an empty new version of a decision model (version 1 if the name is new) and makes it current; returns its model_id. Fill it by inserting decisions, inputs, outputs and rules.';

CREATE FUNCTION crm.dmn_new_version(model text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.current_tenant();
    old_id bigint;
    new_id bigint;
BEGIN
    SELECT m.model_id INTO old_id FROM crm.dmn_model m
     WHERE m.tenant_id = t AND m.name = model AND m.is_current;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'decision model "%" does not exist', model
            USING ERRCODE = '42704', HINT = 'Create it with crm.dmn_create_model() or crm.dmn_import().';
    END IF;
    new_id := crm.dmn_create_model(model, (SELECT m.namespace_uri FROM crm.dmn_model m WHERE m.tenant_id = t AND m.model_id = old_id));
    UPDATE crm.dmn_model n SET dmn_version = o.dmn_version, origin = o.origin
      FROM crm.dmn_model o WHERE n.tenant_id = t AND n.model_id = new_id AND o.tenant_id = t AND o.model_id = old_id;
    INSERT INTO crm.dmn_item_definition (tenant_id, model_id, name, position, type_ref, allowed_values, is_collection, components)
    SELECT t, new_id, i.name, i.position, i.type_ref, i.allowed_values, i.is_collection, i.components
      FROM crm.dmn_item_definition i WHERE i.tenant_id = t AND i.model_id = old_id;
    INSERT INTO crm.dmn_input_data (tenant_id, model_id, name, position, xml_id, type_ref)
    SELECT t, new_id, i.name, i.position, i.xml_id, i.type_ref
      FROM crm.dmn_input_data i WHERE i.tenant_id = t AND i.model_id = old_id;
    INSERT INTO crm.dmn_decision (tenant_id, model_id, name, position, xml_id, type_ref, kind, literal, hit_policy, aggregation)
    SELECT t, new_id, d.name, d.position, d.xml_id, d.type_ref, d.kind, d.literal, d.hit_policy, d.aggregation
      FROM crm.dmn_decision d WHERE d.tenant_id = t AND d.model_id = old_id;
    -- decision parts follow their decision by name into the new version
    INSERT INTO crm.dmn_input (tenant_id, model_id, decision_id, position, xml_id, label, expr, type_ref, input_values)
    SELECT t, new_id, n.decision_id, i.position, i.xml_id, i.label, i.expr, i.type_ref, i.input_values
      FROM crm.dmn_input i
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = i.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE i.tenant_id = t AND i.model_id = old_id;
    INSERT INTO crm.dmn_output (tenant_id, model_id, decision_id, position, xml_id, name, label, type_ref, output_values, default_output)
    SELECT t, new_id, n.decision_id, p.position, p.xml_id, p.name, p.label, p.type_ref, p.output_values, p.default_output
      FROM crm.dmn_output p
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = p.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE p.tenant_id = t AND p.model_id = old_id;
    INSERT INTO crm.dmn_rule (tenant_id, model_id, decision_id, position, xml_id, input_entries, output_entries, annotation)
    SELECT t, new_id, n.decision_id, r.position, r.xml_id, r.input_entries, r.output_entries, r.annotation
      FROM crm.dmn_rule r
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = r.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE r.tenant_id = t AND r.model_id = old_id;
    INSERT INTO crm.dmn_requirement (tenant_id, model_id, decision_id, kind, required, position)
    SELECT t, new_id, n.decision_id, q.kind, q.required, q.position
      FROM crm.dmn_requirement q
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = q.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE q.tenant_id = t AND q.model_id = old_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION crm.dmn_new_version(text) IS 'Copies the current version of a decision model into a new current version (the old one stays read-only for audit) and returns the new model_id; edit the copy in SQL.';

CREATE FUNCTION crm.dmn_model_id(model text, version integer DEFAULT NULL) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT m.model_id FROM crm.dmn_model m
     WHERE m.tenant_id OPERATOR(pg_catalog.=) crm.current_tenant() AND m.name OPERATOR(pg_catalog.=) model
       AND (CASE WHEN dmn_model_id.version IS NULL THEN m.is_current
                 ELSE m.version OPERATOR(pg_catalog.=) dmn_model_id.version END);
END;
COMMENT ON FUNCTION crm.dmn_model_id(text, integer) IS 'The model_id of a decision model''s current version (or of the given version); NULL if there is none.';

CREATE FUNCTION crm.dmn_decision_id(model text, decision text) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT d.decision_id FROM crm.dmn_model m
      JOIN crm.dmn_decision d ON d.tenant_id OPERATOR(pg_catalog.=) m.tenant_id AND d.model_id OPERATOR(pg_catalog.=) m.model_id
     WHERE m.tenant_id OPERATOR(pg_catalog.=) crm.current_tenant() AND m.name OPERATOR(pg_catalog.=) model
       AND m.is_current AND d.name OPERATOR(pg_catalog.=) decision;
END;
COMMENT ON FUNCTION crm.dmn_decision_id(text, text) IS 'The decision_id of a decision in the current version of a model; NULL if there is none. For SQL authoring of inputs, outputs and rules.';

CREATE FUNCTION crm.dmn_model_json(model text, version integer DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.current_tenant();
    id bigint := crm.dmn_model_id(model, version);
    result jsonb;
BEGIN
    IF id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_build_object(
        'name', m.name, 'namespace_uri', m.namespace_uri,
        'item_definitions', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(i) - '{tenant_id,model_id}'::text[] ORDER BY i.position)
                               FROM crm.dmn_item_definition i WHERE i.tenant_id = t AND i.model_id = id),
        'input_data', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(i) - '{tenant_id,model_id}'::text[] ORDER BY i.position)
                         FROM crm.dmn_input_data i WHERE i.tenant_id = t AND i.model_id = id),
        'decisions', (SELECT pg_catalog.jsonb_agg((pg_catalog.to_jsonb(d) - '{tenant_id,model_id,decision_id}'::text[]) || jsonb_build_object(
                  'inputs', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.position)
                               FROM crm.dmn_input x WHERE x.tenant_id = t AND x.decision_id = d.decision_id),
                  'outputs', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.position)
                               FROM crm.dmn_output x WHERE x.tenant_id = t AND x.decision_id = d.decision_id),
                  'rules', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.position)
                             FROM crm.dmn_rule x WHERE x.tenant_id = t AND x.decision_id = d.decision_id),
                  'requirements', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.kind, x.position)
                                    FROM crm.dmn_requirement x WHERE x.tenant_id = t AND x.decision_id = d.decision_id))
                  ORDER BY d.position)
                        FROM crm.dmn_decision d WHERE d.tenant_id = t AND d.model_id = id))
      INTO result
      FROM crm.dmn_model m WHERE m.tenant_id = t AND m.model_id = id;
    RETURN result;
END
$$;
COMMENT ON FUNCTION crm.dmn_model_json(text, integer) IS 'A model version (current, or the given one) as one JSON document: item definitions, input data, decisions with inputs, outputs, rules and requirements. Compare two versions to audit what changed.';

-- ---------------------------------------------------------------------------------------------
-- The front doors
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_import(doc xml) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_dmn_import'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION crm.dmn_import(xml) IS 'Imports a DMN 1.1-1.5 document as a new current version of its model (definitions/@name, returned). All-or-nothing; hostile or malformed XML is refused with the element path.';

CREATE FUNCTION crm.dmn_export(model text, version integer DEFAULT NULL) RETURNS xml
    AS 'MODULE_PATHNAME', 'crm_dmn_export'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.dmn_export(text, integer) IS 'A decision model (current version, or the given one) as a DMN 1.5 document that crm.dmn_import reads back identically.';

CREATE FUNCTION crm.decide(model text, decision text, inputs jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'crm_decide'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.decide(text, text, jsonb) IS 'Evaluates a decision of the current version of a model with inputs keyed by input data name. One output: its value; several: an object; COLLECT (no aggregation), RULE ORDER, OUTPUT ORDER: an array; no match: null. Numbers are exact; dates and durations are ISO strings.';

CREATE FUNCTION crm.decide_row(model text, decision text, inputs record) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'crm_decide_row'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.decide_row(text, text, record) IS 'crm.decide with the inputs taken from a row (of a table, a view or ROW(...) AS ...), columns matched to input data by name; absent columns are null. Text, booleans and numbers go in directly, dates and times as ISO strings, jsonb as its value, one-dimensional arrays as lists, other types as their text.';

CREATE FUNCTION crm.dmn_cache_stats(OUT models integer, OUT hits bigint, OUT misses bigint, OUT invalidations bigint)
    AS 'MODULE_PATHNAME', 'crm_dmn_cache_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.dmn_cache_stats() IS 'This backend''s cache of compiled decision models: cached models, lookups served from it, compilations, and invalidations received.';

GRANT SELECT ON crm.dmn_model, crm.dmn_item_definition, crm.dmn_input_data, crm.dmn_decision, crm.dmn_input,
    crm.dmn_output, crm.dmn_rule, crm.dmn_requirement TO crm_rep;
GRANT INSERT, UPDATE, DELETE ON crm.dmn_item_definition, crm.dmn_input_data, crm.dmn_decision, crm.dmn_input,
    crm.dmn_output, crm.dmn_rule, crm.dmn_requirement TO crm_admin;
GRANT INSERT, DELETE, UPDATE (is_current, namespace_uri, dmn_version, origin) ON crm.dmn_model TO crm_admin;
REVOKE ALL ON FUNCTION crm.dmn_import(xml), crm.dmn_create_model(text, text), crm.dmn_new_version(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.dmn_import(xml), crm.dmn_create_model(text, text), crm.dmn_new_version(text) TO crm_admin;
REVOKE ALL ON FUNCTION crm.dmn_export(text, integer), crm.decide(text, text, jsonb), crm.decide_row(text, text, record),
    crm.dmn_model_id(text, integer),
    crm.dmn_decision_id(text, text), crm.dmn_cache_stats(), crm.dmn_model_json(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.dmn_export(text, integer), crm.decide(text, text, jsonb), crm.decide_row(text, text, record),
    crm.dmn_model_id(text, integer),
    crm.dmn_decision_id(text, text), crm.dmn_cache_stats(), crm.dmn_model_json(text, integer) TO crm_rep;

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

-- ---------------------------------------------------------------------------------------------
-- 20_geo.sql: geo-fences (type crm.geofence), coordinate systems, territories and crm.locate.
-- See docs/geo.md.
-- ---------------------------------------------------------------------------------------------

CREATE TYPE crm.geofence;

CREATE FUNCTION crm.geofence_in(cstring) RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION crm.geofence_out(crm.geofence) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_geofence_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION crm.geofence_recv(internal) RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION crm.geofence_send(crm.geofence) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_geofence_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE crm.geofence (
    INPUT = crm.geofence_in,
    OUTPUT = crm.geofence_out,
    RECEIVE = crm.geofence_recv,
    SEND = crm.geofence_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE crm.geofence IS 'A geo-fence: polygons with holes (a multipolygon) or a circle, in longitude/latitude degrees of one coordinate system (wgs84, gcj02 or bd09), with a bounding box header. Text form is WKT: SRID=4326;POLYGON((lon lat, ...)), SRS=gcj02;MULTIPOLYGON(...), SRS=bd09;CIRCLE(lon lat, radius_m).';
COMMENT ON FUNCTION crm.geofence_in(cstring) IS 'Input of crm.geofence from WKT (validated; see docs/geo.md).';
COMMENT ON FUNCTION crm.geofence_out(crm.geofence) IS 'Output of crm.geofence as WKT with its coordinate system.';
COMMENT ON FUNCTION crm.geofence_recv(internal) IS 'Binary input of crm.geofence.';
COMMENT ON FUNCTION crm.geofence_send(crm.geofence) IS 'Binary output of crm.geofence.';

-- ---- predicates, measures, coordinate systems ----
CREATE FUNCTION crm.geofence_contains(fence crm.geofence, lon float8, lat float8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_geofence_contains' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_contains(crm.geofence, float8, float8) IS 'True when the point (in the fence''s own coordinate system) is inside the fence or on its boundary; points in a hole are outside, points on a hole''s edge inside.';

CREATE FUNCTION crm.geofence_contains(fence crm.geofence, lon float8, lat float8, srs text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_geofence_contains' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_contains(crm.geofence, float8, float8, text) IS 'Like crm.geofence_contains(fence, lon, lat) for a point given in coordinate system srs (converted to the fence''s system first).';

CREATE FUNCTION crm.geofence_circle(lon float8, lat float8, radius_m float8, srs text DEFAULT 'wgs84')
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_circle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_circle(float8, float8, float8, text) IS 'A circular fence: centre (lon, lat) in system srs and radius in metres (great-circle distance, at most 1000 km), e.g. a store check-in radius.';

CREATE FUNCTION crm.geofence_srs(fence crm.geofence) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_geofence_srs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_srs(crm.geofence) IS 'The coordinate system the fence is drawn in: wgs84, gcj02 or bd09.';

CREATE FUNCTION crm.geofence_box(fence crm.geofence) RETURNS box
    AS 'MODULE_PATHNAME', 'crm_geofence_box' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_box(crm.geofence) IS 'The fence''s bounding box (longitude as x, latitude as y) in its own coordinate system.';

CREATE FUNCTION crm.geofence_npoints(fence crm.geofence) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_geofence_npoints' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_npoints(crm.geofence) IS 'Number of distinct vertices of all rings (closing vertices not counted; 0 for a circle).';

CREATE FUNCTION crm.geofence_transform(fence crm.geofence, to_srs text) RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_transform' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_transform(crm.geofence, text) IS 'The fence with every vertex (or a circle''s centre) converted to coordinate system to_srs.';

CREATE FUNCTION crm.distance_m(lon1 float8, lat1 float8, lon2 float8, lat2 float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'crm_distance_m_pg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.distance_m(float8, float8, float8, float8) IS 'Great-circle distance in metres between two points (haversine on a sphere of the WGS-84 mean radius 6371008.8 m; within 0.5% of the ellipsoidal distance). Both points must be in the same coordinate system.';

CREATE FUNCTION crm.transform_point(lon float8, lat float8, from_srs text, to_srs text) RETURNS point
    AS 'MODULE_PATHNAME', 'crm_transform_point' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.transform_point(float8, float8, text, text) IS 'Converts a point between wgs84 (GPS), gcj02 (Amap, Tencent, WeChat) and bd09 (Baidu); returns point(lon, lat). Identity outside China''s box for wgs84<->gcj02; GCJ-02 to WGS-84 is an exact iterative inverse.';

-- ---------------------------------------------------------------------------------------------
-- Territories
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.territory (
    tenant_id         bigint       NOT NULL DEFAULT crm.current_tenant(),
    territory_id      bigint       GENERATED ALWAYS AS IDENTITY,
    parent_id         bigint,
    code              text         NOT NULL CHECK (code OPERATOR(pg_catalog.<>) ''),
    name              text         NOT NULL,
    fence             crm.geofence NOT NULL,
    priority          integer      NOT NULL DEFAULT 100,
    active            boolean      NOT NULL DEFAULT true,
    sla_seconds       integer      NOT NULL DEFAULT 300 CHECK (sla_seconds > 0),
    manager_rep_id    bigint,
    assignment_policy text         NOT NULL DEFAULT 'round_robin'
                      CHECK (assignment_policy IN ('round_robin', 'least_loaded', 'weighted')),
    weight_model      text,
    created_at        timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at        timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, territory_id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES crm.territory (tenant_id, territory_id),
    FOREIGN KEY (tenant_id, manager_rep_id) REFERENCES crm.rep (tenant_id, rep_id),
    CHECK (parent_id IS DISTINCT FROM territory_id)
);
SELECT crm.setup_tenant_table('crm.territory');
COMMENT ON TABLE crm.territory IS 'Sales territories (销售片区): a geo-fence each, found by crm.locate(); leads are dispatched to the reps of the territory they fall in.';
COMMENT ON COLUMN crm.territory.parent_id IS 'The enclosing territory (e.g. city above district), for roll-ups; NULL at the top.';
COMMENT ON COLUMN crm.territory.code IS 'Short code of the territory, unique per tenant (e.g. SH-PD for Shanghai Pudong).';
COMMENT ON COLUMN crm.territory.fence IS 'Where the territory is: polygons with holes or a circle, in any supported coordinate system.';
COMMENT ON COLUMN crm.territory.priority IS 'Smaller numbers are checked first: crm.locate() returns every containing territory ordered by priority, then territory_id.';
COMMENT ON COLUMN crm.territory.active IS 'Inactive territories are ignored by crm.locate().';
COMMENT ON COLUMN crm.territory.sla_seconds IS 'How long a rep has to acknowledge a lead of this territory before it is escalated.';
COMMENT ON COLUMN crm.territory.manager_rep_id IS 'The territory manager (a crm.rep): last step of escalation.';
COMMENT ON COLUMN crm.territory.assignment_policy IS 'How a rep is chosen: round_robin | least_loaded | weighted.';
COMMENT ON COLUMN crm.territory.weight_model IS 'For the weighted policy: the name of the decision model that scores reps (NULL = built-in weights).';
CREATE INDEX territory_parent_idx ON crm.territory (tenant_id, parent_id);
CREATE TRIGGER territory_touch BEFORE UPDATE ON crm.territory FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();

CREATE FUNCTION crm.territory_check_weight_model() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- pg_restore (row_security = off) loads territories before or after the models: no check
    IF NEW.weight_model IS NULL OR pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM crm.dmn_model m
                     JOIN crm.dmn_decision d ON d.tenant_id OPERATOR(pg_catalog.=) m.tenant_id
                                            AND d.model_id OPERATOR(pg_catalog.=) m.model_id
                    WHERE m.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id
                      AND m.name OPERATOR(pg_catalog.=) NEW.weight_model AND m.is_current
                      AND d.name OPERATOR(pg_catalog.=) 'weight') THEN
        RAISE EXCEPTION 'territory "%": weight model "%" has no decision "weight"', NEW.code, NEW.weight_model
            USING ERRCODE = '42704',
                  DETAIL = 'The weighted policy scores each rep with crm.decide(weight_model, ''weight'', inputs); without that decision every lead of the territory would fail to dispatch.',
                  HINT = 'Import or create the model (with a decision named "weight") first, or set weight_model to NULL for the built-in weights.';
    END IF;
    RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION crm.territory_check_weight_model() IS 'Trigger (BEFORE INSERT/UPDATE OF weight_model on crm.territory): the named decision model must exist in the tenant with a decision "weight"; checked when the territory is configured, not when its first lead arrives.';
REVOKE ALL ON FUNCTION crm.territory_check_weight_model() FROM PUBLIC;
CREATE TRIGGER territory_check_weight_model BEFORE INSERT OR UPDATE OF weight_model ON crm.territory
    FOR EACH ROW EXECUTE FUNCTION crm.territory_check_weight_model();

CREATE FUNCTION crm.territory_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_territory_changed' LANGUAGE C;
COMMENT ON FUNCTION crm.territory_changed() IS 'Statement trigger on crm.territory: invalidates every backend''s cached territory index used by crm.locate().';
CREATE TRIGGER territory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.territory
    FOR EACH STATEMENT EXECUTE FUNCTION crm.territory_changed();

CREATE FUNCTION crm.locate(lon float8, lat float8, srs text DEFAULT 'wgs84')
    RETURNS TABLE (territory_id bigint, name text, priority integer)
    AS 'MODULE_PATHNAME', 'crm_locate' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 2;
COMMENT ON FUNCTION crm.locate(float8, float8, text) IS 'The active territories of the current tenant whose fence contains the point (lon, lat) given in system srs (wgs84, gcj02, bd09), ordered by priority then territory_id. Uses a per-backend spatial index rebuilt after crm.territory changes.';

CREATE FUNCTION crm.locate_id(lon float8, lat float8, srs text DEFAULT 'wgs84') RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_locate_id' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.locate_id(float8, float8, text) IS 'The first territory crm.locate() would return (smallest priority, then territory_id), or NULL when none contains the point.';

GRANT SELECT ON crm.territory TO crm_rep, crm_bi_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.territory TO crm_admin;

-- ---- formats ----
CREATE FUNCTION crm.geofence_from_kml(doc xml, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_from_kml' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_from_kml(xml, text, boolean) IS 'One fence from every Polygon (outer and inner boundaries, MultiGeometry, any KML namespace or prefix, 2D or 3D coordinates) of a KML document or fragment. srs names the system the coordinates are in (KML is WGS-84; maps drawn on Amap are gcj02). strict applies the OGC / KML 2.2 reading (clockwise exterior rings and rings touching themselves are errors); otherwise rings are re-oriented and single-point touches tolerated.';

CREATE FUNCTION crm.kml_placemarks(doc xml, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS TABLE (name text, fence crm.geofence)
    AS 'MODULE_PATHNAME', 'crm_kml_placemarks_pg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION crm.kml_placemarks(xml, text, boolean) IS 'One row per Placemark of a KML document that holds at least one polygon, in document order: its name and all its polygons as one fence.';

CREATE FUNCTION crm.geofence_from_geojson(geojson jsonb, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_from_geojson' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_from_geojson(jsonb, text, boolean) IS 'A fence from a GeoJSON Polygon or MultiPolygon geometry, a GeometryCollection of them, a Feature holding one, or a FeatureCollection (all polygon features as one fence). Positions are [lon, lat(, alt)] in system srs.';

CREATE FUNCTION crm.geofence_from_wkb(wkb bytea, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_from_wkb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_from_wkb(bytea, text, boolean) IS 'A fence from WKB or EWKB (e.g. PostGIS ST_AsBinary(geom) of a POLYGON or MULTIPOLYGON in SRID 4326), either byte order; Z and M ordinates are ignored.';

CREATE FUNCTION crm.geofence_as_geojson(fence crm.geofence, to_srs text DEFAULT 'wgs84') RETURNS jsonb
    AS 'MODULE_PATHNAME', 'crm_geofence_as_geojson' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_as_geojson(crm.geofence, text) IS 'The fence as a GeoJSON Polygon or MultiPolygon in system to_srs (default WGS-84, as RFC 7946 asks); a circle becomes a 64-vertex polygon.';

CREATE FUNCTION crm.geofence_as_kml(fence crm.geofence, name text DEFAULT NULL) RETURNS xml
    AS 'MODULE_PATHNAME', 'crm_geofence_as_kml' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_as_kml(crm.geofence, text) IS 'The fence as a KML 2.2 Placemark (optionally named) holding a Polygon or MultiGeometry, converted to WGS-84; a circle becomes a 64-vertex polygon.';

CREATE FUNCTION crm.geofence_repair(input text, format text DEFAULT 'wkt', srs text DEFAULT 'wgs84')
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_repair' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_repair(text, text, text) IS 'Reads a fence (format wkt, geojson or kml) that may be invalid and repairs what has one right answer: closes unclosed rings, drops consecutive duplicate vertices, drops rings with fewer than 3 distinct vertices or no area (and a polygon whose shell is dropped), drops holes outside their shell, re-orients rings. Self-crossing rings are still errors.';
-- ---------------------------------------------------------------------------------------------
-- 25_dispatch.sql: lead dispatch. Membership of reps in territories, working hours, licences,
-- weights, per-rep load counters, the dispatch trigger and functions, acknowledgement, SLA
-- escalation and BI views. The territories themselves (crm.territory, crm.locate) come from the
-- geo-fence part. Design and reference: docs/dispatch.md.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE crm.territory_rep (
    tenant_id    bigint      NOT NULL DEFAULT crm.current_tenant(),
    territory_id bigint      NOT NULL,
    rep_id       bigint      NOT NULL,
    role         text        NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'backup')),
    weight       numeric     NOT NULL DEFAULT 1 CHECK (weight >= 0),
    active       boolean     NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, territory_id, rep_id),
    FOREIGN KEY (tenant_id, territory_id) REFERENCES crm.territory (tenant_id, territory_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, rep_id) REFERENCES crm.rep (tenant_id, rep_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.territory_rep IS 'Which reps receive the leads of which territory (a rep may serve several territories).';
COMMENT ON COLUMN crm.territory_rep.role IS 'member | backup: backups are candidates like members; the column is for reporting and for the app.';
COMMENT ON COLUMN crm.territory_rep.weight IS 'Multiplies the rep''s score under the weighted policy (0 = never chosen by that policy).';
COMMENT ON COLUMN crm.territory_rep.active IS 'Inactive memberships are ignored (the rep keeps the leads already held).';
CREATE INDEX territory_rep_rep_idx ON crm.territory_rep (tenant_id, rep_id);
SELECT crm.setup_tenant_table('crm.territory_rep');

CREATE TABLE crm.rep_hours (
    tenant_id bigint   NOT NULL DEFAULT crm.current_tenant(),
    rep_id    bigint   NOT NULL,
    weekday   smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts    time     NOT NULL,
    ends      time     NOT NULL,
    PRIMARY KEY (tenant_id, rep_id, weekday, starts),
    FOREIGN KEY (tenant_id, rep_id) REFERENCES crm.rep (tenant_id, rep_id) ON DELETE CASCADE,
    CHECK (starts < ends)
);
COMMENT ON TABLE crm.rep_hours IS 'Working hours of reps in China Standard Time (Asia/Shanghai). A rep without rows works at any time; a rep with rows receives leads only within one of them.';
COMMENT ON COLUMN crm.rep_hours.weekday IS 'ISO weekday: 1 = Monday ... 7 = Sunday.';
COMMENT ON COLUMN crm.rep_hours.starts IS 'Start of the shift (inclusive), local time.';
COMMENT ON COLUMN crm.rep_hours.ends IS 'End of the shift (exclusive), local time; a night shift is two rows.';
SELECT crm.setup_tenant_table('crm.rep_hours');

CREATE TABLE crm.licensed_skill (
    tenant_id   bigint NOT NULL DEFAULT crm.current_tenant(),
    skill       text   NOT NULL,
    description text,
    PRIMARY KEY (tenant_id, skill)
);
COMMENT ON TABLE crm.licensed_skill IS 'Skills that count only with a valid licence on file (crm.rep_licence), e.g. licensed_pharmacist (执业药师).';
SELECT crm.setup_tenant_table('crm.licensed_skill');

CREATE TABLE crm.rep_licence (
    tenant_id   bigint NOT NULL DEFAULT crm.current_tenant(),
    rep_id      bigint NOT NULL,
    skill       text   NOT NULL,
    licence_no  text   NOT NULL,
    valid_from  date   NOT NULL,
    valid_until date,
    PRIMARY KEY (tenant_id, rep_id, skill, licence_no),
    FOREIGN KEY (tenant_id, rep_id) REFERENCES crm.rep (tenant_id, rep_id) ON DELETE CASCADE,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
COMMENT ON TABLE crm.rep_licence IS 'Licences on file per rep; a licensed skill qualifies a rep only while one of its licences is valid on the dispatch day (China Standard Time).';
COMMENT ON COLUMN crm.rep_licence.valid_until IS 'Last valid day (inclusive); NULL = no expiry.';
SELECT crm.setup_tenant_table('crm.rep_licence');

CREATE TABLE crm.rep_metric (
    tenant_id  bigint      NOT NULL DEFAULT crm.current_tenant(),
    rep_id     bigint      NOT NULL,
    metric     text        NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]*$'),
    value      numeric     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, rep_id, metric),
    FOREIGN KEY (tenant_id, rep_id) REFERENCES crm.rep (tenant_id, rep_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.rep_metric IS 'Inputs of the weighted policy per rep, e.g. dealer_level (经销商等级), fulfilment_rate (履约率), inventory_saturation (区域库存饱和度); refreshed by the app or a job.';
SELECT crm.setup_tenant_table('crm.rep_metric');

CREATE TABLE crm.dispatch_weight (
    tenant_id    bigint  NOT NULL DEFAULT crm.current_tenant(),
    weight_id    bigint  GENERATED ALWAYS AS IDENTITY,
    territory_id bigint,
    metric       text    NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_]*$'),
    weight       numeric NOT NULL,
    PRIMARY KEY (tenant_id, weight_id),
    UNIQUE NULLS NOT DISTINCT (tenant_id, territory_id, metric),
    FOREIGN KEY (tenant_id, territory_id) REFERENCES crm.territory (tenant_id, territory_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.dispatch_weight IS 'Editable weights of the weighted policy: score = membership weight × Σ weight × rep_metric.value. Rows of a territory replace the tenant-wide rows (territory_id NULL) for that territory.';
COMMENT ON COLUMN crm.dispatch_weight.weight IS 'May be negative (e.g. inventory_saturation: a saturated region should get fewer leads).';
SELECT crm.setup_tenant_table('crm.dispatch_weight');

CREATE TABLE crm.rep_load (
    tenant_id        bigint      NOT NULL DEFAULT crm.current_tenant(),
    rep_id           bigint      NOT NULL,
    open_leads       integer     NOT NULL DEFAULT 0 CHECK (open_leads >= 0),
    assigned_total   bigint      NOT NULL DEFAULT 0,
    last_assigned_at timestamptz,
    PRIMARY KEY (tenant_id, rep_id),
    FOREIGN KEY (tenant_id, rep_id) REFERENCES crm.rep (tenant_id, rep_id) ON DELETE CASCADE
) WITH (fillfactor = 20);
COMMENT ON TABLE crm.rep_load IS 'Dispatch counters per rep, kept by triggers: its row is the lock that serialises assignments to the rep (docs/dispatch.md, concurrency). Small rows updated on every assignment: fillfactor 20 keeps the updates HOT.';
COMMENT ON COLUMN crm.rep_load.open_leads IS 'Leads the rep owns with status assigned, accepted or qualified (compared with crm.rep.capacity).';
COMMENT ON COLUMN crm.rep_load.assigned_total IS 'Leads ever dispatched to the rep (the weighted policy''s share counter).';
COMMENT ON COLUMN crm.rep_load.last_assigned_at IS 'When the rep last received a dispatched lead (round robin).';
SELECT crm.setup_tenant_table('crm.rep_load');
-- derived data: not dumped (WHERE false); on restore the triggers rebuild it from crm.rep and the
-- open leads as their rows come back
SELECT pg_catalog.pg_extension_config_dump('crm.rep_load', 'WHERE false');

CREATE TABLE crm.lead_dispatch (
    tenant_id           bigint      NOT NULL DEFAULT crm.current_tenant(),
    lead_id             bigint      NOT NULL,
    territory_id        bigint,
    rep_id              bigint,
    auto                boolean     NOT NULL DEFAULT true,
    reason              text        CHECK (reason IN ('no location', 'no territory', 'no active rep',
                                                      'no qualified rep', 'outside working hours',
                                                      'no rep with positive weight', 'all at capacity')),
    detail              jsonb,
    lead_created_at     timestamptz NOT NULL,
    first_dispatched_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    first_assigned_at   timestamptz,
    assigned_at         timestamptz,
    acked_at            timestamptz,
    acked_by            name,
    sla_due_at          timestamptz,
    escalation_level    smallint    NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 2),
    tried_reps          bigint[]    NOT NULL DEFAULT '{}',
    dispatch_count      integer     NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (tenant_id, lead_id),
    CHECK ((rep_id IS NULL) = (reason IS NOT NULL) OR NOT auto)
);
COMMENT ON TABLE crm.lead_dispatch IS 'Dispatch state of each lead: territory, current assignee, or the reason nobody could take it; times of assignment, acknowledgement and SLA; escalation level. Written by the dispatch trigger and functions only.';
COMMENT ON COLUMN crm.lead_dispatch.auto IS 'True when the current owner was chosen by dispatch (false: recorded by crm.ack for a lead that was given its owner by hand).';
COMMENT ON COLUMN crm.lead_dispatch.reason IS 'Why the lead is unassigned: no location | no territory | no active rep | no qualified rep | outside working hours | no rep with positive weight | all at capacity.';
COMMENT ON COLUMN crm.lead_dispatch.detail IS 'Reason per containing territory, in priority order: [{"territory_id":..,"reason":..}].';
COMMENT ON COLUMN crm.lead_dispatch.first_assigned_at IS 'When the lead was first given to a rep (dispatch latency = this - lead_created_at).';
COMMENT ON COLUMN crm.lead_dispatch.assigned_at IS 'When the current owner was assigned (the SLA clock starts here).';
COMMENT ON COLUMN crm.lead_dispatch.acked_at IS 'When the owner (or a manager) confirmed with crm.ack().';
COMMENT ON COLUMN crm.lead_dispatch.sla_due_at IS 'Acknowledgement deadline: assigned_at + the territory''s sla_seconds; NULL once escalated to a manager.';
COMMENT ON COLUMN crm.lead_dispatch.escalation_level IS '0 = first rep, 1 = re-dispatched to the next rep, 2 = escalated to the manager.';
COMMENT ON COLUMN crm.lead_dispatch.tried_reps IS 'Every rep who has held the lead, in order; re-dispatch never returns it to them.';
CREATE INDEX lead_dispatch_due_idx ON crm.lead_dispatch (tenant_id, sla_due_at) WHERE acked_at IS NULL AND sla_due_at IS NOT NULL;
CREATE INDEX lead_dispatch_queue_idx ON crm.lead_dispatch (tenant_id, lead_id) WHERE rep_id IS NULL;
SELECT crm.setup_tenant_table('crm.lead_dispatch');

-- ---------------------------------------------------------------------------------------------
-- Load counters follow reps and leads
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.rep_load_init() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO crm.rep_load (tenant_id, rep_id) VALUES (NEW.tenant_id, NEW.rep_id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm.rep_load_init() IS 'Trigger: creates the dispatch counter row of a new rep.';
REVOKE ALL ON FUNCTION crm.rep_load_init() FROM PUBLIC;
CREATE TRIGGER rep_20_dispatch_load AFTER INSERT ON crm.rep FOR EACH ROW EXECUTE FUNCTION crm.rep_load_init();

-- Not SECURITY DEFINER: the C function switches to its owner itself for the work it does, and
-- pins search_path to pg_catalog, pg_temp before any SQL statement (src/pg/dispatch_scope.c),
-- which costs far less per lead than a definer call.
CREATE FUNCTION crm.lead_dispatch_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_dispatch_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION crm.lead_dispatch_trigger() IS 'Trigger (BEFORE INSERT on crm.lead): dispatches a new lead: sets owner_rep_id and status assigned, or status unassigned with the reason in crm.lead_dispatch. Runs as its owner (switched in C, with search_path pinned), like a SECURITY DEFINER function.';
REVOKE ALL ON FUNCTION crm.lead_dispatch_trigger() FROM PUBLIC;
CREATE TRIGGER lead_20_dispatch BEFORE INSERT ON crm.lead FOR EACH ROW EXECUTE FUNCTION crm.lead_dispatch_trigger();

CREATE FUNCTION crm.lead_dispatch_release() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_dispatch_release'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION crm.lead_dispatch_release() IS 'Trigger (AFTER UPDATE/DELETE on crm.lead): keeps crm.rep_load.open_leads right when leads are closed, reassigned by hand or deleted.';
REVOKE ALL ON FUNCTION crm.lead_dispatch_release() FROM PUBLIC;
CREATE TRIGGER lead_20_dispatch_release AFTER UPDATE OF status, owner_rep_id ON crm.lead FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.owner_rep_id IS DISTINCT FROM NEW.owner_rep_id)
    EXECUTE FUNCTION crm.lead_dispatch_release();
CREATE TRIGGER lead_20_dispatch_release_del AFTER DELETE ON crm.lead FOR EACH ROW
    EXECUTE FUNCTION crm.lead_dispatch_release();

-- ---------------------------------------------------------------------------------------------
-- Every backend caches the members of territories (reps, skills, licences, hours, weights);
-- a change to any of these tables drops the cache everywhere (relcache invalidation).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dispatch_config_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_dispatch_config_changed' LANGUAGE C;
COMMENT ON FUNCTION crm.dispatch_config_changed() IS 'Statement trigger on the dispatch configuration tables: invalidates every backend''s cache of territory members.';
REVOKE ALL ON FUNCTION crm.dispatch_config_changed() FROM PUBLIC;
CREATE TRIGGER territory_rep_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.territory_rep
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER rep_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.rep
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER territory_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.territory
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER rep_hours_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.rep_hours
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER licensed_skill_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.licensed_skill
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER rep_licence_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.rep_licence
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER rep_metric_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.rep_metric
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();
CREATE TRIGGER dispatch_weight_20_dispatch_config AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dispatch_weight
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dispatch_config_changed();

-- ---------------------------------------------------------------------------------------------
-- Dispatch functions
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dispatch(lead_id bigint, at timestamptz DEFAULT pg_catalog.clock_timestamp())
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_dispatch'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION crm.dispatch(bigint, timestamptz) IS 'Dispatches a new or unassigned lead of the current tenant as of time at (working hours, licences): returns the chosen rep_id, or NULL with the reason in crm.lead_dispatch. A lead that already has an open owner is left as it is and its owner returned.';

CREATE FUNCTION crm.redispatch(lead_id bigint, at timestamptz DEFAULT pg_catalog.clock_timestamp())
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_redispatch'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION crm.redispatch(bigint, timestamptz) IS 'Moves an assigned lead to another eligible rep who has not held it before; returns the new rep_id, or NULL (and changes nothing) when there is none.';

CREATE FUNCTION crm.dispatch_pending(max_leads integer DEFAULT 500,
                                     at timestamptz DEFAULT pg_catalog.clock_timestamp())
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.dispatch_tenant();
    id bigint;
    n integer := 0;
BEGIN
    IF max_leads IS NULL OR max_leads < 1 OR max_leads > 100000 THEN
        RAISE EXCEPTION 'max_leads must be between 1 and 100000, got %', max_leads
            USING ERRCODE = '22023', HINT = 'Retry the queue in batches of at most 100000 leads.';
    END IF;
    FOR id IN
        SELECT l.lead_id FROM crm.lead l
         WHERE l.tenant_id = t AND l.status = 'unassigned' AND l.owner_rep_id IS NULL
         ORDER BY l.created_at, l.lead_id
         LIMIT max_leads
           FOR UPDATE SKIP LOCKED
    LOOP
        IF crm.dispatch(id, at) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION crm.dispatch_pending(integer, timestamptz) IS 'For pg_cron: retries up to max_leads queued (unassigned) leads of the current tenant, oldest first, skipping leads another session holds; returns how many got a rep.';

CREATE FUNCTION crm.dispatch_invoker() RETURNS name
    AS 'MODULE_PATHNAME', 'crm_dispatch_invoker'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.dispatch_invoker() IS 'The role the session acts as (after SET ROLE), also inside SECURITY DEFINER functions: who is calling crm.ack().';

CREATE FUNCTION crm.dispatch_tenant() RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_dispatch_tenant'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.dispatch_tenant() IS 'crm.current_tenant() checked for the role the session acts as, also inside SECURITY DEFINER functions (where current_user is the extension owner).';

CREATE FUNCTION crm.ack(lead_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    caller name := crm.dispatch_invoker();
    t bigint := crm.dispatch_tenant();
    l record;
    allowed boolean;
    done timestamptz;
BEGIN
    SELECT x.status, x.owner_rep_id, d.acked_at, d.territory_id, r.role_name AS owner_role,
           (SELECT m.role_name FROM crm.rep m WHERE m.tenant_id = t AND m.rep_id = r.manager_id) AS boss_role,
           (SELECT m.role_name FROM crm.territory y JOIN crm.rep m ON m.tenant_id = y.tenant_id AND m.rep_id = y.manager_rep_id
             WHERE y.tenant_id = t AND y.territory_id = d.territory_id) AS territory_manager_role
      INTO l
      FROM crm.lead x
      LEFT JOIN crm.lead_dispatch d ON d.tenant_id = x.tenant_id AND d.lead_id = x.lead_id
      LEFT JOIN crm.rep r ON r.tenant_id = x.tenant_id AND r.rep_id = x.owner_rep_id
     WHERE x.tenant_id = t AND x.lead_id = ack.lead_id
       FOR UPDATE OF x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead % does not exist', ack.lead_id
            USING ERRCODE = 'P0002', HINT = 'Check the lead_id and the session''s crm.tenant_id.';
    END IF;
    IF l.owner_rep_id IS NULL OR l.status NOT IN ('assigned', 'accepted') THEN
        RAISE EXCEPTION 'lead % is not waiting for acknowledgement (status %)', ack.lead_id, l.status
            USING ERRCODE = '55000', HINT = 'Only leads with status assigned can be acknowledged; dispatch the lead first.';
    END IF;
    allowed := (l.owner_role IS NOT NULL AND pg_catalog.pg_has_role(caller, l.owner_role, 'MEMBER'))
            OR pg_catalog.pg_has_role(caller, 'crm_manager', 'MEMBER')
            OR (l.boss_role IS NOT NULL AND pg_catalog.pg_has_role(caller, l.boss_role, 'MEMBER'))
            OR (l.territory_manager_role IS NOT NULL AND pg_catalog.pg_has_role(caller, l.territory_manager_role, 'MEMBER'));
    IF NOT allowed THEN
        RAISE EXCEPTION 'role "%" may not acknowledge lead %', caller, ack.lead_id
            USING ERRCODE = '42501',
                  DETAIL = 'Only the rep who owns the lead or a manager may acknowledge it.',
                  HINT = 'Log in as the owning rep (crm.rep.role_name) or as a member of crm_manager.';
    END IF;
    IF l.acked_at IS NOT NULL THEN
        RETURN l.acked_at;
    END IF;
    done := pg_catalog.clock_timestamp();
    INSERT INTO crm.lead_dispatch AS d (tenant_id, lead_id, rep_id, auto, lead_created_at, assigned_at, acked_at, acked_by)
    SELECT t, x.lead_id, x.owner_rep_id, false, x.created_at, x.created_at, done, caller
      FROM crm.lead x WHERE x.tenant_id = t AND x.lead_id = ack.lead_id
    ON CONFLICT ON CONSTRAINT lead_dispatch_pkey DO UPDATE
       SET acked_at = done, acked_by = caller, sla_due_at = NULL, updated_at = done;
    UPDATE crm.lead x SET status = 'accepted' WHERE x.tenant_id = t AND x.lead_id = ack.lead_id AND x.status = 'assigned';
    INSERT INTO crm.outbox (tenant_id, topic, entity, entity_id, recipient, payload)
    VALUES (t, 'lead.acknowledged', 'lead', ack.lead_id, caller,
            pg_catalog.jsonb_build_object('lead_id', ack.lead_id, 'rep_id', l.owner_rep_id, 'acked_at', done, 'acked_by', caller));
    RETURN done;
END
$$;
COMMENT ON FUNCTION crm.ack(bigint) IS 'The rep confirms a dispatched lead (status becomes accepted, the time is recorded, the SLA clock stops). Only the owning rep (crm.rep.role_name) or a manager may; 42501 otherwise. Acknowledging twice returns the first time.';

CREATE FUNCTION crm.escalate_overdue(at timestamptz DEFAULT pg_catalog.clock_timestamp())
    RETURNS TABLE (lead_id bigint, action text, from_rep_id bigint, to_rep_id bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t bigint := crm.dispatch_tenant();
    r record;
    next_rep bigint;
    boss bigint;
BEGIN
    -- one run per tenant at a time: a second run returns at once (the first does the work), and
    -- two runs moving leads between the same reps cannot deadlock on their load counters
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('crm.escalate_overdue'),
                                                (t % 2147483647)::integer) THEN
        RETURN;
    END IF;
    FOR r IN
        SELECT d.lead_id AS id, d.rep_id, d.escalation_level, d.territory_id,
               (SELECT y.manager_rep_id FROM crm.territory y
                 WHERE y.tenant_id = t AND y.territory_id = d.territory_id) AS territory_manager,
               (SELECT p.manager_id FROM crm.rep p WHERE p.tenant_id = t AND p.rep_id = d.rep_id) AS rep_manager
          FROM crm.lead_dispatch d
          JOIN crm.lead x ON x.tenant_id = d.tenant_id AND x.lead_id = d.lead_id
         WHERE d.tenant_id = t AND d.acked_at IS NULL AND d.sla_due_at <= at
           AND x.status = 'assigned' AND x.owner_rep_id = d.rep_id
         ORDER BY d.sla_due_at, d.lead_id
           FOR UPDATE OF d, x SKIP LOCKED
    LOOP
        IF r.escalation_level = 0 THEN
            next_rep := crm.redispatch(r.id, at);
            IF next_rep IS NOT NULL THEN
                UPDATE crm.lead_dispatch d SET escalation_level = 1 WHERE d.tenant_id = t AND d.lead_id = r.id;
                lead_id := r.id; action := 'redispatched'; from_rep_id := r.rep_id; to_rep_id := next_rep;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        boss := COALESCE(r.territory_manager, r.rep_manager);
        IF boss IS NULL OR boss = r.rep_id THEN
            UPDATE crm.lead_dispatch d SET escalation_level = 2, sla_due_at = NULL, updated_at = pg_catalog.clock_timestamp()
             WHERE d.tenant_id = t AND d.lead_id = r.id;
            action := 'overdue, no manager';
            to_rep_id := NULL;
        ELSE
            UPDATE crm.lead x SET owner_rep_id = boss WHERE x.tenant_id = t AND x.lead_id = r.id;
            UPDATE crm.lead_dispatch d
               SET rep_id = boss, escalation_level = 2, assigned_at = at, sla_due_at = NULL,
                   tried_reps = d.tried_reps || boss, dispatch_count = d.dispatch_count + 1,
                   updated_at = pg_catalog.clock_timestamp()
             WHERE d.tenant_id = t AND d.lead_id = r.id;
            action := 'escalated to manager';
            to_rep_id := boss;
        END IF;
        INSERT INTO crm.outbox (tenant_id, topic, entity, entity_id, recipient, payload)
        VALUES (t, 'lead.escalated', 'lead', r.id,
                (SELECT p.employee_no FROM crm.rep p WHERE p.tenant_id = t AND p.rep_id = to_rep_id),
                pg_catalog.jsonb_build_object('lead_id', r.id, 'from_rep_id', r.rep_id, 'to_rep_id', to_rep_id,
                                              'territory_id', r.territory_id, 'escalated_at', at));
        lead_id := r.id; from_rep_id := r.rep_id;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION crm.escalate_overdue(timestamptz) IS 'For pg_cron, every minute: leads of the current tenant not acknowledged by their SLA deadline go to the next eligible rep (once), then to the territory''s manager (or the rep''s manager). Idempotent: a second run at the same time does nothing; a run while another of the same tenant is active returns at once. Returns what it did.';

-- ---------------------------------------------------------------------------------------------
-- BI views (owner's rights, filtered to the current tenant)
-- ---------------------------------------------------------------------------------------------
CREATE VIEW crm.dispatch_latency AS
SELECT s.tenant_id, s.day, s.territory_id, s.rep_id,
       GROUPING(s.territory_id, s.rep_id) AS rollup_level,
       pg_catalog.count(*) AS assigned,
       pg_catalog.count(s.ack_s) AS acknowledged,
       pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY s.dispatch_s) AS dispatch_median_s,
       pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY s.dispatch_s) AS dispatch_p90_s,
       pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY s.ack_s) AS ack_median_s,
       pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY s.ack_s) AS ack_p90_s
  FROM (SELECT d.tenant_id, d.territory_id, d.rep_id,
               (d.assigned_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
               EXTRACT(epoch FROM d.first_assigned_at OPERATOR(pg_catalog.-) d.lead_created_at)::float8 AS dispatch_s,
               EXTRACT(epoch FROM d.acked_at OPERATOR(pg_catalog.-) d.assigned_at)::float8 AS ack_s
          FROM crm.lead_dispatch d
         WHERE d.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
           AND d.assigned_at IS NOT NULL AND d.rep_id IS NOT NULL) s
 GROUP BY GROUPING SETS ((s.tenant_id, s.day, s.territory_id, s.rep_id), (s.tenant_id, s.day, s.territory_id),
                         (s.tenant_id, s.day));
COMMENT ON VIEW crm.dispatch_latency IS 'Per day (China Standard Time) of the current assignment: dispatch latency (lead created → first assigned) and acknowledgement time (assigned → crm.ack), median and p90 in seconds; rollup_level 0 = per territory and rep, 1 = per territory, 3 = per day.';

CREATE VIEW crm.dispatch_auto_share AS
SELECT l.tenant_id,
       (l.created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
       d.territory_id,
       pg_catalog.count(*) AS leads,
       pg_catalog.count(*) FILTER (WHERE d.auto AND d.rep_id IS NOT NULL) AS auto_dispatched,
       pg_catalog.count(*) FILTER (WHERE d.rep_id IS NULL) AS unassigned,
       pg_catalog.round(pg_catalog.count(*) FILTER (WHERE d.auto AND d.rep_id IS NOT NULL)::numeric
                        OPERATOR(pg_catalog./) pg_catalog.count(*), 4) AS auto_share
  FROM crm.lead l
  LEFT JOIN crm.lead_dispatch d ON d.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND d.lead_id OPERATOR(pg_catalog.=) l.lead_id
 WHERE l.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
 GROUP BY 1, 2, 3;
COMMENT ON VIEW crm.dispatch_auto_share IS 'Leads per day of creation (China Standard Time) and territory, how many were dispatched automatically, how many wait unassigned, and the automatic share.';

CREATE VIEW crm.dispatch_queue AS
SELECT l.tenant_id, l.lead_id, l.external_ref, l.lead_type, l.city, l.created_at,
       d.territory_id, d.reason, d.detail, d.dispatch_count AS attempts,
       pg_catalog.now() OPERATOR(pg_catalog.-) l.created_at AS waiting
  FROM crm.lead l
  JOIN crm.lead_dispatch d ON d.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND d.lead_id OPERATOR(pg_catalog.=) l.lead_id
 WHERE l.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
   AND d.rep_id IS NULL AND l.status OPERATOR(pg_catalog.=) 'unassigned';
COMMENT ON VIEW crm.dispatch_queue IS 'Leads nobody could take, with the reason (and the reason per containing territory in detail); crm.dispatch(lead_id) retries one.';

CREATE VIEW crm.dispatch_rep_load AS
SELECT r.tenant_id, r.rep_id, r.employee_no, r.name, r.active, r.capacity, ld.open_leads,
       CASE WHEN r.capacity OPERATOR(pg_catalog.>) 0
            THEN pg_catalog.round(ld.open_leads::numeric OPERATOR(pg_catalog./) r.capacity, 4) END AS load_ratio,
       ld.assigned_total, ld.last_assigned_at,
       (SELECT pg_catalog.count(*) FROM crm.lead_dispatch d
          JOIN crm.lead l ON l.tenant_id OPERATOR(pg_catalog.=) d.tenant_id AND l.lead_id OPERATOR(pg_catalog.=) d.lead_id
         WHERE d.tenant_id OPERATOR(pg_catalog.=) r.tenant_id AND d.rep_id OPERATOR(pg_catalog.=) r.rep_id
           AND l.owner_rep_id OPERATOR(pg_catalog.=) r.rep_id AND l.status OPERATOR(pg_catalog.=) 'assigned'
           AND d.acked_at IS NULL) AS waiting_ack,
       (SELECT pg_catalog.array_agg(m.territory_id ORDER BY m.territory_id) FROM crm.territory_rep m
         WHERE m.tenant_id OPERATOR(pg_catalog.=) r.tenant_id AND m.rep_id OPERATOR(pg_catalog.=) r.rep_id AND m.active) AS territories
  FROM crm.rep r
  JOIN crm.rep_load ld ON ld.tenant_id OPERATOR(pg_catalog.=) r.tenant_id AND ld.rep_id OPERATOR(pg_catalog.=) r.rep_id
 WHERE r.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant());
COMMENT ON VIEW crm.dispatch_rep_load IS 'Per rep: capacity, open leads, load ratio, leads received, leads waiting for acknowledgement, active territories.';

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------
GRANT SELECT ON crm.territory_rep, crm.rep_hours, crm.licensed_skill, crm.rep_licence, crm.rep_metric,
                crm.dispatch_weight, crm.rep_load, crm.lead_dispatch TO crm_rep;
GRANT INSERT, UPDATE, DELETE ON crm.territory_rep, crm.rep_hours, crm.rep_licence, crm.rep_metric TO crm_manager;
GRANT INSERT, UPDATE, DELETE ON crm.licensed_skill, crm.dispatch_weight TO crm_admin;
GRANT SELECT ON crm.dispatch_latency, crm.dispatch_auto_share, crm.dispatch_queue, crm.dispatch_rep_load TO crm_bi_reader;
REVOKE ALL ON FUNCTION crm.dispatch(bigint, timestamptz), crm.redispatch(bigint, timestamptz),
              crm.dispatch_pending(integer, timestamptz), crm.escalate_overdue(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.dispatch(bigint, timestamptz), crm.redispatch(bigint, timestamptz),
                          crm.dispatch_pending(integer, timestamptz), crm.escalate_overdue(timestamptz) TO crm_manager;
REVOKE ALL ON FUNCTION crm.ack(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.ack(bigint) TO crm_rep;

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
    rs crm.health_rule_set;
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
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT i.customer_id FROM crm.customer_identifier i
     WHERE i.kind OPERATOR(pg_catalog.=) find_customer.kind
       AND i.pseudonym OPERATOR(pg_catalog.=) crm.pseudonym(find_customer.kind, find_customer.value);
END;
COMMENT ON FUNCTION crm.find_customer(text, text) IS 'The customer with this phone number or national ID (compared by pseudonym), or NULL. Volatile: the first pseudonym of a tenant creates its key.';

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
-- ---------------------------------------------------------------------------------------------
-- 40_rebate.sql: dealer rebates (经销商返利). Dealers and their purchase/return lines, promotion
-- targets, tiered rebate programs, exact settlement runs with interim netting, a per-tenant
-- multi-level approval chain with segregation of duties, an immutable audit trail, BI views.
-- The tier maths is C (src/core/rebate.c); see docs/rebates.md.
-- ---------------------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- Dealers, transactions, promotion targets
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.dealer (
    tenant_id  bigint      NOT NULL DEFAULT crm.current_tenant(),
    dealer_id  bigint      GENERATED ALWAYS AS IDENTITY,
    code       text        NOT NULL CHECK (code <> ''),
    name       text        NOT NULL,
    level      text        NOT NULL CHECK (level <> ''),
    region     text        NOT NULL CHECK (region <> ''),
    city       text,
    status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
    store_id   bigint,
    attributes jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, dealer_id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.dealer IS 'Dealers and distributors (经销商) a maker sells through; the parties of rebate programs.';
COMMENT ON COLUMN crm.dealer.code IS 'The company''s dealer number, unique per tenant.';
COMMENT ON COLUMN crm.dealer.level IS 'Dealer level as the tenant grades them, e.g. 一级 / 二级 or A / B / C; programs may be limited to levels.';
COMMENT ON COLUMN crm.dealer.region IS 'Sales region or province (e.g. 江苏); programs may be limited to regions.';
COMMENT ON COLUMN crm.dealer.status IS 'active | suspended | terminated; only active dealers take part in rebate runs.';
COMMENT ON COLUMN crm.dealer.store_id IS 'The dealer''s outlet in crm.store (kind dealer_outlet), if it has one.';
COMMENT ON COLUMN crm.dealer.attributes IS 'Free-form attributes, passed to an eligibility decision as inputs.';
SELECT crm.setup_tenant_table('crm.dealer');

CREATE TABLE crm.dealer_txn (
    tenant_id  bigint        NOT NULL DEFAULT crm.current_tenant(),
    txn_id     bigint        GENERATED ALWAYS AS IDENTITY,
    dealer_id  bigint        NOT NULL,
    txn_date   date          NOT NULL,
    kind       text          NOT NULL CHECK (kind IN ('purchase', 'return')),
    doc_no     text,
    sku        text          NOT NULL,
    category   text,
    quantity   numeric(16,3) NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    amount     numeric(16,2) NOT NULL CHECK (amount >= 0),
    promotion  text,
    created_at timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, txn_id),
    FOREIGN KEY (tenant_id, dealer_id) REFERENCES crm.dealer (tenant_id, dealer_id)
);
COMMENT ON TABLE crm.dealer_txn IS 'Dealer purchase and return lines (进货 / 退货), one per document line; the input of rebate runs.';
COMMENT ON COLUMN crm.dealer_txn.kind IS 'purchase | return. Amounts and quantities are positive for both; returns are subtracted.';
COMMENT ON COLUMN crm.dealer_txn.amount IS 'Line amount in yuan (含税 as the tenant books it), positive.';
COMMENT ON COLUMN crm.dealer_txn.quantity IS 'Quantity in the SKU''s unit (case, box), positive.';
COMMENT ON COLUMN crm.dealer_txn.category IS 'Product category; programs may be limited to categories.';
COMMENT ON COLUMN crm.dealer_txn.promotion IS 'Promotion code the line was bought under, if any; counts toward that promotion''s targets.';
CREATE INDEX dealer_txn_date_idx ON crm.dealer_txn (tenant_id, txn_date);
CREATE INDEX dealer_txn_dealer_idx ON crm.dealer_txn (tenant_id, dealer_id, txn_date);
SELECT crm.setup_tenant_table('crm.dealer_txn');

CREATE TABLE crm.dealer_target (
    tenant_id       bigint        NOT NULL DEFAULT crm.current_tenant(),
    target_id       bigint        GENERATED ALWAYS AS IDENTITY,
    dealer_id       bigint        NOT NULL,
    promotion       text          NOT NULL,
    period_start    date          NOT NULL,
    period_end      date          NOT NULL,
    target_amount   numeric(16,2) NOT NULL CHECK (target_amount > 0),
    achieved_amount numeric(16,2) CHECK (achieved_amount >= 0),
    PRIMARY KEY (tenant_id, target_id),
    UNIQUE (tenant_id, dealer_id, promotion, period_start, period_end),
    FOREIGN KEY (tenant_id, dealer_id) REFERENCES crm.dealer (tenant_id, dealer_id),
    CHECK (period_end >= period_start)
);
COMMENT ON TABLE crm.dealer_target IS 'Promotion targets per dealer and period (促销目标); achievement drives a program''s multiplier.';
COMMENT ON COLUMN crm.dealer_target.achieved_amount IS 'Achievement reported from outside (e.g. sell-out); when null it is computed as net purchases under the promotion in the period.';
SELECT crm.setup_tenant_table('crm.dealer_target');

-- ---------------------------------------------------------------------------------------------
-- Tier maths (C)
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.rebate_amount(basis numeric, tiers jsonb, mode text DEFAULT 'retroactive')
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'crm_rebate_amount'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_amount(numeric, jsonb, text) IS 'Rebate of one basis under tiers like [{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}] (min inclusive, optional max exclusive, rate or fixed amount); mode retroactive (whole basis at the tier reached) or progressive (each band at its rate). Exact, rounded once to the fen half away from zero.';

CREATE FUNCTION crm.rebate_tiers_check(tiers jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rebate_tiers_check'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_tiers_check(jsonb) IS 'True for a well-formed tier table; otherwise raises an error naming the tier (22023, 22P02 or 42804).';

CREATE TYPE crm.rebate_calc_result AS (
    tier_no      integer,
    tier_min     numeric,
    rate         numeric,
    fixed_amount numeric,
    tier_amount  numeric,
    multiplier   numeric,
    gross        numeric,
    capped       boolean,
    payable      numeric
);
COMMENT ON TYPE crm.rebate_calc_result IS 'One dealer''s rebate: tier reached (1-based, null if none), its minimum, rate or fixed amount, amount before multiplier, multiplier, gross after multiplier and payout cap, whether the cap applied, payable = gross - settled.';

CREATE FUNCTION crm.rebate_calc(qualifying numeric, measured numeric, tiers jsonb, mode text,
                                achievement numeric, bands jsonb, cap_payout numeric, settled numeric)
    RETURNS crm.rebate_calc_result
    AS 'MODULE_PATHNAME', 'crm_rebate_calc'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_calc(numeric, numeric, jsonb, text, numeric, jsonb, numeric, numeric) IS 'The C core of a rebate line: tier chosen by qualifying (4 decimals), rate applied to measured (fen), times the multiplier band reached by achievement (1 when achievement or bands are null, 0 below the first band), cut at cap_payout, minus settled. One rounding to the fen.';

CREATE TYPE crm.rebate_line_result AS (
    qualifying   numeric,
    measured     numeric,
    achievement  numeric,
    tier_no      integer,
    tier_min     numeric,
    rate         numeric,
    fixed_amount numeric,
    tier_amount  numeric,
    multiplier   numeric,
    gross        numeric,
    capped       boolean,
    payable      numeric,
    explanation  jsonb
);
COMMENT ON TYPE crm.rebate_line_result IS 'One dealer''s rebate line as crm.compute_rebates stores it, with its explanation.';

CREATE FUNCTION crm.rebate_line(basis text, mode text, tiers jsonb, bands jsonb, cap_measured numeric,
                                cap_payout numeric, purchases numeric, returns numeric, net_quantity numeric,
                                reference_net numeric, target numeric, achieved numeric, settled numeric)
    RETURNS crm.rebate_line_result
    AS 'MODULE_PATHNAME', 'crm_rebate_line'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_line(text, text, jsonb, jsonb, numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) IS 'The C core of crm.compute_rebates for one dealer: measured value (net amount or net quantity, cut at cap_measured), qualifying value (the measured value, or growth percent over reference_net rounded to 2 decimals), achievement = achieved / target rounded to 4 decimals and its multiplier band, tier maths, payout cap, payable = gross - settled, and the machine-readable explanation of every step.';

-- ---------------------------------------------------------------------------------------------
-- Programs and the approval chain
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.rebate_program (
    tenant_id            bigint        NOT NULL DEFAULT crm.current_tenant(),
    program_id           bigint        GENERATED ALWAYS AS IDENTITY,
    code                 text          NOT NULL CHECK (code <> ''),
    name                 text          NOT NULL,
    basis                text          NOT NULL DEFAULT 'net_amount'
                         CHECK (basis IN ('net_amount', 'quantity', 'growth')),
    mode                 text          NOT NULL DEFAULT 'retroactive'
                         CHECK (mode IN ('retroactive', 'progressive')),
    tiers                jsonb         NOT NULL CHECK (crm.rebate_tiers_check(tiers)),
    multiplier_bands     jsonb         CHECK (crm.rebate_tiers_check(multiplier_bands)
                                              AND NOT multiplier_bands OPERATOR(pg_catalog.@?) '$[*] ? (exists (@.amount))'),
    promotion            text,
    cap_measured         numeric(16,2) CHECK (cap_measured >= 0),
    cap_payout           numeric(16,2) CHECK (cap_payout >= 0),
    period_type          text          NOT NULL DEFAULT 'month' CHECK (period_type IN ('month', 'quarter', 'year')),
    cumulative           boolean       NOT NULL DEFAULT false,
    valid_from           date          NOT NULL,
    valid_to             date          NOT NULL,
    eligible_levels      text[],
    eligible_regions     text[],
    eligible_categories  text[],
    eligibility_model    text,
    eligibility_decision text,
    reference_offset     interval      NOT NULL DEFAULT '1 year',
    active               boolean       NOT NULL DEFAULT true,
    created_at           timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, program_id),
    UNIQUE (tenant_id, code),
    CHECK (valid_to >= valid_from),
    CHECK (basis <> 'growth' OR mode = 'retroactive'),
    CHECK ((eligibility_model IS NULL) = (eligibility_decision IS NULL)),
    CHECK ((multiplier_bands IS NULL) OR promotion IS NOT NULL)
);
COMMENT ON TABLE crm.rebate_program IS 'Rebate programs (返利政策): basis, tiers, mode, multiplier, caps, eligibility, effective dates and settlement period.';
COMMENT ON COLUMN crm.rebate_program.basis IS 'net_amount (purchases - returns, yuan) | quantity (units purchased - returned; rates are yuan per unit) | growth (tiers on growth percent of net purchases over the reference period, rates on net purchases).';
COMMENT ON COLUMN crm.rebate_program.mode IS 'retroactive (the whole volume at the tier reached, SAP style) | progressive (each band at its own rate). Growth programs are retroactive.';
COMMENT ON COLUMN crm.rebate_program.tiers IS 'Tier table: [{"min": 5000, "rate": 0.02}, {"min": 20000, "max": null, "rate": 0.04}]; min inclusive, max exclusive, rate or fixed "amount".';
COMMENT ON COLUMN crm.rebate_program.multiplier_bands IS 'Promotion-achievement multiplier as tiers on the achievement ratio whose rate is the factor, e.g. [{"min":0,"rate":0.5},{"min":0.8,"rate":1},{"min":1.0001,"rate":1.2}]. Null = no multiplier.';
COMMENT ON COLUMN crm.rebate_program.promotion IS 'Promotion code whose dealer targets (crm.dealer_target) give the achievement for the multiplier.';
COMMENT ON COLUMN crm.rebate_program.cap_measured IS 'Cap on the measured value (net purchases or quantity) per dealer and run, before the tiers.';
COMMENT ON COLUMN crm.rebate_program.cap_payout IS 'Cap on the gross rebate per dealer and run, in yuan.';
COMMENT ON COLUMN crm.rebate_program.period_type IS 'month | quarter | year: the settlement period of a run (calendar aligned).';
COMMENT ON COLUMN crm.rebate_program.cumulative IS 'When true the basis accumulates from valid_from to the period end and earlier approved settlements are netted (interim settlements, SAP style); when false every period stands alone.';
COMMENT ON COLUMN crm.rebate_program.eligible_levels IS 'Dealer levels taking part; null = all.';
COMMENT ON COLUMN crm.rebate_program.eligible_regions IS 'Dealer regions taking part; null = all.';
COMMENT ON COLUMN crm.rebate_program.eligible_categories IS 'Product categories counted in the basis; null = all.';
COMMENT ON COLUMN crm.rebate_program.eligibility_model IS 'Decision model deciding eligibility per dealer through crm.decide(model, decision, inputs).';
COMMENT ON COLUMN crm.rebate_program.reference_offset IS 'Growth basis: the reference period is the run''s period shifted back by this interval (default the same period last year).';
SELECT crm.setup_tenant_table('crm.rebate_program');

CREATE TABLE crm.rebate_approval_level (
    tenant_id bigint        NOT NULL DEFAULT crm.current_tenant(),
    level_no  integer       NOT NULL CHECK (level_no BETWEEN 1 AND 9),
    role_name name          NOT NULL,
    min_total numeric(16,2) NOT NULL DEFAULT 0 CHECK (min_total >= 0),
    label     text,
    PRIMARY KEY (tenant_id, level_no)
);
COMMENT ON TABLE crm.rebate_approval_level IS 'The tenant''s approval chain for rebate runs: levels in ascending order, each approved by a member of its role; a level with min_total applies only to runs paying at least that much. Empty = one level, role crm_admin.';
COMMENT ON COLUMN crm.rebate_approval_level.role_name IS 'Database role whose members approve this level (e.g. a 区域经理, 财务 or 总监 group role granted crm_manager).';
COMMENT ON COLUMN crm.rebate_approval_level.min_total IS 'The level is required only when the run''s total payable is at least this amount (yuan).';
SELECT crm.setup_tenant_table('crm.rebate_approval_level');

-- ---------------------------------------------------------------------------------------------
-- Runs, lines, approvals, audit trail
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.rebate_run (
    tenant_id        bigint        NOT NULL DEFAULT crm.current_tenant(),
    run_id           bigint        GENERATED ALWAYS AS IDENTITY,
    program_id       bigint        NOT NULL,
    period_start     date          NOT NULL,
    period_end       date          NOT NULL,
    basis_start      date          NOT NULL,
    settlement       text          NOT NULL CHECK (settlement IN ('interim', 'final')),
    status           text          NOT NULL DEFAULT 'calculated'
                     CHECK (status IN ('calculated', 'pending', 'approved', 'rejected', 'superseded')),
    program_snapshot jsonb         NOT NULL,
    dealers          integer,
    total_gross      numeric(16,2),
    total_settled    numeric(16,2),
    total_payable    numeric(16,2),
    approval_chain   jsonb,
    approved_levels  integer       NOT NULL DEFAULT 0,
    created_by       name          NOT NULL DEFAULT CURRENT_USER,
    created_at       timestamptz   NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_xact     xid8          NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    submitted_by     name,
    submitted_at     timestamptz,
    decided_by       name,
    decided_at       timestamptz,
    superseded_by    bigint,
    PRIMARY KEY (tenant_id, run_id),
    FOREIGN KEY (tenant_id, program_id) REFERENCES crm.rebate_program (tenant_id, program_id),
    CHECK (period_end >= period_start AND basis_start <= period_start)
);
COMMENT ON TABLE crm.rebate_run IS 'A rebate settlement run of one program and period (返利结算): calculated -> pending -> approved | rejected, or calculated -> superseded by a newer run. Immutable once submitted.';
COMMENT ON COLUMN crm.rebate_run.basis_start IS 'First day counted in the basis: valid_from for cumulative programs, else period_start.';
COMMENT ON COLUMN crm.rebate_run.settlement IS 'interim (a cumulative program before its last period) | final.';
COMMENT ON COLUMN crm.rebate_run.status IS 'calculated | pending (submitted, in approval) | approved | rejected | superseded.';
COMMENT ON COLUMN crm.rebate_run.program_snapshot IS 'The program as it was when the run was computed (tiers, mode, bands, caps).';
COMMENT ON COLUMN crm.rebate_run.total_payable IS 'Sum of the lines'' payable, to the fen (checked by trigger).';
COMMENT ON COLUMN crm.rebate_run.approval_chain IS 'The levels this run needs, frozen at submission: [{"level":1,"role":"...","label":"..."}].';
COMMENT ON COLUMN crm.rebate_run.approved_levels IS 'How many levels of approval_chain have approved so far.';
COMMENT ON COLUMN crm.rebate_run.created_by IS 'current_user of the session that computed the run.';
COMMENT ON COLUMN crm.rebate_run.created_xact IS 'Transaction that computed the run: only it may add lines and set totals.';
COMMENT ON COLUMN crm.rebate_run.submitted_by IS 'current_user that submitted the run for approval.';
COMMENT ON COLUMN crm.rebate_run.decided_by IS 'current_user that made the final decision (last approval, rejection) or computed the superseding run.';
CREATE UNIQUE INDEX rebate_run_active_idx ON crm.rebate_run (tenant_id, program_id, period_start, period_end)
    WHERE status IN ('calculated', 'pending');
CREATE INDEX rebate_run_program_idx ON crm.rebate_run (tenant_id, program_id, period_end) WHERE status = 'approved';
SELECT crm.setup_tenant_table('crm.rebate_run');

CREATE TABLE crm.rebate_line (
    tenant_id      bigint        NOT NULL DEFAULT crm.current_tenant(),
    run_id         bigint        NOT NULL,
    dealer_id      bigint        NOT NULL,
    purchases      numeric(16,2) NOT NULL,
    returns        numeric(16,2) NOT NULL,
    net_amount     numeric(16,2) NOT NULL,
    net_quantity   numeric(16,3) NOT NULL,
    reference_net  numeric(16,2),
    qualifying     numeric,
    measured       numeric       NOT NULL,
    achievement    numeric,
    tier_no        integer,
    rate           numeric,
    fixed_amount   numeric(16,2),
    tier_amount    numeric(16,2) NOT NULL,
    multiplier     numeric       NOT NULL,
    gross          numeric(16,2) NOT NULL,
    capped         boolean       NOT NULL,
    settled        numeric(16,2) NOT NULL,
    payable        numeric(16,2) NOT NULL,
    explanation    jsonb         NOT NULL,
    PRIMARY KEY (tenant_id, run_id, dealer_id)
    -- run_id and dealer_id are checked once per statement by trigger rebate_line_guard, not by
    -- per-row foreign keys (two key-share lookups per line were a sixth of a 10k-dealer run);
    -- runs are never deleted and dealer deletes are refused while lines name them.
);
COMMENT ON TABLE crm.rebate_line IS 'One dealer''s rebate in a run, with every step of its computation. Written only by the transaction that computed the run; never updated. run_id and dealer_id reference crm.rebate_run and crm.dealer (checked per statement by trigger).';
COMMENT ON COLUMN crm.rebate_line.qualifying IS 'The value that selected the tier: net amount, net quantity or growth percent (2 decimals; null without reference purchases).';
COMMENT ON COLUMN crm.rebate_line.measured IS 'The value the rate applies to: net amount or net quantity (after cap_measured).';
COMMENT ON COLUMN crm.rebate_line.achievement IS 'Promotion achievement ratio (4 decimals) feeding the multiplier; null when the program has none or the dealer has no target.';
COMMENT ON COLUMN crm.rebate_line.tier_no IS 'Tier reached (1-based); null when below the first tier.';
COMMENT ON COLUMN crm.rebate_line.tier_amount IS 'Rebate from the tiers before the multiplier and the payout cap.';
COMMENT ON COLUMN crm.rebate_line.gross IS 'Rebate earned for the whole basis: tier maths x multiplier, cut at the payout cap, rounded once to the fen.';
COMMENT ON COLUMN crm.rebate_line.settled IS 'Already settled: payable of approved earlier runs of the same program that this basis includes.';
COMMENT ON COLUMN crm.rebate_line.payable IS 'gross - settled; negative means the dealer owes back (clawback).';
COMMENT ON COLUMN crm.rebate_line.explanation IS 'Machine-readable explanation of every step (inputs, tier, multiplier, cap, netting).';
CREATE INDEX rebate_line_dealer_idx ON crm.rebate_line (tenant_id, dealer_id);
SELECT crm.setup_tenant_table('crm.rebate_line');

CREATE TABLE crm.rebate_approval (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    approval_id bigint      GENERATED ALWAYS AS IDENTITY,
    run_id      bigint      NOT NULL,
    level_no    integer     NOT NULL,
    decision    text        NOT NULL CHECK (decision IN ('approved', 'rejected')),
    actor       name        NOT NULL DEFAULT CURRENT_USER,
    comment     text,
    decided_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (tenant_id, approval_id),
    UNIQUE (tenant_id, run_id, level_no),
    FOREIGN KEY (tenant_id, run_id) REFERENCES crm.rebate_run (tenant_id, run_id)
);
COMMENT ON TABLE crm.rebate_approval IS 'Decisions on submitted runs, one per level; actor is always the current_user that inserted the row. Immutable.';
SELECT crm.setup_tenant_table('crm.rebate_approval');

CREATE TABLE crm.rebate_run_event (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    event_id    bigint      GENERATED ALWAYS AS IDENTITY,
    run_id      bigint      NOT NULL,
    event       text        NOT NULL CHECK (event IN ('calculated', 'submitted', 'level_approved', 'approved',
                                                      'rejected', 'superseded')),
    from_status text,
    to_status   text        NOT NULL,
    level_no    integer,
    actor       name        NOT NULL,
    comment     text,
    at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES crm.rebate_run (tenant_id, run_id)
);
COMMENT ON TABLE crm.rebate_run_event IS 'Audit trail of rebate runs: every state change and approval, who and when. Append-only (trigger).';
CREATE INDEX rebate_run_event_run_idx ON crm.rebate_run_event (tenant_id, run_id);
SELECT crm.setup_tenant_table('crm.rebate_run_event');
-- ---------------------------------------------------------------------------------------------
-- 41_rebate_guard.sql: the rules of rebate runs, enforced by triggers so that they hold whoever
-- writes (crm.submit_run and friends, or a direct INSERT/UPDATE by a privileged role):
--   * lines are written only by the transaction that created their run, never updated or deleted;
--   * run totals are set once and must equal the sum of the lines;
--   * status moves calculated -> pending -> approved | rejected, or calculated -> superseded;
--   * once submitted, nothing of a run changes except its approval progress;
--   * approvals follow the frozen chain in order, by members of each level's role, never by the
--     run's creator or submitter, never twice by the same person;
--   * runs, lines, approvals and the audit trail are never deleted or truncated.
-- The actor is current_user (the role after SET ROLE), so connection pools must SET ROLE to the
-- person's own role. session_replication_role = replica disables these triggers, as any trigger:
-- only superusers can set it.
-- ---------------------------------------------------------------------------------------------

-- pg_restore loads the rows of these tables with COPY after CREATE EXTENSION has created them
-- with their triggers. A COPY run by a superuser or the extension's owner is therefore taken as a
-- restore: rows are loaded as they were dumped (statuses, totals, actors). Nobody else can do it.
CREATE FUNCTION crm.rebate_restoring() RETURNS boolean
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT pg_catalog.current_query() OPERATOR(pg_catalog.~*) '^\s*copy\s'
       AND ((SELECT a.rolsuper FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
            OR pg_catalog.pg_has_role(CURRENT_USER,
                   (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'crm'),
                   'MEMBER'));
END;
COMMENT ON FUNCTION crm.rebate_restoring() IS 'True while a superuser or the extension owner runs COPY (pg_restore): the rebate guards then load rows as dumped.';

CREATE FUNCTION crm.rebate_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% of % is not allowed: rebate records are immutable', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '55000',
              HINT = 'Rebate runs, lines, approvals and their audit trail are kept as written; compute a new run to supersede a calculated one, or reject a pending one.';
END
$$;
COMMENT ON FUNCTION crm.rebate_refuse_change() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE of immutable rebate records (55000).';

CREATE TRIGGER rebate_line_immutable BEFORE UPDATE OR DELETE ON crm.rebate_line
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_line_no_truncate BEFORE TRUNCATE ON crm.rebate_line
    FOR EACH STATEMENT EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_run_no_delete BEFORE DELETE ON crm.rebate_run
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_run_no_truncate BEFORE TRUNCATE ON crm.rebate_run
    FOR EACH STATEMENT EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_approval_immutable BEFORE UPDATE OR DELETE ON crm.rebate_approval
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_approval_no_truncate BEFORE TRUNCATE ON crm.rebate_approval
    FOR EACH STATEMENT EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_run_event_immutable BEFORE UPDATE OR DELETE ON crm.rebate_run_event
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_refuse_change();
CREATE TRIGGER rebate_run_event_no_truncate BEFORE TRUNCATE ON crm.rebate_run_event
    FOR EACH STATEMENT EXECUTE FUNCTION crm.rebate_refuse_change();

-- Lines may only be added to a run still being computed: created by this very transaction,
-- status calculated, totals not yet set. One check per statement (transition table).
CREATE FUNCTION crm.rebate_line_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad bigint;
BEGIN
    IF crm.rebate_restoring() THEN
        RETURN NULL;
    END IF;
    SELECT n.dealer_id INTO bad FROM new_lines n
     WHERE NOT EXISTS (SELECT 1 FROM crm.dealer d WHERE d.tenant_id = n.tenant_id AND d.dealer_id = n.dealer_id)
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'dealer % of a rebate line does not exist', bad
            USING ERRCODE = '23503', HINT = 'Rebate lines name dealers of crm.dealer.';
    END IF;
    SELECT n.run_id INTO bad
      FROM (SELECT DISTINCT n.tenant_id, n.run_id FROM new_lines n) n
      LEFT JOIN crm.rebate_run r ON r.tenant_id = n.tenant_id AND r.run_id = n.run_id
     WHERE r.run_id IS NULL OR r.status <> 'calculated' OR r.total_payable IS NOT NULL
        OR r.created_xact OPERATOR(pg_catalog.<>) pg_catalog.pg_current_xact_id()
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'lines cannot be added to rebate run %', bad
            USING ERRCODE = '55000',
                  HINT = 'Lines are written only by crm.compute_rebates() in the transaction that creates the run; compute a new run instead.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm.rebate_line_guard() IS 'Trigger: lines name existing dealers and are added only by the transaction that created their run, before its totals are set.';

-- Dealers named by rebate lines stay (set status = ''terminated'' instead).
CREATE FUNCTION crm.rebate_dealer_delete_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM crm.rebate_line l WHERE l.tenant_id = OLD.tenant_id AND l.dealer_id = OLD.dealer_id) THEN
        RAISE EXCEPTION 'dealer "%" has rebate lines and cannot be deleted', OLD.code
            USING ERRCODE = '23503', HINT = 'Set the dealer''s status to terminated instead.';
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION crm.rebate_dealer_delete_guard() IS 'Trigger: refuses to delete a dealer that rebate lines name (23503).';
CREATE TRIGGER rebate_dealer_delete_guard BEFORE DELETE ON crm.dealer
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_dealer_delete_guard();
CREATE TRIGGER rebate_line_guard AFTER INSERT ON crm.rebate_line
    REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION crm.rebate_line_guard();

CREATE FUNCTION crm.rebate_run_insert_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p crm.rebate_program;
BEGIN
    IF crm.rebate_restoring() THEN
        RETURN NEW;
    END IF;
    p := crm.rebate_check_period(NEW.tenant_id, NEW.program_id, NEW.period_start, NEW.period_end);
    NEW.basis_start := CASE WHEN p.cumulative THEN p.valid_from ELSE NEW.period_start END;
    NEW.settlement := CASE WHEN p.cumulative AND NEW.period_end < p.valid_to THEN 'interim' ELSE 'final' END;
    NEW.program_snapshot := pg_catalog.to_jsonb(p) - 'created_at';
    NEW.status := 'calculated';
    NEW.created_by := current_user;
    NEW.created_at := pg_catalog.clock_timestamp();
    NEW.created_xact := pg_catalog.pg_current_xact_id();
    NEW.dealers := NULL;
    NEW.total_gross := NULL;
    NEW.total_settled := NULL;
    NEW.total_payable := NULL;
    NEW.approval_chain := NULL;
    NEW.approved_levels := 0;
    NEW.submitted_by := NULL;
    NEW.submitted_at := NULL;
    NEW.decided_by := NULL;
    NEW.decided_at := NULL;
    NEW.superseded_by := NULL;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.rebate_run_insert_guard() IS 'Trigger: a new run''s period is checked against its program, whose snapshot, basis start and settlement kind it takes; it starts calculated, without totals, created by current_user.';
CREATE TRIGGER rebate_run_insert_guard BEFORE INSERT ON crm.rebate_run
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_run_insert_guard();

-- The approval chain a run of this total needs: the tenant's levels whose min_total it reaches,
-- or one crm_admin level when the tenant has configured none.
CREATE FUNCTION crm.rebate_chain_for(p_tenant bigint, p_total numeric) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(
        (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('level', l.level_no, 'role', l.role_name,
                                                                   'label', l.label, 'min_total', l.min_total)
                                     ORDER BY l.level_no)
           FROM crm.rebate_approval_level l
          WHERE l.tenant_id OPERATOR(pg_catalog.=) p_tenant
            AND l.min_total OPERATOR(pg_catalog.<=) pg_catalog.abs(p_total)),
        '[{"level": 1, "role": "crm_admin", "label": "default", "min_total": 0}]'::jsonb);
END;
COMMENT ON FUNCTION crm.rebate_chain_for(bigint, numeric) IS 'The approval levels a run paying p_total needs in tenant p_tenant (default: one level, role crm_admin).';

-- Every update of a run goes through here.
CREATE FUNCTION crm.rebate_run_update_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sums record;
    approvals integer;
BEGIN
    IF (NEW.tenant_id, NEW.run_id, NEW.program_id, NEW.period_start, NEW.period_end, NEW.basis_start,
        NEW.settlement, NEW.program_snapshot, NEW.created_by, NEW.created_at, NEW.created_xact::text)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.run_id, OLD.program_id, OLD.period_start, OLD.period_end, OLD.basis_start,
        OLD.settlement, OLD.program_snapshot, OLD.created_by, OLD.created_at, OLD.created_xact::text) THEN
        RAISE EXCEPTION 'the identity of rebate run % cannot change', OLD.run_id
            USING ERRCODE = '55000', HINT = 'Compute a new run instead.';
    END IF;
    IF OLD.total_payable IS NULL THEN
        -- finishing the computation: totals once, equal to the lines, in the creating transaction
        IF OLD.status <> 'calculated' OR NEW.status <> 'calculated'
           OR OLD.created_xact OPERATOR(pg_catalog.<>) pg_catalog.pg_current_xact_id() THEN
            RAISE EXCEPTION 'rebate run % is incomplete and can only be finished by the transaction computing it', OLD.run_id
                USING ERRCODE = '55000', HINT = 'Use crm.compute_rebates().';
        END IF;
        SELECT pg_catalog.count(*)::integer AS n, COALESCE(pg_catalog.sum(l.gross), 0) AS g,
               COALESCE(pg_catalog.sum(l.settled), 0) AS s, COALESCE(pg_catalog.sum(l.payable), 0) AS p
          INTO sums FROM crm.rebate_line l WHERE l.tenant_id = OLD.tenant_id AND l.run_id = OLD.run_id;
        IF (NEW.dealers, NEW.total_gross, NEW.total_settled, NEW.total_payable) IS DISTINCT FROM (sums.n, sums.g, sums.s, sums.p) THEN
            RAISE EXCEPTION 'totals of rebate run % do not equal the sum of its lines', OLD.run_id
                USING ERRCODE = '23514', DETAIL = pg_catalog.format('The lines add up to %s dealers, payable %s.', sums.n, sums.p);
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.dealers, NEW.total_gross, NEW.total_settled, NEW.total_payable)
       IS DISTINCT FROM (OLD.dealers, OLD.total_gross, OLD.total_settled, OLD.total_payable) THEN
        RAISE EXCEPTION 'totals of rebate run % cannot change', OLD.run_id
            USING ERRCODE = '55000', HINT = 'Compute a new run instead.';
    END IF;

    IF OLD.status = 'superseded' AND NEW.status = 'superseded' AND OLD.superseded_by IS NULL
       AND NEW.superseded_by IS NOT NULL
       AND (NEW.decided_by, NEW.decided_at, NEW.approval_chain, NEW.approved_levels)
           IS NOT DISTINCT FROM (OLD.decided_by, OLD.decided_at, OLD.approval_chain, OLD.approved_levels) THEN
        RETURN NEW;             -- the superseding run's id, once
    ELSIF OLD.status = 'calculated' AND NEW.status = 'superseded' THEN
        NEW.decided_by := current_user;
        NEW.decided_at := pg_catalog.clock_timestamp();
    ELSIF OLD.status = 'calculated' AND NEW.status = 'pending' THEN
        NEW.submitted_by := current_user;
        NEW.submitted_at := pg_catalog.clock_timestamp();
        NEW.approval_chain := crm.rebate_chain_for(OLD.tenant_id, OLD.total_payable);
        NEW.approved_levels := 0;
        RETURN NEW;
    ELSIF OLD.status = 'pending' AND NEW.status IN ('pending', 'approved', 'rejected') THEN
        SELECT pg_catalog.count(*)::integer INTO approvals FROM crm.rebate_approval a
         WHERE a.tenant_id = OLD.tenant_id AND a.run_id = OLD.run_id AND a.decision = 'approved';
        IF NEW.approved_levels <> approvals
           OR (NEW.status = 'approved') <> (approvals = pg_catalog.jsonb_array_length(OLD.approval_chain))
           OR (NEW.status = 'rejected') <> EXISTS (SELECT 1 FROM crm.rebate_approval a
                                                   WHERE a.tenant_id = OLD.tenant_id AND a.run_id = OLD.run_id
                                                     AND a.decision = 'rejected') THEN
            RAISE EXCEPTION 'rebate run % cannot become % with % of % levels approved', OLD.run_id, NEW.status,
                            approvals, pg_catalog.jsonb_array_length(OLD.approval_chain)
                USING ERRCODE = '55000', HINT = 'Use crm.approve_run() and crm.reject_run().';
        END IF;
        IF NEW.status <> 'pending' THEN
            NEW.decided_by := current_user;
            NEW.decided_at := pg_catalog.clock_timestamp();
        END IF;
    ELSE
        RAISE EXCEPTION 'rebate run % is % and cannot become %', OLD.run_id, OLD.status, NEW.status
            USING ERRCODE = '55000',
                  HINT = 'Runs move calculated -> pending -> approved | rejected, or calculated -> superseded; anything submitted is immutable.';
    END IF;
    IF (NEW.approval_chain, NEW.submitted_by, NEW.submitted_at, NEW.superseded_by IS NULL)
       IS DISTINCT FROM (OLD.approval_chain, OLD.submitted_by, OLD.submitted_at, OLD.superseded_by IS NULL)
       AND NOT (OLD.status = 'calculated' AND NEW.status = 'superseded') THEN
        RAISE EXCEPTION 'the submission of rebate run % cannot change', OLD.run_id USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.rebate_run_update_guard() IS 'Trigger: the state machine of rebate runs, immutability once submitted, totals equal to the lines.';
CREATE TRIGGER rebate_run_update_guard BEFORE UPDATE ON crm.rebate_run
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_run_update_guard();

-- An approval or rejection: the next level of the frozen chain, by a member of its role, never by
-- the run's creator or submitter, never twice by one person.
CREATE FUNCTION crm.rebate_approval_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r crm.rebate_run;
    lvl jsonb;
BEGIN
    IF crm.rebate_restoring() THEN
        RETURN NEW;
    END IF;
    NEW.actor := current_user;
    NEW.decided_at := pg_catalog.clock_timestamp();
    SELECT * INTO r FROM crm.rebate_run x WHERE x.tenant_id = NEW.tenant_id AND x.run_id = NEW.run_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rebate run % does not exist', NEW.run_id
            USING ERRCODE = '42704', HINT = 'Check the run id in crm.rebate_run.';
    END IF;
    IF r.status <> 'pending' THEN
        RAISE EXCEPTION 'rebate run % is %, not pending approval', r.run_id, r.status
            USING ERRCODE = '55000', HINT = 'Only submitted runs (crm.submit_run) can be approved or rejected, once.';
    END IF;
    IF NEW.level_no <> r.approved_levels + 1 THEN
        RAISE EXCEPTION 'rebate run % awaits level %, not level %', r.run_id, r.approved_levels + 1, NEW.level_no
            USING ERRCODE = '55000', HINT = 'Levels approve in ascending order.';
    END IF;
    lvl := r.approval_chain -> (NEW.level_no - 1);
    IF NOT pg_catalog.pg_has_role(current_user, (lvl ->> 'role')::name, 'MEMBER') THEN
        RAISE EXCEPTION 'role "%" may not decide level % of rebate run %', current_user, NEW.level_no, r.run_id
            USING ERRCODE = '42501',
                  DETAIL = pg_catalog.format('Level %s is decided by members of role "%s".', NEW.level_no, lvl ->> 'role'),
                  HINT = 'Ask a member of that role; earlier levels must approve first.';
    END IF;
    IF current_user IN (r.created_by, r.submitted_by) THEN
        RAISE EXCEPTION 'role "%" computed or submitted rebate run % and may not approve or reject it', current_user, r.run_id
            USING ERRCODE = '42501', HINT = 'Segregation of duties: another member of the level''s role must decide.';
    END IF;
    IF EXISTS (SELECT 1 FROM crm.rebate_approval a
                WHERE a.tenant_id = NEW.tenant_id AND a.run_id = NEW.run_id AND a.actor = current_user) THEN
        RAISE EXCEPTION 'role "%" already decided an earlier level of rebate run %', current_user, r.run_id
            USING ERRCODE = '42501', HINT = 'Segregation of duties: each level needs a different person.';
    END IF;
    IF NEW.decision = 'rejected' AND COALESCE(pg_catalog.btrim(NEW.comment), '') = '' THEN
        RAISE EXCEPTION 'a rejection of rebate run % needs a comment', r.run_id
            USING ERRCODE = '22023', HINT = 'Say why the run is rejected, e.g. crm.reject_run(run, ''returns of 华东仓 missing'').';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.rebate_approval_guard() IS 'Trigger: approvals follow the frozen chain in order, by members of the level''s role, with segregation of duties.';
CREATE TRIGGER rebate_approval_guard BEFORE INSERT ON crm.rebate_approval
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_approval_guard();

-- The approval chain names roles that exist.
CREATE FUNCTION crm.rebate_approval_level_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regrole(pg_catalog.quote_ident(NEW.role_name)) IS NULL THEN
        RAISE EXCEPTION 'role "%" of approval level % does not exist', NEW.role_name, NEW.level_no
            USING ERRCODE = '42704',
                  HINT = 'Create the group role first (e.g. CREATE ROLE rebate_finance NOLOGIN IN ROLE crm_manager) and grant it to the approvers.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.rebate_approval_level_check() IS 'Trigger: approval levels name existing roles (42704).';
CREATE TRIGGER rebate_approval_level_check BEFORE INSERT OR UPDATE ON crm.rebate_approval_level
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_approval_level_check();

-- ---------------------------------------------------------------------------------------------
-- Audit trail and outbox. SECURITY DEFINER: the acting roles cannot write these tables; the
-- actor comes from the row, stamped with current_user by the guards above.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.rebate_record_event(p_tenant bigint, p_run bigint, p_event text, p_from text, p_to text,
                                        p_level integer, p_actor name, p_comment text, p_recipient text,
                                        p_payload jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO crm.rebate_run_event (tenant_id, run_id, event, from_status, to_status, level_no, actor, comment)
    VALUES (p_tenant, p_run, p_event, p_from, p_to, p_level, p_actor, p_comment);
    INSERT INTO crm.outbox (tenant_id, topic, entity, entity_id, recipient, payload)
    VALUES (p_tenant, 'rebate.' || p_event, 'rebate_run', p_run, p_recipient,
            p_payload || pg_catalog.jsonb_build_object('run_id', p_run, 'status', p_to, 'level', p_level,
                                                       'actor', p_actor, 'comment', p_comment));
END
$$;
REVOKE ALL ON FUNCTION crm.rebate_record_event(bigint, bigint, text, text, text, integer, name, text, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION crm.rebate_record_event(bigint, bigint, text, text, text, integer, name, text, text, jsonb) IS 'Internal: appends one audit event and its outbox message (topic rebate.<event>).';

CREATE FUNCTION crm.rebate_run_audit() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload jsonb := pg_catalog.jsonb_build_object('program_id', NEW.program_id, 'period_start', NEW.period_start,
                                                   'period_end', NEW.period_end, 'total_payable', NEW.total_payable);
    next_role text := NEW.approval_chain -> NEW.approved_levels ->> 'role';
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.total_payable IS NULL THEN
        PERFORM crm.rebate_record_event(NEW.tenant_id, NEW.run_id, 'calculated', NULL, NEW.status, NULL,
                                        NEW.created_by, NULL, NEW.created_by, payload);
    ELSIF NEW.status = 'pending' AND OLD.status = 'calculated' THEN
        PERFORM crm.rebate_record_event(NEW.tenant_id, NEW.run_id, 'submitted', OLD.status, NEW.status, NULL,
                                        NEW.submitted_by, NULL, next_role, payload);
    ELSIF NEW.status = 'pending' AND NEW.approved_levels > OLD.approved_levels THEN
        PERFORM crm.rebate_record_event(NEW.tenant_id, NEW.run_id, 'level_approved', OLD.status, NEW.status,
                                        NEW.approved_levels,
                                        (SELECT a.actor FROM crm.rebate_approval a
                                          WHERE a.tenant_id = NEW.tenant_id AND a.run_id = NEW.run_id
                                            AND a.level_no = NEW.approved_levels),
                                        (SELECT a.comment FROM crm.rebate_approval a
                                          WHERE a.tenant_id = NEW.tenant_id AND a.run_id = NEW.run_id
                                            AND a.level_no = NEW.approved_levels),
                                        next_role, payload);
    ELSIF NEW.status IN ('approved', 'rejected', 'superseded') AND OLD.status <> NEW.status THEN
        PERFORM crm.rebate_record_event(NEW.tenant_id, NEW.run_id, NEW.status, OLD.status, NEW.status,
                                        CASE WHEN NEW.status = 'superseded' THEN NULL ELSE NEW.approved_levels + (NEW.status = 'rejected')::int END,
                                        NEW.decided_by,
                                        (SELECT a.comment FROM crm.rebate_approval a
                                          WHERE a.tenant_id = NEW.tenant_id AND a.run_id = NEW.run_id
                                          ORDER BY a.level_no DESC LIMIT 1),
                                        NEW.created_by, payload || pg_catalog.jsonb_build_object('superseded_by', NEW.superseded_by));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm.rebate_run_audit() IS 'Trigger: every state change of a run goes to crm.rebate_run_event and crm.outbox (topics rebate.calculated, rebate.submitted, rebate.level_approved, rebate.approved, rebate.rejected, rebate.superseded).';
REVOKE ALL ON FUNCTION crm.rebate_run_audit() FROM PUBLIC;
CREATE TRIGGER rebate_run_audit AFTER UPDATE ON crm.rebate_run
    FOR EACH ROW EXECUTE FUNCTION crm.rebate_run_audit();
-- ---------------------------------------------------------------------------------------------
-- 42_rebate_runs.sql: computing runs (one aggregate pass over the transactions, tier maths in C
-- per dealer, lines inserted in bulk), the approval functions, BI views and privileges.
-- ---------------------------------------------------------------------------------------------

-- Eligibility by decision: a dealer is eligible when crm.decide(model, decision, dealer inputs)
-- returns true or {"eligible": true}. An unknown model or decision raises crm.decide's own error.
CREATE FUNCTION crm.rebate_eligible_by_decision(p_tenant bigint, p_program crm.rebate_program)
    RETURNS bigint[]
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.array_agg(d.dealer_id), '{}')
      FROM crm.dealer d
     WHERE d.tenant_id OPERATOR(pg_catalog.=) p_tenant
       AND d.status OPERATOR(pg_catalog.=) 'active'
       AND (p_program.eligible_levels IS NULL OR d.level OPERATOR(pg_catalog.=) ANY (p_program.eligible_levels))
       AND (p_program.eligible_regions IS NULL OR d.region OPERATOR(pg_catalog.=) ANY (p_program.eligible_regions))
       AND (SELECT v OPERATOR(pg_catalog.=) 'true'::jsonb
                   OR (v OPERATOR(pg_catalog.->) 'eligible') OPERATOR(pg_catalog.=) 'true'::jsonb
              FROM (SELECT crm.decide(p_program.eligibility_model, p_program.eligibility_decision,
                                      d.attributes OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                                          'dealer_id', d.dealer_id, 'code', d.code, 'level', d.level,
                                          'region', d.region, 'city', d.city)) AS v) s);
END;
COMMENT ON FUNCTION crm.rebate_eligible_by_decision(bigint, crm.rebate_program) IS 'Active dealers of the program''s levels/regions for which crm.decide(model, decision, dealer inputs) returns true or {"eligible": true}.';

-- Checks a program and period before a run; returns the program.
CREATE FUNCTION crm.rebate_check_period(p_tenant bigint, p_program bigint, p_start date, p_end date)
    RETURNS crm.rebate_program
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p crm.rebate_program;
    natural_end date;
BEGIN
    IF p_program IS NULL OR p_start IS NULL OR p_end IS NULL THEN
        RAISE EXCEPTION 'program, period_start and period_end must not be null'
            USING ERRCODE = '22004', HINT = 'Call crm.compute_rebates(program_id, first_day, last_day).';
    END IF;
    SELECT * INTO p FROM crm.rebate_program r WHERE r.tenant_id = p_tenant AND r.program_id = p_program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rebate program % does not exist', p_program
            USING ERRCODE = '42704', HINT = 'See crm.rebate_program for the programs of your tenant.';
    END IF;
    IF NOT p.active THEN
        RAISE EXCEPTION 'rebate program "%" is not active', p.code
            USING ERRCODE = '55000', HINT = 'Set active = true on the program to compute runs.';
    END IF;
    natural_end := (pg_catalog.date_trunc(p.period_type, p_start::timestamp)
                    + CASE p.period_type WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                           ELSE interval '1 year' END - interval '1 day')::date;
    IF p_start <> pg_catalog.date_trunc(p.period_type, p_start::timestamp)::date OR p_end <> natural_end THEN
        RAISE EXCEPTION 'period % to % is not one calendar % of program "%"', p_start, p_end, p.period_type, p.code
            USING ERRCODE = '22023',
                  HINT = pg_catalog.format('Runs of this program cover one %s, e.g. %s to %s.', p.period_type,
                                           pg_catalog.date_trunc(p.period_type, p_start::timestamp)::date, natural_end);
    END IF;
    IF p_end < p.valid_from OR p_start > p.valid_to THEN
        RAISE EXCEPTION 'period % to % is outside program "%" (valid % to %)', p_start, p_end, p.code, p.valid_from, p.valid_to
            USING ERRCODE = '22023', HINT = 'Compute runs only for periods within the program''s effective dates.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION crm.rebate_check_period(bigint, bigint, date, date) IS 'Internal: the program, checked to exist, be active, and have period as one calendar period of its period_type within its effective dates.';

-- One pass over the transaction lines of a window: purchases, returns and (when asked) net
-- quantity per dealer. A separate set-returning function so that its aggregate can run as a
-- parallel query (RETURN QUERY may; a query inside INSERT ... SELECT may not).
CREATE FUNCTION crm.rebate_aggregate(p_tenant bigint, p_from date, p_to date, p_categories text[],
                                     p_quantity boolean)
    RETURNS TABLE (dealer_id bigint, purchases numeric, returns numeric, net_quantity numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT x.dealer_id,
           COALESCE(pg_catalog.sum(x.amount) FILTER (WHERE x.kind = 'purchase'), 0),
           COALESCE(pg_catalog.sum(x.amount) FILTER (WHERE x.kind = 'return'), 0),
           pg_catalog.sum(CASE WHEN x.kind = 'purchase' THEN x.quantity ELSE -x.quantity END)
               FILTER (WHERE p_quantity)
      FROM crm.dealer_txn x
     WHERE x.tenant_id = p_tenant AND x.txn_date BETWEEN p_from AND p_to
       AND (p_categories IS NULL OR x.category = ANY (p_categories))
     GROUP BY x.dealer_id;
END
$$;
COMMENT ON FUNCTION crm.rebate_aggregate(bigint, date, date, text[], boolean) IS 'Internal: purchases, returns and net quantity (when p_quantity) per dealer over the tenant''s transaction lines of a date window and categories (null = all).';

-- Fills a run that the current transaction has just created: the lines, computed from the
-- program snapshot the insert trigger took, and the totals. SECURITY DEFINER because nobody else
-- may write lines: a run's lines therefore always come from this computation, never from a
-- hand-made INSERT. It works only on a run created by the calling transaction (which row-level
-- security let the caller create for its own tenant) and filters every query by that tenant.
CREATE FUNCTION crm.rebate_fill_run(p_run bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_custom_plan   -- a generic plan of the run's big statement is 3x slower
AS $$
#variable_conflict use_variable
DECLARE
    rr crm.rebate_run;
    p crm.rebate_program;
    t bigint;
    run bigint := p_run;
    v_end date;
    basis_start date;
    w_from date;
    w_to date;
    ref_from date;
    ref_to date;
    eligible bigint[];
    need_quantity boolean;
BEGIN
    SELECT * INTO rr FROM crm.rebate_run x
     WHERE x.run_id = p_run AND x.created_xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()
       AND x.status = 'calculated' AND x.total_payable IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rebate run % is not a run this transaction is computing', p_run
            USING ERRCODE = '55000', HINT = 'Use crm.compute_rebates(program, period_start, period_end).';
    END IF;
    t := rr.tenant_id;
    p := pg_catalog.jsonb_populate_record(NULL::crm.rebate_program, rr.program_snapshot);
    v_end := rr.period_end;
    basis_start := rr.basis_start;
    w_from := GREATEST(basis_start, p.valid_from);
    w_to := LEAST(v_end, p.valid_to);
    ref_from := (rr.period_start - p.reference_offset)::date;
    ref_to := (rr.period_end - p.reference_offset)::date;
    need_quantity := p.basis = 'quantity';
    IF p.eligibility_model IS NOT NULL THEN
        eligible := crm.rebate_eligible_by_decision(t, p);
    END IF;

    INSERT INTO crm.rebate_line (tenant_id, run_id, dealer_id, purchases, returns, net_amount, net_quantity,
                                 reference_net, qualifying, measured, achievement, tier_no, rate, fixed_amount,
                                 tier_amount, multiplier, gross, capped, settled, payable, explanation)
    SELECT t, run, y.dealer_id, y.purchases, y.returns, y.purchases - y.returns, y.net_quantity,
           y.reference_net, c.qualifying, c.measured, c.achievement, c.tier_no, c.rate, c.fixed_amount,
           c.tier_amount, c.multiplier, c.gross, c.capped, y.settled, c.payable, c.explanation
      FROM (
        SELECT d.dealer_id,
               COALESCE(a.purchases, 0)::numeric(16,2) AS purchases,
               COALESCE(a.returns, 0)::numeric(16,2) AS returns,
               COALESCE(a.net_quantity, 0)::numeric(16,3) AS net_quantity,
               rf.net AS reference_net, tg.target_amount, tg.achieved,
               COALESCE(st.settled, 0)::numeric(16,2) AS settled
          FROM crm.dealer d
          LEFT JOIN crm.rebate_aggregate(t, w_from, w_to, p.eligible_categories, need_quantity) a
                 ON a.dealer_id = d.dealer_id
          LEFT JOIN (SELECT z.dealer_id, z.purchases - z.returns AS net
                       FROM crm.rebate_aggregate(t, ref_from, ref_to, p.eligible_categories, false) z
                      WHERE p.basis = 'growth') rf ON rf.dealer_id = d.dealer_id
          LEFT JOIN (
               SELECT g.dealer_id, pg_catalog.sum(g.target_amount) AS target_amount,
                      CASE WHEN pg_catalog.count(g.achieved_amount) = pg_catalog.count(*)
                           THEN pg_catalog.sum(g.achieved_amount)
                           ELSE (SELECT COALESCE(pg_catalog.sum(CASE WHEN x.kind = 'purchase' THEN x.amount ELSE -x.amount END), 0)
                                   FROM crm.dealer_txn x
                                  WHERE x.tenant_id = t AND x.dealer_id = g.dealer_id AND x.promotion = p.promotion
                                    AND x.txn_date BETWEEN w_from AND w_to) END AS achieved
                 FROM crm.dealer_target g
                WHERE p.multiplier_bands IS NOT NULL AND g.tenant_id = t AND g.promotion = p.promotion
                  AND g.period_start >= basis_start AND g.period_end <= v_end
                GROUP BY g.dealer_id) tg ON tg.dealer_id = d.dealer_id
          LEFT JOIN (
               SELECT l.dealer_id, pg_catalog.sum(l.payable) AS settled
                 FROM crm.rebate_run r JOIN crm.rebate_line l ON l.tenant_id = r.tenant_id AND l.run_id = r.run_id
                WHERE r.tenant_id = t AND r.program_id = p.program_id AND r.status = 'approved'
                  AND r.period_start >= basis_start AND r.period_end <= v_end
                GROUP BY l.dealer_id) st ON st.dealer_id = d.dealer_id
         WHERE d.tenant_id = t AND d.status = 'active'
           AND (p.eligible_levels IS NULL OR d.level = ANY (p.eligible_levels))
           AND (p.eligible_regions IS NULL OR d.region = ANY (p.eligible_regions))
           AND (eligible IS NULL OR d.dealer_id = ANY (eligible))
      ) y
      CROSS JOIN LATERAL crm.rebate_line(p.basis, p.mode, p.tiers, p.multiplier_bands, p.cap_measured,
                                         p.cap_payout, y.purchases, y.returns, y.net_quantity, y.reference_net,
                                         y.target_amount, y.achieved, y.settled) c;

    UPDATE crm.rebate_run r
       SET (dealers, total_gross, total_settled, total_payable) =
           (SELECT pg_catalog.count(*)::integer, COALESCE(pg_catalog.sum(l.gross), 0),
                   COALESCE(pg_catalog.sum(l.settled), 0), COALESCE(pg_catalog.sum(l.payable), 0)
              FROM crm.rebate_line l WHERE l.tenant_id = t AND l.run_id = run)
     WHERE r.tenant_id = t AND r.run_id = run;
END
$$;
COMMENT ON FUNCTION crm.rebate_fill_run(bigint) IS 'Internal (SECURITY DEFINER): computes the lines and totals of a run the calling transaction has just created; the only way lines are written.';

CREATE FUNCTION crm.compute_rebates(program bigint, period_start date, period_end date) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    t bigint := crm.current_tenant();
    p crm.rebate_program := crm.rebate_check_period(t, program, period_start, period_end);
    v_start date := period_start;
    v_end date := period_end;
    run bigint;
    old_runs bigint[];
    busy bigint;
    span text := pg_catalog.to_char(period_start, 'YYYY-MM-DD') || ' to ' || pg_catalog.to_char(period_end, 'YYYY-MM-DD');
BEGIN
    -- one computation per program and period at a time: a second session fails at once
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(
           pg_catalog.format('crm.rebate_run:%s:%s:%s:%s', t, p.program_id, v_start, v_end), 0)) THEN
        RAISE EXCEPTION 'a run of rebate program "%" for % is being computed by another session', p.code, span
            USING ERRCODE = '55P03', HINT = 'Wait for that run to finish; it supersedes or is superseded by yours.';
    END IF;
    SELECT r.run_id INTO busy FROM crm.rebate_run r
     WHERE r.tenant_id = t AND r.program_id = p.program_id AND r.period_start = v_start
       AND r.period_end = v_end AND r.status = 'pending';
    IF busy IS NOT NULL THEN
        RAISE EXCEPTION 'rebate run % of program "%" for % is awaiting approval', busy, p.code, span
            USING ERRCODE = '55000', HINT = 'Approve or reject that run first; a submitted run is never replaced.';
    END IF;

    WITH s AS (
        UPDATE crm.rebate_run r SET status = 'superseded'
         WHERE r.tenant_id = t AND r.program_id = p.program_id AND r.period_start = v_start
           AND r.period_end = v_end AND r.status = 'calculated'
        RETURNING r.run_id)
    SELECT pg_catalog.array_agg(s.run_id) INTO old_runs FROM s;

    BEGIN
        -- the insert trigger checks the period and takes the program snapshot, basis start and settlement
        INSERT INTO crm.rebate_run (program_id, period_start, period_end)
        VALUES (p.program_id, v_start, v_end)
        RETURNING run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'another run of rebate program "%" for % was computed at the same time', p.code, span
            USING ERRCODE = '55P03', HINT = 'Only one run per program and period can be active; use the other run or compute again.';
    END;
    UPDATE crm.rebate_run r SET superseded_by = run
     WHERE r.tenant_id = t AND r.run_id = ANY (old_runs);
    PERFORM crm.rebate_fill_run(run);
    RETURN run;
END
$$;
COMMENT ON FUNCTION crm.compute_rebates(bigint, date, date) IS 'Computes a rebate run of a program for one calendar period: one line per eligible active dealer (basis, tier, rate, multiplier, gross, settled, payable, explanation). Supersedes a calculated run of the same period; refuses while one is pending; all or nothing. Returns the run id.';

CREATE FUNCTION crm.rebate_run_for_update(p_run bigint) RETURNS crm.rebate_run
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r crm.rebate_run;
BEGIN
    SELECT * INTO r FROM crm.rebate_run x
     WHERE x.tenant_id = crm.current_tenant() AND x.run_id = p_run FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rebate run % does not exist', p_run
            USING ERRCODE = '42704', HINT = 'See crm.rebate_run or crm.rebate_approval_queue for your tenant''s runs.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION crm.rebate_run_for_update(bigint) IS 'Internal: the run of the current tenant, locked; 42704 when missing.';

CREATE FUNCTION crm.submit_run(run bigint) RETURNS crm.rebate_run
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r crm.rebate_run := crm.rebate_run_for_update(run);
BEGIN
    IF r.status <> 'calculated' THEN
        RAISE EXCEPTION 'rebate run % is %, only a calculated run can be submitted', run, r.status
            USING ERRCODE = '55000', HINT = 'Compute a new run with crm.compute_rebates() and submit that.';
    END IF;
    UPDATE crm.rebate_run x SET status = 'pending' WHERE x.tenant_id = r.tenant_id AND x.run_id = run
    RETURNING * INTO r;
    RETURN r;
END
$$;
COMMENT ON FUNCTION crm.submit_run(bigint) IS 'Submits a calculated run for approval: freezes its approval chain (levels whose min_total its total reaches); from now on the run and its lines are immutable.';

CREATE FUNCTION crm.approve_run(run bigint, comment text DEFAULT NULL) RETURNS crm.rebate_run
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r crm.rebate_run := crm.rebate_run_for_update(run);
    levels integer := pg_catalog.jsonb_array_length(COALESCE(r.approval_chain, '[]'));
BEGIN
    INSERT INTO crm.rebate_approval (tenant_id, run_id, level_no, decision, comment)
    VALUES (r.tenant_id, run, r.approved_levels + 1, 'approved', comment);
    UPDATE crm.rebate_run x
       SET approved_levels = r.approved_levels + 1,
           status = CASE WHEN r.approved_levels + 1 = levels THEN 'approved' ELSE 'pending' END
     WHERE x.tenant_id = r.tenant_id AND x.run_id = run
    RETURNING * INTO r;
    RETURN r;
END
$$;
COMMENT ON FUNCTION crm.approve_run(bigint, text) IS 'Approves the next level of a pending run as current_user (who must be a member of that level''s role, not the run''s creator or submitter, and not an earlier approver); the last level approves the run.';

CREATE FUNCTION crm.reject_run(run bigint, comment text) RETURNS crm.rebate_run
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    r crm.rebate_run := crm.rebate_run_for_update(run);
BEGIN
    INSERT INTO crm.rebate_approval (tenant_id, run_id, level_no, decision, comment)
    VALUES (r.tenant_id, run, r.approved_levels + 1, 'rejected', comment);
    UPDATE crm.rebate_run x SET status = 'rejected'
     WHERE x.tenant_id = r.tenant_id AND x.run_id = run
    RETURNING * INTO r;
    RETURN r;
END
$$;
COMMENT ON FUNCTION crm.reject_run(bigint, text) IS 'Rejects a pending run at its next level, with a mandatory comment, as current_user (same rules as crm.approve_run). A rejected run is final; compute a new one.';
-- ---------------------------------------------------------------------------------------------
-- 43_rebate_views.sql: finance/BI views of rebates (owner rights, tenant-filtered) and the
-- privileges of the rebate objects.
-- ---------------------------------------------------------------------------------------------

CREATE VIEW crm.rebate_statement AS
SELECT r.tenant_id, r.run_id, p.code AS program_code, p.name AS program_name,
       r.period_start, r.period_end, r.settlement, r.status AS run_status,
       d.dealer_id, d.code AS dealer_code, d.name AS dealer_name, d.level AS dealer_level, d.region,
       l.purchases, l.returns, l.net_amount, l.net_quantity, l.qualifying, l.measured,
       l.tier_no, l.rate, l.fixed_amount, l.tier_amount, l.achievement, l.multiplier, l.gross, l.capped,
       l.settled, l.payable
  FROM crm.rebate_run r
  JOIN crm.rebate_program p ON p.tenant_id OPERATOR(pg_catalog.=) r.tenant_id
                           AND p.program_id OPERATOR(pg_catalog.=) r.program_id
  JOIN crm.rebate_line l ON l.tenant_id OPERATOR(pg_catalog.=) r.tenant_id
                        AND l.run_id OPERATOR(pg_catalog.=) r.run_id
  JOIN crm.dealer d ON d.tenant_id OPERATOR(pg_catalog.=) l.tenant_id
                   AND d.dealer_id OPERATOR(pg_catalog.=) l.dealer_id
 WHERE r.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
   AND r.status OPERATOR(pg_catalog.<>) ALL (ARRAY['superseded', 'rejected']);
COMMENT ON VIEW crm.rebate_statement IS 'Rebate statement (返利对账单) per dealer, program and period: the current (calculated, pending or approved) run''s line with basis, tier, rate, multiplier, gross, already settled and payable.';

CREATE VIEW crm.rebate_accrual AS
SELECT r.tenant_id, p.code AS program_code, p.name AS program_name, r.period_start, r.period_end,
       r.settlement, r.run_id, r.status AS run_status,
       CASE WHEN r.status OPERATOR(pg_catalog.=) 'approved' THEN 'approved' ELSE 'accrued' END AS accrual_state,
       r.dealers, r.total_gross, r.total_settled, r.total_payable, r.created_at, r.decided_at
  FROM crm.rebate_run r
  JOIN crm.rebate_program p ON p.tenant_id OPERATOR(pg_catalog.=) r.tenant_id
                           AND p.program_id OPERATOR(pg_catalog.=) r.program_id
 WHERE r.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
   AND r.status OPERATOR(pg_catalog.=) ANY (ARRAY['calculated', 'pending', 'approved']);
COMMENT ON VIEW crm.rebate_accrual IS 'Rebate liabilities per program and period for finance (返利计提): approved runs as approved, calculated and pending runs as accrued estimates; total_payable is what the run adds on top of earlier settlements.';

CREATE VIEW crm.rebate_approval_queue AS
SELECT r.tenant_id, r.run_id, p.code AS program_code, p.name AS program_name, r.period_start, r.period_end,
       r.total_payable, r.dealers, r.created_by, r.submitted_by, r.submitted_at,
       r.approved_levels OPERATOR(pg_catalog.+) 1 AS next_level,
       pg_catalog.jsonb_array_length(r.approval_chain) AS levels,
       (r.approval_chain OPERATOR(pg_catalog.->) r.approved_levels) OPERATOR(pg_catalog.->>) 'role' AS next_role,
       (r.approval_chain OPERATOR(pg_catalog.->) r.approved_levels) OPERATOR(pg_catalog.->>) 'label' AS next_label,
       w.waiting_since,
       pg_catalog.now() OPERATOR(pg_catalog.-) r.submitted_at AS age,
       pg_catalog.now() OPERATOR(pg_catalog.-) w.waiting_since AS waiting,
       CASE WHEN pg_catalog.now() OPERATOR(pg_catalog.-) w.waiting_since OPERATOR(pg_catalog.<) interval '1 day' THEN '< 1 day'
            WHEN pg_catalog.now() OPERATOR(pg_catalog.-) w.waiting_since OPERATOR(pg_catalog.<) interval '3 days' THEN '1-3 days'
            WHEN pg_catalog.now() OPERATOR(pg_catalog.-) w.waiting_since OPERATOR(pg_catalog.<) interval '7 days' THEN '3-7 days'
            ELSE '> 7 days' END AS ageing_bucket
  FROM crm.rebate_run r
  JOIN crm.rebate_program p ON p.tenant_id OPERATOR(pg_catalog.=) r.tenant_id
                           AND p.program_id OPERATOR(pg_catalog.=) r.program_id
  CROSS JOIN LATERAL (
       SELECT COALESCE(pg_catalog.max(a.decided_at), r.submitted_at) AS waiting_since
         FROM crm.rebate_approval a
        WHERE a.tenant_id OPERATOR(pg_catalog.=) r.tenant_id AND a.run_id OPERATOR(pg_catalog.=) r.run_id) w
 WHERE r.tenant_id OPERATOR(pg_catalog.=) (SELECT crm.current_tenant())
   AND r.status OPERATOR(pg_catalog.=) 'pending';
COMMENT ON VIEW crm.rebate_approval_queue IS 'Runs awaiting approval: next level and its role, age since submission, time waiting at the current level and its ageing bucket (< 1 day, 1-3 days, 3-7 days, > 7 days).';

-- ---------------------------------------------------------------------------------------------
-- Privileges. Managers keep dealers, transactions, targets and programs, compute, submit and
-- approve (the triggers decide who may approve what); admins also shape the approval chain and
-- delete master data. Nobody may change or delete runs, lines, approvals or the audit trail, and
-- lines are written only by crm.rebate_fill_run (SECURITY DEFINER), never by hand.
-- Roles named in the approval chain need crm_manager (or the grants below) to approve.
-- ---------------------------------------------------------------------------------------------
GRANT SELECT ON crm.dealer TO crm_rep;
GRANT SELECT, INSERT, UPDATE ON crm.dealer, crm.dealer_txn, crm.dealer_target, crm.rebate_program TO crm_manager;
GRANT DELETE ON crm.dealer, crm.dealer_txn, crm.dealer_target, crm.rebate_program TO crm_admin;
GRANT SELECT ON crm.rebate_approval_level TO crm_manager;
GRANT INSERT, UPDATE, DELETE ON crm.rebate_approval_level TO crm_admin;
GRANT SELECT ON crm.rebate_run, crm.rebate_line TO crm_manager;
GRANT INSERT (program_id, period_start, period_end), UPDATE (status, approved_levels, superseded_by)
    ON crm.rebate_run TO crm_manager;
GRANT SELECT, INSERT ON crm.rebate_approval TO crm_manager;
GRANT SELECT ON crm.rebate_run_event TO crm_manager;
GRANT SELECT ON crm.rebate_statement, crm.rebate_accrual, crm.rebate_approval_queue TO crm_bi_reader;

REVOKE ALL ON FUNCTION crm.compute_rebates(bigint, date, date), crm.submit_run(bigint),
    crm.approve_run(bigint, text), crm.reject_run(bigint, text),
    crm.rebate_eligible_by_decision(bigint, crm.rebate_program),
    crm.rebate_check_period(bigint, bigint, date, date), crm.rebate_run_for_update(bigint),
    crm.rebate_aggregate(bigint, date, date, text[], boolean), crm.rebate_fill_run(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.compute_rebates(bigint, date, date), crm.submit_run(bigint),
    crm.approve_run(bigint, text), crm.reject_run(bigint, text),
    crm.rebate_eligible_by_decision(bigint, crm.rebate_program),
    crm.rebate_check_period(bigint, bigint, date, date), crm.rebate_run_for_update(bigint),
    crm.rebate_aggregate(bigint, date, date, text[], boolean), crm.rebate_fill_run(bigint) TO crm_manager;
