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
