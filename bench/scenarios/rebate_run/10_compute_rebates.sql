SELECT crm.compute_rebates(1, '2026-03-01', '2026-03-31');
