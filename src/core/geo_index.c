/*
 * geo_index.c - a spatial index over many fences, so that finding the fences
 * that cover a point costs about the same whatever the number of fences and
 * of vertices.
 *
 * Two levels:
 *   - a uniform grid over the bounding box of all fences; each cell lists the
 *     fences whose bounding box overlaps it (ascending, so results keep the
 *     order the fences were given in);
 *   - per polygon, horizontal slabs of equal height; each slab lists the edges
 *     (of all rings) whose latitude range overlaps it.  A point is tested
 *     against the edges of its slab only: crossing parity of a ray to +x over
 *     all rings (valid polygons have disjoint holes inside the shell), with
 *     the boundary counted as inside exactly as crm_geo_poly_covers does.
 */
#include "geo.h"

#include <math.h>
#include <string.h>

typedef struct Edge
{
	double		ax,
				ay,
				bx,
				by;
} Edge;

typedef struct PolyAccel
{
	CrmGeoBox	box;
	int32_t		nslabs;
	double		inv_h;
	int32_t    *slab_start;		/* nslabs + 1 offsets into slab_edges */
	int32_t    *slab_edges;
	Edge	   *edges;
} PolyAccel;

typedef struct FenceAccel
{
	const CrmFence *fence;
	PolyAccel  *polys;
} FenceAccel;

struct CrmGeoIndex
{
	int			nfences;
	FenceAccel *acc;
	CrmGeoBox	box;
	int32_t		gx,
				gy;
	double		inv_cw,
				inv_ch;
	int32_t    *cell_start;
	int32_t    *cell_items;
};

static int32_t
clamp_i(double v, int32_t hi)
{
	if (!(v >= 0))
		return 0;
	if (v >= hi)
		return hi - 1;
	return (int32_t) v;
}

static void
build_poly(const CrmGeoPoly *p, CrmArena *arena, PolyAccel *pa)
{
	int32_t		ne = 0,
				k = 0;
	double		h;
	int32_t    *fill;

	for (int32_t r = 0; r < p->nrings; r++)
		ne += p->rings[r].npts;
	pa->edges = crm_arena_alloc(arena, sizeof(Edge) * (size_t) ne);
	pa->box.xmin = pa->box.ymin = INFINITY;
	pa->box.xmax = pa->box.ymax = -INFINITY;
	for (int32_t r = 0; r < p->nrings; r++)
	{
		const CrmGeoRing *ring = &p->rings[r];

		for (int32_t i = 0; i < ring->npts; i++, k++)
		{
			const CrmGeoPt *a = &ring->pts[i == 0 ? ring->npts - 1 : i - 1];
			const CrmGeoPt *b = &ring->pts[i];

			pa->edges[k] = (Edge) {a->x, a->y, b->x, b->y};
			pa->box.xmin = fmin(pa->box.xmin, b->x);
			pa->box.xmax = fmax(pa->box.xmax, b->x);
			pa->box.ymin = fmin(pa->box.ymin, b->y);
			pa->box.ymax = fmax(pa->box.ymax, b->y);
		}
	}
	pa->nslabs = ne / 2 < 1 ? 1 : (ne / 2 > 65536 ? 65536 : ne / 2);
	h = (pa->box.ymax - pa->box.ymin) / pa->nslabs;
	pa->inv_h = h > 0 ? 1.0 / h : 0.0;
	pa->slab_start = crm_arena_alloc(arena, sizeof(int32_t) * (size_t) (pa->nslabs + 1));
	memset(pa->slab_start, 0, sizeof(int32_t) * (size_t) (pa->nslabs + 1));
	/* two passes: count, then fill */
	for (int pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			for (int32_t s = 0; s < pa->nslabs; s++)
				pa->slab_start[s + 1] += pa->slab_start[s];
			pa->slab_edges = crm_arena_alloc(arena, sizeof(int32_t) * (size_t) (pa->slab_start[pa->nslabs] + 1));
			fill = crm_arena_alloc(arena, sizeof(int32_t) * (size_t) pa->nslabs);
			memcpy(fill, pa->slab_start, sizeof(int32_t) * (size_t) pa->nslabs);
		}
		for (int32_t e = 0; e < ne; e++)
		{
			const Edge *ed = &pa->edges[e];
			int32_t		s0 = clamp_i((fmin(ed->ay, ed->by) - pa->box.ymin) * pa->inv_h, pa->nslabs);
			int32_t		s1 = clamp_i((fmax(ed->ay, ed->by) - pa->box.ymin) * pa->inv_h, pa->nslabs);

			/* rounding is monotonic, so a point within the edge's range maps into [s0, s1] */
			for (int32_t s = s0; s <= s1; s++)
			{
				if (pass == 0)
					pa->slab_start[s + 1]++;
				else
					pa->slab_edges[fill[s]++] = e;
			}
		}
	}
}

/* 1 inside, 0 outside; boundary is inside. */
static bool
poly_accel_covers(const PolyAccel *pa, double x, double y)
{
	int32_t		s;
	int			inside = 0;

	if (x < pa->box.xmin || x > pa->box.xmax || y < pa->box.ymin || y > pa->box.ymax)
		return false;
	s = clamp_i((y - pa->box.ymin) * pa->inv_h, pa->nslabs);
	for (int32_t k = pa->slab_start[s]; k < pa->slab_start[s + 1]; k++)
	{
		const Edge *e = &pa->edges[pa->slab_edges[k]];

		if ((e->ay > y) != (e->by > y))
		{
			double		cross = (e->bx - e->ax) * (y - e->ay) - (e->by - e->ay) * (x - e->ax);

			/* same decisions as ring_locate() in geo_model.c */
			if (x < fmin(e->ax, e->bx))
				inside ^= 1;
			else if (x <= fmax(e->ax, e->bx))
			{
				if (cross == 0.0)
					return true;
				if ((cross > 0) == (e->by > e->ay))
					inside ^= 1;
			}
		}
		else if (e->ay == y && e->by == y && ((e->ax <= x && x <= e->bx) || (e->bx <= x && x <= e->ax)))
			return true;
		else if ((e->ay == y && e->ax == x) || (e->by == y && e->bx == x))
			return true;
	}
	return inside != 0;
}

static void
build_grid(CrmGeoIndex *ix, const CrmFence *fences, int n, CrmArena *arena)
{
	int32_t		g = (int32_t) ceil(sqrt((double) n) * 2.0);
	double		w,
				h;
	int32_t    *fill;
	int32_t		ncell;

	g = g < 1 ? 1 : (g > 512 ? 512 : g);
	ix->gx = ix->gy = g;
	ncell = g * g;
	ix->box.xmin = ix->box.ymin = INFINITY;
	ix->box.xmax = ix->box.ymax = -INFINITY;
	for (int i = 0; i < n; i++)
	{
		ix->box.xmin = fmin(ix->box.xmin, fences[i].box.xmin);
		ix->box.ymin = fmin(ix->box.ymin, fences[i].box.ymin);
		ix->box.xmax = fmax(ix->box.xmax, fences[i].box.xmax);
		ix->box.ymax = fmax(ix->box.ymax, fences[i].box.ymax);
	}
	w = ix->box.xmax - ix->box.xmin;
	h = ix->box.ymax - ix->box.ymin;
	ix->inv_cw = w > 0 ? g / w : 0.0;
	ix->inv_ch = h > 0 ? g / h : 0.0;
	ix->cell_start = crm_arena_alloc(arena, sizeof(int32_t) * (size_t) (ncell + 1));
	memset(ix->cell_start, 0, sizeof(int32_t) * (size_t) (ncell + 1));
	fill = NULL;
	for (int pass = 0; pass < 2; pass++)
	{
		if (pass == 1)
		{
			for (int32_t c = 0; c < ncell; c++)
				ix->cell_start[c + 1] += ix->cell_start[c];
			ix->cell_items = crm_arena_alloc(arena, sizeof(int32_t) * (size_t) (ix->cell_start[ncell] + 1));
			fill = crm_arena_alloc(arena, sizeof(int32_t) * (size_t) ncell);
			memcpy(fill, ix->cell_start, sizeof(int32_t) * (size_t) ncell);
		}
		for (int i = 0; i < n; i++)
		{
			const CrmGeoBox *b = &fences[i].box;
			int32_t		x0 = clamp_i((b->xmin - ix->box.xmin) * ix->inv_cw, g),
						x1 = clamp_i((b->xmax - ix->box.xmin) * ix->inv_cw, g),
						y0 = clamp_i((b->ymin - ix->box.ymin) * ix->inv_ch, g),
						y1 = clamp_i((b->ymax - ix->box.ymin) * ix->inv_ch, g);

			for (int32_t cy = y0; cy <= y1; cy++)
				for (int32_t cx = x0; cx <= x1; cx++)
				{
					if (pass == 0)
						ix->cell_start[cy * g + cx + 1]++;
					else
						ix->cell_items[fill[cy * g + cx]++] = i;
				}
		}
	}
}

CrmGeoIndex *
crm_geo_index_build(const CrmFence *fences, int nfences, CrmArena *arena)
{
	CrmGeoIndex *ix = crm_arena_alloc(arena, sizeof(CrmGeoIndex));

	memset(ix, 0, sizeof(*ix));
	ix->nfences = nfences;
	ix->acc = crm_arena_alloc(arena, sizeof(FenceAccel) * (size_t) (nfences > 0 ? nfences : 1));
	for (int i = 0; i < nfences; i++)
	{
		const CrmFence *f = &fences[i];

		ix->acc[i].fence = f;
		ix->acc[i].polys = NULL;
		if (f->kind != CRM_FENCE_POLYGONS)
			continue;
		ix->acc[i].polys = crm_arena_alloc(arena, sizeof(PolyAccel) * (size_t) f->npolys);
		for (int32_t p = 0; p < f->npolys; p++)
			build_poly(&f->polys[p], arena, &ix->acc[i].polys[p]);
	}
	if (nfences > 0)
		build_grid(ix, fences, nfences, arena);
	return ix;
}

static bool
fence_accel_covers(const FenceAccel *fa, double x, double y)
{
	const CrmFence *f = fa->fence;

	if (x < f->box.xmin || x > f->box.xmax || y < f->box.ymin || y > f->box.ymax)
		return false;
	if (f->kind == CRM_FENCE_CIRCLE)
		return crm_distance_m(f->centre.x, f->centre.y, x, y) <= f->radius_m;
	for (int32_t p = 0; p < f->npolys; p++)
		if (poly_accel_covers(&fa->polys[p], x, y))
			return true;
	return false;
}

int
crm_geo_index_lookup(const CrmGeoIndex *ix, double x, double y, int32_t *hits, int max)
{
	int32_t		cell;
	int			n = 0;

	if (ix->nfences == 0 || !(x >= ix->box.xmin && x <= ix->box.xmax && y >= ix->box.ymin && y <= ix->box.ymax))
		return 0;
	cell = clamp_i((y - ix->box.ymin) * ix->inv_ch, ix->gy) * ix->gx +
		clamp_i((x - ix->box.xmin) * ix->inv_cw, ix->gx);
	for (int32_t k = ix->cell_start[cell]; k < ix->cell_start[cell + 1] && n < max; k++)
	{
		int32_t		i = ix->cell_items[k];

		if (fence_accel_covers(&ix->acc[i], x, y))
			hits[n++] = i;
	}
	return n;
}
