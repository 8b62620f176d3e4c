-- Coordinate systems: ../shared/testdata/coords/vectors.csv reproduced (ground-truth rows).
-- Rows et-bw* were generated with a non-standard BD-09 formula (their note says so) and are skipped.
-- ct-4 is the one-step approximate inverse, not the true inverse: checked against it with its
-- documented 1-2 m error, and our exact inverse is checked by mapping it forward again.
\set VERBOSITY default
SET client_min_messages = warning;
\set csv `grep -v '^#' ../shared/testdata/coords/vectors.csv`
CREATE TEMP TABLE v AS
SELECT split_part(l, ',', 1) AS id,
       split_part(l, ',', 4) AS direction,
       split_part(l, ',', 5)::float8 AS in_lon, split_part(l, ',', 6)::float8 AS in_lat,
       split_part(l, ',', 7)::float8 AS exp_lon, split_part(l, ',', 8)::float8 AS exp_lat
  FROM regexp_split_to_table(:'csv', E'\n') l WHERE l <> '';
SELECT count(*) AS rows, count(*) FILTER (WHERE id LIKE 'et-bw%') AS non_standard FROM v;
CREATE TEMP TABLE r AS
SELECT v.*, lower(split_part(direction, '->', 1)) AS f, lower(split_part(direction, '->', 2)) AS t,
       crm.transform_point(in_lon, in_lat, lower(split_part(direction, '->', 1)), lower(split_part(direction, '->', 2))) AS got
  FROM v WHERE id NOT LIKE 'et-bw%';
-- forward rows to 1e-6 degrees (BD rows from 5-decimal sources to their 5e-5), inverse rows to 0.5 m
SELECT id, direction,
       CASE WHEN t = 'wgs84' AND f = 'gcj02'
            THEN round(crm.distance_m(got[0], got[1], exp_lon, exp_lat)::numeric, 3) || ' m'
            ELSE round((greatest(abs(got[0] - exp_lon), abs(got[1] - exp_lat)) * 1e6)::numeric, 3) || ' µdeg' END AS error,
       CASE WHEN id = 'ct-4' THEN crm.distance_m(got[0], got[1], exp_lon, exp_lat) < 3
            WHEN t = 'wgs84' AND f = 'gcj02' THEN crm.distance_m(got[0], got[1], exp_lon, exp_lat) < 0.5
            WHEN id LIKE 'et-bd%' THEN greatest(abs(got[0] - exp_lon), abs(got[1] - exp_lat)) <= 5e-5
            ELSE greatest(abs(got[0] - exp_lon), abs(got[1] - exp_lat)) <= 1e-6 END AS ok
  FROM r ORDER BY id;
-- the exact inverse maps forward onto its input (to 1e-9 degrees, about 0.1 mm)
SELECT id, greatest(abs(fw[0] - in_lon), abs(fw[1] - in_lat)) < 1e-9 AS inverse_exact
  FROM (SELECT id, in_lon, in_lat, crm.transform_point(got[0], got[1], 'wgs84', 'gcj02') AS fw
          FROM r WHERE f = 'gcj02' AND t = 'wgs84') s ORDER BY id;
-- the BD-09 inverse is exact too, and BD-09 <-> WGS-84 composes through GCJ-02
SELECT id, greatest(abs(b[0] - in_lon), abs(b[1] - in_lat)) < 1e-9 AS bd_round_trip
  FROM (SELECT id, in_lon, in_lat,
               crm.transform_point((crm.transform_point(in_lon, in_lat, 'gcj02', 'bd09'))[0],
                                   (crm.transform_point(in_lon, in_lat, 'gcj02', 'bd09'))[1], 'bd09', 'gcj02') AS b
          FROM r WHERE f = 'gcj02') s ORDER BY id;
-- outside China: identity both ways
SELECT crm.transform_point(-104.9903, 39.7392, 'gcj02', 'wgs84') ~= point(-104.9903, 39.7392) AS identity_denver;
