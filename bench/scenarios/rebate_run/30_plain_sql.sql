-- The same run a user would write in plain SQL: aggregate, tier lookup in the jsonb tiers,
-- rounding, payout cap, netting of approved settlements, an explanation per line.
INSERT INTO bench_plain_line
SELECT 1, y.dealer_id, y.purchases, y.returns, y.net, tr.tier_no, tr.rate,
       round(y.net * COALESCE(tr.rate, 0), 2),
       LEAST(round(y.net * COALESCE(tr.rate, 0), 2), p.cap_payout),
       round(y.net * COALESCE(tr.rate, 0), 2) > p.cap_payout,
       y.settled,
       LEAST(round(y.net * COALESCE(tr.rate, 0), 2), p.cap_payout) - y.settled,
       jsonb_build_object('program', p.code, 'purchases', y.purchases, 'returns', y.returns, 'net_amount', y.net,
                          'tier', CASE WHEN tr.tier_no IS NOT NULL THEN jsonb_build_object('no', tr.tier_no, 'min', tr.min, 'rate', tr.rate) END,
                          'tier_amount', round(y.net * COALESCE(tr.rate, 0), 2),
                          'gross', LEAST(round(y.net * COALESCE(tr.rate, 0), 2), p.cap_payout), 'settled', y.settled,
                          'payable', LEAST(round(y.net * COALESCE(tr.rate, 0), 2), p.cap_payout) - y.settled)
  FROM crm.rebate_program p
  CROSS JOIN LATERAL (
       SELECT d.dealer_id, COALESCE(a.purchases, 0) AS purchases, COALESCE(a.returns, 0) AS returns,
              COALESCE(a.purchases, 0) - COALESCE(a.returns, 0) AS net, COALESCE(st.settled, 0) AS settled
         FROM crm.dealer d
         LEFT JOIN (SELECT t.dealer_id, sum(t.amount) FILTER (WHERE t.kind = 'purchase') AS purchases,
                           sum(t.amount) FILTER (WHERE t.kind = 'return') AS returns
                      FROM crm.dealer_txn t
                     WHERE t.tenant_id = 1 AND t.txn_date BETWEEN '2026-03-01' AND '2026-03-31'
                     GROUP BY t.dealer_id) a ON a.dealer_id = d.dealer_id
         LEFT JOIN (SELECT l.dealer_id, sum(l.payable) AS settled
                      FROM crm.rebate_run r JOIN crm.rebate_line l USING (tenant_id, run_id)
                     WHERE r.program_id = 1 AND r.status = 'approved' AND r.period_start >= '2026-03-01'
                       AND r.period_end <= '2026-03-31'
                     GROUP BY l.dealer_id) st ON st.dealer_id = d.dealer_id
        WHERE d.tenant_id = 1 AND d.status = 'active') y
  LEFT JOIN LATERAL (
       SELECT e.ord::int AS tier_no, (e.tier ->> 'min')::numeric AS min, (e.tier ->> 'rate')::numeric AS rate
         FROM jsonb_array_elements(p.tiers) WITH ORDINALITY e(tier, ord)
        WHERE (e.tier ->> 'min')::numeric <= y.net
        ORDER BY e.ord DESC LIMIT 1) tr ON true
 WHERE p.program_id = 1;
