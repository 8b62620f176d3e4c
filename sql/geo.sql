-- Geo-fences: WKT I/O, validation, containment, circles, distances, coordinate systems, locate.
\set VERBOSITY default
SET client_min_messages = warning;

-- WKT round trip: a polygon with a hole (clockwise shell is normalised), a multipolygon, a circle
SELECT 'POLYGON((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))'::crm.geofence;
SELECT 'SRS=gcj02;MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))'::crm.geofence;
SELECT 'srid=4326; polygon z ((0 0 1, 1 0 1, 1 1 1, 0 0 1))'::crm.geofence;
SELECT crm.geofence_circle(116.397, 39.909, 500, 'gcj02');
SELECT crm.geofence_srs('SRS=bd09;POLYGON((0 0, 1 0, 1 1, 0 0))'), crm.geofence_npoints('POLYGON((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))');
SELECT crm.geofence_box('POLYGON((116 39, 117 39, 117 40, 116 39))');

-- invalid input: each error names polygon, ring and vertex
SELECT 'POLYGON((0 0, 1 0, 1 1, 0 1))'::crm.geofence;
SELECT 'POLYGON((0 0, 1 0, 0 0))'::crm.geofence;
SELECT 'POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))'::crm.geofence;
SELECT 'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (20 20, 21 20, 21 21, 20 20))'::crm.geofence;
SELECT 'MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((0 0, 1 0, 2 0, 0 0)))'::crm.geofence;
SELECT 'POLYGON((0 0, 1 0, 1 1 0 0))'::crm.geofence;
SELECT 'POLYGON((200 0, 1 0, 1 1, 200 0))'::crm.geofence;
SELECT 'SRS=utm;POLYGON((0 0, 1 0, 1 1, 0 0))'::crm.geofence;
SELECT 'LINESTRING(0 0, 1 1)'::crm.geofence;
SELECT crm.geofence_circle(116, 39, -5);

-- containment: inside, outside, in the hole, on the shell, on the hole's edge, on a vertex
SELECT x, y, crm.geofence_contains('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))', x, y)
  FROM (VALUES (5, 5), (11, 5), (3, 3), (0, 5), (10, 10), (2, 3), (4, 4), (5, 0), (-0.0000001, 5)) v(x, y);
-- multi-part: both parts count
SELECT x, y, crm.geofence_contains('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 1, 0 0)), ((5 5, 6 5, 6 6, 5 6, 5 5)))', x, y)
  FROM (VALUES (0.5, 0.5), (5.5, 5.5), (3, 3)) v(x, y);
-- circle of 1 km: 999 m north is inside, 1001 m north is outside (1 degree of latitude = 111194.93 m on the sphere)
SELECT crm.geofence_contains(crm.geofence_circle(121.47, 31.23, 1000), 121.47, 31.23 + 999 / 111194.93) AS in_999,
       crm.geofence_contains(crm.geofence_circle(121.47, 31.23, 1000), 121.47, 31.23 + 1001 / 111194.93) AS in_1001;

-- a point given in another system is converted to the fence's system first
SELECT crm.geofence_contains('SRS=gcj02;POLYGON((116.40 39.90, 116.41 39.90, 116.41 39.91, 116.40 39.91, 116.40 39.90))',
                             116.4055, 39.9055) AS gcj_point_in_gcj_fence,
       crm.geofence_contains('SRS=gcj02;POLYGON((116.40 39.90, 116.41 39.90, 116.41 39.91, 116.40 39.91, 116.40 39.90))',
                             116.4055, 39.9055, 'gcj02') AS same_point_tagged,
       crm.geofence_contains('SRS=gcj02;POLYGON((116.40 39.90, 116.41 39.90, 116.41 39.91, 116.40 39.91, 116.40 39.90))',
                             116.4055, 39.9055, 'wgs84') AS as_wgs84_it_lies_600m_away;
-- the same fence many times in one query uses one index (and agrees with single calls)
SELECT count(*) FILTER (WHERE crm.geofence_contains('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))', x / 10.0, y / 10.0)) AS covered
  FROM generate_series(-5, 105) x, generate_series(-5, 105) y;

-- distances: Beijing Tiananmen to Shanghai People's Square is about 1067 km
SELECT round(crm.distance_m(116.3975, 39.9087, 121.4737, 31.2304)::numeric, -3) AS bj_sh_m,
       round(crm.distance_m(0, 0, 1, 0)::numeric, 2) AS one_degree_at_equator;

-- coordinate systems: round trips and identity outside China
SELECT crm.transform_point(116.404, 39.915, 'wgs84', 'gcj02');
SELECT p[0] - 116.404 < 1e-9 AND p[1] - 39.915 < 1e-9 AS round_trip_ok
  FROM (SELECT crm.transform_point(q[0], q[1], 'bd09', 'wgs84') AS p
          FROM (SELECT crm.transform_point(116.404, 39.915, 'wgs84', 'bd09') AS q) s) t;
SELECT crm.transform_point(2.35, 48.85, 'wgs84', 'gcj02');
SELECT crm.transform_point(116.4, 39.9, 'wgs84', 'mars');

-- territories and locate: priorities, holes, inactive, another tenant, a GCJ-02 point in a WGS-84 fence
INSERT INTO crm.territory (code, name, fence, priority) VALUES
  ('BJ', 'Beijing', 'POLYGON((115.4 39.4, 117.5 39.4, 117.5 41.1, 115.4 41.1, 115.4 39.4))', 200),
  ('BJ-C', 'Beijing core', 'POLYGON((116.2 39.8, 116.6 39.8, 116.6 40.05, 116.2 40.05, 116.2 39.8), (116.38 39.9, 116.41 39.9, 116.41 39.93, 116.38 39.93, 116.38 39.9))', 100),
  ('BJ-X', 'Closed', 'POLYGON((116.2 39.8, 116.6 39.8, 116.6 40.05, 116.2 39.8))', 50);
UPDATE crm.territory SET active = false WHERE code = 'BJ-X';
SELECT * FROM crm.locate(116.3, 39.85);
SELECT * FROM crm.locate(116.395, 39.915);       -- in the hole of the core: only Beijing
SELECT * FROM crm.locate(121.47, 31.23);          -- Shanghai: nowhere
SELECT crm.locate_id(116.3, 39.85), crm.locate_id(121.47, 31.23);
-- a point 100 m inside the core's eastern edge in WGS-84 lies about 500 m further east in GCJ-02:
-- given as GCJ-02 it is found in the core; the same numbers read as WGS-84 are outside the core
SELECT (crm.transform_point(116.5988, 39.85, 'wgs84', 'gcj02'))[0] - 116.5988 > 0.004 AS gcj_shift_east;
SELECT name FROM crm.locate((crm.transform_point(116.5988, 39.85, 'wgs84', 'gcj02'))[0],
                            (crm.transform_point(116.5988, 39.85, 'wgs84', 'gcj02'))[1], 'gcj02');
SELECT name FROM crm.locate((crm.transform_point(116.5988, 39.85, 'wgs84', 'gcj02'))[0],
                            (crm.transform_point(116.5988, 39.85, 'wgs84', 'gcj02'))[1]);
SELECT name FROM crm.locate((crm.transform_point(116.5988, 39.85, 'wgs84', 'bd09'))[0],
                            (crm.transform_point(116.5988, 39.85, 'wgs84', 'bd09'))[1], 'bd09');
-- the cache follows changes in the same session
UPDATE crm.territory SET priority = 300 WHERE code = 'BJ-C';
SELECT * FROM crm.locate(116.3, 39.85);
DELETE FROM crm.territory WHERE code = 'BJ';
SELECT * FROM crm.locate(116.3, 39.85);
-- a territory drawn in GCJ-02 finds WGS-84 points
INSERT INTO crm.territory (code, name, fence) VALUES
  ('SH', '上海', crm.geofence_transform('POLYGON((121.0 30.9, 121.9 30.9, 121.9 31.5, 121.0 31.5, 121.0 30.9))', 'gcj02'));
SELECT crm.geofence_srs(fence) FROM crm.territory WHERE code = 'SH';
SELECT name FROM crm.locate(121.47, 31.23);
-- other tenants do not see tenant 1's territories
SET crm.tenant_id = '2';
SELECT count(*) FROM crm.locate(121.47, 31.23);
RESET crm.tenant_id;
-- a rolled-back change is not seen
BEGIN;
DELETE FROM crm.territory WHERE code = 'SH';
SELECT count(*) FROM crm.locate(121.47, 31.23);
ROLLBACK;
SELECT count(*) FROM crm.locate(121.47, 31.23);
SELECT * FROM crm.locate(200, 0);
