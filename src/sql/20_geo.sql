
-- ---------------------------------------------------------------------------------------------
-- 20_geo.sql: geo-fences (type crm.geofence), coordinate systems, territories and crm.locate.
-- See docs/geo.md.
-- ---------------------------------------------------------------------------------------------

CREATE TYPE crm.geofence;

CREATE FUNCTION crm.geofence_in(cstring) RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION crm.geofence_out(crm.geofence) RETURNS cstring
    AS 'MODULE_PATHNAME', 'crm_geofence_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION crm.geofence_recv(internal) RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION crm.geofence_send(crm.geofence) RETURNS bytea
    AS 'MODULE_PATHNAME', 'crm_geofence_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE crm.geofence (
    INPUT = crm.geofence_in,
    OUTPUT = crm.geofence_out,
    RECEIVE = crm.geofence_recv,
    SEND = crm.geofence_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE crm.geofence IS 'A geo-fence: polygons with holes (a multipolygon) or a circle, in longitude/latitude degrees of one coordinate system (wgs84, gcj02 or bd09), with a bounding box header. Text form is WKT: SRID=4326;POLYGON((lon lat, ...)), SRS=gcj02;MULTIPOLYGON(...), SRS=bd09;CIRCLE(lon lat, radius_m).';
COMMENT ON FUNCTION crm.geofence_in(cstring) IS 'Input of crm.geofence from WKT (validated; see docs/geo.md).';
COMMENT ON FUNCTION crm.geofence_out(crm.geofence) IS 'Output of crm.geofence as WKT with its coordinate system.';
COMMENT ON FUNCTION crm.geofence_recv(internal) IS 'Binary input of crm.geofence.';
COMMENT ON FUNCTION crm.geofence_send(crm.geofence) IS 'Binary output of crm.geofence.';

-- ---- predicates, measures, coordinate systems ----
CREATE FUNCTION crm.geofence_contains(fence crm.geofence, lon float8, lat float8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_geofence_contains' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_contains(crm.geofence, float8, float8) IS 'True when the point (in the fence''s own coordinate system) is inside the fence or on its boundary; points in a hole are outside, points on a hole''s edge inside.';

CREATE FUNCTION crm.geofence_contains(fence crm.geofence, lon float8, lat float8, srs text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_geofence_contains' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_contains(crm.geofence, float8, float8, text) IS 'Like crm.geofence_contains(fence, lon, lat) for a point given in coordinate system srs (converted to the fence''s system first).';

CREATE FUNCTION crm.geofence_circle(lon float8, lat float8, radius_m float8, srs text DEFAULT 'wgs84')
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_circle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_circle(float8, float8, float8, text) IS 'A circular fence: centre (lon, lat) in system srs and radius in metres (great-circle distance, at most 1000 km), e.g. a store check-in radius.';

CREATE FUNCTION crm.geofence_srs(fence crm.geofence) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_geofence_srs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_srs(crm.geofence) IS 'The coordinate system the fence is drawn in: wgs84, gcj02 or bd09.';

CREATE FUNCTION crm.geofence_box(fence crm.geofence) RETURNS box
    AS 'MODULE_PATHNAME', 'crm_geofence_box' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_box(crm.geofence) IS 'The fence''s bounding box (longitude as x, latitude as y) in its own coordinate system.';

CREATE FUNCTION crm.geofence_npoints(fence crm.geofence) RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_geofence_npoints' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_npoints(crm.geofence) IS 'Number of distinct vertices of all rings (closing vertices not counted; 0 for a circle).';

CREATE FUNCTION crm.geofence_transform(fence crm.geofence, to_srs text) RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_transform' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_transform(crm.geofence, text) IS 'The fence with every vertex (or a circle''s centre) converted to coordinate system to_srs.';

CREATE FUNCTION crm.distance_m(lon1 float8, lat1 float8, lon2 float8, lat2 float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'crm_distance_m_pg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.distance_m(float8, float8, float8, float8) IS 'Great-circle distance in metres between two points (haversine on a sphere of the WGS-84 mean radius 6371008.8 m; within 0.5% of the ellipsoidal distance). Both points must be in the same coordinate system.';

CREATE FUNCTION crm.transform_point(lon float8, lat float8, from_srs text, to_srs text) RETURNS point
    AS 'MODULE_PATHNAME', 'crm_transform_point' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.transform_point(float8, float8, text, text) IS 'Converts a point between wgs84 (GPS), gcj02 (Amap, Tencent, WeChat) and bd09 (Baidu); returns point(lon, lat). Identity outside China''s box for wgs84<->gcj02; GCJ-02 to WGS-84 is an exact iterative inverse.';

-- ---------------------------------------------------------------------------------------------
-- Territories
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.territory (
    tenant_id         bigint       NOT NULL DEFAULT crm.current_tenant(),
    territory_id      bigint       GENERATED ALWAYS AS IDENTITY,
    parent_id         bigint,
    code              text         NOT NULL CHECK (code OPERATOR(pg_catalog.<>) ''),
    name              text         NOT NULL,
    fence             crm.geofence NOT NULL,
    priority          integer      NOT NULL DEFAULT 100,
    active            boolean      NOT NULL DEFAULT true,
    sla_seconds       integer      NOT NULL DEFAULT 300 CHECK (sla_seconds > 0),
    manager_rep_id    bigint,
    assignment_policy text         NOT NULL DEFAULT 'round_robin'
                      CHECK (assignment_policy IN ('round_robin', 'least_loaded', 'weighted')),
    weight_model      text,
    created_at        timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    updated_at        timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, territory_id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES crm.territory (tenant_id, territory_id),
    FOREIGN KEY (tenant_id, manager_rep_id) REFERENCES crm.rep (tenant_id, rep_id),
    CHECK (parent_id IS DISTINCT FROM territory_id)
);
SELECT crm.setup_tenant_table('crm.territory');
COMMENT ON TABLE crm.territory IS 'Sales territories (销售片区): a geo-fence each, found by crm.locate(); leads are dispatched to the reps of the territory they fall in.';
COMMENT ON COLUMN crm.territory.parent_id IS 'The enclosing territory (e.g. city above district), for roll-ups; NULL at the top.';
COMMENT ON COLUMN crm.territory.code IS 'Short code of the territory, unique per tenant (e.g. SH-PD for Shanghai Pudong).';
COMMENT ON COLUMN crm.territory.fence IS 'Where the territory is: polygons with holes or a circle, in any supported coordinate system.';
COMMENT ON COLUMN crm.territory.priority IS 'Smaller numbers are checked first: crm.locate() returns every containing territory ordered by priority, then territory_id.';
COMMENT ON COLUMN crm.territory.active IS 'Inactive territories are ignored by crm.locate().';
COMMENT ON COLUMN crm.territory.sla_seconds IS 'How long a rep has to acknowledge a lead of this territory before it is escalated.';
COMMENT ON COLUMN crm.territory.manager_rep_id IS 'The territory manager (a crm.rep): last step of escalation.';
COMMENT ON COLUMN crm.territory.assignment_policy IS 'How a rep is chosen: round_robin | least_loaded | weighted.';
COMMENT ON COLUMN crm.territory.weight_model IS 'For the weighted policy: the name of the decision model that scores reps (NULL = built-in weights).';
CREATE INDEX territory_parent_idx ON crm.territory (tenant_id, parent_id);
CREATE TRIGGER territory_touch BEFORE UPDATE ON crm.territory FOR EACH ROW EXECUTE FUNCTION crm.touch_updated_at();

CREATE FUNCTION crm.territory_check_weight_model() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- pg_restore (row_security = off) loads territories before or after the models: no check
    IF NEW.weight_model IS NULL OR pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM crm.dmn_model m
                     JOIN crm.dmn_decision d ON d.tenant_id OPERATOR(pg_catalog.=) m.tenant_id
                                            AND d.model_id OPERATOR(pg_catalog.=) m.model_id
                    WHERE m.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id
                      AND m.name OPERATOR(pg_catalog.=) NEW.weight_model AND m.is_current
                      AND d.name OPERATOR(pg_catalog.=) 'weight') THEN
        RAISE EXCEPTION 'territory "%": weight model "%" has no decision "weight"', NEW.code, NEW.weight_model
            USING ERRCODE = '42704',
                  DETAIL = 'The weighted policy scores each rep with crm.decide(weight_model, ''weight'', inputs); without that decision every lead of the territory would fail to dispatch.',
                  HINT = 'Import or create the model (with a decision named "weight") first, or set weight_model to NULL for the built-in weights.';
    END IF;
    RETURN NEW;
END
$fn$;
COMMENT ON FUNCTION crm.territory_check_weight_model() IS 'Trigger (BEFORE INSERT/UPDATE OF weight_model on crm.territory): the named decision model must exist in the tenant with a decision "weight"; checked when the territory is configured, not when its first lead arrives.';
REVOKE ALL ON FUNCTION crm.territory_check_weight_model() FROM PUBLIC;
CREATE TRIGGER territory_check_weight_model BEFORE INSERT OR UPDATE OF weight_model ON crm.territory
    FOR EACH ROW EXECUTE FUNCTION crm.territory_check_weight_model();

CREATE FUNCTION crm.territory_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_territory_changed' LANGUAGE C;
COMMENT ON FUNCTION crm.territory_changed() IS 'Statement trigger on crm.territory: invalidates every backend''s cached territory index used by crm.locate().';
CREATE TRIGGER territory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.territory
    FOR EACH STATEMENT EXECUTE FUNCTION crm.territory_changed();

CREATE FUNCTION crm.locate(lon float8, lat float8, srs text DEFAULT 'wgs84')
    RETURNS TABLE (territory_id bigint, name text, priority integer)
    AS 'MODULE_PATHNAME', 'crm_locate' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 2;
COMMENT ON FUNCTION crm.locate(float8, float8, text) IS 'The active territories of the current tenant whose fence contains the point (lon, lat) given in system srs (wgs84, gcj02, bd09), ordered by priority then territory_id. Uses a per-backend spatial index rebuilt after crm.territory changes.';

CREATE FUNCTION crm.locate_id(lon float8, lat float8, srs text DEFAULT 'wgs84') RETURNS bigint
    AS 'MODULE_PATHNAME', 'crm_locate_id' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.locate_id(float8, float8, text) IS 'The first territory crm.locate() would return (smallest priority, then territory_id), or NULL when none contains the point.';

GRANT SELECT ON crm.territory TO crm_rep, crm_bi_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.territory TO crm_admin;

-- ---- formats ----
CREATE FUNCTION crm.geofence_from_kml(doc xml, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_from_kml' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_from_kml(xml, text, boolean) IS 'One fence from every Polygon (outer and inner boundaries, MultiGeometry, any KML namespace or prefix, 2D or 3D coordinates) of a KML document or fragment. srs names the system the coordinates are in (KML is WGS-84; maps drawn on Amap are gcj02). strict applies the OGC / KML 2.2 reading (clockwise exterior rings and rings touching themselves are errors); otherwise rings are re-oriented and single-point touches tolerated.';

CREATE FUNCTION crm.kml_placemarks(doc xml, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS TABLE (name text, fence crm.geofence)
    AS 'MODULE_PATHNAME', 'crm_kml_placemarks_pg' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION crm.kml_placemarks(xml, text, boolean) IS 'One row per Placemark of a KML document that holds at least one polygon, in document order: its name and all its polygons as one fence.';

CREATE FUNCTION crm.geofence_from_geojson(geojson jsonb, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_from_geojson' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_from_geojson(jsonb, text, boolean) IS 'A fence from a GeoJSON Polygon or MultiPolygon geometry, a GeometryCollection of them, a Feature holding one, or a FeatureCollection (all polygon features as one fence). Positions are [lon, lat(, alt)] in system srs.';

CREATE FUNCTION crm.geofence_from_wkb(wkb bytea, srs text DEFAULT 'wgs84', strict boolean DEFAULT false)
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_from_wkb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_from_wkb(bytea, text, boolean) IS 'A fence from WKB or EWKB (e.g. PostGIS ST_AsBinary(geom) of a POLYGON or MULTIPOLYGON in SRID 4326), either byte order; Z and M ordinates are ignored.';

CREATE FUNCTION crm.geofence_as_geojson(fence crm.geofence, to_srs text DEFAULT 'wgs84') RETURNS jsonb
    AS 'MODULE_PATHNAME', 'crm_geofence_as_geojson' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_as_geojson(crm.geofence, text) IS 'The fence as a GeoJSON Polygon or MultiPolygon in system to_srs (default WGS-84, as RFC 7946 asks); a circle becomes a 64-vertex polygon.';

CREATE FUNCTION crm.geofence_as_kml(fence crm.geofence, name text DEFAULT NULL) RETURNS xml
    AS 'MODULE_PATHNAME', 'crm_geofence_as_kml' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_as_kml(crm.geofence, text) IS 'The fence as a KML 2.2 Placemark (optionally named) holding a Polygon or MultiGeometry, converted to WGS-84; a circle becomes a 64-vertex polygon.';

CREATE FUNCTION crm.geofence_repair(input text, format text DEFAULT 'wkt', srs text DEFAULT 'wgs84')
    RETURNS crm.geofence
    AS 'MODULE_PATHNAME', 'crm_geofence_repair' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.geofence_repair(text, text, text) IS 'Reads a fence (format wkt, geojson or kml) that may be invalid and repairs what has one right answer: closes unclosed rings, drops consecutive duplicate vertices, drops rings with fewer than 3 distinct vertices or no area (and a polygon whose shell is dropped), drops holes outside their shell, re-orients rings. Self-crossing rings are still errors.';
