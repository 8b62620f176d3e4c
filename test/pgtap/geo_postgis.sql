-- Point-in-polygon cross-checked against PostGIS ST_Covers on random points over real-shaped
-- polygons (Google's KML samples, the OGC Pentagon with its hole, wiggly city-sized polygons with
-- holes and several parts), and crm.locate against the PostGIS join on the same territories.
\set ON_ERROR_STOP 1
\set samples `cat ../shared/testdata/kml/google-kml-samples/KML_Samples.kml`
\set tennis `cat ../shared/testdata/kml/google-kml-samples/kml/Polygon/tennis-poly.kml`
\set inner `cat ../shared/testdata/kml/google-kml-samples/kml/Polygon/polyInnerBoundaries.kml`
\set pentagon `cat ../shared/testdata/kml/ogc-ets-kml2/geom/PolygonWithHole.xml`
BEGIN;
CREATE EXTENSION IF NOT EXISTS postgis;
SELECT plan(12);

CREATE TEMP TABLE shape (id serial, label text, fence crm.geofence, geom geometry);
INSERT INTO shape (label, fence)
SELECT 'KML_Samples: ' || name, fence FROM crm.kml_placemarks(:'samples')
UNION ALL SELECT 'tennis: ' || name, fence FROM crm.kml_placemarks(:'tennis')
UNION ALL SELECT 'innerBoundaries', crm.geofence_from_kml(:'inner')
UNION ALL SELECT 'OGC PolygonWithHole', crm.geofence_from_kml(:'pentagon');
-- wiggly "districts" of 400-1200 vertices, with two holes, and a two-part territory
INSERT INTO shape (label, fence)
SELECT 'district ' || d,
       ('POLYGON((' || (SELECT string_agg((cx + r * cos(a)) || ' ' || (cy + r * sin(a)), ',' ORDER BY k)
                         FROM (SELECT k, 2 * pi() * (k % n) / n AS a,
                                      0.05 * (0.75 + 0.2 * sin(9 * 2 * pi() * (k % n) / n + d)
                                                   + 0.05 * sin(57 * 2 * pi() * (k % n) / n)) AS r
                                 FROM generate_series(0, n) k) s) || '),(' ||
        (SELECT string_agg((cx - 0.015 + 0.008 * cos(a)) || ' ' || (cy - 0.008 * sin(a)), ',' ORDER BY k)
           FROM (SELECT k, 2 * pi() * (k % 40) / 40 AS a FROM generate_series(0, 40) k) h) || '),(' ||
        (SELECT string_agg((cx + 0.015 + 0.006 * cos(a)) || ' ' || (cy + 0.01 - 0.006 * sin(a)), ',' ORDER BY k)
           FROM (SELECT k, 2 * pi() * (k % 7) / 7 AS a FROM generate_series(0, 7) k) h) || '))')::crm.geofence
  FROM generate_series(1, 6) d, LATERAL (SELECT 120.1 + d * 0.2 AS cx, 30.2 + d * 0.03 AS cy, 400 + d * 150 AS n) c;
INSERT INTO shape (label, fence)
SELECT 'two-part', ('MULTIPOLYGON(' || string_agg('((' || ring || '))', ',') || ')')::crm.geofence
  FROM (SELECT part, string_agg((121.0 + part * 0.12 + 0.05 * cos(a)) || ' ' || (31.0 + 0.04 * sin(a)), ',' ORDER BY k) AS ring
          FROM generate_series(0, 1) part, LATERAL (SELECT k, 2 * pi() * (k % 300) / 300 AS a FROM generate_series(0, 300) k) s
         GROUP BY part) p;
UPDATE shape SET geom = ST_GeomFromEWKT(fence::text);

SELECT ok((SELECT count(*) FROM shape) >= 20, 'at least 20 real-shaped fences to compare');
SELECT is((SELECT count(*) FROM shape WHERE NOT ST_IsValid(geom)), 0::bigint, 'PostGIS finds every accepted fence valid');
SELECT is((SELECT count(*) FROM shape WHERE NOT ST_Equals(geom, ST_GeomFromWKB(ST_AsBinary(geom), 4326))), 0::bigint,
          'WKT output is read by PostGIS unchanged');
SELECT is((SELECT count(*) FROM shape WHERE crm.geofence_from_wkb(ST_AsBinary(geom))::text <> fence::text), 0::bigint,
          'crm.geofence_from_wkb(ST_AsBinary(geom)) gives the same fence back');
SELECT is((SELECT count(*) FROM shape WHERE crm.geofence_from_wkb(ST_AsEWKB(ST_Force3D(geom)))::text <> fence::text), 0::bigint,
          'EWKB with SRID and Z is accepted too');

-- random points over each fence's box (10% margin), deterministic
SELECT setseed(0.1234);
CREATE TEMP TABLE probe AS
SELECT s.id, x, y, crm.geofence_contains(s.fence, x, y) AS crm_in,
       ST_Covers(s.geom, ST_SetSRID(ST_MakePoint(x, y), 4326)) AS postgis_in,
       ST_DWithin(ST_Boundary(s.geom), ST_SetSRID(ST_MakePoint(x, y), 4326), 1e-9) AS near_boundary
  FROM shape s, LATERAL (SELECT ST_XMin(s.geom) - 0.1 * (ST_XMax(s.geom) - ST_XMin(s.geom))
                                + random() * 1.2 * (ST_XMax(s.geom) - ST_XMin(s.geom)) AS x,
                                ST_YMin(s.geom) - 0.1 * (ST_YMax(s.geom) - ST_YMin(s.geom))
                                + random() * 1.2 * (ST_YMax(s.geom) - ST_YMin(s.geom)) AS y
                           FROM generate_series(1, 3000) g) p;

SELECT cmp_ok((SELECT count(*) FROM probe WHERE crm_in), '>', 20000::bigint, 'many probes fall inside');
SELECT cmp_ok((SELECT count(*) FROM probe WHERE NOT crm_in), '>', 20000::bigint, 'many probes fall outside');
SELECT cmp_ok((SELECT count(*) FROM probe p JOIN shape s USING (id)
                WHERE NOT p.crm_in AND ST_Covers(ST_MakePolygon(ST_ExteriorRing(ST_GeometryN(s.geom, 1))),
                                                 ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))),
              '>', 500::bigint, 'many probes fall in holes (inside a shell, outside the fence)');
SELECT is((SELECT count(*) FROM probe WHERE crm_in <> postgis_in AND NOT near_boundary), 0::bigint,
          'no disagreement with ST_Covers away from boundaries');
-- exactly on vertices (boundary): both say covered
SELECT is((SELECT count(*) FROM shape s, ST_DumpPoints(s.geom) d
            WHERE NOT crm.geofence_contains(s.fence, ST_X(d.geom), ST_Y(d.geom))), 0::bigint,
          'every vertex is covered (boundary counts as inside)');

-- crm.locate against the PostGIS join, for the districts as territories
INSERT INTO crm.territory (code, name, fence, priority)
SELECT 'X' || id, label, fence, 1000 - id FROM shape WHERE label LIKE 'district%' OR label = 'two-part';
CREATE TEMP TABLE pts AS
SELECT g, 120.2 + random() * 1.2 AS x, 30.15 + random() * 0.3 AS y FROM generate_series(1, 20000) g;
SELECT set_eq(
    $$SELECT p.g, l.territory_id FROM pts p, LATERAL crm.locate(p.x, p.y) l$$,
    $$SELECT p.g, t.territory_id FROM pts p, shape s JOIN crm.territory t ON t.code = 'X' || s.id
       WHERE s.geom && ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)
         AND ST_Covers(s.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))$$,
    'crm.locate finds exactly the territories PostGIS finds');
SELECT cmp_ok((SELECT count(*) FROM pts p, LATERAL crm.locate(p.x, p.y) l), '>', 1000::bigint,
              'the locate comparison is not vacuous');

SELECT * FROM finish();
ROLLBACK;
