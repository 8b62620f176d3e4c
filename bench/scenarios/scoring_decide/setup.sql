-- :scale leads to score (deterministic) and the 50-rule table in three forms.
\ir rules.sql
CREATE TABLE bench_lead AS
SELECT g AS id,
       (ARRAY['web','wechat','phone','walk_in','referral','event','dealer'])[1 + g % 7] AS source,
       (ARRAY['南京','苏州','杭州','宁波','无锡','常州','嘉兴','绍兴','扬州','温州','合肥'])[1 + (g * 7) % 11] AS city,
       (ARRAY['small','medium','large'])[1 + (g * 13) % 3] AS company_size,
       (g * 37) % 320 AS beds,
       CASE WHEN g % 9 = 0 THEN NULL ELSE g % 4 <> 0 END AS licence_on_file
  FROM generate_series(1, :scale) g;
-- the same inputs kept as a jsonb document per lead (as crm.lead.attributes keeps them)
ALTER TABLE bench_lead ADD COLUMN inputs jsonb;
UPDATE bench_lead SET inputs = jsonb_build_object('source', source, 'city', city, 'company_size', company_size,
                                                  'beds', beds, 'licence_on_file', licence_on_file);
VACUUM FULL bench_lead;
-- the three forms agree on every lead (a benchmark of a wrong answer is worthless)
DO $check$
DECLARE
    bad bigint;
BEGIN
    SELECT count(*) INTO bad FROM bench_lead
     WHERE COALESCE((crm.decide('bench scoring', 'points',
               jsonb_build_object('source', source, 'city', city, 'company_size', company_size,
                                  'beds', beds, 'licence_on_file', licence_on_file)))::numeric, 0)
           <> bench_points_plpgsql(source, city, company_size, beds, licence_on_file)
        OR bench_points_plpgsql(source, city, company_size, beds, licence_on_file)
           <> bench_points_sql(source, city, company_size, beds, licence_on_file);
    IF bad > 0 THEN
        RAISE EXCEPTION '% leads scored differently by the engine, PL/pgSQL and SQL', bad;
    END IF;
END
$check$;
