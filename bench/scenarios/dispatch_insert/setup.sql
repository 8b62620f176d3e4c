-- 48 territories (0.25° squares), 10 reps each with room for every lead, deterministic
INSERT INTO crm.rep (employee_no, name, skills, capacity)
SELECT 'B' || g, 'rep ' || g, CASE WHEN g % 2 = 0 THEN '{oncology}'::text[] ELSE '{}' END, 1000000
  FROM generate_series(1, 480) g;
INSERT INTO crm.territory (code, name, fence, assignment_policy)
SELECT 'G' || x || '-' || y, 'grid ' || x || '/' || y,
       pg_catalog.format('POLYGON((%s %s, %s %s, %s %s, %s %s, %s %s))',
                         118 + x * 0.25, 31 + y * 0.25, 118.25 + x * 0.25, 31 + y * 0.25,
                         118.25 + x * 0.25, 31.25 + y * 0.25, 118 + x * 0.25, 31.25 + y * 0.25,
                         118 + x * 0.25, 31 + y * 0.25)::crm.geofence,
       (ARRAY['round_robin', 'least_loaded', 'weighted'])[1 + (x + y) % 3]
  FROM generate_series(0, 7) x, generate_series(0, 5) y;
INSERT INTO crm.territory_rep (territory_id, rep_id)
SELECT t.territory_id, r.rep_id
  FROM crm.territory t JOIN crm.rep r ON (r.rep_id - 1) / 10 = t.territory_id - 1;
INSERT INTO crm.rep_metric (rep_id, metric, value)
SELECT rep_id, 'fulfilment_rate', 0.5 + (rep_id % 5) / 10.0 FROM crm.rep;
INSERT INTO crm.dispatch_weight (metric, weight) VALUES ('fulfilment_rate', 1);

-- leads arrive one at a time, each in its own transaction (the mini-program / call-centre pattern)
CREATE PROCEDURE public.bench_insert_leads(n integer, tag text)
LANGUAGE plpgsql AS $$
BEGIN
    FOR g IN 1..n LOOP
        INSERT INTO crm.lead (external_ref, source, lon, lat, required_skills)
        VALUES (tag || g, 'wechat', 118.01 + (g::bigint * 7919 % 19900) / 10000.0,
                31.01 + (g::bigint * 104729 % 14900) / 10000.0,
                CASE WHEN g % 3 = 0 THEN '{oncology}'::text[] ELSE '{}' END);
        COMMIT;
    END LOOP;
END
$$;
