ALTER TABLE crm.lead DISABLE TRIGGER lead_20_dispatch;
CALL public.bench_insert_leads(:scale, 'b');
ALTER TABLE crm.lead ENABLE TRIGGER lead_20_dispatch;
