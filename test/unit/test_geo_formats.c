/*
 * test_geo_formats.c - unit tests of the GeoJSON, WKB and KML readers and writers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"
#include "geo.h"

static char *
read_file(const char *rel, size_t *len)
{
	char		path[1024];
	FILE	   *f;
	const char *dir;
	char	   *buf;
	long		n;

	dir = unit_testdata();

	/* an empty CRM_TESTDATA means "not found from the unit directory": the project root's default */
	snprintf(path, sizeof(path), "%s/%s", dir[0] ? dir : "../shared/testdata", rel);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = crm_alloc((size_t) n + 1);
	*len = fread(buf, 1, (size_t) n, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static char *
to_wkt(const CrmFence *f)
{
	CrmBuf		b;

	crm_buf_init(&b);
	crm_wkt_write(f, &b);
	return b.data;
}

UNIT_TEST(geo_geojson_reads_geometry_feature_collection)
{
	CrmArena	a;
	CrmFence	f,
				g;
	CrmError	err;
	CrmBuf		b;
	const char *feature = "{\"type\":\"Feature\",\"properties\":{\"n\":\"\\\"x\\\"\"},\"geometry\":"
		"{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0,1],[4,0,1],[4,4,1],[0,4,1],[0,0,1]],"
		"[[1,1],[1,2],[2,2],[2,1],[1,1]]],[[[10,10],[11,10],[11,11],[10,10]]]]}}";
	char	   *s1,
			   *s2;

	crm_arena_init(&a, 4096);
	CHECK(crm_geojson_read(feature, strlen(feature), CRM_SRS_GCJ02, 0, &a, &f, &err));
	CHECK_INT_EQ(f.npolys, 2);
	CHECK_INT_EQ(f.polys[0].nrings, 2);
	CHECK(f.srs == CRM_SRS_GCJ02);
	crm_buf_init(&b);
	crm_geojson_write(&f, 16, &b);
	CHECK(crm_geojson_read(b.data, b.len, CRM_SRS_GCJ02, 0, &a, &g, &err));
	s1 = to_wkt(&f);
	s2 = to_wkt(&g);
	CHECK_STR_EQ(s1, s2);
	crm_free(s1);
	crm_free(s2);
	crm_buf_free(&b);
	CHECK(!crm_geojson_read("{\"type\":\"Point\",\"coordinates\":[1,2]}", 36, CRM_SRS_WGS84, 0, &a, &f, &err));
	CHECK(strstr(err.message, "no Polygon") != NULL);
	CHECK(!crm_geojson_read("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0]", 44, CRM_SRS_WGS84, 0, &a, &f, &err));
	CHECK(err.code == CRM_ERR_SYNTAX);
	crm_arena_free(&a);
}

UNIT_TEST(geo_geojson_rejects_deep_nesting)
{
	CrmArena	a;
	CrmFence	f;
	CrmError	err;
	char		deep[400];

	memset(deep, '[', 300);
	deep[300] = '\0';
	crm_arena_init(&a, 4096);
	CHECK(!crm_geojson_read(deep, 300, CRM_SRS_WGS84, 0, &a, &f, &err));
	CHECK(strstr(err.message, "too deep") != NULL);
	crm_arena_free(&a);
}

UNIT_TEST(geo_wkb_both_byte_orders_and_ewkb)
{
	/* POLYGON((0 0,2 0,0 2,0 0)) little endian, then the same big endian with an EWKB SRID 4326 */
	static const uint8_t le[] = {
		1, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t be[] = {
		0, 0x20, 0, 0, 3, 0, 0, 0x10, 0xe6, 0, 0, 0, 1, 0, 0, 0, 4,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	CrmArena	a;
	CrmFence	f;
	CrmError	err;
	char	   *s;

	crm_arena_init(&a, 4096);
	CHECK(crm_wkb_read(le, sizeof(le), CRM_SRS_WGS84, 0, &a, &f, &err));
	s = to_wkt(&f);
	CHECK_STR_EQ(s, "SRID=4326;POLYGON((0 0,2 0,0 2,0 0))");
	crm_free(s);
	CHECK(crm_wkb_read(be, sizeof(be), CRM_SRS_WGS84, 0, &a, &f, &err));
	s = to_wkt(&f);
	CHECK_STR_EQ(s, "SRID=4326;POLYGON((0 0,2 0,0 2,0 0))");
	crm_free(s);
	for (size_t n = 0; n < sizeof(le); n++)
		CHECK(!crm_wkb_read(le, n, CRM_SRS_WGS84, 0, &a, &f, &err));
	crm_arena_free(&a);
}

static bool
kml_fence(const char *s, size_t len, int flags, CrmArena *a, CrmFence *f, CrmError *err)
{
	void	   *doc = crm_kml_open(s, len, err);
	bool		ok;

	if (doc == NULL)
		return false;
	ok = crm_kml_fence(doc, CRM_SRS_WGS84, flags, a, f, err);
	crm_kml_close(doc);
	return ok;
}

UNIT_TEST(geo_kml_ogc_cases)
{
	struct
	{
		const char *file;
		int			flags;
		const char *expect;		/* NULL: valid */
	}			cases[] = {
		{"kml/ogc-ets-kml2/geom/LinearRing-001.xml", 0, "too few points"},
		{"kml/ogc-ets-kml2/geom/PolygonNotClosed.xml", 0, "not closed"},
		{"kml/ogc-ets-kml2/geom/PolygonWithHoleOutside.xml", 0, "not inside the exterior ring"},
		{"kml/ogc-ets-kml2/features/Placemark-102.xml", 0, "crosses itself"},
		{"kml/ogc-ets-kml2/features/Placemark-101.xml", CRM_GEO_STRICT, "clockwise"},
		{"kml/ogc-ets-kml2/features/Placemark-101.xml", 0, NULL},
		{"kml/ogc-ets-kml2/geom/Polygon.xml", CRM_GEO_STRICT, NULL},
		{"kml/ogc-ets-kml2/geom/PolygonWithHole.xml", 0, NULL},
		{"kml/google-kml-samples/KML_Samples.kml", 0, NULL},
		{"kml/google-kml-samples/kml/Polygon/tennis-poly.kml", 0, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		CrmArena	a;
		CrmFence	f;
		CrmError	err;
		size_t		len;
		char	   *s = read_file(cases[i].file, &len);
		bool		ok;

		CHECK(s != NULL);
		crm_arena_init(&a, 4096);
		ok = kml_fence(s, len, cases[i].flags, &a, &f, &err);
		crm_arena_free(&a);
		crm_free(s);
		if (ok != (cases[i].expect == NULL) || (!ok && strstr(err.message, cases[i].expect) == NULL))
			printf("  %s: %s\n", cases[i].file, ok ? "accepted" : err.message);
		CHECK(ok == (cases[i].expect == NULL));
		CHECK(ok || strstr(err.message, cases[i].expect) != NULL);
	}
}

UNIT_TEST(geo_kml_placemarks_holes_and_multigeometry)
{
	CrmArena	a;
	CrmError	err;
	CrmKmlPlacemark *pms;
	int			n;
	size_t		len;
	char	   *s = read_file("kml/google-kml-samples/kml/Polygon/polyInnerBoundaries.kml", &len);
	void	   *doc;

	CHECK(s != NULL);
	crm_arena_init(&a, 4096);
	doc = crm_kml_open(s, len, &err);
	CHECK(doc != NULL);
	CHECK(crm_kml_placemarks(doc, CRM_SRS_WGS84, 0, &a, &pms, &n, &err));
	crm_kml_close(doc);
	crm_free(s);
	CHECK_INT_EQ(n, 1);
	CHECK_STR_EQ(pms[0].name, "innerBoundaries");
	CHECK_INT_EQ(pms[0].fence.polys[0].nrings, 5);
	s = read_file("kml/google-kml-samples/kml/Polygon/tennis-poly.kml", &len);
	doc = crm_kml_open(s, len, &err);
	CHECK(crm_kml_placemarks(doc, CRM_SRS_WGS84, 0, &a, &pms, &n, &err));
	crm_kml_close(doc);
	crm_free(s);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(pms[1].fence.npolys, 2);
	CHECK(crm_kml_open("<Polygon>", 9, &err) == NULL);
	CHECK(err.code == CRM_ERR_XML);
	crm_arena_free(&a);
}

UNIT_TEST(geo_kml_writer_reads_back)
{
	CrmArena	a;
	CrmFence	f,
				g;
	CrmError	err;
	CrmBuf		b;
	const char *w = "MULTIPOLYGON(((0 0,4 0,4 4,0 4,0 0),(1 1,1 2,2 2,2 1,1 1)),((10 10,11 10,11 11,10 10)))";
	char	   *s1,
			   *s2;

	crm_arena_init(&a, 4096);
	CHECK(crm_wkt_read(w, strlen(w), 0, &a, &f, &err));
	crm_buf_init(&b);
	crm_kml_write(&f, "<a&b>", 32, &b);
	CHECK(strstr(b.data, "<name>&lt;a&amp;b&gt;</name>") != NULL);
	CHECK(kml_fence(b.data, b.len, CRM_GEO_STRICT, &a, &g, &err));
	s1 = to_wkt(&f);
	s2 = to_wkt(&g);
	CHECK_STR_EQ(s1, s2);
	crm_free(s1);
	crm_free(s2);
	crm_buf_free(&b);
	crm_arena_free(&a);
}
