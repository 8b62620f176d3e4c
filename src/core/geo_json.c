/*
 * geo_json.c - GeoJSON (RFC 7946) polygons in and out.
 *
 * Reads a Geometry (Polygon, MultiPolygon, or a GeometryCollection of them), a
 * Feature holding one, or a FeatureCollection (all polygon features as one
 * fence).  Positions may carry a third (altitude) and further ordinates; they
 * are ignored.  A small JSON parser of its own keeps the core free of the
 * server; nesting is limited to 64 levels.
 */
#include "geo.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum JType
{
	J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ
} JType;

typedef struct JVal JVal;
struct JVal
{
	JType		type;
	int			pos;			/* 1-based offset in the text */
	double		num;
	char	   *str;
	int			n;
	JVal	  **items;
	char	  **keys;
};

typedef struct JParser
{
	const char *s;
	size_t		len;
	size_t		pos;
	int			depth;
	CrmArena   *arena;
	CrmError   *err;
} JParser;

#define JSON_MAX_DEPTH 64

static bool
jfail(JParser *p, const char *what)
{
	crm_fail(p->err, CRM_ERR_SYNTAX, (int) p->pos + 1, "invalid GeoJSON: %s at character %d", what, (int) p->pos + 1);
	crm_error_hint(p->err, "Give a GeoJSON Polygon or MultiPolygon geometry, or a Feature holding one.");
	return false;
}

static void
jws(JParser *p)
{
	while (p->pos < p->len && isspace((unsigned char) p->s[p->pos]))
		p->pos++;
}

static bool jvalue(JParser *p, JVal **out);

static bool
jstring(JParser *p, char **out)
{
	size_t		start;

	p->pos++;					/* opening quote */
	start = p->pos;
	while (p->pos < p->len && p->s[p->pos] != '"')
	{
		if (p->s[p->pos] == '\\')
			p->pos++;
		p->pos++;
	}
	if (p->pos >= p->len)
		return jfail(p, "unterminated string");
	/* escapes are kept as written: only member names and type names are compared */
	*out = crm_arena_strdup(p->arena, p->s + start, p->pos - start);
	p->pos++;
	return true;
}

static bool
jnumber(JParser *p, double *out)
{
	char		buf[64];
	size_t		n = 0;
	char	   *end;

	while (p->pos + n < p->len && n < sizeof(buf) - 1 &&
		   (isdigit((unsigned char) p->s[p->pos + n]) || strchr("+-.eE", p->s[p->pos + n]) != NULL))
	{
		buf[n] = p->s[p->pos + n];
		n++;
	}
	buf[n] = '\0';
	*out = strtod(buf, &end);
	if (n == 0 || *end != '\0')
		return jfail(p, "invalid number");
	p->pos += n;
	return true;
}

static bool
jlist(JParser *p, JVal *v, bool object)
{
	int			cap = 0;
	char		close = object ? '}' : ']';

	p->pos++;
	jws(p);
	if (p->pos < p->len && p->s[p->pos] == close)
	{
		p->pos++;
		return true;
	}
	for (;;)
	{
		char	   *key = NULL;
		JVal	   *item;

		jws(p);
		if (object)
		{
			if (p->pos >= p->len || p->s[p->pos] != '"' || !jstring(p, &key))
				return p->err->code != CRM_OK ? false : jfail(p, "expected a member name");
			jws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return jfail(p, "expected \":\"");
			p->pos++;
		}
		if (!jvalue(p, &item))
			return false;
		if (v->n == cap)
		{
			JVal	  **ni = crm_arena_alloc(p->arena, sizeof(JVal *) * (size_t) (cap ? cap * 2 : 4));
			char	  **nk = crm_arena_alloc(p->arena, sizeof(char *) * (size_t) (cap ? cap * 2 : 4));

			if (v->n > 0)
			{
				memcpy(ni, v->items, sizeof(JVal *) * (size_t) v->n);
				memcpy(nk, v->keys, sizeof(char *) * (size_t) v->n);
			}
			v->items = ni;
			v->keys = nk;
			cap = cap ? cap * 2 : 4;
		}
		v->items[v->n] = item;
		v->keys[v->n] = key;
		v->n++;
		jws(p);
		if (p->pos < p->len && p->s[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close)
		{
			p->pos++;
			return true;
		}
		return jfail(p, object ? "expected \",\" or \"}\"" : "expected \",\" or \"]\"");
	}
}

static bool
jvalue(JParser *p, JVal **out)
{
	JVal	   *v = crm_arena_alloc(p->arena, sizeof(JVal));
	bool		ok = true;
	char		c;

	memset(v, 0, sizeof(*v));
	*out = v;
	jws(p);
	v->pos = (int) p->pos + 1;
	if (p->pos >= p->len)
		return jfail(p, "unexpected end of input");
	if (++p->depth > JSON_MAX_DEPTH)
		return jfail(p, "nesting too deep");
	c = p->s[p->pos];
	if (c == '{' || c == '[')
	{
		v->type = c == '{' ? J_OBJ : J_ARR;
		ok = jlist(p, v, c == '{');
	}
	else if (c == '"')
	{
		v->type = J_STR;
		ok = jstring(p, &v->str);
	}
	else if (c == '-' || isdigit((unsigned char) c))
	{
		v->type = J_NUM;
		ok = jnumber(p, &v->num);
	}
	else if (p->len - p->pos >= 4 && strncmp(p->s + p->pos, "null", 4) == 0)
		p->pos += 4;
	else if (p->len - p->pos >= 4 && strncmp(p->s + p->pos, "true", 4) == 0)
		v->type = J_BOOL, p->pos += 4;
	else if (p->len - p->pos >= 5 && strncmp(p->s + p->pos, "false", 5) == 0)
		v->type = J_BOOL, p->pos += 5;
	else
		ok = jfail(p, "unexpected character");
	p->depth--;
	return ok;
}

static const JVal *
jget(const JVal *obj, const char *key)
{
	if (obj == NULL || obj->type != J_OBJ)
		return NULL;
	for (int i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

static bool
shape_fail(CrmError *err, const JVal *at, const char *what)
{
	crm_fail(err, CRM_ERR_INVALID, at ? at->pos : 0, "invalid GeoJSON: %s", what);
	crm_error_hint(err, "Polygon coordinates are an array of rings, each an array of [longitude, latitude] positions.");
	return false;
}

static bool
read_rings(const JVal *poly, CrmGeoBuilder *b, CrmError *err)
{
	if (poly == NULL || poly->type != J_ARR || poly->n == 0)
		return shape_fail(err, poly, "a polygon must be a non-empty array of rings");
	crm_geo_begin_polygon(b);
	for (int r = 0; r < poly->n; r++)
	{
		const JVal *ring = poly->items[r];

		if (ring->type != J_ARR)
			return shape_fail(err, ring, "a ring must be an array of positions");
		for (int k = 0; k < ring->n; k++)
		{
			const JVal *pt = ring->items[k];

			if (pt->type != J_ARR || pt->n < 2 || pt->items[0]->type != J_NUM || pt->items[1]->type != J_NUM)
				return shape_fail(err, pt, "a position must be an array of at least two numbers");
			if (!crm_geo_check_coord(pt->items[0]->num, pt->items[1]->num, pt->pos, err))
				return false;
			crm_geo_add_point(b, pt->items[0]->num, pt->items[1]->num);
		}
		crm_geo_end_ring(b);
	}
	return true;
}

static bool read_object(const JVal *o, CrmGeoBuilder *b, int depth, int *found, CrmError *err);

static bool
read_geometry(const JVal *g, const char *type, CrmGeoBuilder *b, int depth, int *found, CrmError *err)
{
	const JVal *coords = jget(g, "coordinates");

	if (strcmp(type, "Polygon") == 0)
	{
		(*found)++;
		return read_rings(coords, b, err);
	}
	if (strcmp(type, "MultiPolygon") == 0)
	{
		if (coords == NULL || coords->type != J_ARR)
			return shape_fail(err, g, "MultiPolygon coordinates must be an array of polygons");
		(*found)++;
		for (int i = 0; i < coords->n; i++)
			if (!read_rings(coords->items[i], b, err))
				return false;
		return true;
	}
	if (strcmp(type, "GeometryCollection") == 0)
	{
		const JVal *gs = jget(g, "geometries");

		if (gs == NULL || gs->type != J_ARR)
			return shape_fail(err, g, "a GeometryCollection needs a \"geometries\" array");
		for (int i = 0; i < gs->n; i++)
			if (!read_object(gs->items[i], b, depth + 1, found, err))
				return false;
		return true;
	}
	return true;					/* points and lines are not fences: skipped, counted by the caller */
}

static bool
read_object(const JVal *o, CrmGeoBuilder *b, int depth, int *found, CrmError *err)
{
	const JVal *t = jget(o, "type");

	if (t == NULL || t->type != J_STR)
		return shape_fail(err, o, "an object without a \"type\" member");
	if (depth > 8)
		return shape_fail(err, o, "collections nested too deep");
	if (strcmp(t->str, "Feature") == 0)
	{
		const JVal *g = jget(o, "geometry");

		if (g == NULL || g->type == J_NULL)
			return true;
		return read_object(g, b, depth + 1, found, err);
	}
	if (strcmp(t->str, "FeatureCollection") == 0)
	{
		const JVal *fs = jget(o, "features");

		if (fs == NULL || fs->type != J_ARR)
			return shape_fail(err, o, "a FeatureCollection needs a \"features\" array");
		for (int i = 0; i < fs->n; i++)
			if (!read_object(fs->items[i], b, depth + 1, found, err))
				return false;
		return true;
	}
	return read_geometry(o, t->str, b, depth, found, err);
}

bool
crm_geojson_read(const char *s, size_t len, CrmSrs srs, int flags, CrmArena *arena,
				 CrmFence *out, CrmError *err)
{
	JParser		p = {s, len, 0, 0, arena, err};
	JVal	   *root;
	CrmGeoBuilder b;
	int			found = 0;

	crm_error_clear(err);
	if (!jvalue(&p, &root))
		return false;
	jws(&p);
	if (p.pos < len)
		return jfail(&p, "trailing characters");
	crm_geo_builder_init(&b, arena, flags);
	if (!read_object(root, &b, 0, &found, err))
		return false;
	if (found == 0)
	{
		const JVal *t = jget(root, "type");

		crm_fail(err, CRM_ERR_INVALID, 0, "GeoJSON %s holds no Polygon or MultiPolygon",
				 t && t->type == J_STR ? t->str : "value");
		crm_error_hint(err, "Only polygons can be fences; for a radius around a point use crm.geofence_circle().");
		return false;
	}
	return crm_geo_finish(&b, srs, out, err);
}

static void
put_ring(CrmBuf *buf, const CrmGeoRing *r)
{
	crm_buf_putc(buf, '[');
	for (int32_t k = 0; k <= r->npts; k++)
	{
		const CrmGeoPt *pt = &r->pts[k % r->npts];

		crm_buf_puts(buf, k > 0 ? ",[" : "[");
		crm_geo_put_number(buf, pt->x);
		crm_buf_putc(buf, ',');
		crm_geo_put_number(buf, pt->y);
		crm_buf_putc(buf, ']');
	}
	crm_buf_putc(buf, ']');
}

static void
put_polygon(CrmBuf *buf, const CrmGeoPoly *p)
{
	crm_buf_putc(buf, '[');
	for (int32_t r = 0; r < p->nrings; r++)
	{
		if (r > 0)
			crm_buf_putc(buf, ',');
		put_ring(buf, &p->rings[r]);
	}
	crm_buf_putc(buf, ']');
}

/* Shells counter-clockwise, holes clockwise, as RFC 7946 asks; circles as polygons. */
void
crm_geojson_write(const CrmFence *f, int circle_vertices, CrmBuf *buf)
{
	if (f->kind == CRM_FENCE_CIRCLE)
	{
		CrmArena	a;
		CrmGeoRing	ring;
		CrmGeoPoly	poly = {1, &ring};

		crm_arena_init(&a, 4096);
		crm_fence_circle_ring(f, circle_vertices, &a, &ring);
		crm_buf_puts(buf, "{\"type\":\"Polygon\",\"coordinates\":");
		put_polygon(buf, &poly);
		crm_buf_putc(buf, '}');
		crm_arena_free(&a);
		return;
	}
	if (f->npolys == 1)
	{
		crm_buf_puts(buf, "{\"type\":\"Polygon\",\"coordinates\":");
		put_polygon(buf, &f->polys[0]);
	}
	else
	{
		crm_buf_puts(buf, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
		for (int32_t i = 0; i < f->npolys; i++)
		{
			if (i > 0)
				crm_buf_putc(buf, ',');
			put_polygon(buf, &f->polys[i]);
		}
		crm_buf_putc(buf, ']');
	}
	crm_buf_putc(buf, '}');
}
