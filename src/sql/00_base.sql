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

