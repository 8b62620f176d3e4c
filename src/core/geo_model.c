/*
 * geo_model.c - fences: building from raw rings, point-in-polygon, circles,
 * transforms and the binary form.  Validation lives in geo_valid.c.
 */
#include "geo.h"

#include <math.h>
#include <string.h>

extern bool crm_geo_validate_polygon(CrmGeoBuilder *b, int32_t pi, CrmError *err);

void
crm_geo_builder_init(CrmGeoBuilder *b, CrmArena *arena, int flags)
{
	memset(b, 0, sizeof(*b));
	b->arena = arena;
	b->flags = flags;
}

static void *
grow(CrmArena *arena, void *old, size_t elem, int32_t n, int32_t *cap)
{
	void	   *p;
	int32_t		ncap = *cap < 4 ? 8 : *cap * 2;

	p = crm_arena_alloc(arena, elem * (size_t) ncap);
	if (n > 0)
		memcpy(p, old, elem * (size_t) n);
	*cap = ncap;
	return p;
}

void
crm_geo_begin_polygon(CrmGeoBuilder *b)
{
	if (b->npolys == b->polys_cap)
		b->polys = grow(b->arena, b->polys, sizeof(CrmGeoPoly), b->npolys, &b->polys_cap);
	b->polys[b->npolys].nrings = 0;
	b->polys[b->npolys].rings = NULL;
	b->npolys++;
	b->npts = 0;
}

void
crm_geo_add_point(CrmGeoBuilder *b, double x, double y)
{
	if (b->npts == b->pts_cap)
		b->pts = grow(b->arena, b->pts, sizeof(CrmGeoPt), b->npts, &b->pts_cap);
	/* below 1e-300 degrees is zero: subnormal numbers only make geometry tests unstable */
	if (fabs(x) < 1e-300)
		x = 0.0;
	if (fabs(y) < 1e-300)
		y = 0.0;
	b->pts[b->npts].x = x;
	b->pts[b->npts].y = y;
	b->npts++;
}

/* Rings are kept as read (closing vertex included) until crm_geo_finish validates them. */
void
crm_geo_end_ring(CrmGeoBuilder *b)
{
	CrmGeoPoly *p = &b->polys[b->npolys - 1];
	CrmGeoRing *rings = crm_arena_alloc(b->arena, sizeof(CrmGeoRing) * (size_t) (p->nrings + 1));
	CrmGeoRing *r = &rings[p->nrings];

	if (p->nrings > 0)
		memcpy(rings, p->rings, sizeof(CrmGeoRing) * (size_t) p->nrings);
	r->npts = b->npts;
	r->pts = crm_arena_alloc(b->arena, sizeof(CrmGeoPt) * (size_t) (b->npts > 0 ? b->npts : 1));
	if (b->npts > 0)
		memcpy(r->pts, b->pts, sizeof(CrmGeoPt) * (size_t) b->npts);
	p->rings = rings;
	p->nrings++;
	b->npts = 0;
}

bool
crm_geo_check_coord(double x, double y, int position, CrmError *err)
{
	if (!isfinite(x) || !isfinite(y) || x < -180.0 || x > 180.0 || y < -90.0 || y > 90.0)
	{
		crm_fail(err, CRM_ERR_RANGE, position,
				 "coordinate (%g %g) is outside longitude -180..180 / latitude -90..90", x, y);
		crm_error_hint(err, "Give longitude first, then latitude, in degrees.");
		return false;
	}
	return true;
}

static void
box_add(CrmGeoBox *box, double x, double y)
{
	if (x < box->xmin)
		box->xmin = x;
	if (x > box->xmax)
		box->xmax = x;
	if (y < box->ymin)
		box->ymin = y;
	if (y > box->ymax)
		box->ymax = y;
}

static void
fence_compute_box(CrmFence *f)
{
	f->box.xmin = f->box.ymin = INFINITY;
	f->box.xmax = f->box.ymax = -INFINITY;
	for (int32_t i = 0; i < f->npolys; i++)
	{
		const CrmGeoRing *shell = &f->polys[i].rings[0];

		for (int32_t k = 0; k < shell->npts; k++)
			box_add(&f->box, shell->pts[k].x, shell->pts[k].y);
	}
}

bool
crm_geo_finish(CrmGeoBuilder *b, CrmSrs srs, CrmFence *out, CrmError *err)
{
	int32_t		kept = 0;

	memset(out, 0, sizeof(*out));
	out->srs = srs;
	out->kind = CRM_FENCE_POLYGONS;
	for (int32_t i = 0; i < b->npolys; i++)
	{
		if (!crm_geo_validate_polygon(b, i, err))
			return false;
		if (b->polys[i].nrings > 0)		/* repair may drop a degenerate polygon */
			b->polys[kept++] = b->polys[i];
	}
	if (kept == 0)
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "the fence has no polygon");
		crm_error_hint(err, "Give at least one polygon with three or more distinct vertices.");
		return false;
	}
	out->npolys = kept;
	out->polys = b->polys;
	fence_compute_box(out);
	return true;
}

bool
crm_geo_circle(double lon, double lat, double radius_m, CrmSrs srs, CrmFence *out, CrmError *err)
{
	double		dlat,
				dlon,
				c;

	memset(out, 0, sizeof(*out));
	if (!crm_geo_check_coord(lon, lat, 0, err))
		return false;
	if (!isfinite(radius_m) || radius_m <= 0 || radius_m > 1000000.0)
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "circle radius %g m is not between 0 and 1000000", radius_m);
		crm_error_hint(err, "Give the radius in metres, greater than 0 and at most 1000 km.");
		return false;
	}
	out->srs = srs;
	out->kind = CRM_FENCE_CIRCLE;
	out->centre.x = lon;
	out->centre.y = lat;
	out->radius_m = radius_m;
	/* bounding box on the sphere, slightly widened against rounding */
	dlat = radius_m / CRM_EARTH_RADIUS_M * 180.0 / M_PI * 1.000001;
	c = cos((fabs(lat) + dlat) * M_PI / 180.0);
	dlon = (c < 1e-9 || lat + dlat >= 90.0 || lat - dlat <= -90.0) ? 180.0 : dlat / c;
	out->box.xmin = fmax(lon - dlon, -180.0);
	out->box.xmax = fmin(lon + dlon, 180.0);
	out->box.ymin = fmax(lat - dlat, -90.0);
	out->box.ymax = fmin(lat + dlat, 90.0);
	return true;
}

bool
crm_geo_ring_is_ccw(const CrmGeoRing *ring)
{
	double		a = 0.0;

	for (int32_t i = 0; i < ring->npts; i++)
	{
		const CrmGeoPt *p = &ring->pts[i];
		const CrmGeoPt *q = &ring->pts[(i + 1) % ring->npts];

		a += (p->x - ring->pts[0].x) * (q->y - ring->pts[0].y) -
			(q->x - ring->pts[0].x) * (p->y - ring->pts[0].y);
	}
	return a > 0;
}

/*
 * Crossing parity of a horizontal ray to +x, with exact boundary detection:
 * returns -1 when (x, y) lies on the ring, else 1 when inside, 0 outside.
 */
static int
ring_locate(const CrmGeoRing *r, double x, double y)
{
	int			inside = 0;
	const CrmGeoPt *a = &r->pts[r->npts - 1];

	for (int32_t i = 0; i < r->npts; i++)
	{
		const CrmGeoPt *b = &r->pts[i];

		if ((a->y > y) != (b->y > y))
		{
			double		cross = (b->x - a->x) * (y - a->y) - (b->y - a->y) * (x - a->x);

			/*
			 * The edge crosses the ray when the point is left of an upward edge
			 * (or right of a downward one).  Left or right of the edge's whole
			 * x-range is decided by the range, so that rounding in the cross
			 * product can never call a point that is clear of the edge "on" it.
			 */
			if (x < fmin(a->x, b->x))
				inside ^= 1;
			else if (x <= fmax(a->x, b->x))
			{
				if (cross == 0.0)
					return -1;
				if ((cross > 0) == (b->y > a->y))
					inside ^= 1;
			}
		}
		else if (a->y == y && b->y == y && ((a->x <= x && x <= b->x) || (b->x <= x && x <= a->x)))
			return -1;
		else if ((a->y == y && a->x == x) || (b->y == y && b->x == x))
			return -1;
		a = b;
	}
	return inside;
}

/*
 * Covered when on any ring, else by the crossing parity over all rings: for a
 * valid polygon (holes inside the shell, disjoint) this is "inside the shell
 * and in no hole", and it is exactly what the spatial index computes.
 */
bool
crm_geo_poly_covers(const CrmGeoPoly *poly, double x, double y)
{
	int			parity = 0;

	for (int32_t r = 0; r < poly->nrings; r++)
	{
		int			s = ring_locate(&poly->rings[r], x, y);

		if (s < 0)
			return true;
		parity ^= s;
	}
	return parity != 0;
}

bool
crm_fence_covers(const CrmFence *f, double x, double y)
{
	if (x < f->box.xmin || x > f->box.xmax || y < f->box.ymin || y > f->box.ymax)
		return false;
	if (f->kind == CRM_FENCE_CIRCLE)
		return crm_distance_m(f->centre.x, f->centre.y, x, y) <= f->radius_m;
	for (int32_t i = 0; i < f->npolys; i++)
		if (crm_geo_poly_covers(&f->polys[i], x, y))
			return true;
	return false;
}

int64_t
crm_fence_vertex_count(const CrmFence *f)
{
	int64_t		n = 0;

	for (int32_t i = 0; i < f->npolys; i++)
		for (int32_t r = 0; r < f->polys[i].nrings; r++)
			n += f->polys[i].rings[r].npts;
	return n;
}

void
crm_fence_transform(const CrmFence *in, CrmSrs to, CrmArena *arena, CrmFence *out)
{
	*out = *in;
	out->srs = to;
	if (in->srs == to)
		return;
	if (in->kind == CRM_FENCE_CIRCLE)
	{
		CrmError	ignored;

		crm_srs_transform(in->srs, to, in->centre.x, in->centre.y, &out->centre.x, &out->centre.y);
		(void) crm_geo_circle(out->centre.x, out->centre.y, in->radius_m, to, out, &ignored);
		return;
	}
	out->polys = crm_arena_alloc(arena, sizeof(CrmGeoPoly) * (size_t) in->npolys);
	for (int32_t i = 0; i < in->npolys; i++)
	{
		const CrmGeoPoly *ip = &in->polys[i];
		CrmGeoPoly *op = &out->polys[i];

		op->nrings = ip->nrings;
		op->rings = crm_arena_alloc(arena, sizeof(CrmGeoRing) * (size_t) ip->nrings);
		for (int32_t r = 0; r < ip->nrings; r++)
		{
			const CrmGeoRing *ir = &ip->rings[r];

			op->rings[r].npts = ir->npts;
			op->rings[r].pts = crm_arena_alloc(arena, sizeof(CrmGeoPt) * (size_t) ir->npts);
			for (int32_t k = 0; k < ir->npts; k++)
				crm_srs_transform(in->srs, to, ir->pts[k].x, ir->pts[k].y,
								  &op->rings[r].pts[k].x, &op->rings[r].pts[k].y);
		}
	}
	fence_compute_box(out);
}

/* Counter-clockwise ring of n vertices on the circle (destination points on the sphere). */
void
crm_fence_circle_ring(const CrmFence *c, int n, CrmArena *arena, CrmGeoRing *out)
{
	double		lat1 = c->centre.y * M_PI / 180.0,
				lon1 = c->centre.x * M_PI / 180.0;
	double		d = c->radius_m / CRM_EARTH_RADIUS_M;

	out->npts = n;
	out->pts = crm_arena_alloc(arena, sizeof(CrmGeoPt) * (size_t) n);
	for (int i = 0; i < n; i++)
	{
		double		brg = -2.0 * M_PI * i / n;	/* from north, going anticlockwise */
		double		lat2 = asin(sin(lat1) * cos(d) + cos(lat1) * sin(d) * cos(brg));
		double		lon2 = lon1 + atan2(sin(brg) * sin(d) * cos(lat1), cos(d) - sin(lat1) * sin(lat2));

		out->pts[i].x = lon2 * 180.0 / M_PI;
		out->pts[i].y = lat2 * 180.0 / M_PI;
	}
}

/* ---- binary form ----
 *
 *   0  uint32  reserved for the varlena header
 *   4  uint8   format version (1), uint8 srs, uint8 kind, uint8 unused
 *   8  int32   npolys,  12 int32 total rings
 *  16  double  xmin, ymin, xmax, ymax
 *  48  circle: double cx, cy, radius_m
 *      polygons: int32 rings per polygon [npolys], int32 vertices per ring [rings],
 *                padding to 8, double x, y per vertex
 */
#define FENCE_VERSION 1

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

static int32_t
total_rings(const CrmFence *f)
{
	int32_t		n = 0;

	for (int32_t i = 0; i < f->npolys; i++)
		n += f->polys[i].nrings;
	return n;
}

size_t
crm_fence_serialized_size(const CrmFence *f)
{
	if (f->kind == CRM_FENCE_CIRCLE)
		return CRM_FENCE_HDR_SIZE + 3 * sizeof(double);
	return align8(CRM_FENCE_HDR_SIZE + 4 * (size_t) (f->npolys + total_rings(f))) +
		16 * (size_t) crm_fence_vertex_count(f);
}

void
crm_fence_serialize(const CrmFence *f, void *buf)
{
	uint8_t    *b = buf;
	int32_t		nrings = total_rings(f);
	int32_t    *counts;
	double	   *d;
	double		box[4] = {f->box.xmin, f->box.ymin, f->box.xmax, f->box.ymax};

	memset(b, 0, CRM_FENCE_HDR_SIZE);
	b[4] = FENCE_VERSION;
	b[5] = (uint8_t) f->srs;
	b[6] = (uint8_t) f->kind;
	memcpy(b + 8, &f->npolys, 4);
	memcpy(b + 12, &nrings, 4);
	memcpy(b + 16, box, sizeof(box));
	if (f->kind == CRM_FENCE_CIRCLE)
	{
		double		c[3] = {f->centre.x, f->centre.y, f->radius_m};

		memcpy(b + CRM_FENCE_HDR_SIZE, c, sizeof(c));
		return;
	}
	counts = (int32_t *) (b + CRM_FENCE_HDR_SIZE);
	for (int32_t i = 0; i < f->npolys; i++)
		*counts++ = f->polys[i].nrings;
	for (int32_t i = 0; i < f->npolys; i++)
		for (int32_t r = 0; r < f->polys[i].nrings; r++)
			*counts++ = f->polys[i].rings[r].npts;
	d = (double *) (b + align8(CRM_FENCE_HDR_SIZE + 4 * (size_t) (f->npolys + nrings)));
	for (int32_t i = 0; i < f->npolys; i++)
		for (int32_t r = 0; r < f->polys[i].nrings; r++)
		{
			memcpy(d, f->polys[i].rings[r].pts, 16 * (size_t) f->polys[i].rings[r].npts);
			d += 2 * f->polys[i].rings[r].npts;
		}
}

void
crm_fence_header_box(const void *buf, CrmGeoBox *box, CrmSrs *srs)
{
	const uint8_t *b = buf;
	double		v[4];

	memcpy(v, b + 16, sizeof(v));
	box->xmin = v[0];
	box->ymin = v[1];
	box->xmax = v[2];
	box->ymax = v[3];
	*srs = (CrmSrs) b[5];
}

static bool
corrupt(CrmError *err)
{
	crm_fail(err, CRM_ERR_DATA, 0, "geofence value is corrupt");
	crm_error_hint(err, "Recreate the value from its WKT, GeoJSON or KML form.");
	return false;
}

bool
crm_fence_deserialize(const void *buf, size_t len, CrmArena *arena, CrmFence *out, CrmError *err)
{
	const uint8_t *b = buf;
	int32_t		nrings;
	const int32_t *counts;
	const CrmGeoPt *pts;
	size_t		off;
	int64_t		used = 0;

	memset(out, 0, sizeof(*out));
	if (len < CRM_FENCE_HDR_SIZE || b[4] != FENCE_VERSION || b[5] >= CRM_SRS_COUNT || b[6] > 1)
		return corrupt(err);
	out->srs = (CrmSrs) b[5];
	out->kind = (CrmFenceKind) b[6];
	crm_fence_header_box(buf, &out->box, &out->srs);
	if (out->kind == CRM_FENCE_CIRCLE)
	{
		double		c[3];

		if (len < CRM_FENCE_HDR_SIZE + sizeof(c))
			return corrupt(err);
		memcpy(c, b + CRM_FENCE_HDR_SIZE, sizeof(c));
		out->centre.x = c[0];
		out->centre.y = c[1];
		out->radius_m = c[2];
		return true;
	}
	memcpy(&out->npolys, b + 8, 4);
	memcpy(&nrings, b + 12, 4);
	if (out->npolys <= 0 || nrings < out->npolys ||
		(size_t) out->npolys + (size_t) nrings > len / 4)
		return corrupt(err);
	off = align8(CRM_FENCE_HDR_SIZE + 4 * (size_t) (out->npolys + nrings));
	if (off > len)
		return corrupt(err);
	counts = (const int32_t *) (b + CRM_FENCE_HDR_SIZE);
	pts = (const CrmGeoPt *) (b + off);
	out->polys = crm_arena_alloc(arena, sizeof(CrmGeoPoly) * (size_t) out->npolys);
	{
		const int32_t *rc = counts + out->npolys;
		CrmGeoRing *rings = crm_arena_alloc(arena, sizeof(CrmGeoRing) * (size_t) nrings);
		int32_t		ri = 0;

		for (int32_t i = 0; i < out->npolys; i++)
		{
			if (counts[i] <= 0 || counts[i] > nrings - ri)
				return corrupt(err);
			out->polys[i].nrings = counts[i];
			out->polys[i].rings = &rings[ri];
			for (int32_t r = 0; r < counts[i]; r++, ri++)
			{
				if (rc[ri] < 3 || (int64_t) rc[ri] > (int64_t) ((len - off) / 16) - used)
					return corrupt(err);
				rings[ri].npts = rc[ri];
				rings[ri].pts = (CrmGeoPt *) (pts + used);
				used += rc[ri];
			}
		}
		if (ri != nrings || off + 16 * (size_t) used != len)
			return corrupt(err);
	}
	return true;
}
