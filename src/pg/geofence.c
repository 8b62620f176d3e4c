/*
 * geofence.c - the crm.geofence type: text and binary I/O, containment,
 * circles, distances and coordinate transforms.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/geo_decls.h"
#include "utils/memutils.h"

#include "geo_pg.h"

void
crm_geo_fence_arg(Datum d, CrmArena *arena, CrmFence *out)
{
	struct varlena *v = PG_DETOAST_DATUM(d);
	CrmError	err;

	if (!crm_fence_deserialize(v, VARSIZE(v), arena, out, &err))
		crm_report(&err, NULL);
}

Datum
crm_geo_fence_datum(const CrmFence *fence)
{
	size_t		size = crm_fence_serialized_size(fence);
	void	   *buf;

	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("geofence is too large: %zu bytes", size),
				 errhint("Simplify the polygons or split the fence into several territories.")));
	buf = palloc(size);
	crm_fence_serialize(fence, buf);
	SET_VARSIZE(buf, size);
	return PointerGetDatum(buf);
}

CrmSrs
crm_geo_srs_arg(text *name)
{
	CrmError	err;
	CrmSrs		srs;
	char	   *s = text_to_cstring(name);

	if (!crm_srs_parse(s, &srs, &err))
		crm_report(&err, NULL);
	pfree(s);
	return srs;
}

PG_FUNCTION_INFO_V1(crm_geofence_in);
Datum
crm_geofence_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);
	CrmArena	arena;
	CrmFence	f;
	CrmError	err;
	Datum		result;

	crm_arena_init(&arena, 8192);
	if (!crm_wkt_read(s, strlen(s), 0, &arena, &f, &err))
		crm_report(&err, "invalid input syntax for type crm.geofence");
	result = crm_geo_fence_datum(&f);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(crm_geofence_out);
Datum
crm_geofence_out(PG_FUNCTION_ARGS)
{
	CrmArena	arena;
	CrmFence	f;
	CrmBuf		buf;

	crm_arena_init(&arena, 1024);
	crm_geo_fence_arg(PG_GETARG_DATUM(0), &arena, &f);
	crm_buf_init(&buf);
	crm_wkt_write(&f, &buf);
	crm_arena_free(&arena);
	PG_RETURN_CSTRING(buf.data);
}

/* Binary form: the serialized body, checked on the way in. */
PG_FUNCTION_INFO_V1(crm_geofence_recv);
Datum
crm_geofence_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			len = msg->len - msg->cursor;
	char	   *buf;
	CrmArena	arena;
	CrmFence	f;
	CrmError	err;

	if (len < CRM_FENCE_HDR_SIZE - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary geofence: %d bytes", len)));
	buf = palloc(len + VARHDRSZ);
	SET_VARSIZE(buf, len + VARHDRSZ);
	memcpy(buf + VARHDRSZ, pq_getmsgbytes(msg, len), len);
	crm_arena_init(&arena, 1024);
	if (!crm_fence_deserialize(buf, len + VARHDRSZ, &arena, &f, &err))
		crm_report(&err, NULL);
	for (int32_t i = 0; i < f.npolys; i++)
		for (int32_t r = 0; r < f.polys[i].nrings; r++)
			for (int32_t k = 0; k < f.polys[i].rings[r].npts; k++)
				if (!crm_geo_check_coord(f.polys[i].rings[r].pts[k].x, f.polys[i].rings[r].pts[k].y, 0, &err))
					crm_report(&err, "invalid binary geofence");
	crm_arena_free(&arena);
	PG_RETURN_POINTER(buf);
}

PG_FUNCTION_INFO_V1(crm_geofence_send);
Datum
crm_geofence_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA(v), VARSIZE(v) - VARHDRSZ);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Per call site cache (fn_extra): when the same fence comes back call after
 * call (a constant, or one territory joined with many points), its spatial
 * index is built once and the fence bytes are only compared.
 */
typedef struct ContainsCache
{
	Size		size;
	char	   *bytes;
	CrmFence	fence;
	CrmGeoIndex *index;
	CrmArena	arena;
	int			hits;
	int			misses;
} ContainsCache;

static ContainsCache *
contains_cache(FunctionCallInfo fcinfo, struct varlena *v)
{
	ContainsCache *c = fcinfo->flinfo->fn_extra;
	MemoryContext old;
	CrmError	err;

	if (c != NULL && c->index != NULL && c->size == VARSIZE(v) && memcmp(c->bytes, v, c->size) == 0)
	{
		c->hits++;
		return c;
	}
	if (c != NULL && ++c->misses > 8 && c->misses > 2 * c->hits)
		return NULL;			/* the fence changes nearly every call: not worth indexing */
	if (c == NULL)
		c = fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ContainsCache));
	else
	{
		pfree(c->bytes);
		crm_arena_free(&c->arena);
	}
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c->size = VARSIZE(v);
	c->bytes = palloc(c->size);
	memcpy(c->bytes, v, c->size);
	crm_arena_init(&c->arena, 8192);
	c->index = NULL;
	if (!crm_fence_deserialize(c->bytes, c->size, &c->arena, &c->fence, &err))
		crm_report(&err, NULL);
	c->index = crm_geo_index_build(&c->fence, 1, &c->arena);
	MemoryContextSwitchTo(old);
	return c;
}

PG_FUNCTION_INFO_V1(crm_geofence_contains);
Datum
crm_geofence_contains(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	double		x = PG_GETARG_FLOAT8(1);
	double		y = PG_GETARG_FLOAT8(2);
	CrmGeoBox	box;
	CrmSrs		fsrs;
	CrmArena	arena;
	CrmFence	f;
	CrmError	err;
	ContainsCache *c;
	int32		hit;
	bool		result;

	crm_fence_header_box(v, &box, &fsrs);
	if (PG_NARGS() > 3)
	{
		CrmSrs		psrs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(3));

		crm_srs_transform(psrs, fsrs, x, y, &x, &y);
	}
	if (x < box.xmin || x > box.xmax || y < box.ymin || y > box.ymax)
		PG_RETURN_BOOL(false);
	c = contains_cache(fcinfo, v);
	if (c != NULL)
		PG_RETURN_BOOL(crm_geo_index_lookup(c->index, x, y, &hit, 1) == 1);
	crm_arena_init(&arena, 1024);
	if (!crm_fence_deserialize(v, VARSIZE(v), &arena, &f, &err))
		crm_report(&err, NULL);
	result = crm_fence_covers(&f, x, y);
	crm_arena_free(&arena);
	PG_RETURN_BOOL(result);
}

PG_FUNCTION_INFO_V1(crm_geofence_circle);
Datum
crm_geofence_circle(PG_FUNCTION_ARGS)
{
	CrmSrs		srs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(3));
	CrmFence	f;
	CrmError	err;

	if (!crm_geo_circle(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), srs, &f, &err))
		crm_report(&err, NULL);
	PG_RETURN_DATUM(crm_geo_fence_datum(&f));
}

PG_FUNCTION_INFO_V1(crm_geofence_srs);
Datum
crm_geofence_srs(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(0), 0, CRM_FENCE_HDR_SIZE);
	CrmGeoBox	box;
	CrmSrs		srs;

	crm_fence_header_box(v, &box, &srs);
	PG_RETURN_TEXT_P(cstring_to_text(crm_srs_name(srs)));
}

/* Bounding box as a PostgreSQL box (high corner first, as box_out prints it). */
PG_FUNCTION_INFO_V1(crm_geofence_box);
Datum
crm_geofence_box(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(0), 0, CRM_FENCE_HDR_SIZE);
	CrmGeoBox	b;
	CrmSrs		srs;
	BOX		   *out = palloc(sizeof(BOX));

	crm_fence_header_box(v, &b, &srs);
	out->low.x = b.xmin;
	out->low.y = b.ymin;
	out->high.x = b.xmax;
	out->high.y = b.ymax;
	PG_RETURN_BOX_P(out);
}

PG_FUNCTION_INFO_V1(crm_geofence_npoints);
Datum
crm_geofence_npoints(PG_FUNCTION_ARGS)
{
	CrmArena	arena;
	CrmFence	f;
	int64		n;

	crm_arena_init(&arena, 1024);
	crm_geo_fence_arg(PG_GETARG_DATUM(0), &arena, &f);
	n = crm_fence_vertex_count(&f);
	crm_arena_free(&arena);
	PG_RETURN_INT64(n);
}

PG_FUNCTION_INFO_V1(crm_geofence_transform);
Datum
crm_geofence_transform(PG_FUNCTION_ARGS)
{
	CrmSrs		to = crm_geo_srs_arg(PG_GETARG_TEXT_PP(1));
	CrmArena	arena;
	CrmFence	f,
				g;
	Datum		result;

	crm_arena_init(&arena, 8192);
	crm_geo_fence_arg(PG_GETARG_DATUM(0), &arena, &f);
	crm_fence_transform(&f, to, &arena, &g);
	result = crm_geo_fence_datum(&g);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}

static void
check_point(double lon, double lat)
{
	CrmError	err;

	if (!crm_geo_check_coord(lon, lat, 0, &err))
		crm_report(&err, NULL);
}

PG_FUNCTION_INFO_V1(crm_distance_m_pg);
Datum
crm_distance_m_pg(PG_FUNCTION_ARGS)
{
	double		lon1 = PG_GETARG_FLOAT8(0),
				lat1 = PG_GETARG_FLOAT8(1),
				lon2 = PG_GETARG_FLOAT8(2),
				lat2 = PG_GETARG_FLOAT8(3);

	check_point(lon1, lat1);
	check_point(lon2, lat2);
	PG_RETURN_FLOAT8(crm_distance_m(lon1, lat1, lon2, lat2));
}

PG_FUNCTION_INFO_V1(crm_transform_point);
Datum
crm_transform_point(PG_FUNCTION_ARGS)
{
	double		lon = PG_GETARG_FLOAT8(0),
				lat = PG_GETARG_FLOAT8(1);
	CrmSrs		from = crm_geo_srs_arg(PG_GETARG_TEXT_PP(2));
	CrmSrs		to = crm_geo_srs_arg(PG_GETARG_TEXT_PP(3));
	Point	   *p = palloc(sizeof(Point));

	check_point(lon, lat);
	crm_srs_transform(from, to, lon, lat, &p->x, &p->y);
	PG_RETURN_POINT_P(p);
}
