/*
 * fuzz_wkt.c - the WKT reader never crashes; whatever it accepts round-trips.
 */
#include "fuzz_geo_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmArena	a;
	CrmFence	f;
	CrmError	err;

	fuzz_init();
	crm_arena_init(&a, 4096);
	if (crm_wkt_read((const char *) data, size, size % 2 ? CRM_GEO_REPAIR : 0, &a, &f, &err))
		fuzz_check_fence(&f);
	crm_arena_free(&a);
	return 0;
}
