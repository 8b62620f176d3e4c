-- Geo-fences from KML: the OGC KML 2.x conformance cases and Google's KML samples (../shared/testdata/kml).
\set VERBOSITY default
SET client_min_messages = warning;
\set ogc ../shared/testdata/kml/ogc-ets-kml2
\set gks ../shared/testdata/kml/google-kml-samples

-- OGC invalid cases are rejected, each with its reason
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/geom/LinearRing-001.xml`
SELECT crm.geofence_from_kml(:'doc');
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/geom/PolygonNotClosed.xml`
SELECT crm.geofence_from_kml(:'doc');
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/geom/PolygonWithHoleOutside.xml`
SELECT crm.geofence_from_kml(:'doc');
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/features/Placemark-102.xml`
SELECT crm.geofence_from_kml(:'doc');
SELECT * FROM crm.kml_placemarks(:'doc');
-- a clockwise exterior ring is an error under strict orientation, re-oriented otherwise
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/features/Placemark-101.xml`
SELECT crm.geofence_from_kml(:'doc', strict => true);
SELECT name, crm.geofence_npoints(fence) FROM crm.kml_placemarks(:'doc');

-- valid OGC cases: the polygon, and the hole that is honoured
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/geom/Polygon.xml`
SELECT crm.geofence_npoints(f), crm.geofence_contains(f, -122.0857, 37.4224) AS inside,
       crm.geofence_contains(f, -122.0849, 37.4224) AS outside
  FROM crm.geofence_from_kml(:'doc') f;
SELECT crm.geofence_from_kml(:'doc', strict => true) IS NOT NULL AS ccw_accepted_strictly;
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/geom/PolygonWithHole.xml`
SELECT crm.geofence_contains(f, -77.0558, 38.8709) AS in_hole,
       crm.geofence_contains(f, -77.0573, 38.8718) AS in_ring,
       crm.geofence_contains(f, -77.056681, 38.871542) AS on_hole_vertex
  FROM crm.geofence_from_kml(:'doc') f;
\set doc `cat ../shared/testdata/kml/ogc-ets-kml2/kml22/Folder-001.xml`
SELECT name, fence FROM crm.kml_placemarks(:'doc');

-- Google samples: every placemark with polygons, with its vertices and rings
\set doc `cat ../shared/testdata/kml/google-kml-samples/KML_Samples.kml`
CREATE TEMP TABLE pm AS SELECT row_number() OVER () AS n, name, fence FROM crm.kml_placemarks(:'doc');
SELECT n, name, crm.geofence_npoints(fence) AS vertices,
       jsonb_array_length(crm.geofence_as_geojson(fence)->'coordinates') AS rings
  FROM pm ORDER BY n;
\set doc `cat ../shared/testdata/kml/google-kml-samples/kml/Polygon/polyInnerBoundaries.kml`
INSERT INTO pm SELECT 100 + row_number() OVER (), name, fence FROM crm.kml_placemarks(:'doc');
\set doc `cat ../shared/testdata/kml/google-kml-samples/kml/Polygon/tennis-poly.kml`
INSERT INTO pm SELECT 200 + row_number() OVER (), name, fence FROM crm.kml_placemarks(:'doc');
\set doc `cat ../shared/testdata/kml/google-kml-samples/kml/Placemark/LinearRing/polygon-lr-all-modes.kml`
INSERT INTO pm SELECT 300 + row_number() OVER (), name, fence FROM crm.kml_placemarks(:'doc');
\set doc `cat ../shared/testdata/kml/google-kml-samples/morekml/Polygons/Polygons.Extruded.kml`
INSERT INTO pm SELECT 400 + row_number() OVER (), name, fence FROM crm.kml_placemarks(:'doc');
SELECT n, name, crm.geofence_npoints(fence) AS vertices,
       crm.geofence_as_geojson(fence)->>'type' AS type
  FROM pm WHERE n > 100 ORDER BY n;
-- holes: the centroid of each hole's vertices (the holes are convex) is outside the fence
WITH polys AS (
  SELECT pm.n, pm.name, pm.fence, p.poly
    FROM pm, LATERAL (SELECT CASE WHEN crm.geofence_as_geojson(fence)->>'type' = 'Polygon'
                                  THEN crm.geofence_as_geojson(fence)->'coordinates'
                             END AS poly
                      UNION ALL
                      SELECT q FROM jsonb_array_elements(CASE WHEN crm.geofence_as_geojson(fence)->>'type' = 'MultiPolygon'
                                                              THEN crm.geofence_as_geojson(fence)->'coordinates' ELSE '[]' END) q) p
   WHERE p.poly IS NOT NULL),
holes AS (
  SELECT n, name, fence, h.ord, h.ring FROM polys, jsonb_array_elements(poly) WITH ORDINALITY h(ring, ord) WHERE h.ord > 1),
centroids AS (
  SELECT n, ord, avg((v->>0)::float8) AS x, avg((v->>1)::float8) AS y
    FROM holes, jsonb_array_elements(ring) v GROUP BY n, ord)
SELECT n, name, ord - 1 AS hole, crm.geofence_contains(fence, x, y) AS centroid_covered
  FROM centroids JOIN pm USING (n) ORDER BY n, ord;
-- MultiGeometry: every part counts
\set doc `cat ../shared/testdata/kml/google-kml-samples/kml/MultiGeometry/polygon-point.kml`
SELECT crm.geofence_npoints(f), crm.geofence_contains(f, 138.60, -34.91) AS centre,
       crm.geofence_contains(f, 138.625, -34.96) AS on_spike
  FROM crm.geofence_from_kml(:'doc') f;
-- the Adelaide ring touches itself where a zero-width spike leaves it: rejected when strict
SELECT crm.geofence_from_kml(:'doc', strict => true);
\set doc `cat ../shared/testdata/kml/google-kml-samples/morekml/Multi-Geometries/Multi-Geometries.Simple.kml`
SELECT name, crm.geofence_npoints(fence) FROM crm.kml_placemarks(:'doc');

-- any namespace or prefix, 3D coordinates, bare fragments, MultiGeometry of two parts with a hole
SELECT crm.geofence_from_kml('<k:Placemark xmlns:k="http://earth.google.com/kml/2.1"><k:name>a</k:name><k:MultiGeometry>
  <k:Polygon><k:outerBoundaryIs><k:LinearRing><k:coordinates>0,0,5 4,0,5 4,4,5 0,4,5 0,0,5</k:coordinates></k:LinearRing></k:outerBoundaryIs>
  <k:innerBoundaryIs><k:LinearRing><k:coordinates>1,1 1,2 2,2 2,1 1,1</k:coordinates></k:LinearRing></k:innerBoundaryIs></k:Polygon>
  <k:Polygon><k:outerBoundaryIs><k:LinearRing><k:coordinates>10,10 11,10 11,11 10,10</k:coordinates></k:LinearRing></k:outerBoundaryIs></k:Polygon>
  </k:MultiGeometry></k:Placemark>');
SELECT crm.geofence_from_kml('<Polygon><outerBoundaryIs><LinearRing><coordinates>
  116.3,39.9 116.5,39.9 116.5,40.0 116.3,39.9</coordinates></LinearRing></outerBoundaryIs></Polygon>', 'gcj02');
-- not KML, not XML, no polygon, bad coordinates
SELECT crm.geofence_from_kml('<kml><Placemark><Point><coordinates>1,2</coordinates></Point></Placemark></kml>');
SELECT crm.geofence_from_kml('<Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1;0 1,1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon>');
SELECT crm.geofence_from_kml('<Polygon><innerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing></innerBoundaryIs></Polygon>');
-- entity declarations are refused (never expanded), the network is never used
SELECT crm.geofence_from_kml('<!DOCTYPE kml [<!ENTITY c "0,0 1,0 1,1 0,0">]><Polygon><outerBoundaryIs><LinearRing><coordinates>&c;</coordinates></LinearRing></outerBoundaryIs></Polygon>');

-- KML out and back in
SELECT crm.geofence_as_kml('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 1 2, 2 2, 2 1, 1 1))', 'A & B');
SELECT crm.geofence_from_kml(crm.geofence_as_kml(f))::text = f::text AS kml_round_trip
  FROM (VALUES ('MULTIPOLYGON(((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 1 2, 2 2, 2 1, 1 1)), ((10 10, 11 10, 11 11, 10 10)))'::crm.geofence)) v(f);
SELECT crm.geofence_npoints(crm.geofence_from_kml(crm.geofence_as_kml(crm.geofence_circle(121.47, 31.23, 800))));
