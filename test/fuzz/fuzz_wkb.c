/*
 * fuzz_wkb.c - the WKB reader never reads out of bounds or crashes; whatever
 * it accepts passes the common fence checks.
 */
#include "fuzz_geo_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmArena	a;
	CrmFence	f;
	CrmError	err;
	uint8_t    *copy;

	fuzz_init();
	copy = crm_alloc(size > 0 ? size : 1);
	memcpy(copy, data, size);	/* exact-size buffer so ASan sees overreads */
	crm_arena_init(&a, 4096);
	if (crm_wkb_read(copy, size, CRM_SRS_WGS84, 0, &a, &f, &err))
		fuzz_check_fence(&f);
	crm_arena_free(&a);
	crm_free(copy);
	return 0;
}
