TRUNCATE crm.lead, crm.lead_dispatch, crm.outbox CASCADE;
UPDATE crm.rep_load SET open_leads = 0, assigned_total = 0, last_assigned_at = NULL;
