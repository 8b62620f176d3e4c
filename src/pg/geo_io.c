/*
 * geo_io.c - crm.geofence from and to GeoJSON, WKB and KML, and explicit repair.
 *
 * KML is parsed by libxml2 inside pg_xml_init()/pg_xml_done(); the document
 * handle is kept here so that it is freed on every path, errors included.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/xml.h"

#include "geo_pg.h"

static char *
utf8_text(text *t, size_t *len)
{
	char	   *s = text_to_cstring(t);
	char	   *u = pg_server_to_any(s, strlen(s), PG_UTF8);

	*len = strlen(u);
	return u;
}

/*
 * Runs fn over the parsed KML document in the current memory context; the
 * libxml2 tree is freed whatever happens.
 */
typedef bool (*KmlFn) (void *doc, void *arg, CrmError *err);

static void
with_kml(text *xml, KmlFn fn, void *arg)
{
	size_t		len;
	char	   *s = utf8_text(xml, &len);
	PgXmlErrorContext *xcxt;
	void	   *volatile doc = NULL;
	CrmError	err;
	volatile bool ok = false;

	xcxt = pg_xml_init(PG_XML_STRICTNESS_LEGACY);
	PG_TRY();
	{
		doc = crm_kml_open(s, len, &err);
		if (doc != NULL)
			ok = fn(doc, arg, &err);
	}
	PG_CATCH();
	{
		crm_kml_close(doc);
		pg_xml_done(xcxt, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	crm_kml_close(doc);
	pg_xml_done(xcxt, false);
	if (!ok)
		crm_report(&err, NULL);
}

typedef struct KmlArgs
{
	CrmSrs		srs;
	int			flags;
	CrmArena   *arena;
	CrmFence	fence;
	CrmKmlPlacemark *pms;
	int			npms;
} KmlArgs;

static bool
kml_fence_fn(void *doc, void *arg, CrmError *err)
{
	KmlArgs    *a = arg;

	return crm_kml_fence(doc, a->srs, a->flags, a->arena, &a->fence, err);
}

static bool
kml_placemarks_fn(void *doc, void *arg, CrmError *err)
{
	KmlArgs    *a = arg;

	return crm_kml_placemarks(doc, a->srs, a->flags, a->arena, &a->pms, &a->npms, err);
}

static int
strict_flag(FunctionCallInfo fcinfo, int argno)
{
	return PG_NARGS() > argno && PG_GETARG_BOOL(argno) ? CRM_GEO_STRICT : 0;
}

PG_FUNCTION_INFO_V1(crm_geofence_from_kml);
Datum
crm_geofence_from_kml(PG_FUNCTION_ARGS)
{
	CrmArena	arena;
	KmlArgs		a;
	Datum		result;

	crm_arena_init(&arena, 65536);
	memset(&a, 0, sizeof(a));
	a.srs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(1));
	a.flags = strict_flag(fcinfo, 2);
	a.arena = &arena;
	with_kml(PG_GETARG_TEXT_PP(0), kml_fence_fn, &a);
	result = crm_geo_fence_datum(&a.fence);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(crm_kml_placemarks_pg);
Datum
crm_kml_placemarks_pg(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CrmArena	arena;
	KmlArgs		a;

	InitMaterializedSRF(fcinfo, 0);
	crm_arena_init(&arena, 65536);
	memset(&a, 0, sizeof(a));
	a.srs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(1));
	a.flags = strict_flag(fcinfo, 2);
	a.arena = &arena;
	with_kml(PG_GETARG_TEXT_PP(0), kml_placemarks_fn, &a);
	for (int i = 0; i < a.npms; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {a.pms[i].name == NULL, false};

		values[0] = nulls[0] ? (Datum) 0 :
			CStringGetTextDatum(pg_any_to_server(a.pms[i].name, strlen(a.pms[i].name), PG_UTF8));
		values[1] = crm_geo_fence_datum(&a.pms[i].fence);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	crm_arena_free(&arena);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(crm_geofence_from_geojson);
Datum
crm_geofence_from_geojson(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = PG_GETARG_JSONB_P(0);
	CrmSrs		srs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(1));
	char	   *s = JsonbToCString(NULL, &j->root, VARSIZE(j));
	CrmArena	arena;
	CrmFence	f;
	CrmError	err;
	Datum		result;

	crm_arena_init(&arena, 65536);
	if (!crm_geojson_read(s, strlen(s), srs, strict_flag(fcinfo, 2), &arena, &f, &err))
		crm_report(&err, NULL);
	result = crm_geo_fence_datum(&f);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(crm_geofence_from_wkb);
Datum
crm_geofence_from_wkb(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	CrmSrs		srs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(1));
	CrmArena	arena;
	CrmFence	f;
	CrmError	err;
	Datum		result;

	crm_arena_init(&arena, 65536);
	if (!crm_wkb_read((const uint8_t *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), srs, strict_flag(fcinfo, 2),
					  &arena, &f, &err))
		crm_report(&err, NULL);
	result = crm_geo_fence_datum(&f);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(crm_geofence_as_geojson);
Datum
crm_geofence_as_geojson(PG_FUNCTION_ARGS)
{
	CrmSrs		to = crm_geo_srs_arg(PG_GETARG_TEXT_PP(1));
	CrmArena	arena;
	CrmFence	f,
				g;
	CrmBuf		buf;
	Datum		result;

	crm_arena_init(&arena, 8192);
	crm_geo_fence_arg(PG_GETARG_DATUM(0), &arena, &f);
	crm_fence_transform(&f, to, &arena, &g);
	crm_buf_init(&buf);
	crm_geojson_write(&g, CRM_GEO_CIRCLE_VERTICES, &buf);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	crm_buf_free(&buf);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(crm_geofence_as_kml);
Datum
crm_geofence_as_kml(PG_FUNCTION_ARGS)
{
	CrmArena	arena;
	CrmFence	f,
				g;
	CrmBuf		buf;
	char	   *name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *server;
	text	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	crm_arena_init(&arena, 8192);
	crm_geo_fence_arg(PG_GETARG_DATUM(0), &arena, &f);
	crm_fence_transform(&f, CRM_SRS_WGS84, &arena, &g);
	crm_buf_init(&buf);
	crm_kml_write(&g, name, CRM_GEO_CIRCLE_VERTICES, &buf);
	server = pg_any_to_server(buf.data, (int) buf.len, GetDatabaseEncoding());
	result = cstring_to_text(server);
	crm_buf_free(&buf);
	crm_arena_free(&arena);
	PG_RETURN_XML_P(result);
}

/* crm.geofence_repair(input text, format text, srs text): reads with CRM_GEO_REPAIR. */
PG_FUNCTION_INFO_V1(crm_geofence_repair);
Datum
crm_geofence_repair(PG_FUNCTION_ARGS)
{
	char	   *format = text_to_cstring(PG_GETARG_TEXT_PP(1));
	CrmSrs		srs = crm_geo_srs_arg(PG_GETARG_TEXT_PP(2));
	CrmArena	arena;
	CrmFence	f;
	CrmError	err;
	size_t		len;
	char	   *s;
	Datum		result;
	bool		ok;

	crm_arena_init(&arena, 65536);
	if (strcmp(format, "kml") == 0)
	{
		KmlArgs		a;

		memset(&a, 0, sizeof(a));
		a.srs = srs;
		a.flags = CRM_GEO_REPAIR;
		a.arena = &arena;
		with_kml(PG_GETARG_TEXT_PP(0), kml_fence_fn, &a);
		f = a.fence;
		ok = true;
	}
	else
	{
		s = utf8_text(PG_GETARG_TEXT_PP(0), &len);
		if (strcmp(format, "wkt") == 0)
			ok = crm_wkt_read(s, len, CRM_GEO_REPAIR, &arena, &f, &err);
		else if (strcmp(format, "geojson") == 0)
			ok = crm_geojson_read(s, len, srs, CRM_GEO_REPAIR, &arena, &f, &err);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown fence format \"%s\"", format),
					 errhint("Use 'wkt', 'geojson' or 'kml'.")));
		if (!ok)
			crm_report(&err, "cannot repair the fence");
	}
	result = crm_geo_fence_datum(&f);
	crm_arena_free(&arena);
	PG_RETURN_DATUM(result);
}
