-- the 50-rule scoring model of scoring_decide as tenant 1's active scoring model, and :scale leads
-- to insert (deterministic)
\ir ../scoring_decide/rules.sql
INSERT INTO crm.scoring_config (tenant_id, model_name, decision_name) VALUES (1, 'bench scoring', 'points');
CREATE TABLE bench_src AS
SELECT g AS id,
       (ARRAY['web','wechat','phone','walk_in','referral','event','dealer'])[1 + g % 7] AS source,
       (ARRAY['南京','苏州','杭州','宁波','无锡','常州','嘉兴','绍兴','扬州','温州','合肥'])[1 + (g * 7) % 11] AS city,
       'company ' || g AS company_name,
       jsonb_build_object('company_size', (ARRAY['small','medium','large'])[1 + (g * 13) % 3],
                          'beds', (g * 37) % 320,
                          'licence_on_file', CASE WHEN g % 9 = 0 THEN NULL ELSE g % 4 <> 0 END) AS attributes
  FROM generate_series(1, :scale) g;
