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
