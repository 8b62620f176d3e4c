-- Territories: one geo-fence per city of the chain, drawn the way real teams hand them over:
-- Jiangsu cities in WGS-84 (GPS survey), Zhejiang cities in GCJ-02 (drawn on Amap), Suzhou from a
-- KML file, Wuxi from GeoJSON, two cities with a hole (a lake, an industrial park nobody serves),
-- plus a 600 m check-in circle around Hangzhou's DTP pharmacy that takes precedence.
\echo
\echo '================ 15. Territories: geo-fences per city, and which territory each store is in ================'

-- city centres = the centre store (code n-1) of each city
CREATE TEMP TABLE demo_centre AS
SELECT split_part(s.code, '-', 1)::int AS n, s.province, s.city, s.lon, s.lat
  FROM crm.store s WHERE s.code LIKE '%-1';

-- a 16-vertex ring around a centre (about 8 x 9 km), as WKT coordinates, optionally in GCJ-02
CREATE FUNCTION pg_temp.ring(lon float8, lat float8, srs text, rx float8 DEFAULT 0.085, ry float8 DEFAULT 0.07)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(p[0] || ' ' || p[1], ', ' ORDER BY k)
    FROM (SELECT k, crm.transform_point(lon + rx * (1 + 0.12 * sin(3 * a)) * cos(a),
                                        lat + ry * (1 + 0.12 * cos(2 * a)) * sin(a), 'wgs84', srs) AS p
            FROM (SELECT k, 2 * pi() * (k % 16) / 16 AS a FROM generate_series(0, 16) k) s) t
$$;

-- Jiangsu in WGS-84 (南京 with 玄武湖 as a hole), Zhejiang in GCJ-02 (杭州 with 西湖 as a hole)
INSERT INTO crm.territory (code, name, fence, priority, sla_seconds)
SELECT 'C' || lpad(c.n::text, 2, '0'),
       c.city || '片区',
       (CASE WHEN c.province = '浙江' THEN 'SRS=gcj02;' ELSE 'SRID=4326;' END ||
        'POLYGON((' || pg_temp.ring(c.lon, c.lat, CASE WHEN c.province = '浙江' THEN 'gcj02' ELSE 'wgs84' END) || ')' ||
        CASE WHEN c.city IN ('南京', '杭州') THEN
             ', (' || pg_temp.ring(c.lon - 0.024, c.lat - 0.024, CASE WHEN c.province = '浙江' THEN 'gcj02' ELSE 'wgs84' END, 0.012, 0.01) || ')'
        ELSE '' END || ')')::crm.geofence,
       100, CASE WHEN c.province = '江苏' THEN 240 ELSE 300 END
  FROM demo_centre c WHERE c.city NOT IN ('苏州', '无锡');

-- 苏州 arrives as KML (from Google Earth), 无锡 as GeoJSON (from a web map)
INSERT INTO crm.territory (code, name, fence)
SELECT 'C02', '苏州片区', crm.geofence_from_kml(
         ('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>苏州片区</name><Polygon><outerBoundaryIs><LinearRing><coordinates>'
          || replace(replace(pg_temp.ring(c.lon, c.lat, 'wgs84'), ' ', ','), ',,', ' ')
          || '</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>')::xml)
  FROM demo_centre c WHERE c.city = '苏州';
INSERT INTO crm.territory (code, name, fence)
SELECT 'C03', '无锡片区', crm.geofence_from_geojson(jsonb_build_object(
         'type', 'Feature', 'properties', jsonb_build_object('name', '无锡片区'),
         'geometry', jsonb_build_object('type', 'Polygon', 'coordinates', jsonb_build_array(
             (SELECT jsonb_agg(jsonb_build_array(split_part(v, ' ', 1)::float8, split_part(v, ' ', 2)::float8))
                FROM regexp_split_to_table(pg_temp.ring(c.lon, c.lat, 'wgs84'), ', ') v)))))
  FROM demo_centre c WHERE c.city = '无锡';

-- a check-in circle around Hangzhou's DTP pharmacy: priority 50, so it comes before the city
INSERT INTO crm.territory (code, name, fence, priority, sla_seconds)
SELECT 'DTP-HZ', '杭州特药药房 600 米圈', crm.geofence_circle(s.lon, s.lat, 600), 50, 120
  FROM crm.store s WHERE s.city = '杭州' AND s.kind = 'dtp_pharmacy';

SELECT t.code AS "片区代码", t.name AS "片区", crm.geofence_srs(t.fence) AS "坐标系",
       crm.geofence_npoints(t.fence) AS "顶点数",
       CASE WHEN crm.geofence_npoints(t.fence) = 0 THEN '圆' ELSE
            (jsonb_array_length(crm.geofence_as_geojson(t.fence)->'coordinates') - 1)::text END AS "湖/洞",
       t.priority AS "优先级", t.sla_seconds AS "SLA秒"
  FROM crm.territory t ORDER BY t.code;

\echo 'Which territory each store falls in (stores are surveyed in WGS-84; Zhejiang fences are GCJ-02):'
SELECT s.city AS "城市", s.name AS "门店",
       (SELECT l.name FROM crm.locate(s.lon, s.lat, s.srs) l LIMIT 1) AS "归属片区",
       (SELECT string_agg(l.name, ' > ') FROM crm.locate(s.lon, s.lat, s.srs) l) AS "全部片区(按优先级)",
       round(crm.distance_m(s.lon, s.lat, c.lon, c.lat)::numeric) AS "距市中心米"
  FROM crm.store s JOIN demo_centre c ON c.city = s.city
 ORDER BY c.n, s.code;

\echo 'The same spot reported by different apps: GPS (WGS-84), WeChat/Amap (GCJ-02), Baidu (BD-09):'
SELECT v.app AS "来源", v.srs AS "坐标系", round(v.p[0]::numeric, 6) AS "经度", round(v.p[1]::numeric, 6) AS "纬度",
       (SELECT l.name FROM crm.locate(v.p[0], v.p[1], v.srs) l LIMIT 1) AS "定位片区",
       (SELECT l.name FROM crm.locate(v.p[0], v.p[1]) l LIMIT 1) AS "若误当作WGS-84"
  FROM demo_centre c,
       LATERAL (VALUES ('GPS', 'wgs84', point(c.lon + 0.082, c.lat)),
                       ('微信小程序', 'gcj02', crm.transform_point(c.lon + 0.082, c.lat, 'wgs84', 'gcj02')),
                       ('百度地图', 'bd09', crm.transform_point(c.lon + 0.082, c.lat, 'wgs84', 'bd09'))) v(app, srs, p)
 WHERE c.city = '南京';
