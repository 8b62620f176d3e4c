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
REVOKE ALL ON FUNCTION crm.dmn_export(text, integer), crm.decide(text, text, jsonb), crm.dmn_model_id(text, integer),
    crm.dmn_decision_id(text, text), crm.dmn_cache_stats(), crm.dmn_model_json(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.dmn_export(text, integer), crm.decide(text, text, jsonb), crm.dmn_model_id(text, integer),
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
