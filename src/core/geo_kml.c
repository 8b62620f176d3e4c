/*
 * geo_kml.c - KML polygons in (over libxml2) and out.
 *
 * Reads every Polygon of a document or fragment, wherever it sits (Document,
 * Folder, Placemark, MultiGeometry, or the root itself), with its
 * outerBoundaryIs and innerBoundaryIs rings; a LinearRing outside any Polygon
 * is read as the shell of a polygon of its own.  Elements are matched by local
 * name, so any KML namespace (2.0, 2.1, 2.2, Google's) and any prefix works.
 * Coordinates are "lon,lat" or "lon,lat,alt" tuples separated by white space.
 *
 * Parsing goes through crm_xml_read (xml_safe.h): no network, no DTD, entity
 * declarations refused, bounded size and depth; only text children are read.
 */
#include "geo.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xml_safe.h"

#define KML_MAX_BYTES	(64 * 1024 * 1024)
#define KML_MAX_DEPTH	100		/* nested elements; folders in folders rarely pass ten */

static void *
parse_buffer(CrmXmlRead *r, const char *s, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->max_bytes = KML_MAX_BYTES;
	r->max_depth = KML_MAX_DEPTH;
	r->encoding = "UTF-8";
	return crm_xml_read(r, s, len);
}

static void
refuse(const CrmXmlRead *r, CrmError *err)
{
	switch (r->failure)
	{
		case CRM_XML_TOO_LARGE:
			crm_fail(err, CRM_ERR_LIMIT, 0, "KML document too large");
			crm_error_hint(err, "Documents of at most %d MB are read; split the territories over several files.",
						   KML_MAX_BYTES / (1024 * 1024));
			break;
		case CRM_XML_ENTITY:
			crm_fail(err, CRM_ERR_XML, 0, "invalid KML: entity declarations are not allowed");
			crm_error_detail(err, "Entity declarations are refused: they can read files or the network (XXE) or expand without bound.");
			crm_error_hint(err, "Send the document without a DOCTYPE that declares entities.");
			break;
		case CRM_XML_TOO_DEEP:
			crm_fail(err, CRM_ERR_XML, 0, "invalid KML: elements nested more than %d deep", KML_MAX_DEPTH);
			crm_error_hint(err, "Check that this is a KML document.");
			break;
		case CRM_XML_NOMEM:
			crm_fail(err, CRM_ERR_NOMEM, 0, "could not allocate an XML parser");
			break;
		default:
			crm_fail(err, CRM_ERR_XML, 0, "invalid KML: the document is not well-formed XML");
			if (r->message[0] != '\0')
				crm_error_detail(err, "line %d: %s", r->line, r->message);
			crm_error_hint(err, "Check the file is complete KML (or a KML fragment) in UTF-8.");
			break;
	}
}

/*
 * A document, or a fragment (XML content: several top-level elements, as
 * the xml type accepts), which is read inside a wrapper element.
 */
void *
crm_kml_open(const char *s, size_t len, CrmError *err)
{
	void	   *doc;
	CrmXmlRead r;
	CrmXmlRead wrapped;
	size_t		i = 0;

	crm_error_clear(err);
	doc = parse_buffer(&r, s, len);
	while (doc == NULL && i < len && isspace((unsigned char) s[i]))
		i++;
	if (doc == NULL && (r.failure == CRM_XML_MALFORMED || r.failure == CRM_XML_NO_ROOT) &&
		!(len - i >= 2 && s[i] == '<' && (s[i + 1] == '?' || s[i + 1] == '!')))
	{
		CrmBuf		w;

		crm_buf_init(&w);
		crm_buf_puts(&w, "<crm-kml-fragment>");
		crm_buf_append(&w, s, len);
		crm_buf_puts(&w, "</crm-kml-fragment>");
		doc = parse_buffer(&wrapped, w.data, w.len);
		crm_buf_free(&w);
		/* a fragment refused for what it holds is refused for that, not as malformed */
		if (doc == NULL && wrapped.failure != CRM_XML_MALFORMED && wrapped.failure != CRM_XML_NO_ROOT)
			r = wrapped;
	}
	if (doc == NULL)
		refuse(&r, err);
	return doc;
}

void
crm_kml_close(void *doc)
{
	if (doc != NULL)
		xmlFreeDoc((xmlDocPtr) doc);
}

static bool
is_elem(const xmlNode *n, const char *local)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, local) == 0;
}

/* Concatenated text and CDATA children (no entity expansion). */
static void
node_text(const xmlNode *n, CrmBuf *buf)
{
	crm_buf_reset(buf);
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL)
			crm_buf_puts(buf, (const char *) c->content);
}

typedef struct KmlCtx
{
	CrmGeoBuilder *b;
	CrmBuf		text;
	int			polygons;		/* found so far */
	CrmError   *err;
} KmlCtx;

static bool
coord_fail(KmlCtx *k, const xmlNode *n, const char *what)
{
	crm_fail(k->err, CRM_ERR_SYNTAX, 0, "invalid KML coordinates in polygon %d (line %d): %s",
			 k->polygons, n->line, what);
	crm_error_hint(k->err, "Write coordinates as lon,lat[,alt] tuples separated by spaces.");
	return false;
}

static bool
read_coordinates(KmlCtx *k, const xmlNode *coords)
{
	const char *s;
	char	   *end;

	node_text(coords, &k->text);
	s = k->text.data;
	for (;;)
	{
		double		x,
					y;

		while (isspace((unsigned char) *s))
			s++;
		if (*s == '\0')
			break;
		x = strtod(s, &end);
		if (end == s || *end != ',')
			return coord_fail(k, coords, "expected \"lon,lat\"");
		s = end + 1;
		while (*s == ' ')
			s++;
		y = strtod(s, &end);
		if (end == s)
			return coord_fail(k, coords, "expected a latitude after the comma");
		s = end;
		if (*s == ',')
		{
			s++;
			(void) strtod(s, &end);
			s = end;
		}
		if (*s != '\0' && !isspace((unsigned char) *s))
			return coord_fail(k, coords, "unexpected character after a tuple");
		if (!crm_geo_check_coord(x, y, 0, k->err))
			return false;
		crm_geo_add_point(k->b, x, y);
	}
	return true;
}

static bool
read_linear_ring(KmlCtx *k, const xmlNode *ring)
{
	for (const xmlNode *c = ring->children; c != NULL; c = c->next)
		if (is_elem(c, "coordinates") && !read_coordinates(k, c))
			return false;
	crm_geo_end_ring(k->b);
	return true;
}

static bool
read_boundaries(KmlCtx *k, const xmlNode *poly, const char *which, int *count)
{
	for (const xmlNode *c = poly->children; c != NULL; c = c->next)
	{
		if (!is_elem(c, which))
			continue;
		for (const xmlNode *r = c->children; r != NULL; r = r->next)
			if (is_elem(r, "LinearRing"))
			{
				if (!read_linear_ring(k, r))
					return false;
				(*count)++;
			}
	}
	return true;
}

static bool
read_polygon(KmlCtx *k, const xmlNode *poly)
{
	int			outer = 0,
				inner = 0;

	k->polygons++;
	crm_geo_begin_polygon(k->b);
	if (!read_boundaries(k, poly, "outerBoundaryIs", &outer))
		return false;
	if (outer != 1)
	{
		crm_fail(k->err, CRM_ERR_INVALID, 0, "KML Polygon %d (line %d) has %d outer boundaries; it needs exactly one",
				 k->polygons, poly->line, outer);
		crm_error_hint(k->err, "Give each Polygon one outerBoundaryIs with one LinearRing.");
		return false;
	}
	return read_boundaries(k, poly, "innerBoundaryIs", &inner);
}

/* Every Polygon (and stray LinearRing) below n, in document order. */
static bool
collect(KmlCtx *k, const xmlNode *n)
{
	for (; n != NULL; n = n->next)
	{
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_elem(n, "Polygon"))
		{
			if (!read_polygon(k, n))
				return false;
		}
		else if (is_elem(n, "LinearRing"))
		{
			k->polygons++;
			crm_geo_begin_polygon(k->b);
			if (!read_linear_ring(k, n))
				return false;
		}
		else if (!collect(k, n->children))
			return false;
	}
	return true;
}

static void
no_polygon(CrmError *err)
{
	crm_fail(err, CRM_ERR_INVALID, 0, "the KML holds no Polygon");
	crm_error_hint(err, "Points and lines cannot be fences; draw the area as a Polygon.");
}

bool
crm_kml_fence(void *doc, CrmSrs srs, int flags, CrmArena *arena, CrmFence *out, CrmError *err)
{
	CrmGeoBuilder b;
	KmlCtx		k = {&b, {0}, 0, err};
	bool		ok;

	crm_error_clear(err);
	crm_geo_builder_init(&b, arena, flags);
	crm_buf_init(&k.text);
	ok = collect(&k, xmlDocGetRootElement((xmlDocPtr) doc));
	crm_buf_free(&k.text);
	if (!ok)
		return false;
	if (k.polygons == 0)
	{
		no_polygon(err);
		return false;
	}
	return crm_geo_finish(&b, srs, out, err);
}

static char *
placemark_name(const xmlNode *pm, CrmArena *arena, CrmBuf *text)
{
	for (const xmlNode *c = pm->children; c != NULL; c = c->next)
		if (is_elem(c, "name"))
		{
			node_text(c, text);
			return crm_arena_strdup(arena, text->data, text->len);
		}
	return NULL;
}

static void
prefix_error(CrmError *err, int number, const char *name)
{
	char		msg[CRM_MSG_LEN * 2];
	int			n = 0;

	if (name != NULL)
	{
		/* at most 60 bytes of the name, cut on a UTF-8 character boundary */
		n = (int) strlen(name);
		if (n > 60)
		{
			n = 60;
			while (n > 0 && ((unsigned char) name[n] & 0xC0) == 0x80)
				n--;
		}
		snprintf(msg, sizeof(msg), "placemark %d \"%.*s\": %s", number, n, name, err->message);
	}
	else
		snprintf(msg, sizeof(msg), "placemark %d: %s", number, err->message);
	n = (int) strlen(msg);
	if (n >= CRM_MSG_LEN)
	{
		n = CRM_MSG_LEN - 1;
		while (n > 0 && ((unsigned char) msg[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(err->message, msg, (size_t) n);
	err->message[n] = '\0';
}

typedef struct PmList
{
	CrmKmlPlacemark *items;
	int			n,
				cap;
	int			seen;
} PmList;

static bool
visit_placemarks(const xmlNode *n, CrmSrs srs, int flags, CrmArena *arena, PmList *l, CrmError *err)
{
	for (; n != NULL; n = n->next)
	{
		CrmGeoBuilder b;
		KmlCtx		k = {&b, {0}, 0, err};
		bool		ok;
		char	   *name;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!is_elem(n, "Placemark"))
		{
			if (!visit_placemarks(n->children, srs, flags, arena, l, err))
				return false;
			continue;
		}
		l->seen++;
		crm_geo_builder_init(&b, arena, flags);
		crm_buf_init(&k.text);
		name = placemark_name(n, arena, &k.text);
		ok = collect(&k, n->children);
		crm_buf_free(&k.text);
		if (ok && k.polygons == 0)
			continue;
		if (l->n == l->cap)
		{
			CrmKmlPlacemark *ni = crm_arena_alloc(arena, sizeof(CrmKmlPlacemark) * (size_t) (l->cap ? l->cap * 2 : 8));

			if (l->n > 0)
				memcpy(ni, l->items, sizeof(CrmKmlPlacemark) * (size_t) l->n);
			l->items = ni;
			l->cap = l->cap ? l->cap * 2 : 8;
		}
		if (!ok || !crm_geo_finish(&b, srs, &l->items[l->n].fence, err))
		{
			prefix_error(err, l->seen, name);
			return false;
		}
		l->items[l->n++].name = name;
	}
	return true;
}

bool
crm_kml_placemarks(void *doc, CrmSrs srs, int flags, CrmArena *arena,
				   CrmKmlPlacemark **out, int *count, CrmError *err)
{
	PmList		l = {NULL, 0, 0, 0};

	crm_error_clear(err);
	if (!visit_placemarks(xmlDocGetRootElement((xmlDocPtr) doc), srs, flags, arena, &l, err))
		return false;
	*out = l.items;
	*count = l.n;
	return true;
}

/* ---- writer ---- */

static void
put_escaped(CrmBuf *buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				crm_buf_puts(buf, "&amp;");
				break;
			case '<':
				crm_buf_puts(buf, "&lt;");
				break;
			case '>':
				crm_buf_puts(buf, "&gt;");
				break;
			case '"':
				crm_buf_puts(buf, "&quot;");
				break;
			default:
				crm_buf_putc(buf, *s);
		}
	}
}

static void
put_ring(CrmBuf *buf, const char *boundary, const CrmGeoRing *r)
{
	crm_buf_printf(buf, "<%s><LinearRing><coordinates>", boundary);
	for (int32_t k = 0; k <= r->npts; k++)
	{
		const CrmGeoPt *p = &r->pts[k % r->npts];

		if (k > 0)
			crm_buf_putc(buf, ' ');
		crm_geo_put_number(buf, p->x);
		crm_buf_putc(buf, ',');
		crm_geo_put_number(buf, p->y);
	}
	crm_buf_printf(buf, "</coordinates></LinearRing></%s>", boundary);
}

static void
put_polygon(CrmBuf *buf, const CrmGeoPoly *p)
{
	crm_buf_puts(buf, "<Polygon>");
	put_ring(buf, "outerBoundaryIs", &p->rings[0]);
	for (int32_t r = 1; r < p->nrings; r++)
		put_ring(buf, "innerBoundaryIs", &p->rings[r]);
	crm_buf_puts(buf, "</Polygon>");
}

/*
 * A Placemark (with the name, when given) holding a Polygon or a
 * MultiGeometry; shells counter-clockwise as KML 2.2 requires.  The caller
 * converts to WGS-84 first: KML has no other coordinate system.
 */
void
crm_kml_write(const CrmFence *f, const char *name, int circle_vertices, CrmBuf *buf)
{
	crm_buf_puts(buf, "<Placemark xmlns=\"http://www.opengis.net/kml/2.2\">");
	if (name != NULL)
	{
		crm_buf_puts(buf, "<name>");
		put_escaped(buf, name);
		crm_buf_puts(buf, "</name>");
	}
	if (f->kind == CRM_FENCE_CIRCLE)
	{
		CrmArena	a;
		CrmGeoRing	ring;
		CrmGeoPoly	poly = {1, &ring};

		crm_arena_init(&a, 4096);
		crm_fence_circle_ring(f, circle_vertices, &a, &ring);
		put_polygon(buf, &poly);
		crm_arena_free(&a);
	}
	else if (f->npolys == 1)
		put_polygon(buf, &f->polys[0]);
	else
	{
		crm_buf_puts(buf, "<MultiGeometry>");
		for (int32_t i = 0; i < f->npolys; i++)
			put_polygon(buf, &f->polys[i]);
		crm_buf_puts(buf, "</MultiGeometry>");
	}
	crm_buf_puts(buf, "</Placemark>");
}
