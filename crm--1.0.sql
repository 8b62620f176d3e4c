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

CREATE FUNCTION crm.lead_dispatch_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_lead_dispatch_trigger'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION crm.lead_dispatch_trigger() IS 'Trigger (BEFORE INSERT on crm.lead): dispatches a new lead: sets owner_rep_id and status assigned, or status unassigned with the reason in crm.lead_dispatch.';
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
