-- Dealer rebates: the SAP worked example, tier boundaries, returns, caps, growth, modes,
-- multiplier, rounding over many lines, approval rules, immutability, audit, views.
BEGIN;
SELECT plan(77);

CREATE ROLE tap_regional NOLOGIN IN ROLE crm_manager;
CREATE ROLE tap_finance NOLOGIN IN ROLE crm_manager;
CREATE ROLE tap_director NOLOGIN IN ROLE crm_manager;
CREATE ROLE tap_calc LOGIN IN ROLE crm_manager;
CREATE ROLE tap_mgr1 LOGIN IN ROLE tap_regional;
CREATE ROLE tap_mgr2 LOGIN IN ROLE tap_regional;
CREATE ROLE tap_fin LOGIN IN ROLE tap_finance, tap_regional;
CREATE ROLE tap_dir LOGIN IN ROLE tap_director;
CREATE ROLE tap_bi LOGIN IN ROLE crm_bi_reader;

INSERT INTO crm.rebate_approval_level (level_no, role_name, min_total, label) VALUES
    (1, 'tap_regional', 0, '区域经理'), (2, 'tap_finance', 0, '财务'), (3, 'tap_director', 100000, '总监');
SELECT throws_ok($$INSERT INTO crm.rebate_approval_level (level_no, role_name) VALUES (4, 'no_such_role')$$, '42704', NULL,
                 'an approval level must name an existing role');

INSERT INTO crm.dealer (code, name, level, region) VALUES
    ('SAP', 'SAP 例子', 'A', '江苏'),          -- 1
    ('ON5K', '门槛 5000', 'A', '江苏'),         -- 2
    ('ON20K', '门槛 20000', 'A', '浙江'),       -- 3
    ('BELOW20K', '19999.99', 'A', '浙江'),      -- 4
    ('RETURNS', '退货多', 'B', '江苏'),         -- 5
    ('GROWTH', '增长', 'B', '浙江'),            -- 6
    ('NOREF', '无基期', 'B', '浙江'),           -- 7
    ('OTHER', '安徽', 'C', '安徽');             -- 8

-- ------------------------------------------------------------------ SAP: interim + final netting
INSERT INTO crm.rebate_program (code, name, tiers, period_type, cumulative, valid_from, valid_to, eligible_regions)
VALUES ('SAP', 'SAP condition contract', '[{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}]',
        'quarter', true, '2026-01-01', '2026-12-31', '{江苏}');
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount) VALUES
    (1, '2026-02-10', 'purchase', 'SKU1', 7000), (1, '2026-08-10', 'purchase', 'SKU1', 20500),
    (1, '2026-11-20', 'return', 'SKU1', 500);

SET ROLE tap_calc;
SELECT crm.compute_rebates(1, '2026-01-01', '2026-03-31') AS q1 \gset
SELECT is((SELECT payable FROM crm.rebate_line WHERE run_id = :q1 AND dealer_id = 1), 140.00,
          'SAP: at 7k cumulative 2% pays 140 in the interim settlement');
SELECT is((SELECT settlement FROM crm.rebate_run WHERE run_id = :q1), 'interim', 'a cumulative run before the last period is interim');
SELECT is((SELECT count(*)::int FROM crm.rebate_line WHERE run_id = :q1), 3, 'eligible by region: the three Jiangsu dealers, not the others');
SELECT is((crm.submit_run(:q1)).status, 'pending', 'the run is submitted');
SELECT is((SELECT approval_chain @> '[{"level":1},{"level":2}]' AND jsonb_array_length(approval_chain) = 2
             FROM crm.rebate_run WHERE run_id = :q1), true, 'a 140 run needs two levels (the director only from 100000)');
RESET ROLE;
SET ROLE tap_mgr1;
SELECT is((crm.approve_run(:q1, '核对无误')).status, 'pending', 'level 1 approves; the run waits for finance');
RESET ROLE;
SET ROLE tap_fin;
SELECT is((crm.approve_run(:q1)).status, 'approved', 'level 2 approves: the run is approved');
RESET ROLE;
SET ROLE tap_calc;
SELECT crm.compute_rebates(1, '2026-10-01', '2026-12-31') AS q4 \gset
SELECT results_eq($$SELECT net_amount, tier_no, rate, gross, settled, payable FROM crm.rebate_line WHERE run_id = $$ || :q4 || $$ AND dealer_id = 1$$,
                  $$VALUES (27000.00::numeric, 2, 0.04::numeric, 1080.00::numeric, 140.00::numeric, 940.00::numeric)$$,
                  'SAP: at 27k year end 4% = 1080, less 140 settled: 940');
SELECT is((SELECT settlement FROM crm.rebate_run WHERE run_id = :q4), 'final', 'the last quarter is the final settlement');
SELECT is((SELECT explanation #>> '{tier,rate}' FROM crm.rebate_line WHERE run_id = :q4 AND dealer_id = 1), '0.04',
          'the explanation names the rate of the tier reached');
SELECT is((SELECT explanation ->> 'settled' FROM crm.rebate_line WHERE run_id = :q4 AND dealer_id = 1), '140.00',
          'the explanation shows the netted settlement');
RESET ROLE;

-- ------------------------------------------------------------------ a monthly program: boundaries, returns, caps
INSERT INTO crm.rebate_program (code, name, tiers, valid_from, valid_to, eligible_levels)
VALUES ('M', 'monthly', '[{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}]', '2026-01-01', '2026-12-31', '{A,B}');
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount) VALUES
    (2, '2026-03-05', 'purchase', 'SKU1', 5000),
    (3, '2026-03-05', 'purchase', 'SKU1', 12000), (3, '2026-03-25', 'purchase', 'SKU2', 8000),
    (4, '2026-03-05', 'purchase', 'SKU1', 20000), (4, '2026-03-06', 'return', 'SKU1', 0.01),
    (5, '2026-03-02', 'purchase', 'SKU1', 800), (5, '2026-03-20', 'return', 'SKU1', 2000),
    (8, '2026-03-02', 'purchase', 'SKU1', 90000),
    (2, '2026-04-01', 'purchase', 'SKU1', 99999);   -- next month: not counted
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-31') AS m \gset
SELECT results_eq($$SELECT d.code, l.tier_no, l.gross FROM crm.rebate_line l JOIN crm.dealer d USING (tenant_id, dealer_id)
                     WHERE l.run_id = $$ || :m || $$ AND d.code IN ('ON5K', 'ON20K', 'BELOW20K') ORDER BY 1$$,
                  $$VALUES ('BELOW20K', 1, 400.00::numeric), ('ON20K', 2, 800.00), ('ON5K', 1, 100.00)$$,
                  'exactly on a threshold is in the tier; 19999.99 stays in tier 1 (399.9998 rounds to 400.00)');
SELECT results_eq($$SELECT net_amount, tier_no, gross, payable FROM crm.rebate_line WHERE run_id = $$ || :m || $$ AND dealer_id = 5$$,
                  $$VALUES (-1200.00::numeric, NULL::int, 0.00::numeric, 0.00::numeric)$$,
                  'returns exceeding purchases: negative net, no tier, nothing paid');
SELECT is((SELECT count(*)::int FROM crm.rebate_line WHERE run_id = :m AND dealer_id = 8), 0, 'a level C dealer is not eligible');
SELECT is((SELECT total_payable FROM crm.rebate_run WHERE run_id = :m),
          (SELECT sum(payable) FROM crm.rebate_line WHERE run_id = :m), 'the run total is the sum of its lines');
SELECT throws_ok($$SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-30')$$, '22023', NULL,
                 'a period that is not one calendar month is refused');
SELECT throws_ok($$SELECT crm.compute_rebates(2, '2027-03-01', '2027-03-31')$$, '22023', NULL,
                 'a period outside the effective dates is refused');
SELECT throws_ok($$SELECT crm.compute_rebates(999, '2026-03-01', '2026-03-31')$$, '42704', NULL, 'an unknown program is refused');
SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-31') AS m2 \gset
SELECT is((SELECT status || '>' || superseded_by FROM crm.rebate_run WHERE run_id = :m), 'superseded>' || :m2,
          'recomputing supersedes the calculated run');
RESET ROLE;

-- caps: measured value capped at 10000, payout capped at 150
UPDATE crm.rebate_program SET cap_measured = 10000 WHERE code = 'M';
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-31') AS mc \gset
SELECT results_eq($$SELECT dealer_id, measured, tier_no, gross FROM crm.rebate_line WHERE run_id = $$ || :mc || $$ AND dealer_id IN (2, 3) ORDER BY 1$$,
                  $$VALUES (2::bigint, 5000.00::numeric, 1, 100.00::numeric), (3, 10000.00, 1, 200.00)$$,
                  'cap on the measured value: 20000 counts as 10000, tier 1');
RESET ROLE;
UPDATE crm.rebate_program SET cap_measured = NULL, cap_payout = 150 WHERE code = 'M';
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-31') AS mp \gset
SELECT results_eq($$SELECT dealer_id, tier_amount, gross, capped FROM crm.rebate_line WHERE run_id = $$ || :mp || $$ AND dealer_id IN (2, 3) ORDER BY 1$$,
                  $$VALUES (2::bigint, 100.00::numeric, 100.00::numeric, false), (3, 800.00, 150.00, true)$$,
                  'cap on the payout: 800 is cut to 150, 100 stays');
RESET ROLE;

-- progressive mode: 5000..20000 at 2% (300) + 0 above for exactly 20000; 19999.99 -> 299.9998
UPDATE crm.rebate_program SET cap_payout = NULL, mode = 'progressive' WHERE code = 'M';
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-31') AS mg \gset
SELECT results_eq($$SELECT dealer_id, gross FROM crm.rebate_line WHERE run_id = $$ || :mg || $$ AND dealer_id IN (2, 3, 4) ORDER BY 1$$,
                  $$VALUES (2::bigint, 0.00::numeric), (3, 300.00), (4, 300.00)$$,
                  'progressive: each band at its own rate');
RESET ROLE;

-- multiplier bands on promotion achievement
UPDATE crm.rebate_program SET mode = 'retroactive', promotion = 'SPRING',
       multiplier_bands = '[{"min": 0, "rate": 0.5}, {"min": 0.8, "rate": 1}, {"min": 1.0001, "rate": 1.2}]' WHERE code = 'M';
INSERT INTO crm.dealer_target (dealer_id, promotion, period_start, period_end, target_amount, achieved_amount) VALUES
    (2, 'SPRING', '2026-03-01', '2026-03-31', 10000, 7500),
    (3, 'SPRING', '2026-03-01', '2026-03-31', 10000, 10000),
    (4, 'SPRING', '2026-03-01', '2026-03-31', 10000, NULL);
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount, promotion) VALUES
    (4, '2026-03-10', 'purchase', 'SKU9', 10500, 'SPRING'), (4, '2026-03-11', 'return', 'SKU9', 100, 'SPRING');
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-03-01', '2026-03-31') AS mm \gset
SELECT results_eq($$SELECT dealer_id, achievement, multiplier, tier_amount, gross FROM crm.rebate_line WHERE run_id = $$ || :mm || $$ AND dealer_id IN (2, 3, 4) ORDER BY 1$$,
                  $$VALUES (2::bigint, 0.7500::numeric, 0.5::numeric, 100.00::numeric, 50.00::numeric),
                           (3, 1.0000, 1, 800.00, 800.00),
                           (4, 1.0400, 1.2, 1216.00, 1459.20)$$,
                  'multiplier: 75% x0.5, exactly 100% x1, 104% (computed from promotion lines) x1.2');
SELECT is((SELECT multiplier FROM crm.rebate_line WHERE run_id = :mm AND dealer_id = 5), 1::numeric,
          'a dealer without a target keeps multiplier 1');
RESET ROLE;

-- ------------------------------------------------------------------ growth basis
INSERT INTO crm.rebate_program (code, name, basis, tiers, valid_from, valid_to, eligible_levels)
VALUES ('G', 'growth', 'growth', '[{"min": 10, "rate": 0.03}, {"min": 20, "rate": 0.05}]', '2026-01-01', '2026-12-31', '{B}');
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount) VALUES
    (6, '2025-05-03', 'purchase', 'SKU1', 10000), (6, '2026-05-03', 'purchase', 'SKU1', 11500),
    (7, '2026-05-03', 'purchase', 'SKU1', 50000);
SET ROLE tap_calc;
SELECT crm.compute_rebates(3, '2026-05-01', '2026-05-31') AS g \gset
SELECT results_eq($$SELECT dealer_id, reference_net, qualifying, tier_no, gross FROM crm.rebate_line WHERE run_id = $$ || :g || $$ AND dealer_id IN (6, 7) ORDER BY 1$$,
                  $$VALUES (6::bigint, 10000.00::numeric, 15.00::numeric, 1, 345.00::numeric), (7, NULL, NULL, NULL, 0.00)$$,
                  'growth: 15% over May 2025 selects the 10% tier, 3% of 11500; no reference, no tier');
RESET ROLE;
SELECT throws_ok($$INSERT INTO crm.rebate_program (code, name, basis, mode, tiers, valid_from, valid_to)
                   VALUES ('GP', 'x', 'growth', 'progressive', '[{"min": 0, "rate": 0.01}]', '2026-01-01', '2026-12-31')$$,
                 '23514', NULL, 'growth programs are retroactive');

-- ------------------------------------------------------------------ clawback: returns after an approved interim
INSERT INTO crm.dealer (code, name, level, region) VALUES ('CLAW', '退货冲回', 'Q', '江苏'), ('QTY', '按箱', 'Q', '江苏');
INSERT INTO crm.rebate_program (code, name, tiers, period_type, cumulative, valid_from, valid_to, eligible_levels)
VALUES ('CB', 'clawback', '[{"min": 5000, "rate": 0.02}]', 'quarter', true, '2026-01-01', '2026-12-31', '{Q}');
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount, quantity) VALUES
    ((SELECT dealer_id FROM crm.dealer WHERE code = 'CLAW'), '2026-02-01', 'purchase', 'SKU1', 10000, 100),
    ((SELECT dealer_id FROM crm.dealer WHERE code = 'CLAW'), '2026-05-01', 'return', 'SKU1', 8000, 80);
SET ROLE tap_calc;
SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'CB'), '2026-01-01', '2026-03-31') AS cb1 \gset
SELECT crm.submit_run(:cb1);
RESET ROLE;
SET ROLE tap_mgr1;
SELECT crm.approve_run(:cb1);
RESET ROLE;
SET ROLE tap_fin;
SELECT crm.approve_run(:cb1);
RESET ROLE;
SET ROLE tap_calc;
SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'CB'), '2026-04-01', '2026-06-30') AS cb2 \gset
SELECT results_eq(format('SELECT net_amount, gross, settled, payable FROM crm.rebate_line l JOIN crm.dealer d USING (tenant_id, dealer_id) WHERE run_id = %s AND d.code = %L', :cb2, 'CLAW'),
                  $$VALUES (2000.00::numeric, 0.00::numeric, 200.00::numeric, -200.00::numeric)$$,
                  'returns after an approved interim claw the 200 back (payable -200)');
RESET ROLE;

-- quantity basis: rates are yuan per unit
INSERT INTO crm.rebate_program (code, name, basis, tiers, valid_from, valid_to, eligible_levels)
VALUES ('QB', 'per case', 'quantity', '[{"min": 100, "rate": 0.5}, {"min": 500, "rate": 0.8}]', '2026-01-01', '2026-12-31', '{Q}');
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount, quantity) VALUES
    ((SELECT dealer_id FROM crm.dealer WHERE code = 'QTY'), '2026-09-03', 'purchase', 'SKU1', 9999, 150),
    ((SELECT dealer_id FROM crm.dealer WHERE code = 'QTY'), '2026-09-04', 'return', 'SKU1', 999, 20);
SET ROLE tap_calc;
SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'QB'), '2026-09-01', '2026-09-30') AS qb \gset
SELECT results_eq(format('SELECT net_quantity, tier_no, gross FROM crm.rebate_line l JOIN crm.dealer d USING (tenant_id, dealer_id) WHERE run_id = %s AND d.code = %L', :qb, 'QTY'),
                  $$VALUES (130.000::numeric, 1, 65.00::numeric)$$,
                  'quantity basis: 150 - 20 cases at 0.50 per case = 65.00');
RESET ROLE;

-- a yearly program runs over calendar years only
INSERT INTO crm.rebate_program (code, name, tiers, period_type, valid_from, valid_to, eligible_levels)
VALUES ('Y', 'yearly', '[{"min": 1000, "amount": 88}]', 'year', '2026-01-01', '2026-12-31', '{Q}');
SET ROLE tap_calc;
SELECT throws_ok($$SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'Y'), '2026-01-01', '2026-06-30')$$,
                 '22023', NULL, 'half a year is not a period of a yearly program');
SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'Y'), '2026-01-01', '2026-12-31') AS y \gset
SELECT is((SELECT sum(l.gross) FROM crm.rebate_line l WHERE l.run_id = :y),
          176.00, 'a yearly run with a fixed-amount tier: 88 for each of the two dealers above 1000');
RESET ROLE;
SELECT is(crm.rebate_restoring(), false, 'an ordinary statement is never taken for a restore');

-- ------------------------------------------------------------------ malformed tiers are refused with the tier named
SELECT throws_ok($$INSERT INTO crm.rebate_program (code, name, tiers, valid_from, valid_to)
                   VALUES ('BAD', 'x', '[{"min": 0, "max": 100, "rate": 0.01}, {"min": 50, "rate": 0.02}]', '2026-01-01', '2026-12-31')$$,
                 '22023', 'invalid tiers: tier 2 (array index 1) overlaps the previous tier', 'overlapping tiers are refused');
SELECT throws_ok($$SELECT crm.rebate_amount(1, '[{"min": 0, "rate": -0.01}]')$$, '22023',
                 'invalid tiers: tier 1 (array index 0) "rate" is negative', 'a negative rate is refused');
SELECT throws_ok($$SELECT crm.rebate_amount(1, '[{"min": 0, "rate": "0.01"}]')$$, '42804', NULL, 'a rate as a string is refused');
SELECT throws_ok($$SELECT crm.rebate_amount(1, '[{"min": 0, "rate": 0.01}]', 'marginal')$$, '22023', NULL, 'an unknown mode is refused');
SELECT is(crm.rebate_amount(27000, '[{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}]', 'progressive'), 580.00,
          'rebate_amount progressive: 300 + 280');

-- ------------------------------------------------------------------ rounding over many lines
INSERT INTO crm.rebate_program (code, name, tiers, valid_from, valid_to, eligible_levels)
VALUES ('R', 'rounding', '[{"min": 0, "rate": 0.015}, {"min": 1000, "rate": 0.0175}]', '2026-01-01', '2026-12-31', '{R}');
INSERT INTO crm.dealer (code, name, level, region) SELECT 'R' || g, 'r' || g, 'R', '江苏' FROM generate_series(1, 400) g;
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount)
SELECT d.dealer_id, '2026-06-15', 'purchase', 'SKU1', 10.33 * (d.dealer_id % 200) + 0.01 * (d.dealer_id % 7)
  FROM crm.dealer d WHERE d.level = 'R';
SET ROLE tap_calc;
SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'R'), '2026-06-01', '2026-06-30') AS r \gset
SELECT is((SELECT count(*)::int FROM crm.rebate_line WHERE run_id = :r
            AND gross <> round(net_amount * CASE WHEN net_amount >= 1000 THEN 0.0175 ELSE 0.015 END, 2)), 0,
          'every line is rounded once, half away from zero, to the fen');
SELECT cmp_ok((SELECT count(*)::int FROM crm.rebate_line WHERE run_id = :r
                AND net_amount * CASE WHEN net_amount >= 1000 THEN 0.0175 ELSE 0.015 END <> gross), '>', 200,
              'most of the 400 lines needed rounding');
SELECT is((SELECT total_payable FROM crm.rebate_run WHERE run_id = :r), (SELECT sum(payable) FROM crm.rebate_line WHERE run_id = :r),
          'the run total equals the sum of 400 rounded lines to the fen');
RESET ROLE;

-- ------------------------------------------------------------------ approval rules
SET ROLE tap_calc;
SELECT throws_ok(format('SELECT crm.approve_run(%s)', :r), '55000', NULL, 'a calculated run cannot be approved');
SELECT is((crm.submit_run(:r)).status, 'pending', 'submitted');
SELECT throws_ok(format('SELECT crm.submit_run(%s)', :r), '55000', NULL, 'a run cannot be submitted twice');
SELECT throws_ok($$SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = 'R'), '2026-06-01', '2026-06-30')$$, '55000', NULL,
                 'a pending run is never replaced by a new computation');
RESET ROLE;
SET ROLE tap_fin;
SELECT throws_ok(format('SELECT crm.reject_run(%s, %L)', :r, ''), '22023', NULL, 'a rejection needs a comment');
RESET ROLE;
SET ROLE tap_dir;
SELECT throws_ok(format('SELECT crm.approve_run(%s)', :r), '42501', NULL, 'a role outside the level cannot approve it');
RESET ROLE;
-- tap_calc's own run: make tap_calc a regional manager for a moment
GRANT tap_regional TO tap_calc;
SET ROLE tap_calc;
SELECT throws_ok(format('SELECT crm.approve_run(%s)', :r), '42501', NULL, 'no one approves their own run');
RESET ROLE;
REVOKE tap_regional FROM tap_calc;
SET ROLE tap_fin;
SELECT lives_ok(format('SELECT crm.approve_run(%s)', :r), 'tap_fin approves level 1');
SELECT throws_ok(format('SELECT crm.approve_run(%s)', :r), '42501', NULL, 'nobody approves two levels of one run');
RESET ROLE;
SET ROLE tap_mgr2;
SELECT throws_ok(format('SELECT crm.approve_run(%s)', :r), '42501', NULL, 'level 2 needs finance: order and roles are enforced');
SELECT throws_ok(format($$INSERT INTO crm.rebate_approval (run_id, level_no, decision) VALUES (%s, 3, 'approved')$$, :r),
                 '55000', NULL, 'a direct insert cannot skip a level');
RESET ROLE;
SET ROLE tap_fin;
SELECT throws_ok(format('SELECT crm.reject_run(%s, %L)', :r, '金额需复核'), '42501', NULL,
                 'the level-1 approver cannot decide level 2 either');
RESET ROLE;
CREATE ROLE tap_fin2 LOGIN IN ROLE tap_finance;
SET ROLE tap_fin2;
SELECT is((crm.reject_run(:r, '金额需复核')).status, 'rejected', 'finance rejects with a comment');
SELECT throws_ok(format('SELECT crm.approve_run(%s)', :r), '55000', NULL, 'a rejected run is final');
RESET ROLE;

-- thresholds add levels
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-07-01', '2026-07-31') AS big \gset
RESET ROLE;
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount) VALUES (3, '2026-08-01', 'purchase', 'SKU1', 3000000);
SET ROLE tap_calc;
SELECT crm.compute_rebates(2, '2026-08-01', '2026-08-31') AS big \gset
SELECT is(jsonb_array_length((crm.submit_run(:big)).approval_chain), 3, 'a run paying 120000 needs the director too');
RESET ROLE;

-- ------------------------------------------------------------------ immutability
SELECT throws_ok(format('UPDATE crm.rebate_line SET payable = 0 WHERE run_id = %s', :q4), '55000', NULL,
                 'even the owner cannot change a line');
SELECT throws_ok(format('DELETE FROM crm.rebate_line WHERE run_id = %s', :q1), '55000', NULL, 'lines cannot be deleted');
SELECT throws_ok(format('DELETE FROM crm.rebate_run WHERE run_id = %s', :q1), '55000', NULL, 'runs cannot be deleted');
SELECT throws_ok('TRUNCATE crm.rebate_line', '55000', NULL, 'lines cannot be truncated');
SELECT throws_ok(format('UPDATE crm.rebate_run SET total_payable = 1 WHERE run_id = %s', :q1), '55000', NULL,
                 'an approved run''s total cannot change');
SELECT throws_ok(format('UPDATE crm.rebate_run SET status = %L WHERE run_id = %s', 'calculated', :q1), '55000', NULL,
                 'an approved run cannot go back');
SELECT throws_ok(format($$INSERT INTO crm.rebate_line (run_id, dealer_id, purchases, returns, net_amount, net_quantity,
                   qualifying, measured, tier_amount, multiplier, gross, capped, settled, payable, explanation)
                   VALUES (%s, 8, 0, 0, 0, 0, 0, 0, 0, 1, 99, false, 0, 99, '{}')$$, :q4), '55000', NULL,
                 'no line can be added to an existing run');
SELECT throws_ok('UPDATE crm.rebate_run_event SET actor = current_user', '55000', NULL, 'the audit trail is append-only');
SELECT throws_ok('DELETE FROM crm.rebate_approval', '55000', NULL, 'approvals cannot be deleted');

-- lines come only from the computation
SET ROLE tap_calc;
SELECT throws_ok(format($$INSERT INTO crm.rebate_line (run_id, dealer_id, purchases, returns, net_amount, net_quantity,
                   qualifying, measured, tier_amount, multiplier, gross, capped, settled, payable, explanation)
                   VALUES (%s, 8, 0, 0, 0, 0, 0, 0, 0, 1, 99, false, 0, 99, '{}')$$, :mm), '42501', NULL,
                 'a manager cannot write rebate lines by hand');
SELECT throws_ok($$INSERT INTO crm.rebate_run (program_id, period_start, period_end, program_snapshot)
                   VALUES (2, '2026-10-01', '2026-10-31', '{"tiers": [{"min": 0, "rate": 0.5}]}')$$, '42501', NULL,
                 'a manager cannot hand a run a made-up program snapshot');
SELECT throws_ok(format('SELECT crm.rebate_fill_run(%s)', :mm), '55000', NULL,
                 'only a run created by the same transaction can be filled, once');
RESET ROLE;

-- ------------------------------------------------------------------ audit trail and outbox
SELECT results_eq(format('SELECT event, actor::text COLLATE "default", level_no FROM crm.rebate_run_event WHERE run_id = %s ORDER BY event_id', :q1),
                  $$VALUES ('calculated', 'tap_calc', NULL::int), ('submitted', 'tap_calc', NULL),
                           ('level_approved', 'tap_mgr1', 1), ('approved', 'tap_fin', 2)$$,
                  'every state change of the SAP interim run is in the audit trail, with its actor');
SELECT is((SELECT comment FROM crm.rebate_run_event WHERE run_id = :r AND event = 'rejected'), '金额需复核',
          'the rejection comment is in the audit trail');
SELECT results_eq(format('SELECT topic, recipient FROM crm.outbox WHERE entity = %L AND entity_id = %s ORDER BY outbox_id', 'rebate_run', :q1),
                  $$VALUES ('rebate.calculated', 'tap_calc'), ('rebate.submitted', 'tap_regional'),
                           ('rebate.level_approved', 'tap_finance'), ('rebate.approved', 'tap_calc')$$,
                  'each state change is announced on the outbox to whoever acts next');

-- ------------------------------------------------------------------ views for BI, tenant-filtered
SET ROLE tap_bi;
SELECT is((SELECT payable FROM crm.rebate_statement WHERE run_id = :q4 AND dealer_code = 'SAP'), 940.00,
          'the BI reader reads the statement');
SELECT is((SELECT count(*)::int FROM crm.rebate_approval_queue WHERE run_id = :big AND next_role = 'tap_regional'), 1,
          'the approval queue shows the pending run and who acts next');
SELECT is((SELECT accrual_state FROM crm.rebate_accrual WHERE run_id = :q1), 'approved', 'accruals show approved runs');
SELECT throws_ok('SELECT * FROM crm.rebate_line', '42501', NULL, 'the BI reader cannot read the tables');
SET crm.tenant_id = 2;
RESET ROLE;
SELECT is((SELECT count(*)::int FROM crm.rebate_statement), 0, 'another tenant sees no statement lines');
RESET crm.tenant_id;

-- eligibility by decision, through the decision engine: level-B programme G, dealers in 浙江 only
UPDATE crm.rebate_program SET eligibility_model = 'dealer_rules', eligibility_decision = 'eligible' WHERE code = 'G';
SET ROLE tap_calc;
SELECT throws_ok($$SELECT crm.compute_rebates(3, '2026-06-01', '2026-06-30')$$, '42704', NULL,
                 'a program whose eligibility model does not exist is refused and computes nothing');
RESET ROLE;
SELECT crm.dmn_import($x$<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" id="dr"
    name="dealer_rules" namespace="http://example.com/rebates">
  <inputData id="i_region" name="region"><variable name="region" typeRef="string"/></inputData>
  <decision id="d_eligible" name="eligible">
    <variable name="eligible" typeRef="boolean"/>
    <informationRequirement><requiredInput href="#i_region"/></informationRequirement>
    <decisionTable hitPolicy="FIRST">
      <input id="in1" label="region"><inputExpression typeRef="string"><text>region</text></inputExpression></input>
      <output id="o1" name="eligible" typeRef="boolean"/>
      <rule><inputEntry><text>"浙江"</text></inputEntry><outputEntry><text>true</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><outputEntry><text>false</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>$x$::xml) AS model \gset
SET ROLE tap_calc;
SELECT crm.compute_rebates(3, '2026-06-01', '2026-06-30') AS dec \gset
SELECT results_eq(format('SELECT d.code FROM crm.rebate_line l JOIN crm.dealer d USING (tenant_id, dealer_id)
                           WHERE l.run_id = %s ORDER BY 1', :'dec'),
                  $$VALUES ('GROWTH'), ('NOREF')$$,
                  'eligibility decided by a DMN decision table through crm.decide');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
