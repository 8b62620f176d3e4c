SELECT t.dealer_id, sum(t.amount) FROM crm.dealer_txn t
 WHERE t.tenant_id = 1 AND t.txn_date BETWEEN '2026-03-01' AND '2026-03-31'
 GROUP BY t.dealer_id;
