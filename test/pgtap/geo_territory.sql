-- Territories and geo-fences: SQLSTATEs of bad input, privileges, tenant isolation of crm.locate,
-- the cache following every kind of change.
BEGIN;
SELECT plan(26);

-- error classes
SELECT throws_ok($$SELECT 'POLYGON((0 0, 1 0, 1 1 0 0))'::crm.geofence$$, '22P02', NULL, 'WKT syntax error is 22P02');
SELECT throws_ok($$SELECT 'POLYGON((0 0, 1 0, 1 1, 0 1))'::crm.geofence$$, '22023', NULL, 'unclosed ring is 22023');
SELECT throws_ok($$SELECT 'POLYGON((0 0, 1 0, 1 100, 0 0))'::crm.geofence$$, '22003', NULL, 'latitude out of range is 22003');
SELECT throws_ok($$SELECT crm.geofence_from_kml('<Polygon>'::xml)$$, '2200N', NULL, 'malformed XML is refused by the xml type');
SELECT throws_ok($$SELECT crm.geofence_from_kml(xmlparse(content '<a>x</a><b/>'))$$, '22023', NULL, 'KML without a polygon is 22023');
SELECT throws_ok($$SELECT crm.transform_point(1, 2, 'wgs84', 'utm50n')$$, '22023', NULL, 'unknown coordinate system is 22023');
SELECT throws_ok($$SELECT * FROM crm.locate(0, 95)$$, '22003', NULL, 'locate checks coordinates');
SELECT throws_ok($$SELECT crm.geofence_repair('x', 'shp')$$, '22023', NULL, 'unknown repair format is 22023');

-- the territory table: defaults, constraints, hierarchy
INSERT INTO crm.rep (employee_no, name) VALUES ('G1', '王芳');
INSERT INTO crm.territory (code, name, fence) VALUES ('P', 'parent', 'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))');
SELECT is((SELECT (priority, sla_seconds, assignment_policy, active)::text FROM crm.territory WHERE code = 'P'),
          '(100,300,round_robin,t)', 'defaults: priority 100, SLA 300 s, round robin, active');
SELECT throws_ok($$INSERT INTO crm.territory (code, name, fence) VALUES ('P', 'dup', 'POLYGON((0 0, 1 0, 1 1, 0 0))')$$,
                 '23505', NULL, 'code is unique per tenant');
SELECT throws_ok($$INSERT INTO crm.territory (code, name, fence, assignment_policy) VALUES ('Q', 'q', 'POLYGON((0 0, 1 0, 1 1, 0 0))', 'random')$$,
                 '23514', NULL, 'assignment policy is checked');
SELECT throws_ok($$INSERT INTO crm.territory (code, name, fence, parent_id) VALUES ('Q', 'q', 'POLYGON((0 0, 1 0, 1 1, 0 0))', 999)$$,
                 '23503', NULL, 'parent must exist');
SELECT throws_ok($$INSERT INTO crm.territory (code, name, fence, manager_rep_id) VALUES ('Q', 'q', 'POLYGON((0 0, 1 0, 1 1, 0 0))', 999)$$,
                 '23503', NULL, 'manager must be a rep');
SELECT lives_ok($$INSERT INTO crm.territory (code, name, fence, priority, parent_id, manager_rep_id)
                  SELECT 'C', 'child', crm.geofence_circle(5, 5, 50000), 10, t.territory_id, r.rep_id
                    FROM crm.territory t, crm.rep r WHERE t.code = 'P' AND r.employee_no = 'G1'$$,
                'a circle territory inside its parent');
SELECT results_eq($$SELECT name FROM crm.locate(5, 5)$$, $$VALUES ('child'), ('parent')$$,
                  'locate orders by priority (smaller first)');
SELECT results_eq($$SELECT name FROM crm.locate(9.9, 9.9)$$, $$VALUES ('parent')$$, 'only the parent covers the corner');
SELECT is(crm.locate_id(5, 5), (SELECT territory_id FROM crm.territory WHERE code = 'C'), 'locate_id is the first by priority');

-- every kind of change reaches the cache
UPDATE crm.territory SET fence = 'POLYGON((20 20, 30 20, 30 30, 20 20))' WHERE code = 'P';
SELECT results_eq($$SELECT name FROM crm.locate(9.9, 9.9)$$, $$SELECT NULL::text WHERE false$$, 'a moved fence is seen at once');
UPDATE crm.territory SET active = false WHERE code = 'C';
SELECT is((SELECT count(*) FROM crm.locate(5, 5)), 0::bigint, 'deactivation is seen at once');
TRUNCATE crm.territory CASCADE;
SELECT is((SELECT count(*) FROM crm.locate(25, 21)), 0::bigint, 'TRUNCATE is seen at once');

-- tenant isolation and privileges
CREATE ROLE tap_geo_rep LOGIN IN ROLE crm_rep;
CREATE ROLE tap_geo_admin2 LOGIN IN ROLE crm_admin;
INSERT INTO crm.tenant_member VALUES (1, 'tap_geo_rep'), (2, 'tap_geo_admin2');
INSERT INTO crm.territory (tenant_id, code, name, fence) VALUES
  (1, 'T1', 'tenant one', 'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'),
  (2, 'T2', 'tenant two', 'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))');
SET ROLE tap_geo_rep;
SELECT results_eq($$SELECT name FROM crm.locate(5, 5)$$, $$VALUES ('tenant one')$$, 'a rep of tenant 1 locates in tenant 1 only');
SELECT throws_ok($$INSERT INTO crm.territory (code, name, fence) VALUES ('X', 'x', 'POLYGON((0 0, 1 0, 1 1, 0 0))')$$,
                 '42501', NULL, 'reps cannot create territories');
RESET ROLE;
SET ROLE tap_geo_admin2;
SET crm.tenant_id = 2;
SELECT results_eq($$SELECT name FROM crm.locate(5, 5)$$, $$VALUES ('tenant two')$$, 'an admin of tenant 2 locates in tenant 2 only');
SET crm.tenant_id = 1;
SELECT throws_ok($$SELECT * FROM crm.locate(5, 5)$$, '42501', NULL, 'locating for a tenant one does not belong to is refused');
RESET crm.tenant_id;
RESET ROLE;

-- every geo object is documented, and pure functions are marked so
SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'crm'::regnamespace
              AND (p.proname LIKE 'geofence%' OR p.proname IN ('locate', 'locate_id', 'distance_m', 'transform_point',
                                                                'kml_placemarks', 'territory_changed'))
              AND obj_description(p.oid, 'pg_proc') IS NULL), 0::bigint, 'every geo function has a comment');
SELECT is((SELECT string_agg(p.proname || '/' || p.provolatile::text || p.proparallel::text, ',' ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'crm'::regnamespace AND p.proname IN ('locate', 'locate_id')),
          'locate/sr,locate_id/sr', 'locate is STABLE and PARALLEL RESTRICTED (backend cache, session tenant)');

SELECT * FROM finish();
ROLLBACK;
