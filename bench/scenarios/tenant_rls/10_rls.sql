SET ROLE bench_mgr;
SET crm.tenant_id = 1;
SELECT city, source, count(*) FROM crm.lead GROUP BY 1, 2;
RESET ROLE;
