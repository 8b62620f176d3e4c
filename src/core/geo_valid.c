/*
 * geo_valid.c - validation (and explicit repair) of polygons as read.
 *
 * Rules, checked ring by ring in this order; errors name the polygon, the
 * ring and the vertex (all 1-based, vertices numbered as in the input):
 *   1. a ring has at least 4 vertices (3 distinct plus the closing one);
 *   2. a ring is closed (last vertex = first vertex);
 *   3. consecutive duplicate vertices are dropped silently; a ring must keep
 *      3 distinct vertices and a non-zero area;
 *   4. a ring does not cross itself: no two edges cross or overlap along a
 *      stretch.  Touching itself in a single point and zero-width spikes
 *      (an edge doubling back on the previous one) are tolerated, since they
 *      do not change what is inside; under CRM_GEO_STRICT (the
 *      strict OGC / KML 2.2 reading) they are errors too;
 *   5. shells are made counter-clockwise and holes clockwise; with
 *      CRM_GEO_STRICT a clockwise shell is an error (KML 2.2 rule);
 *   6. every hole lies inside its shell (all its vertices covered by the
 *      shell, no edge of it crossing the shell or running along it);
 *   7. holes do not overlap one another (touching in a point is allowed).
 * With CRM_GEO_REPAIR, rule 1/3 failures drop the ring (a polygon whose shell is
 * dropped is dropped), rule 2 closes the ring, rule 6 drops the hole.  Rule 4
 * is never repaired: there is no unique right answer for a crossing ring.
 */
#include "geo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern bool crm_geo_validate_polygon(CrmGeoBuilder *b, int32_t pi, CrmError *err);

typedef struct RingCtx
{
	CrmGeoBuilder *b;
	int32_t		poly;			/* 1-based */
	int32_t		ring;			/* 1-based */
	int32_t    *orig;			/* input vertex number of each kept vertex */
} RingCtx;

static const char *
ring_label(const RingCtx *c, char *buf, size_t n)
{
	if (c->ring == 1)
		snprintf(buf, n, "polygon %d, exterior ring", c->poly);
	else
		snprintf(buf, n, "polygon %d, hole %d (ring %d)", c->poly, c->ring - 1, c->ring);
	return buf;
}

static double
orient(const CrmGeoPt *a, const CrmGeoPt *b, const CrmGeoPt *c)
{
	return (b->x - a->x) * (c->y - a->y) - (b->y - a->y) * (c->x - a->x);
}

static int
sgn(double v)
{
	return (v > 0) - (v < 0);
}

static bool
on_segment(const CrmGeoPt *a, const CrmGeoPt *b, const CrmGeoPt *p)
{
	return fmin(a->x, b->x) <= p->x && p->x <= fmax(a->x, b->x) &&
		fmin(a->y, b->y) <= p->y && p->y <= fmax(a->y, b->y);
}

/* How segments ab and cd meet. */
typedef enum Meet
{
	MEET_NONE, MEET_TOUCH, MEET_CROSS, MEET_OVERLAP
} Meet;

static bool
pt_less(const CrmGeoPt *p, const CrmGeoPt *q)
{
	return p->x < q->x || (p->x == q->x && p->y < q->y);
}

/*
 * Endpoints and segments are put in a canonical order first, so that the
 * floating-point answer does not depend on ring direction or starting vertex.
 */
static Meet
segments_meet(const CrmGeoPt *a, const CrmGeoPt *b, const CrmGeoPt *c, const CrmGeoPt *d)
{
	const CrmGeoPt *t;
	int			o1,
				o2,
				o3,
				o4;

	if (pt_less(b, a))
		t = a, a = b, b = t;
	if (pt_less(d, c))
		t = c, c = d, d = t;
	if (pt_less(c, a) || (c->x == a->x && c->y == a->y && pt_less(d, b)))
	{
		t = a, a = c, c = t;
		t = b, b = d, d = t;
	}
	o1 = sgn(orient(a, b, c));
	o2 = sgn(orient(a, b, d));
	o3 = sgn(orient(c, d, a));
	o4 = sgn(orient(c, d, b));
	if (o1 * o2 < 0 && o3 * o4 < 0)
		return MEET_CROSS;
	if (o1 == 0 && o2 == 0)
	{
		bool		use_x = fabs(b->x - a->x) >= fabs(b->y - a->y);
		double		a0 = use_x ? fmin(a->x, b->x) : fmin(a->y, b->y),
					a1 = use_x ? fmax(a->x, b->x) : fmax(a->y, b->y),
					c0 = use_x ? fmin(c->x, d->x) : fmin(c->y, d->y),
					c1 = use_x ? fmax(c->x, d->x) : fmax(c->y, d->y);
		double		len = fmin(a1, c1) - fmax(a0, c0);

		return len > 0 ? MEET_OVERLAP : (len == 0 ? MEET_TOUCH : MEET_NONE);
	}
	if ((o1 == 0 && on_segment(a, b, c)) || (o2 == 0 && on_segment(a, b, d)) ||
		(o3 == 0 && on_segment(c, d, a)) || (o4 == 0 && on_segment(c, d, b)))
		return MEET_TOUCH;
	return MEET_NONE;
}

typedef struct EdgeSpan
{
	double		xmin,
				xmax;
	int32_t		i;
} EdgeSpan;

static int
span_cmp(const void *a, const void *b)
{
	double		x = ((const EdgeSpan *) a)->xmin,
				y = ((const EdgeSpan *) b)->xmin;

	return (x > y) - (x < y);
}

static bool
report_crossing(const RingCtx *c, CrmError *err, int32_t i, int32_t j, int32_t n, bool touch)
{
	char		label[96];
	const CrmGeoRing *r = &c->b->polys[c->poly - 1].rings[c->ring - 1];

	ring_label(c, label, sizeof(label));
	crm_fail(err, CRM_ERR_INVALID, 0, "%s %s itself: the edge from vertex %d meets the edge from vertex %d",
			 label, touch ? "touches" : "crosses", c->orig[i], c->orig[j]);
	crm_error_detail(err, "Edge (%.7f %.7f)-(%.7f %.7f) meets edge (%.7f %.7f)-(%.7f %.7f).",
					 r->pts[i].x, r->pts[i].y, r->pts[(i + 1) % n].x, r->pts[(i + 1) % n].y,
					 r->pts[j].x, r->pts[j].y, r->pts[(j + 1) % n].x, r->pts[(j + 1) % n].y);
	crm_error_hint(err, "Redraw the ring so that its edges do not cross (split a figure-eight into two polygons).");
	return false;
}

/* Rule 4, by a sweep over edges sorted by their smallest x. */
static bool
check_self_crossing(const RingCtx *c, const CrmGeoRing *r, CrmError *err)
{
	int32_t		n = r->npts;
	EdgeSpan   *sp = crm_arena_alloc(c->b->arena, sizeof(EdgeSpan) * (size_t) n);
	bool		strict = (c->b->flags & CRM_GEO_STRICT) != 0;

	for (int32_t i = 0; i < n; i++)
	{
		sp[i].xmin = fmin(r->pts[i].x, r->pts[(i + 1) % n].x);
		sp[i].xmax = fmax(r->pts[i].x, r->pts[(i + 1) % n].x);
		sp[i].i = i;
	}
	qsort(sp, (size_t) n, sizeof(EdgeSpan), span_cmp);
	for (int32_t s = 0; s < n; s++)
		for (int32_t t = s + 1; t < n && sp[t].xmin <= sp[s].xmax; t++)
		{
			int32_t		i = sp[s].i < sp[t].i ? sp[s].i : sp[t].i;
			int32_t		j = sp[s].i < sp[t].i ? sp[t].i : sp[s].i;
			const CrmGeoPt *a = &r->pts[i],
					   *b = &r->pts[(i + 1) % n],
					   *p = &r->pts[j],
					   *q = &r->pts[(j + 1) % n];
			Meet		m;

			if (j == i + 1)		/* b == p: a spike doubles back */
			{
				if (strict && orient(a, b, q) == 0 && (a->x - b->x) * (q->x - b->x) + (a->y - b->y) * (q->y - b->y) > 0)
					return report_crossing(c, err, i, j, n, true);
			}
			else if (i == 0 && j == n - 1)	/* q == a */
			{
				if (strict && orient(p, a, b) == 0 && (p->x - a->x) * (b->x - a->x) + (p->y - a->y) * (b->y - a->y) > 0)
					return report_crossing(c, err, i, j, n, true);
			}
			else
			{
				m = segments_meet(a, b, p, q);
				if (m == MEET_CROSS || m == MEET_OVERLAP || (m == MEET_TOUCH && strict))
					return report_crossing(c, err, i, j, n, m == MEET_TOUCH);
			}
		}
	return true;
}

/* Reverses the direction, keeping the first vertex first. */
static void
reverse_ring(CrmGeoRing *r, int32_t *orig)
{
	for (int32_t i = 1, j = r->npts - 1; i < j; i++, j--)
	{
		CrmGeoPt	t = r->pts[i];
		int32_t		o = orig[i];

		r->pts[i] = r->pts[j];
		r->pts[j] = t;
		orig[i] = orig[j];
		orig[j] = o;
	}
}

static double
ring_area2(const CrmGeoRing *r)
{
	double		a = 0.0;

	for (int32_t i = 0; i < r->npts; i++)
	{
		const CrmGeoPt *p = &r->pts[i];
		const CrmGeoPt *q = &r->pts[(i + 1) % r->npts];

		a += (p->x - r->pts[0].x) * (q->y - r->pts[0].y) - (q->x - r->pts[0].x) * (p->y - r->pts[0].y);
	}
	return a;
}

/*
 * A ring encloses no area when twice its area is negligible against its
 * bounding box.  An exact "== 0" is not stable: the rounding of the shoelace
 * sum depends on the starting vertex and direction, so a sliver could pass as
 * read and fail once written back in canonical order.
 */
static bool
area_negligible(const CrmGeoRing *r)
{
	double		xmin = r->pts[0].x,
				xmax = r->pts[0].x,
				ymin = r->pts[0].y,
				ymax = r->pts[0].y;

	for (int32_t i = 1; i < r->npts; i++)
	{
		xmin = fmin(xmin, r->pts[i].x);
		xmax = fmax(xmax, r->pts[i].x);
		ymin = fmin(ymin, r->pts[i].y);
		ymax = fmax(ymax, r->pts[i].y);
	}
	return fabs(ring_area2(r)) <= 1e-12 * (xmax - xmin) * (ymax - ymin);
}

/* All vertices on one line, tested against the line through the lexicographically extreme vertices (order-independent). */
static bool
all_collinear(const CrmGeoRing *r)
{
	const CrmGeoPt *lo = &r->pts[0],
			   *hi = &r->pts[0];

	for (int32_t i = 1; i < r->npts; i++)
	{
		if (pt_less(&r->pts[i], lo))
			lo = &r->pts[i];
		if (pt_less(hi, &r->pts[i]))
			hi = &r->pts[i];
	}
	for (int32_t i = 0; i < r->npts; i++)
		if (orient(lo, hi, &r->pts[i]) != 0.0)
			return false;
	return true;
}

static int
degenerate(RingCtx *c, bool repair, const char *why, CrmError *err)
{
	char		label[96];

	if (repair)
		return 0;
	ring_label(c, label, sizeof(label));
	crm_fail(err, CRM_ERR_INVALID, 0, "%s is degenerate: %s", label, why);
	crm_error_hint(err, "Give at least three distinct vertices that enclose an area, or call crm.geofence_repair() to drop the ring.");
	return -1;
}

/*
 * Rules 1-3: returns 1 when the ring is usable, 0 when repair dropped it,
 * -1 on error.  On success the closing vertex and duplicates are gone.
 */
static int
check_ring_shape(RingCtx *c, CrmGeoRing *r, CrmError *err)
{
	char		label[96];
	bool		repair = (c->b->flags & CRM_GEO_REPAIR) != 0;
	int32_t		n = r->npts,
				k = 0;

	ring_label(c, label, sizeof(label));
	if (n < 4 && !repair)
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "%s has too few points: %d vertices, a ring needs at least 4", label, n);
		crm_error_detail(err, "A ring needs 3 distinct vertices plus the closing vertex (equal to the first).");
		crm_error_hint(err, "Add vertices, or call crm.geofence_repair() to drop degenerate rings.");
		return -1;
	}
	if (n > 0 && (r->pts[0].x != r->pts[n - 1].x || r->pts[0].y != r->pts[n - 1].y))
	{
		if (!repair)
		{
			crm_fail(err, CRM_ERR_INVALID, 0, "%s is not closed: vertex %d differs from vertex 1", label, n);
			crm_error_detail(err, "The first vertex is (%.7f %.7f), the last is (%.7f %.7f).",
							 r->pts[0].x, r->pts[0].y, r->pts[n - 1].x, r->pts[n - 1].y);
			crm_error_hint(err, "Repeat the first vertex at the end of the ring, or call crm.geofence_repair() to close it.");
			return -1;
		}
	}
	else if (n > 0)
		n--;					/* drop the closing vertex */
	c->orig = crm_arena_alloc(c->b->arena, sizeof(int32_t) * (size_t) (n > 0 ? n : 1));
	for (int32_t i = 0; i < n; i++)
	{
		if (k > 0 && r->pts[i].x == r->pts[k - 1].x && r->pts[i].y == r->pts[k - 1].y)
			continue;
		r->pts[k] = r->pts[i];
		c->orig[k++] = i + 1;
	}
	while (k > 1 && r->pts[k - 1].x == r->pts[0].x && r->pts[k - 1].y == r->pts[0].y)
		k--;
	r->npts = k;
	if (k < 3)
		return degenerate(c, repair, "fewer than 3 distinct vertices", err);
	return 1;
}

/* Rule 6: 1 inside, 0 outside (dropped under repair), -1 error. */
static int
check_hole_inside(RingCtx *c, const CrmGeoPoly *shell_only, const CrmGeoRing *h, CrmError *err)
{
	char		label[96];
	const CrmGeoRing *s = &shell_only->rings[0];
	int32_t		bad = -1;

	for (int32_t i = 0; i < h->npts && bad < 0; i++)
	{
		const CrmGeoPt *p = &h->pts[i],
				   *q = &h->pts[(i + 1) % h->npts];

		/* the vertex and the middle of the edge from it (an edge may leave through a touch point) */
		if (!crm_geo_poly_covers(shell_only, p->x, p->y) ||
			!crm_geo_poly_covers(shell_only, (p->x + q->x) / 2, (p->y + q->y) / 2))
			bad = i;
	}
	for (int32_t i = 0; i < h->npts && bad < 0; i++)
		for (int32_t j = 0; j < s->npts && bad < 0; j++)
			if (segments_meet(&h->pts[i], &h->pts[(i + 1) % h->npts], &s->pts[j],
							  &s->pts[(j + 1) % s->npts]) >= MEET_CROSS)
				bad = i;
	if (bad < 0)
		return 1;
	if (c->b->flags & CRM_GEO_REPAIR)
		return 0;
	ring_label(c, label, sizeof(label));
	crm_fail(err, CRM_ERR_INVALID, 0, "%s is not inside the exterior ring: hole outside shell at vertex %d",
			 label, c->orig[bad]);
	crm_error_detail(err, "Vertex %d (%.7f %.7f) of the hole is outside the exterior ring, or an edge from it crosses that ring.",
					 c->orig[bad], h->pts[bad].x, h->pts[bad].y);
	crm_error_hint(err, "Holes must lie inside their polygon's exterior ring; make it a separate polygon, or call crm.geofence_repair() to drop it.");
	return -1;
}

/* A point strictly inside ring r (not on it). */
static bool
strictly_inside(const CrmGeoRing *r, const CrmGeoPt *pt)
{
	CrmGeoPoly	one = {1, (CrmGeoRing *) r};

	if (!crm_geo_poly_covers(&one, pt->x, pt->y))
		return false;
	for (int32_t i = 0; i < r->npts; i++)
	{
		const CrmGeoPt *a = &r->pts[i],
				   *b = &r->pts[(i + 1) % r->npts];

		if (orient(a, b, pt) == 0 && on_segment(a, b, pt))
			return false;
	}
	return true;
}

/*
 * Holes must not overlap one another (they may touch in points): no edges
 * crossing or running along each other, and no hole inside another.
 */
static bool
check_holes_disjoint(RingCtx *c, const CrmGeoPoly *p, int32_t kept, const CrmGeoRing *h, CrmError *err)
{
	char		label[96];

	for (int32_t o = 1; o < kept; o++)
	{
		const CrmGeoRing *g = &p->rings[o];
		bool		bad = false;

		for (int32_t i = 0; i < h->npts && !bad; i++)
		{
			CrmGeoPt	mid = {(h->pts[i].x + h->pts[(i + 1) % h->npts].x) / 2,
			(h->pts[i].y + h->pts[(i + 1) % h->npts].y) / 2};

			bad = strictly_inside(g, &h->pts[i]) || strictly_inside(g, &mid);
		}
		for (int32_t i = 0; i < g->npts && !bad; i++)
		{
			CrmGeoPt	mid = {(g->pts[i].x + g->pts[(i + 1) % g->npts].x) / 2,
			(g->pts[i].y + g->pts[(i + 1) % g->npts].y) / 2};

			bad = strictly_inside(h, &g->pts[i]) || strictly_inside(h, &mid);
		}
		for (int32_t i = 0; i < h->npts && !bad; i++)
			for (int32_t j = 0; j < g->npts && !bad; j++)
				bad = segments_meet(&h->pts[i], &h->pts[(i + 1) % h->npts], &g->pts[j],
									&g->pts[(j + 1) % g->npts]) >= MEET_CROSS;
		if (bad)
		{
			ring_label(c, label, sizeof(label));
			crm_fail(err, CRM_ERR_INVALID, 0, "%s overlaps hole %d (ring %d)", label, o, o + 1);
			crm_error_hint(err, "Holes of one polygon must not overlap; merge them into one hole.");
			return false;
		}
	}
	return true;
}

static bool
orient_ring(RingCtx *c, CrmGeoRing *r, CrmError *err)
{
	bool		ccw = ring_area2(r) > 0;
	char		label[96];

	if (c->ring == 1 && !ccw && (c->b->flags & CRM_GEO_STRICT))
	{
		ring_label(c, label, sizeof(label));
		crm_fail(err, CRM_ERR_INVALID, 0, "%s is oriented clockwise", label);
		crm_error_detail(err, "Strict orientation requires exterior rings counter-clockwise (KML 2.2, OGC simple features).");
		crm_error_hint(err, "Reverse the order of the ring's vertices, or read it without strict orientation.");
		return false;
	}
	if ((c->ring == 1) != ccw)
		reverse_ring(r, c->orig);
	return true;
}

bool
crm_geo_validate_polygon(CrmGeoBuilder *b, int32_t pi, CrmError *err)
{
	CrmGeoPoly *p = &b->polys[pi];
	RingCtx		c = {b, pi + 1, 0, NULL};
	int32_t		kept = 0;
	CrmGeoPoly	shell_only;

	for (int32_t r = 0; r < p->nrings; r++)
	{
		CrmGeoRing *ring = &p->rings[r];
		int			s;

		c.ring = r + 1;
		s = check_ring_shape(&c, ring, err);
		if (s < 0)
			return false;
		if (s == 0)
		{
			if (r == 0)
			{
				p->nrings = 0;	/* the shell is gone: drop the polygon */
				return true;
			}
			continue;
		}
		if (all_collinear(ring))
		{
			s = degenerate(&c, (b->flags & CRM_GEO_REPAIR) != 0, "all vertices lie on one line", err);
			if (s < 0)
				return false;
			if (r == 0)
			{
				p->nrings = 0;
				return true;
			}
			continue;
		}
		if (!check_self_crossing(&c, ring, err))
			return false;
		if (area_negligible(ring))
		{
			/* only zero-width spikes: nothing inside */
			s = degenerate(&c, (b->flags & CRM_GEO_REPAIR) != 0, "the ring encloses no area", err);
			if (s < 0)
				return false;
			if (r == 0)
			{
				p->nrings = 0;
				return true;
			}
			continue;
		}
		if (!orient_ring(&c, ring, err))
			return false;
		if (r > 0)
		{
			shell_only.nrings = 1;
			shell_only.rings = &p->rings[0];
			s = check_hole_inside(&c, &shell_only, ring, err);
			if (s < 0)
				return false;
			if (s == 0)
				continue;
		}
		if (!check_holes_disjoint(&c, p, kept, ring, err))
			return false;
		p->rings[kept++] = *ring;
	}
	p->nrings = kept;
	return true;
}
