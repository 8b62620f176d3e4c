/*
 * fuzz_geo_common.h - checks every geo fuzz harness applies to an accepted fence:
 * it serializes and reads back, writes as WKT that reads back to the same text,
 * and answers point queries through the index as the plain test does.
 */
#ifndef CRM_FUZZ_GEO_COMMON_H
#define CRM_FUZZ_GEO_COMMON_H

#include "fuzz_common.h"
#include "geo.h"

static void
fuzz_check_fence(const CrmFence *f)
{
	CrmArena	a;
	CrmFence	g;
	CrmError	err;
	CrmBuf		w1,
				w2;
	size_t		n = crm_fence_serialized_size(f);
	void	   *buf = crm_alloc(n);
	CrmGeoIndex *ix;
	int32_t		hits[2];

	crm_arena_init(&a, 4096);
	crm_fence_serialize(f, buf);
	if (!crm_fence_deserialize(buf, n, &a, &g, &err))
		abort();
	crm_buf_init(&w1);
	crm_buf_init(&w2);
	crm_wkt_write(f, &w1);
	if (!crm_wkt_read(w1.data, w1.len, 0, &a, &g, &err))
		abort();
	crm_wkt_write(&g, &w2);
	if (strcmp(w1.data, w2.data) != 0)
		abort();
	ix = crm_geo_index_build(f, 1, &a);
	for (int i = 0; i < 16; i++)
	{
		double		x = f->box.xmin + (f->box.xmax - f->box.xmin) * i / 15.0;
		double		y = f->box.ymin + (f->box.ymax - f->box.ymin) * ((i * 7) % 16) / 15.0;

		if ((crm_geo_index_lookup(ix, x, y, hits, 2) == 1) != crm_fence_covers(f, x, y))
			abort();
	}
	crm_buf_free(&w1);
	crm_buf_free(&w2);
	crm_free(buf);
	crm_arena_free(&a);
}

#endif
