/*
 * geo_wkt.c - Well-Known Text for fences.
 *
 *   [SRID=4326; | SRS=wgs84|gcj02|bd09;]
 *   POLYGON [Z|M|ZM] ((x y, ...), (hole ...))
 *   MULTIPOLYGON [Z|M|ZM] (((x y, ...)), ((...), (...)))
 *   CIRCLE (x y, radius_m)             -- extension: a circle fence
 *
 * x is longitude, y latitude; a third and fourth ordinate are read and ignored.
 * Output is EWKT for WGS-84 (SRID=4326;...), which PostGIS reads as is, and
 * SRS=gcj02; / SRS=bd09; otherwise.
 */
#include "geo.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct WktReader
{
	const char *s;
	size_t		len;
	size_t		pos;
	int			ndims;			/* ordinates per vertex: 2, 3 or 4 */
	CrmError   *err;
} WktReader;

static void
skip_ws(WktReader *r)
{
	while (r->pos < r->len && isspace((unsigned char) r->s[r->pos]))
		r->pos++;
}

static bool
syntax(WktReader *r, const char *expected)
{
	crm_fail(r->err, CRM_ERR_SYNTAX, (int) r->pos + 1, "invalid WKT: expected %s at character %d",
			 expected, (int) r->pos + 1);
	crm_error_hint(r->err, "Write e.g. POLYGON((116.3 39.9, 116.5 39.9, 116.5 40.0, 116.3 39.9)), longitude first.");
	return false;
}

static bool
accept_char(WktReader *r, char c)
{
	skip_ws(r);
	if (r->pos < r->len && r->s[r->pos] == c)
	{
		r->pos++;
		return true;
	}
	return false;
}

static bool
expect_char(WktReader *r, char c)
{
	char		what[8];

	if (accept_char(r, c))
		return true;
	snprintf(what, sizeof(what), "\"%c\"", c);
	return syntax(r, what);
}

/* A keyword of letters (case-insensitive); returns its length (0 when none). */
static size_t
read_word(WktReader *r, char *out, size_t cap)
{
	size_t		n = 0;

	skip_ws(r);
	while (r->pos + n < r->len && isalpha((unsigned char) r->s[r->pos + n]))
	{
		if (n + 1 < cap)
			out[n] = (char) toupper((unsigned char) r->s[r->pos + n]);
		n++;
	}
	out[n < cap ? n : cap - 1] = '\0';
	return n;
}

static bool
read_number(WktReader *r, double *v)
{
	char		buf[64];
	size_t		n = 0;
	char	   *end;

	skip_ws(r);
	while (r->pos + n < r->len && n < sizeof(buf) - 1 &&
		   (isdigit((unsigned char) r->s[r->pos + n]) || strchr("+-.eE", r->s[r->pos + n]) != NULL))
	{
		buf[n] = r->s[r->pos + n];
		n++;
	}
	buf[n] = '\0';
	if (n == 0)
		return syntax(r, "a number");
	*v = strtod(buf, &end);
	if (*end != '\0' || end == buf)
		return syntax(r, "a number");
	r->pos += n;
	return true;
}

static bool
read_vertex(WktReader *r, CrmGeoBuilder *b)
{
	double		x,
				y,
				ignored;
	int			at = (int) r->pos + 1;

	if (!read_number(r, &x) || !read_number(r, &y))
		return false;
	for (int d = 2; d < r->ndims; d++)
		if (!read_number(r, &ignored))
			return false;
	if (r->ndims == 2)
	{
		/* undeclared Z/M ordinates are tolerated too */
		skip_ws(r);
		while (r->pos < r->len && (isdigit((unsigned char) r->s[r->pos]) || r->s[r->pos] == '-'))
			if (!read_number(r, &ignored))
				return false;
	}
	if (!crm_geo_check_coord(x, y, at, r->err))
		return false;
	crm_geo_add_point(b, x, y);
	return true;
}

static bool
read_ring(WktReader *r, CrmGeoBuilder *b)
{
	if (!expect_char(r, '('))
		return false;
	do
	{
		if (!read_vertex(r, b))
			return false;
	} while (accept_char(r, ','));
	if (!expect_char(r, ')'))
		return false;
	crm_geo_end_ring(b);
	return true;
}

static bool
read_polygon(WktReader *r, CrmGeoBuilder *b)
{
	if (!expect_char(r, '('))
		return false;
	crm_geo_begin_polygon(b);
	do
	{
		if (!read_ring(r, b))
			return false;
	} while (accept_char(r, ','));
	return expect_char(r, ')');
}

static bool
read_prefix(WktReader *r, CrmSrs *srs)
{
	char		word[16];
	size_t		save = r->pos;
	size_t		n = read_word(r, word, sizeof(word));

	*srs = CRM_SRS_WGS84;
	if (n == 0 || !(strcmp(word, "SRID") == 0 || strcmp(word, "SRS") == 0))
	{
		r->pos = save;
		return true;
	}
	r->pos += n;
	if (!expect_char(r, '='))
		return false;
	{
		const char *semi = memchr(r->s + r->pos, ';', r->len - r->pos);
		char		name[32];
		size_t		nl;
		size_t		at = r->pos;

		if (semi == NULL)
			return syntax(r, "\";\" after the SRID");
		nl = (size_t) (semi - (r->s + r->pos));
		while (nl > 0 && isspace((unsigned char) r->s[r->pos]))
			r->pos++, nl--;
		while (nl > 0 && isspace((unsigned char) r->s[r->pos + nl - 1]))
			nl--;
		if (nl == 0 || nl >= sizeof(name))
			return syntax(r, "a coordinate system name");
		memcpy(name, r->s + r->pos, nl);
		name[nl] = '\0';
		for (size_t i = 0; i < nl; i++)
			name[i] = (char) tolower((unsigned char) name[i]);
		if (!crm_srs_parse(name, srs, r->err))
		{
			r->err->position = (int) at + 1;
			return false;
		}
		r->pos = (size_t) (semi - r->s) + 1;
	}
	return true;
}

static bool
read_dims(WktReader *r)
{
	char		word[8];
	size_t		save = r->pos;
	size_t		n = read_word(r, word, sizeof(word));

	r->ndims = 2;
	if (n == 1 && (word[0] == 'Z' || word[0] == 'M'))
		r->ndims = 3;
	else if (n == 2 && strcmp(word, "ZM") == 0)
		r->ndims = 4;
	else
	{
		r->pos = save;
		return true;
	}
	r->pos += n;
	return true;
}

static bool
read_circle(WktReader *r, CrmSrs srs, CrmFence *out)
{
	double		x,
				y,
				rad;

	if (!expect_char(r, '(') || !read_number(r, &x) || !read_number(r, &y) ||
		!expect_char(r, ',') || !read_number(r, &rad) || !expect_char(r, ')'))
		return false;
	return crm_geo_circle(x, y, rad, srs, out, r->err);
}

bool
crm_wkt_read(const char *s, size_t len, int flags, CrmArena *arena, CrmFence *out, CrmError *err)
{
	WktReader	r = {s, len, 0, 2, err};
	CrmGeoBuilder b;
	CrmSrs		srs;
	char		word[16];
	size_t		n;
	bool		ok;

	crm_error_clear(err);
	crm_geo_builder_init(&b, arena, flags);
	if (!read_prefix(&r, &srs))
		return false;
	n = read_word(&r, word, sizeof(word));
	r.pos += n;
	if (strcmp(word, "CIRCLE") == 0)
		ok = read_circle(&r, srs, out);
	else if (strcmp(word, "POLYGON") == 0)
		ok = read_dims(&r) && read_polygon(&r, &b);
	else if (strcmp(word, "MULTIPOLYGON") == 0)
	{
		ok = read_dims(&r) && expect_char(&r, '(');
		while (ok)
		{
			ok = read_polygon(&r, &b);
			if (!ok || !accept_char(&r, ','))
				break;
		}
		ok = ok && expect_char(&r, ')');
	}
	else
	{
		r.pos -= n;
		return syntax(&r, "POLYGON, MULTIPOLYGON or CIRCLE");
	}
	if (!ok)
		return false;
	skip_ws(&r);
	if (r.pos < r.len)
		return syntax(&r, "the end of the input");
	if (strcmp(word, "CIRCLE") == 0)
		return true;
	return crm_geo_finish(&b, srs, out, err);
}

void
crm_geo_put_number(CrmBuf *buf, double v)
{
	char		tmp[40];

	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	crm_buf_puts(buf, tmp);
}

static void
write_ring(CrmBuf *buf, const CrmGeoRing *r)
{
	crm_buf_putc(buf, '(');
	for (int32_t k = 0; k <= r->npts; k++)
	{
		const CrmGeoPt *p = &r->pts[k % r->npts];

		if (k > 0)
			crm_buf_putc(buf, ',');
		crm_geo_put_number(buf, p->x);
		crm_buf_putc(buf, ' ');
		crm_geo_put_number(buf, p->y);
	}
	crm_buf_putc(buf, ')');
}

static void
write_polygon(CrmBuf *buf, const CrmGeoPoly *p)
{
	crm_buf_putc(buf, '(');
	for (int32_t r = 0; r < p->nrings; r++)
	{
		if (r > 0)
			crm_buf_putc(buf, ',');
		write_ring(buf, &p->rings[r]);
	}
	crm_buf_putc(buf, ')');
}

void
crm_wkt_write(const CrmFence *f, CrmBuf *buf)
{
	if (f->srs == CRM_SRS_WGS84)
		crm_buf_puts(buf, "SRID=4326;");
	else
		crm_buf_printf(buf, "SRS=%s;", crm_srs_name(f->srs));
	if (f->kind == CRM_FENCE_CIRCLE)
	{
		crm_buf_puts(buf, "CIRCLE(");
		crm_geo_put_number(buf, f->centre.x);
		crm_buf_putc(buf, ' ');
		crm_geo_put_number(buf, f->centre.y);
		crm_buf_putc(buf, ',');
		crm_geo_put_number(buf, f->radius_m);
		crm_buf_putc(buf, ')');
		return;
	}
	if (f->npolys == 1)
	{
		crm_buf_puts(buf, "POLYGON");
		write_polygon(buf, &f->polys[0]);
		return;
	}
	crm_buf_puts(buf, "MULTIPOLYGON(");
	for (int32_t i = 0; i < f->npolys; i++)
	{
		if (i > 0)
			crm_buf_putc(buf, ',');
		write_polygon(buf, &f->polys[i]);
	}
	crm_buf_putc(buf, ')');
}
