SELECT city, source, count(*) FROM crm.lead WHERE tenant_id = 1 GROUP BY 1, 2;
