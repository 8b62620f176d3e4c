-- 100 territories of 1,000 vertices (every fifth with a hole) and :scale points, deterministic.
INSERT INTO crm.territory (code, name, fence, priority)
SELECT 'T' || i || '-' || j, 'territory ' || i || '/' || j,
       ('POLYGON((' ||
        (SELECT string_agg(x || ' ' || y, ',' ORDER BY k)
           FROM (SELECT k, cx + r * cos(a) AS x, cy + r * sin(a) AS y
                   FROM (SELECT k, 2 * pi() * (k % 1000) / 1000 AS a,
                                0.2 * (0.8 + 0.15 * sin(7 * 2 * pi() * (k % 1000) / 1000 + i)
                                           + 0.05 * sin(31 * 2 * pi() * (k % 1000) / 1000 + j)) AS r
                           FROM generate_series(0, 1000) k) s) v) || ')' ||
        CASE WHEN (i * 10 + j) % 5 = 0 THEN
          ',(' || (SELECT string_agg((cx + 0.05 * cos(a)) || ' ' || (cy - 0.05 * sin(a)), ',' ORDER BY k)
                     FROM (SELECT k, 2 * pi() * (k % 48) / 48 AS a FROM generate_series(0, 48) k) h) || ')'
        ELSE '' END || ')')::crm.geofence,
       100 + i * 10 + j
  FROM generate_series(0, 9) i, generate_series(0, 9) j,
       LATERAL (SELECT 116.25 + 0.5 * i AS cx, 28.25 + 0.5 * j AS cy) c;

CREATE TABLE bench_terr AS
SELECT territory_id, ST_GeomFromEWKT(fence::text) AS geom FROM crm.territory;
CREATE INDEX bench_terr_gist ON bench_terr USING gist (geom);

SELECT setseed(0.42);
CREATE TABLE bench_pts AS
SELECT g AS id, lon, lat, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom
  FROM (SELECT g, 116 + 5 * random() AS lon, 28 + 5 * random() AS lat
          FROM generate_series(1, :scale) g) s;
VACUUM ANALYZE bench_terr;
VACUUM ANALYZE bench_pts;

-- the three variants agree (on a sample; the timed runs compute the full counts): stop otherwise
DO $$
DECLARE
    a bigint := (SELECT count(*) FROM bench_pts p, LATERAL crm.locate(p.lon, p.lat) l WHERE p.id <= 20000);
    b bigint := (SELECT count(*) FROM bench_pts p WHERE p.id <= 20000 AND crm.locate_id(p.lon, p.lat) IS NOT NULL);
    c bigint := (SELECT count(*) FROM bench_pts p JOIN bench_terr t ON ST_Contains(t.geom, p.geom) WHERE p.id <= 20000);
BEGIN
    IF a <> c OR b <> c THEN
        RAISE EXCEPTION 'variants disagree: crm.locate % rows, crm.locate_id %, PostGIS %', a, b, c;
    END IF;
    RAISE NOTICE 'sample of 20000 points: % located by all three', c;
END
$$;
