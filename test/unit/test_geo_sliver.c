/*
 * test_geo_sliver.c - a sliver ring (area negligible against its extent) is
 * degenerate whatever its starting vertex and direction, so that what the
 * reader accepts (or repairs) always reads back after being written.
 */
#include "unit.h"
#include "geo.h"

static int
read_wkt(const char *wkt, int flags, CrmArena *a, CrmFence *f, CrmError *err)
{
	return crm_wkt_read(wkt, strlen(wkt), flags, a, f, err);
}

UNIT_TEST(geo_sliver_ring_is_degenerate_in_every_order)
{
	const char *orders[] = {
		"POLYGON((0 1e-19, 116.5 39, 0 0.1, 116.5 39, 0 0, 0 1e-19))",
		"POLYGON((0 0, 116.5 39, 0 0.1, 116.5 39, 0 1e-19, 0 0))",
		"POLYGON((116.5 39, 0 1e-19, 0 0, 116.5 39, 0 0.1, 116.5 39))",
	};
	CrmArena	a;
	CrmFence	f;
	CrmError	err;

	crm_arena_init(&a, 4096);
	for (int i = 0; i < 3; i++)
	{
		CHECK(!read_wkt(orders[i], 0, &a, &f, &err));
		CHECK(strstr(err.message, "no area") != NULL || strstr(err.message, "one line") != NULL);
	}
	/* repair drops the sliver and keeps the real polygon */
	CHECK(read_wkt("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((0 1e-19, 116.5 39, 0 0.1, 116.5 39, 0 0, 0 1e-19)))",
				   CRM_GEO_REPAIR, &a, &f, &err));
	CHECK_INT_EQ(f.npolys, 1);
	crm_arena_free(&a);
}
