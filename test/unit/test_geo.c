/*
 * test_geo.c - unit tests of the geo-fence model: validation, point-in-polygon,
 * circles, distances, coordinate systems, the binary form and the spatial index.
 */
#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "geo.h"

static bool
wkt(CrmArena *a, const char *s, int flags, CrmFence *f, CrmError *err)
{
	return crm_wkt_read(s, strlen(s), flags, a, f, err);
}

static char *
to_wkt(const CrmFence *f)
{
	CrmBuf		b;

	crm_buf_init(&b);
	crm_wkt_write(f, &b);
	return b.data;
}

UNIT_TEST(geo_wkt_round_trips_and_normalises_orientation)
{
	CrmArena	a;
	CrmFence	f;
	CrmError	err;
	char	   *s;

	crm_arena_init(&a, 4096);
	CHECK(wkt(&a, "POLYGON((0 0, 0 10, 10 10, 10 0, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))", 0, &f, &err));
	CHECK(crm_geo_ring_is_ccw(&f.polys[0].rings[0]));
	CHECK(!crm_geo_ring_is_ccw(&f.polys[0].rings[1]));
	s = to_wkt(&f);
	CHECK_STR_EQ(s, "SRID=4326;POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,2 4,4 4,4 2,2 2))");
	crm_free(s);
	CHECK(wkt(&a, "SRS=bd09;MULTIPOLYGON Z (((0.1 0.2 5, 1 0 5, 1 1 5, 0.1 0.2 5)))", 0, &f, &err));
	s = to_wkt(&f);
	CHECK_STR_EQ(s, "SRS=bd09;POLYGON((0.1 0.2,1 0,1 1,0.1 0.2))");
	crm_free(s);
	/* strict: a clockwise shell is an error */
	CHECK(!wkt(&a, "POLYGON((0 0, 0 10, 10 10, 10 0, 0 0))", CRM_GEO_STRICT, &f, &err));
	CHECK(strstr(err.message, "clockwise") != NULL);
	/* a ring touching itself in one point: tolerated, an error when strict */
	CHECK(wkt(&a, "POLYGON((0 0, 4 0, 4 4, 2 0, 0 4, 0 0))", 0, &f, &err));
	CHECK(crm_fence_covers(&f, 3.5, 1) && crm_fence_covers(&f, 0.5, 1) && !crm_fence_covers(&f, 2, 3));
	CHECK(!wkt(&a, "POLYGON((0 0, 4 0, 4 4, 2 0, 0 4, 0 0))", CRM_GEO_STRICT, &f, &err));
	CHECK(strstr(err.message, "touches itself") != NULL);
	crm_arena_free(&a);
}

UNIT_TEST(geo_invalid_rings_name_ring_and_vertex)
{
	struct
	{
		const char *wkt;
		const char *expect;
	}			cases[] = {
		{"POLYGON((0 0, 1 0, 1 1, 0 1))", "polygon 1, exterior ring is not closed: vertex 4"},
		{"POLYGON((0 0, 1 0, 0 0))", "too few points"},
		{"POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))", "crosses itself: the edge from vertex 1 meets the edge from vertex 3"},
		{"POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (20 20, 21 20, 21 21, 20 20))", "hole 1 (ring 2) is not inside"},
		{"POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (5 5, 15 5, 15 6, 5 5))", "not inside the exterior ring"},
		{"MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((0 0, 1 1, 2 2, 0 0)))", "polygon 2, exterior ring is degenerate"},
		{"POLYGON((0 0, 1 0, 1 1, 0 0)", "expected"},
		{"POLYGON((0 0, 1 0, 1 nan, 0 0))", "number"},
		{"POLYGON((0 0, 1 0, 1 91, 0 0))", "outside"},
		{"SRS=mars;POLYGON((0 0, 1 0, 1 1, 0 0))", "unknown coordinate system"},
		{"", "expected POLYGON"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		CrmArena	a;
		CrmFence	f;
		CrmError	err;
		bool		ok;

		crm_arena_init(&a, 4096);
		ok = wkt(&a, cases[i].wkt, 0, &f, &err);
		crm_arena_free(&a);
		if (ok || strstr(err.message, cases[i].expect) == NULL)
			printf("  case %zu: %s -> %s\n", i, cases[i].wkt, ok ? "accepted" : err.message);
		CHECK(!ok);
		CHECK(strstr(err.message, cases[i].expect) != NULL);
	}
}

UNIT_TEST(geo_point_in_polygon_boundaries_holes_parts)
{
	CrmArena	a;
	CrmFence	f;
	CrmError	err;

	crm_arena_init(&a, 4096);
	CHECK(wkt(&a, "MULTIPOLYGON(((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2)), ((20 0, 30 0, 25 5, 20 0)))", 0, &f, &err));
	CHECK(crm_fence_covers(&f, 5, 5));
	CHECK(!crm_fence_covers(&f, 3, 3));			/* in the hole */
	CHECK(crm_fence_covers(&f, 2, 3));			/* on the hole's edge */
	CHECK(crm_fence_covers(&f, 4, 4));			/* hole vertex */
	CHECK(crm_fence_covers(&f, 0, 0));			/* shell vertex */
	CHECK(crm_fence_covers(&f, 10, 5));			/* shell edge */
	CHECK(crm_fence_covers(&f, 5, 10));			/* horizontal edge */
	CHECK(!crm_fence_covers(&f, 10.000001, 5));
	CHECK(crm_fence_covers(&f, 25, 2));			/* second part */
	CHECK(crm_fence_covers(&f, 22.5, 2.5));		/* on a slanted edge */
	CHECK(!crm_fence_covers(&f, 15, 2));
	CHECK(!crm_fence_covers(&f, 25, 6));
	crm_arena_free(&a);
}

UNIT_TEST(geo_circle_and_distance)
{
	CrmFence	c;
	CrmError	err;
	double		deg = CRM_EARTH_RADIUS_M * M_PI / 180.0;	/* metres per degree of latitude */

	CHECK_DBL_NEAR(crm_distance_m(0, 0, 1, 0), deg, 1e-6);
	CHECK_DBL_NEAR(crm_distance_m(116.3975, 39.9087, 121.4737, 31.2304), 1067900, 1500);
	CHECK_DBL_NEAR(crm_distance_m(10, 10, 10, 10), 0, 0);
	CHECK(crm_geo_circle(121.47, 31.23, 1000, CRM_SRS_WGS84, &c, &err));
	CHECK(crm_fence_covers(&c, 121.47, 31.23 + 999 / deg));
	CHECK(!crm_fence_covers(&c, 121.47, 31.23 + 1001 / deg));
	/* east-west: the box must not cut the circle short at this latitude */
	CHECK(crm_fence_covers(&c, 121.47 + 999 / (deg * cos(31.23 * M_PI / 180)), 31.23));
	CHECK(!crm_geo_circle(0, 0, 0, CRM_SRS_WGS84, &c, &err));
	CHECK(!crm_geo_circle(0, 0, NAN, CRM_SRS_WGS84, &c, &err));
	CHECK(crm_geo_circle(0, 89.999, 5000, CRM_SRS_WGS84, &c, &err));		/* near the pole */
	CHECK(crm_fence_covers(&c, 170, 89.99));
}

UNIT_TEST(geo_srs_vectors_and_inverse)
{
	double		x,
				y,
				bx,
				by;

	crm_wgs84_to_gcj02(121.5272106, 31.1774276, &x, &y);
	CHECK_DBL_NEAR(x, 121.531541859215, 1e-9);
	CHECK_DBL_NEAR(y, 31.17530398364597, 1e-9);
	crm_gcj02_to_wgs84(121.531541859215, 31.17530398364597, &x, &y);
	CHECK(crm_distance_m(x, y, 121.5272106, 31.1774276) < 0.01);
	crm_gcj02_to_bd09(116.404, 39.915, &x, &y);
	CHECK_DBL_NEAR(x, 116.41036949371029, 1e-9);
	CHECK_DBL_NEAR(y, 39.92133699351021, 1e-9);
	crm_bd09_to_gcj02(x, y, &bx, &by);
	CHECK_DBL_NEAR(bx, 116.404, 1e-10);
	CHECK_DBL_NEAR(by, 39.915, 1e-10);
	crm_srs_transform(CRM_SRS_WGS84, CRM_SRS_GCJ02, -104.9903, 39.7392, &x, &y);
	CHECK(x == -104.9903 && y == 39.7392);
	/* every point of a grid over China round-trips through the exact inverse within 1 cm */
	for (double lon = 73.5; lon < 135; lon += 3.7)
		for (double lat = 18.2; lat < 53.5; lat += 2.9)
		{
			crm_srs_transform(CRM_SRS_WGS84, CRM_SRS_BD09, lon, lat, &x, &y);
			crm_srs_transform(CRM_SRS_BD09, CRM_SRS_WGS84, x, y, &bx, &by);
			CHECK(crm_distance_m(lon, lat, bx, by) < 0.01);
		}
}

UNIT_TEST(geo_binary_form_round_trips_and_rejects_corruption)
{
	CrmArena	a;
	CrmFence	f,
				g;
	CrmError	err;
	size_t		n;
	uint8_t    *buf;
	char	   *s1,
			   *s2;

	crm_arena_init(&a, 4096);
	CHECK(wkt(&a, "SRS=gcj02;MULTIPOLYGON(((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2)), ((20 0, 30 0, 25 5, 20 0)))", 0, &f, &err));
	n = crm_fence_serialized_size(&f);
	buf = crm_alloc(n);
	crm_fence_serialize(&f, buf);
	CHECK(crm_fence_deserialize(buf, n, &a, &g, &err));
	s1 = to_wkt(&f);
	s2 = to_wkt(&g);
	CHECK_STR_EQ(s1, s2);
	crm_free(s1);
	crm_free(s2);
	CHECK(!crm_fence_deserialize(buf, n - 8, &a, &g, &err));
	buf[12] = 99;				/* ring count */
	CHECK(!crm_fence_deserialize(buf, n, &a, &g, &err));
	crm_free(buf);
	crm_arena_free(&a);
}

/* A random star-shaped polygon with n vertices around (cx, cy), optionally with a hole. */
static void
star(CrmGeoBuilder *b, double cx, double cy, double r, int n, bool hole, unsigned *seed)
{
	crm_geo_begin_polygon(b);
	for (int i = 0; i <= n; i++)
	{
		double		t = 2 * M_PI * (i % n) / n;
		double		rr = r * (0.55 + 0.45 * ((i % n) * 7919 % 1000) / 1000.0);

		crm_geo_add_point(b, cx + rr * cos(t), cy + rr * sin(t));
	}
	crm_geo_end_ring(b);
	if (hole)
	{
		for (int i = 0; i <= 5; i++)
		{
			double		t = -2 * M_PI * (i % 5) / 5;

			crm_geo_add_point(b, cx + 0.3 * r * cos(t), cy + 0.3 * r * sin(t));
		}
		crm_geo_end_ring(b);
	}
	(void) seed;
}

UNIT_TEST(geo_index_agrees_with_brute_force)
{
	CrmArena	a;
	CrmFence	fences[40];
	CrmError	err;
	CrmGeoIndex *ix;
	unsigned	seed = 42;
	int32_t		hits[64];
	int			mismatches = 0;

	crm_arena_init(&a, 65536);
	for (int i = 0; i < 40; i++)
	{
		CrmGeoBuilder b;

		crm_geo_builder_init(&b, &a, 0);
		if (i % 7 == 6)
		{
			CHECK(crm_geo_circle(100 + (i % 8) * 0.5, 30 + (i / 8) * 0.5, 20000, CRM_SRS_WGS84, &fences[i], &err));
			continue;
		}
		star(&b, 100 + (i % 8) * 0.5, 30 + (i / 8) * 0.5, 0.4, 50 + i * 13, i % 3 == 0, &seed);
		if (i % 5 == 0)
			star(&b, 100 + (i % 8) * 0.5 + 0.25, 30 + (i / 8) * 0.5 + 0.25, 0.1, 12, false, &seed);
		CHECK(crm_geo_finish(&b, CRM_SRS_WGS84, &fences[i], &err));
	}
	ix = crm_geo_index_build(fences, 40, &a);
	for (int k = 0; k < 200000; k++)
	{
		double		x = 99.4 + 4.6 * (rand_r(&seed) / (double) RAND_MAX);
		double		y = 29.4 + 3.2 * (rand_r(&seed) / (double) RAND_MAX);
		int			n = crm_geo_index_lookup(ix, x, y, hits, 64),
					m = 0;

		for (int i = 0; i < 40; i++)
			if (crm_fence_covers(&fences[i], x, y))
			{
				if (m >= n || hits[m] != i)
					mismatches++;
				m++;
			}
		if (m != n)
			mismatches++;
	}
	/* vertices themselves are on the boundary: found by both */
	for (int i = 0; i < 40; i++)
		if (fences[i].kind == CRM_FENCE_POLYGONS)
		{
			const CrmGeoRing *r = &fences[i].polys[0].rings[0];

			for (int32_t v = 0; v < r->npts; v++)
				if (crm_geo_index_lookup(ix, r->pts[v].x, r->pts[v].y, hits, 64) == 0)
					mismatches++;
		}
	CHECK_INT_EQ(mismatches, 0);
	crm_arena_free(&a);
}
