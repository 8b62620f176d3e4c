INSERT INTO crm.lead (external_ref, source, city, company_name, attributes)
SELECT 'B' || id, source, city, company_name, attributes FROM bench_src;
