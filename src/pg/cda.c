/*
 * cda.c - crm.cda_extract(doc xml): medication lines and diagnoses of an
 * HL7 CDA R2 document (src/core/cda_*.c does the reading).
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/xml.h"

#include "crm_pg.h"
#include "cda_pg.h"

#define CDA_EXTRACT_COLS 21

void
crm_cda_read_datum(Datum doc, CdaResult *res)
{
	char	   *server = text_to_cstring(DatumGetTextPP(doc));
	char	   *utf8 = pg_server_to_any(server, strlen(server), PG_UTF8);
	size_t		len = strlen(utf8);
	CdaReader  *reader = palloc0(sizeof(CdaReader));
	PgXmlErrorContext *xerr;
	CrmError	err;
	volatile bool ok = false;

	cda_result_init(res);
	xerr = pg_xml_init(PG_XML_STRICTNESS_WELLFORMED);
	PG_TRY();
	{
		ok = cda_read(reader, utf8, len, res, &err);
		/* libxml2 reports what the parser context does not see through pg_xml_init's handler */
		if (pg_xml_error_occurred(xerr))
			xml_ereport(xerr, ERROR, ERRCODE_INVALID_XML_DOCUMENT, "could not read clinical document");
	}
	PG_CATCH();
	{
		cda_reader_release(reader);
		pg_xml_done(xerr, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	cda_reader_release(reader);
	pg_xml_done(xerr, false);
	if (utf8 != server)
		pfree(utf8);
	pfree(server);
	if (!ok)
	{
		/* libxml2's reason quotes the document (UTF-8): show it in the server encoding */
		char	   *detail = pg_any_to_server(err.detail, strlen(err.detail), PG_UTF8);

		strlcpy(err.detail, detail, pg_mbcliplen(detail, strlen(detail), sizeof(err.detail) - 1) + 1);
		crm_report(&err, NULL);
	}
}

Datum
crm_cda_text(const char *s)
{
	char	   *conv = pg_any_to_server(s, strlen(s), PG_UTF8);

	return PointerGetDatum(cstring_to_text(conv));
}

static Datum
numeric_of(const char *s)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
							   Int32GetDatum(-1));
}

#define SET_TEXT(i, s) do { const char *s_ = (s); \
	if (s_ != NULL) values[i] = crm_cda_text(s_); else nulls[i] = true; } while (0)
#define SET_DATE(i, d) do { int32_t d_ = (d); \
	if (d_ != CDA_NO_DATE) values[i] = DateADTGetDatum(d_); else nulls[i] = true; } while (0)
#define SET_NUM(i, s) do { const char *s_ = (s); \
	if (s_ != NULL) values[i] = numeric_of(s_); else nulls[i] = true; } while (0)

static void
item_values(const CdaResult *res, const CdaItem *it, Datum *values, bool *nulls)
{
	char		buf[64];

	memset(nulls, 0, sizeof(bool) * CDA_EXTRACT_COLS);
	SET_TEXT(0, cda_kind_name(it->kind));
	SET_TEXT(1, it->code);
	SET_TEXT(2, it->code_system);
	SET_TEXT(3, it->code_system_name);
	SET_TEXT(4, it->display);
	SET_TEXT(5, it->alt_code);
	SET_TEXT(6, it->alt_code_system);
	SET_DATE(7, it->start_date);
	SET_DATE(8, it->end_date);
	SET_DATE(9, it->supplied_on);
	SET_NUM(10, it->dose_value);
	SET_TEXT(11, it->dose_unit);
	if (it->daily_units > 0)
	{
		snprintf(buf, sizeof(buf), "%.6g", it->daily_units);
		values[12] = numeric_of(buf);
	}
	else
		nulls[12] = true;
	SET_NUM(13, it->quantity);
	SET_TEXT(14, it->quantity_unit);
	SET_TEXT(15, it->route);
	if (it->days_supply > 0)
		values[16] = Int32GetDatum(it->days_supply);
	else
		nulls[16] = true;
	SET_TEXT(17, cda_days_source_name(it->days_source));
	SET_TEXT(18, it->days_note);
	SET_TEXT(19, res->document_kind);
	SET_DATE(20, res->document_date);
}

PG_FUNCTION_INFO_V1(crm_cda_extract);

/* crm.cda_extract(doc xml) RETURNS TABLE (...) */
Datum
crm_cda_extract(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CdaResult	res;
	Datum		values[CDA_EXTRACT_COLS];
	bool		nulls[CDA_EXTRACT_COLS];

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != CDA_EXTRACT_COLS)
		elog(ERROR, "crm.cda_extract: result type has %d columns, expected %d",
			 rsinfo->setDesc->natts, CDA_EXTRACT_COLS);
	crm_cda_read_datum(PG_GETARG_DATUM(0), &res);
	for (int i = 0; i < res.nitems; i++)
	{
		item_values(&res, &res.items[i], values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	cda_result_free(&res);
	return (Datum) 0;
}
