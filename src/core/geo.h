/*
 * geo.h - geo-fences: multipolygons with holes (or circles) in longitude /
 * latitude degrees, their validation, point-in-polygon, distances, the
 * coordinate systems used in China, readers and writers for WKT, GeoJSON,
 * WKB and KML, and a spatial index over many fences.
 *
 * Model.  A fence is either a set of polygons (a multipolygon; a point is
 * inside when it is covered by any polygon) or a circle (centre + radius in
 * metres on the WGS-84 mean sphere).  A polygon is one shell and zero or more
 * holes.  Rings are stored without repeating the first vertex; shells run
 * counter-clockwise and holes clockwise after normalisation.  Boundaries are
 * inside: a point on a shell or on a hole's edge is covered.
 *
 * Everything allocates from a CrmArena owned by the caller.
 */
#ifndef CRM_GEO_H
#define CRM_GEO_H

#include "crm_core.h"

typedef enum CrmSrs
{
	CRM_SRS_WGS84 = 0,			/* GPS, EPSG:4326 */
	CRM_SRS_GCJ02 = 1,			/* China's obfuscated "Mars" coordinates (Amap, Tencent, WeChat) */
	CRM_SRS_BD09 = 2,			/* Baidu maps */
	CRM_SRS_COUNT = 3
} CrmSrs;

typedef enum CrmFenceKind
{
	CRM_FENCE_POLYGONS = 0,
	CRM_FENCE_CIRCLE = 1
} CrmFenceKind;

typedef struct CrmGeoPt
{
	double		x;				/* longitude, degrees */
	double		y;				/* latitude, degrees */
} CrmGeoPt;

typedef struct CrmGeoBox
{
	double		xmin,
				ymin,
				xmax,
				ymax;
} CrmGeoBox;

typedef struct CrmGeoRing
{
	int32_t		npts;			/* distinct vertices; the closing one is implicit */
	CrmGeoPt   *pts;
} CrmGeoRing;

typedef struct CrmGeoPoly
{
	int32_t		nrings;			/* rings[0] is the shell, the rest are holes */
	CrmGeoRing *rings;
} CrmGeoPoly;

typedef struct CrmFence
{
	CrmSrs		srs;
	CrmFenceKind kind;
	int32_t		npolys;
	CrmGeoPoly *polys;
	CrmGeoPt	centre;			/* circle only */
	double		radius_m;		/* circle only */
	CrmGeoBox	box;
} CrmFence;

/* Options of the builders (readers pass them through). */
#define CRM_GEO_STRICT		0x01	/* OGC / KML 2.2 reading: counter-clockwise shells, no self-touching rings */
#define CRM_GEO_REPAIR		0x02	/* close rings, drop degenerate rings and stray holes */

/* Mean radius of the WGS-84 ellipsoid (IUGG R1 = (2a + b) / 3), metres. */
#define CRM_EARTH_RADIUS_M 6371008.8

/* ---- geo_srs.c ---- */
extern const char *crm_srs_name(CrmSrs srs);
extern bool crm_srs_parse(const char *name, CrmSrs *out, CrmError *err);
extern bool crm_srs_out_of_china(double lon, double lat);
extern void crm_wgs84_to_gcj02(double lon, double lat, double *olon, double *olat);
extern void crm_gcj02_to_wgs84(double lon, double lat, double *olon, double *olat);
extern void crm_gcj02_to_bd09(double lon, double lat, double *olon, double *olat);
extern void crm_bd09_to_gcj02(double lon, double lat, double *olon, double *olat);
extern void crm_srs_transform(CrmSrs from, CrmSrs to, double lon, double lat,
							  double *olon, double *olat);
extern double crm_distance_m(double lon1, double lat1, double lon2, double lat2);

/* ---- geo_model.c ---- */

/*
 * A builder collects raw rings as read (first vertex repeated at the end)
 * and turns them into a validated fence.
 */
typedef struct CrmGeoBuilder
{
	CrmArena   *arena;
	int			flags;
	int32_t		npolys;
	int32_t		polys_cap;
	CrmGeoPoly *polys;
	int32_t		npts;			/* the ring being read */
	int32_t		pts_cap;
	CrmGeoPt   *pts;
} CrmGeoBuilder;

extern void crm_geo_builder_init(CrmGeoBuilder *b, CrmArena *arena, int flags);
extern void crm_geo_begin_polygon(CrmGeoBuilder *b);
extern void crm_geo_add_point(CrmGeoBuilder *b, double x, double y);
/* Ends the ring being read; the first ring of a polygon is its shell. */
extern void crm_geo_end_ring(CrmGeoBuilder *b);
/* Validates (or repairs, with CRM_GEO_REPAIR) and fills the fence. */
extern bool crm_geo_finish(CrmGeoBuilder *b, CrmSrs srs, CrmFence *out, CrmError *err);
extern bool crm_geo_circle(double lon, double lat, double radius_m, CrmSrs srs,
						   CrmFence *out, CrmError *err);
/* Coordinates must be finite degrees within [-180,180] x [-90,90]. */
extern bool crm_geo_check_coord(double x, double y, int position, CrmError *err);

extern bool crm_geo_ring_is_ccw(const CrmGeoRing *ring);
/* Point-in-polygon with the boundary inside. */
extern bool crm_geo_poly_covers(const CrmGeoPoly *poly, double x, double y);
extern bool crm_fence_covers(const CrmFence *fence, double x, double y);
extern int64_t crm_fence_vertex_count(const CrmFence *fence);
/* A copy of the fence with every vertex converted to another system (arena memory). */
extern void crm_fence_transform(const CrmFence *in, CrmSrs to, CrmArena *arena, CrmFence *out);
/* Polygon approximating a circle with n vertices (for GeoJSON / KML output). */
extern void crm_fence_circle_ring(const CrmFence *circle, int n, CrmArena *arena, CrmGeoRing *out);

/* Binary form (the body of the SQL type; 8-byte aligned; the first 4 bytes are left for a varlena header). */
extern size_t crm_fence_serialized_size(const CrmFence *fence);
extern void crm_fence_serialize(const CrmFence *fence, void *buf);
/* Reads a serialized fence without copying vertices (they stay in buf). */
extern bool crm_fence_deserialize(const void *buf, size_t len, CrmArena *arena,
								  CrmFence *out, CrmError *err);
/* Header fields readable without deserializing. */
#define CRM_FENCE_HDR_SIZE 48
extern void crm_fence_header_box(const void *buf, CrmGeoBox *box, CrmSrs *srs);

/* ---- geo_wkt.c ---- */
extern bool crm_wkt_read(const char *s, size_t len, int flags, CrmArena *arena,
						 CrmFence *out, CrmError *err);
extern void crm_wkt_write(const CrmFence *fence, CrmBuf *buf);
/* Shortest decimal that reads back to the same double. */
extern void crm_geo_put_number(CrmBuf *buf, double v);

/* ---- geo_json.c ---- */
extern bool crm_geojson_read(const char *s, size_t len, CrmSrs srs, int flags, CrmArena *arena,
							 CrmFence *out, CrmError *err);
/* circle_vertices: how many vertices approximate a circle (GeoJSON has no circles). */
extern void crm_geojson_write(const CrmFence *fence, int circle_vertices, CrmBuf *buf);

/* ---- geo_wkb.c ---- */
extern bool crm_wkb_read(const uint8_t *data, size_t len, CrmSrs srs, int flags, CrmArena *arena,
						 CrmFence *out, CrmError *err);

/* ---- geo_kml.c ---- */
typedef struct CrmKmlPlacemark
{
	char	   *name;			/* NULL when the Placemark has none */
	CrmFence	fence;
} CrmKmlPlacemark;

/*
 * The parsed document is libxml2 memory: open, extract, and always close
 * (the server keeps the handle so that an error thrown in between can
 * still free it).
 */
extern void *crm_kml_open(const char *s, size_t len, CrmError *err);
extern void crm_kml_close(void *doc);
/* All polygons of the document as one fence. */
extern bool crm_kml_fence(void *doc, CrmSrs srs, int flags, CrmArena *arena,
						  CrmFence *out, CrmError *err);
/* One fence per Placemark that holds at least one polygon, in document order. */
extern bool crm_kml_placemarks(void *doc, CrmSrs srs, int flags, CrmArena *arena,
							   CrmKmlPlacemark **out, int *count, CrmError *err);
extern void crm_kml_write(const CrmFence *fence, const char *name, int circle_vertices, CrmBuf *buf);

/* ---- geo_index.c ---- */
typedef struct CrmGeoIndex CrmGeoIndex;

/* fences must already be in WGS-84; order is kept in results (callers add them by priority). */
extern CrmGeoIndex *crm_geo_index_build(const CrmFence *fences, int nfences, CrmArena *arena);
/* Fills hits (indexes into the fences given to build, ascending) and returns how many; at most max. */
extern int	crm_geo_index_lookup(const CrmGeoIndex *index, double x, double y, int32_t *hits, int max);

#endif							/* CRM_GEO_H */
