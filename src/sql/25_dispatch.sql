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
