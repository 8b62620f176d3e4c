/*
 * fuzz_kml.c - the KML reader (libxml2 with the hardened options) never
 * crashes or leaks; whatever it accepts passes the common fence checks and
 * writes out as KML that reads back strictly.
 */
#include "fuzz_geo_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_written(const CrmFence *f)
{
	CrmArena	a;
	CrmFence	g;
	CrmError	err;
	CrmBuf		b;
	void	   *doc;

	if (f->kind != CRM_FENCE_POLYGONS)
		return;
	crm_arena_init(&a, 4096);
	crm_buf_init(&b);
	crm_kml_write(f, "n", 8, &b);
	doc = crm_kml_open(b.data, b.len, &err);
	if (doc == NULL || !crm_kml_fence(doc, f->srs, 0, &a, &g, &err))
		abort();
	crm_kml_close(doc);
	crm_buf_free(&b);
	crm_arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CrmArena	a;
	CrmFence	f;
	CrmError	err;
	CrmKmlPlacemark *pms;
	int			n;
	void	   *doc;

	fuzz_init();
	doc = crm_kml_open((const char *) data, size, &err);
	if (doc == NULL)
		return 0;
	crm_arena_init(&a, 4096);
	if (crm_kml_fence(doc, CRM_SRS_WGS84, 0, &a, &f, &err))
	{
		fuzz_check_fence(&f);
		check_written(&f);
	}
	if (crm_kml_placemarks(doc, CRM_SRS_WGS84, 0, &a, &pms, &n, &err))
		for (int i = 0; i < n; i++)
			fuzz_check_fence(&pms[i].fence);
	crm_kml_close(doc);
	crm_arena_free(&a);
	return 0;
}
