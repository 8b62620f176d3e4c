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
