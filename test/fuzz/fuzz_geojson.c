/*
 * fuzz_geojson.c - the GeoJSON reader never crashes; whatever it accepts
 * writes out as GeoJSON that reads back, and passes the common fence checks.
 */
#include "fuzz_geo_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmArena	a;
	CrmFence	f,
				g;
	CrmError	err;
	CrmBuf		b;

	fuzz_init();
	crm_arena_init(&a, 4096);
	if (crm_geojson_read((const char *) data, size, CRM_SRS_WGS84, 0, &a, &f, &err))
	{
		fuzz_check_fence(&f);
		crm_buf_init(&b);
		crm_geojson_write(&f, 8, &b);
		if (f.kind == CRM_FENCE_POLYGONS &&
			!crm_geojson_read(b.data, b.len, CRM_SRS_WGS84, 0, &a, &g, &err))
			abort();
		crm_buf_free(&b);
	}
	crm_arena_free(&a);
	return 0;
}
