SET crm_health.as_of = '2026-11-22';
CALL crm.refresh_health_profiles();
