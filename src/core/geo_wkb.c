/*
 * geo_wkb.c - Well-Known Binary polygons in (what PostGIS ST_AsBinary /
 * ST_AsEWKB hand over).
 *
 * Accepts Polygon (3) and MultiPolygon (6) in either byte order, with ISO
 * dimension codes (1003 / 2003 / 3003 for Z / M / ZM) or EWKB flags
 * (0x80000000 Z, 0x40000000 M, 0x20000000 SRID); extra ordinates are read and
 * ignored.  An embedded SRID must be 4326 (or 0); the coordinate system is the
 * caller's.
 */
#include "geo.h"

#include <string.h>

typedef struct WkbReader
{
	const uint8_t *p;
	size_t		len;
	size_t		pos;
	CrmError   *err;
} WkbReader;

static bool
wfail(WkbReader *r, const char *what)
{
	crm_fail(r->err, CRM_ERR_INVALID, (int) r->pos + 1, "invalid WKB: %s at byte %d", what, (int) r->pos + 1);
	crm_error_hint(r->err, "Hand over ST_AsBinary(geom) of a POLYGON or MULTIPOLYGON in longitude/latitude.");
	return false;
}

static bool
get_u32(WkbReader *r, bool le, uint32_t *v)
{
	const uint8_t *b;

	if (r->len - r->pos < 4)
		return wfail(r, "unexpected end of data");
	b = r->p + r->pos;
	*v = le ? (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24
		: (uint32_t) b[3] | (uint32_t) b[2] << 8 | (uint32_t) b[1] << 16 | (uint32_t) b[0] << 24;
	r->pos += 4;
	return true;
}

static bool
get_f64(WkbReader *r, bool le, double *v)
{
	uint64_t	u = 0;

	if (r->len - r->pos < 8)
		return wfail(r, "unexpected end of data");
	for (int i = 0; i < 8; i++)
		u |= (uint64_t) r->p[r->pos + (le ? i : 7 - i)] << (8 * i);
	memcpy(v, &u, 8);
	r->pos += 8;
	return true;
}

/* Reads byte order and type; returns the base type and the ordinate count. */
static bool
read_header(WkbReader *r, bool *le, uint32_t *base, int *ndims)
{
	uint32_t	t;

	if (r->pos >= r->len)
		return wfail(r, "unexpected end of data");
	if (r->p[r->pos] > 1)
		return wfail(r, "byte order must be 0 or 1");
	*le = r->p[r->pos++] == 1;
	if (!get_u32(r, *le, &t))
		return false;
	*ndims = 2 + ((t & 0x80000000u) != 0) + ((t & 0x40000000u) != 0);
	if (t & 0x20000000u)
	{
		uint32_t	srid;

		if (!get_u32(r, *le, &srid))
			return false;
		if (srid != 4326 && srid != 0)
		{
			crm_fail(r->err, CRM_ERR_INVALID, (int) r->pos, "WKB has SRID %u; only 4326 (longitude/latitude) is supported", srid);
			crm_error_hint(r->err, "Transform first: ST_AsBinary(ST_Transform(geom, 4326)).");
			return false;
		}
	}
	t &= 0x0FFFFFFFu;
	if (t >= 1000 && t < 4000)
	{
		*ndims = 2 + (t / 1000 == 3 ? 2 : 1);
		t %= 1000;
	}
	*base = t;
	return true;
}

static bool
read_poly_body(WkbReader *r, bool le, int ndims, CrmGeoBuilder *b)
{
	uint32_t	nrings;

	if (!get_u32(r, le, &nrings))
		return false;
	if (nrings == 0)
		return wfail(r, "empty polygon");
	if (nrings > (r->len - r->pos) / 4)
		return wfail(r, "ring count larger than the data");
	crm_geo_begin_polygon(b);
	for (uint32_t i = 0; i < nrings; i++)
	{
		uint32_t	npts;

		if (!get_u32(r, le, &npts))
			return false;
		if (npts > (r->len - r->pos) / (8 * (size_t) ndims))
			return wfail(r, "point count larger than the data");
		for (uint32_t k = 0; k < npts; k++)
		{
			double		x,
						y,
						ignored;
			int			at = (int) r->pos + 1;

			if (!get_f64(r, le, &x) || !get_f64(r, le, &y))
				return false;
			for (int d = 2; d < ndims; d++)
				if (!get_f64(r, le, &ignored))
					return false;
			if (!crm_geo_check_coord(x, y, at, r->err))
				return false;
			crm_geo_add_point(b, x, y);
		}
		crm_geo_end_ring(b);
	}
	return true;
}

bool
crm_wkb_read(const uint8_t *data, size_t len, CrmSrs srs, int flags, CrmArena *arena,
			 CrmFence *out, CrmError *err)
{
	WkbReader	r = {data, len, 0, err};
	CrmGeoBuilder b;
	bool		le;
	uint32_t	type;
	int			ndims;

	crm_error_clear(err);
	crm_geo_builder_init(&b, arena, flags);
	if (!read_header(&r, &le, &type, &ndims))
		return false;
	if (type == 3)
	{
		if (!read_poly_body(&r, le, ndims, &b))
			return false;
	}
	else if (type == 6)
	{
		uint32_t	n;

		if (!get_u32(&r, le, &n))
			return false;
		if (n == 0 || n > (len - r.pos) / 9)
			return wfail(&r, "bad polygon count");
		for (uint32_t i = 0; i < n; i++)
		{
			bool		ple;
			uint32_t	ptype;
			int			pdims;

			if (!read_header(&r, &ple, &ptype, &pdims))
				return false;
			if (ptype != 3)
				return wfail(&r, "a MultiPolygon member is not a Polygon");
			if (!read_poly_body(&r, ple, pdims, &b))
				return false;
		}
	}
	else
	{
		crm_fail(err, CRM_ERR_INVALID, 2, "WKB geometry type %u is not a Polygon (3) or MultiPolygon (6)", type);
		crm_error_hint(err, "Only polygons can be fences; for a radius around a point use crm.geofence_circle().");
		return false;
	}
	if (r.pos != len)
		return wfail(&r, "trailing bytes");
	return crm_geo_finish(&b, srs, out, err);
}
