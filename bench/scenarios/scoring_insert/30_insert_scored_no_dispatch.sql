ALTER TABLE crm.lead DISABLE TRIGGER lead_20_dispatch;
INSERT INTO crm.lead (external_ref, source, city, company_name, attributes)
SELECT 'B' || id, source, city, company_name, attributes FROM bench_src;
ALTER TABLE crm.lead ENABLE TRIGGER lead_20_dispatch;
