-- three tenants, :scale leads each, deterministic
INSERT INTO crm.tenant_member VALUES (1, 'bench_mgr');
DO $$ BEGIN CREATE ROLE bench_mgr LOGIN IN ROLE crm_manager; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
INSERT INTO crm.lead (tenant_id, source, city, company_name, created_at)
SELECT t, (ARRAY['web','wechat','phone','walk_in','referral'])[1 + g % 5],
       (ARRAY['南京','苏州','杭州','宁波'])[1 + g % 4], 'company ' || g,
       timestamptz '2026-01-01' + (g % 300) * interval '1 day'
  FROM generate_series(1, 3) t, generate_series(1, :scale) g;
