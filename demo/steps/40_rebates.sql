-- Dealer rebates: the chain's supplier side. 20 dealers in Jiangsu and Zhejiang buy from the maker
-- in March 2026 (purchases and some returns, a spring promotion with targets); finance computes
-- the month's rebates, submits the run, the regional manager and the finance manager approve it,
-- and the statement is printed. Deterministic: everything comes from fixed lists and formulas.
\echo
\echo '================ 4. Dealer rebates: a month''s run through approval ================'

-- the people: a finance clerk computes, a regional manager and a finance manager approve
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['demo_rebate_clerk', 'demo_regional_mgr', 'demo_finance_mgr'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN IN ROLE crm_manager', r);
        END IF;
    END LOOP;
END
$$;
INSERT INTO crm.rebate_approval_level (level_no, role_name, min_total, label) VALUES
    (1, 'demo_regional_mgr', 0, '区域经理'),
    (2, 'demo_finance_mgr', 0, '财务经理'),
    (3, 'crm_admin', 500000, '总经理 (大额)');

-- 20 dealers: 12 in Jiangsu, 8 in Zhejiang; levels 一级 / 二级
INSERT INTO crm.dealer (code, name, level, region, city)
SELECT pg_catalog.format('DL%s', lpad(n::text, 2, '0')),
       c.city || (ARRAY['康达', '华润', '国药', '百佳', '瑞丰'])[1 + (n + n / 10) % 5] || '医药商贸',
       CASE WHEN n % 3 = 0 THEN '二级' ELSE '一级' END, c.province, c.city
  FROM generate_series(1, 20) n
  JOIN (VALUES (0, '江苏', '南京'), (1, '江苏', '苏州'), (2, '江苏', '无锡'), (3, '浙江', '杭州'),
               (4, '江苏', '常州'), (5, '浙江', '宁波'), (6, '江苏', '南通'), (7, '浙江', '温州'),
               (8, '江苏', '扬州'), (9, '浙江', '绍兴')) c(k, province, city) ON c.k = n % 10;

-- March 2026: 20-40 purchase lines per dealer, every seventh line a return; some lines under the
-- spring promotion 春季促销
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, doc_no, sku, category, quantity, amount, promotion)
SELECT d.dealer_id, date '2026-03-01' + ((i * 3 + d.dealer_id) % 31)::int,
       CASE WHEN i % 7 = 0 THEN 'return' ELSE 'purchase' END,
       pg_catalog.format('SO-%s-%s', d.code, i),
       (ARRAY['阿托伐他汀钙片 20mg', '二甲双胍缓释片', '氨氯地平片 5mg', '布洛芬缓释胶囊', '维生素C泡腾片'])[1 + ((i + d.dealer_id) % 5)::int],
       (ARRAY['慢病', '慢病', '慢病', '解热镇痛', '保健'])[1 + ((i + d.dealer_id) % 5)::int],
       10 + (i * d.dealer_id) % 40,
       CASE WHEN i % 7 = 0 THEN 800 + (i * 37 + d.dealer_id * 11) % 1500
            ELSE 2000 + (i * 131 + d.dealer_id * 977) % 12000 END + (i % 4) * 0.25,
       CASE WHEN i % 3 = 0 THEN '春季促销' END
  FROM crm.dealer d, generate_series(1, 20 + d.dealer_id::int % 21) i;

-- spring promotion targets: achievement from the promotion lines
INSERT INTO crm.dealer_target (dealer_id, promotion, period_start, period_end, target_amount)
SELECT d.dealer_id, '春季促销', '2026-03-01', '2026-03-31', 30000 + (d.dealer_id * 7919) % 40000
  FROM crm.dealer d;

-- the program: monthly, retroactive tiers, promotion multiplier, payout cap
INSERT INTO crm.rebate_program (code, name, basis, mode, tiers, multiplier_bands, promotion, cap_payout,
                                period_type, valid_from, valid_to, eligible_levels)
VALUES ('2026-MONTHLY', '2026 月度进货返利', 'net_amount', 'retroactive',
        '[{"min": 50000, "rate": 0.01, "name": "铜牌"}, {"min": 150000, "rate": 0.02, "name": "银牌"},
          {"min": 300000, "rate": 0.03, "name": "金牌"}]',
        '[{"min": 0, "rate": 0.5}, {"min": 0.8, "rate": 1}, {"min": 1.0001, "rate": 1.2}]', '春季促销', 10000,
        'month', '2026-01-01', '2026-12-31', '{一级,二级}');

\echo
\echo '-- finance computes March (one line per dealer, exact to the fen) and submits the run'
SET ROLE demo_rebate_clerk;
SELECT crm.compute_rebates((SELECT program_id FROM crm.rebate_program WHERE code = '2026-MONTHLY'),
                           '2026-03-01', '2026-03-31') AS run_id \gset
SELECT run_id, status, dealers, total_gross, total_payable FROM crm.submit_run(:run_id);
RESET ROLE;

\echo
\echo '-- the approval queue: who acts next'
SELECT run_id, program_code, total_payable, next_level, next_label, next_role, submitted_by, ageing_bucket
  FROM crm.rebate_approval_queue;

\echo
\echo '-- level 1: the regional manager; the clerk may not approve the run (segregation of duties)'
SET client_min_messages = notice;
SET ROLE demo_rebate_clerk;
DO $$
BEGIN
    PERFORM crm.approve_run((SELECT max(run_id) FROM crm.rebate_run));
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END
$$;
RESET ROLE;
SET client_min_messages = warning;
SET ROLE demo_regional_mgr;
SELECT run_id, status, approved_levels FROM crm.approve_run(:run_id, '销量与进销存核对一致');
RESET ROLE;
SET ROLE demo_finance_mgr;
SELECT run_id, status, approved_levels FROM crm.approve_run(:run_id, '同意,4月10日前冲抵货款');
RESET ROLE;

\echo
\echo '-- the statement (返利对账单), March 2026'
SELECT dealer_code AS 经销商, dealer_name AS 名称, region AS 省, net_amount AS 净进货额,
       tier_no AS 档, rate AS 返利率, achievement AS 促销达成, multiplier AS 系数, gross AS 返利,
       capped AS 封顶, payable AS 应付
  FROM crm.rebate_statement WHERE run_id = :run_id ORDER BY dealer_code;

\echo
\echo '-- how one line was computed'
SELECT pg_catalog.jsonb_pretty(explanation) AS explanation
  FROM crm.rebate_line WHERE run_id = :run_id
 ORDER BY multiplier DESC, gross DESC LIMIT 1;

\echo
\echo '-- totals: the run equals the sum of its lines; the audit trail and the notifications'
SELECT r.total_payable AS run_total, (SELECT sum(l.payable) FROM crm.rebate_line l WHERE l.run_id = r.run_id) AS sum_of_lines,
       r.status, r.decided_by
  FROM crm.rebate_run r WHERE r.run_id = :run_id;
SELECT event, to_status, level_no, actor, comment FROM crm.rebate_run_event WHERE run_id = :run_id ORDER BY event_id;
SELECT topic, recipient FROM crm.outbox WHERE entity = 'rebate_run' AND entity_id = :run_id ORDER BY outbox_id;
