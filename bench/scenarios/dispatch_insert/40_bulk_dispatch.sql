INSERT INTO crm.lead (external_ref, source, lon, lat, required_skills)
SELECT 'x' || g, 'wechat', 118.01 + (g::bigint * 7919 % 19900) / 10000.0, 31.01 + (g::bigint * 104729 % 14900) / 10000.0,
       CASE WHEN g % 3 = 0 THEN '{oncology}'::text[] ELSE '{}' END
  FROM generate_series(1, :scale / 10) g;
