-- Geo-fences from and to GeoJSON and WKB; explicit repair.
\set VERBOSITY default
SET client_min_messages = warning;

-- GeoJSON: geometry, Feature, FeatureCollection, GeometryCollection, 3D positions
SELECT crm.geofence_from_geojson('{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[1,2],[2,2],[2,1],[1,1]]]}');
SELECT crm.geofence_from_geojson('{"type":"Feature","properties":{"name":"门店"},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0,10],[1,0,10],[1,1,10],[0,0,10]]],[[[5,5],[6,5],[6,6],[5,5]]]]}}', 'gcj02');
SELECT crm.geofence_from_geojson('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":null},{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":null}]}');
SELECT crm.geofence_from_geojson('{"type":"GeometryCollection","geometries":[{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},{"type":"LineString","coordinates":[[0,0],[1,1]]}]}');
-- GeoJSON errors
SELECT crm.geofence_from_geojson('{"type":"Point","coordinates":[116.4,39.9]}');
SELECT crm.geofence_from_geojson('{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]}');
SELECT crm.geofence_from_geojson('{"type":"Polygon","coordinates":[[[0,0],[1,"x"],[1,1],[0,0]]]}');
SELECT crm.geofence_from_geojson('{"type":"Polygon"}');
SELECT crm.geofence_from_geojson('[1,2]');
-- GeoJSON out: WGS-84 by default, or another system; round trip
SELECT crm.geofence_as_geojson('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 1 2, 2 2, 2 1, 1 1))');
SELECT crm.geofence_as_geojson('SRS=gcj02;POLYGON((2 2, 3 2, 3 3, 2 2))');
SELECT crm.geofence_from_geojson(crm.geofence_as_geojson(f, crm.geofence_srs(f)), crm.geofence_srs(f))::text = f::text AS geojson_round_trip
  FROM (VALUES ('SRS=bd09;MULTIPOLYGON(((116.1 39.1, 116.9 39.1, 116.9 39.9, 116.1 39.1), (116.7 39.2, 116.8 39.3, 116.8 39.2, 116.7 39.2)), ((117 40, 118 40, 118 41, 117 40)))'::crm.geofence)) v(f);
SELECT (crm.geofence_as_geojson(crm.geofence_circle(116.4, 39.9, 1000))->'coordinates'->0->>0)::jsonb->>0 AS first_lon;
-- a GCJ-02 fence written out as WGS-84 moves by the GCJ offset (about 0.006 degrees here)
SELECT round(((crm.geofence_as_geojson('SRS=gcj02;POLYGON((116.4 39.9, 116.5 39.9, 116.5 40, 116.4 39.9))')
         ->'coordinates'->0->0->>0)::numeric - 116.4), 3) AS lon_shift;

-- WKB: little and big endian, ISO Z, EWKB with SRID, multipolygon
SELECT crm.geofence_from_wkb('\x0103000000010000000400000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000004000000000000000000000000000000000'::bytea);
SELECT crm.geofence_from_wkb('\x0000000003000000010000000400000000000000000000000000000000400000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000'::bytea);
SELECT crm.geofence_from_wkb('\x01eb0300000100000004000000000000000000000000000000000000000000000000002440000000000000004000000000000000000000000000002440000000000000004000000000000000400000000000002440000000000000000000000000000000000000000000002440'::bytea);
SELECT crm.geofence_from_wkb('\x0106000020e61000000200000001030000000100000004000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000040000000000000000000000000000000000103000000010000000400000000000000000014400000000000001440000000000000184000000000000014400000000000001840000000000000184000000000000014400000000000001440'::bytea, 'gcj02');
-- WKB errors: a point, truncated, foreign SRID
SELECT crm.geofence_from_wkb('\x0101000000000000000000f03f0000000000000040'::bytea);
SELECT crm.geofence_from_wkb('\x0103000000010000000400000000000000'::bytea);
SELECT crm.geofence_from_wkb('\x0103000020110f0000010000000400000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000004000000000000000000000000000000000'::bytea);

-- repair: only when asked; what cannot be repaired still fails
SELECT crm.geofence_repair('POLYGON((0 0, 4 0, 4 4, 0 4), (1 1, 1 1, 2 1, 2 2, 1 1), (9 9, 9 10, 10 10, 9 9), (3 3, 3 3, 3 3, 3 3))');
SELECT crm.geofence_repair('MULTIPOLYGON(((0 0, 1 0, 2 0, 0 0)), ((5 5, 6 5, 6 6, 5 5)))');
SELECT crm.geofence_repair('{"type":"Polygon","coordinates":[[[0,0],[0,3],[3,3],[3,0]]]}', 'geojson', 'gcj02');
SELECT crm.geofence_repair('<Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1</coordinates></LinearRing></outerBoundaryIs></Polygon>', 'kml');
SELECT crm.geofence_repair('POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))');
SELECT crm.geofence_repair('POLYGON((0 0, 1 0, 0 0))');
SELECT crm.geofence_repair('POLYGON((0 0, 1 0, 1 1, 0 0))', 'shapefile');

-- binary I/O round trip through COPY
CREATE TEMP TABLE f (g crm.geofence);
INSERT INTO f VALUES ('SRS=gcj02;POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 1 2, 2 2, 2 1, 1 1))'), (crm.geofence_circle(1, 2, 3));
COPY f TO '/tmp/crm_geo_regress.bin' WITH (FORMAT binary);
CREATE TEMP TABLE f2 (g crm.geofence);
COPY f2 FROM '/tmp/crm_geo_regress.bin' WITH (FORMAT binary);
SELECT g FROM f2;
