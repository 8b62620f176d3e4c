-- :scale transaction lines in March 2026 over :scale/200 dealers; deterministic.
INSERT INTO crm.dealer (code, name, level, region, city)
SELECT 'D' || lpad(g::text, 6, '0'), '经销商 ' || g, (ARRAY['A', 'B', 'C'])[1 + g % 3],
       (ARRAY['江苏', '浙江'])[1 + g % 2], (ARRAY['南京', '苏州', '杭州', '宁波'])[1 + g % 4]
  FROM generate_series(1, greatest(:scale / 200, 1)) g;
INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, category, quantity, amount)
SELECT 1 + (g::bigint * 7919) % greatest(:scale / 200, 1),
       date '2026-03-01' + g % 31,
       CASE WHEN g % 10 = 0 THEN 'return' ELSE 'purchase' END,
       'SKU' || g % 300, (ARRAY['饮料', '零食', '日化'])[1 + g % 3], 1 + g % 20,
       round((37 + (g * 2654435761) % 4000) / 3.0, 2)
  FROM generate_series(1, :scale) g;
INSERT INTO crm.rebate_program (code, name, tiers, cap_payout, valid_from, valid_to)
VALUES ('BENCH', '月度进货返利', '[{"min": 5000, "rate": 0.01}, {"min": 20000, "rate": 0.02}, {"min": 50000, "rate": 0.035}]',
        5000, '2026-01-01', '2026-12-31');
CREATE TABLE bench_plain_line (run_id bigint, dealer_id bigint, purchases numeric, returns numeric, net_amount numeric,
    tier_no int, rate numeric, tier_amount numeric, gross numeric, capped boolean, settled numeric, payable numeric,
    explanation jsonb);
