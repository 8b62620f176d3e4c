/*
 * cda.h - a reader for HL7 CDA R2 clinical documents (libxml2).
 *
 * Extracts medication lines and diagnoses from C-CDA (US), CDA-CH-EMED
 * (Switzerland) and WS/T 500 (China, 西药处方 C0004) documents, and derives
 * a days supply for each medication line (see docs/cda.md for the rules).
 *
 * Safety: the input is parsed through crm_xml_read (xml_safe.h):
 * XML_PARSE_NONET, never NOENT, DTDLOAD or HUGE; a document that declares
 * any entity is rejected before the declaration is used; input size and
 * element depth are limited; no global libxml2 handler is installed.  The
 * libxml2 tree lives in a CdaReader and is freed by
 * cda_reader_release(), which the caller runs on every path (the server glue
 * does it in PG_CATCH too).  Extracted values are copied into allocator
 * memory (CdaResult) and do not refer to the tree.
 */
#ifndef CRM_CDA_H
#define CRM_CDA_H

#include "crm_core.h"

#define CDA_MAX_INPUT	(16 * 1024 * 1024)	/* bytes */
#define CDA_MAX_DEPTH	200					/* nested elements */
#define CDA_MAX_ITEMS	10000				/* extracted rows */
#define CDA_NO_DATE		INT32_MIN

typedef enum CdaKind
{
	CDA_MEDICATION,
	CDA_DIAGNOSIS
} CdaKind;

typedef enum CdaDaysSource
{
	CDA_DS_NONE = 0,			/* not derivable: see days_note */
	CDA_DS_EXPLICIT,			/* WS/T 500 DE06.00.294.00 (处方有效天数) */
	CDA_DS_SUPPLY,				/* supply quantity / (dose x doses per day) */
	CDA_DS_INTERVAL				/* effective time interval, both ends inclusive */
} CdaDaysSource;

/*
 * One extracted row.  Strings are NULL when absent; dates are days since
 * 2000-01-01 (PostgreSQL's date origin) or CDA_NO_DATE; numbers are kept as
 * the document's decimal text (validated) so that SQL gets exact numerics.
 */
typedef struct CdaItem
{
	CdaKind		kind;
	const char *code;
	const char *code_system;		/* OID */
	const char *code_system_name;	/* from the document, else from the OID */
	const char *display;
	const char *alt_code;			/* first translation (ICD-10 preferred) */
	const char *alt_code_system;
	int32_t		start_date;
	int32_t		end_date;
	int32_t		supplied_on;		/* date of a dispense (supply EVN) */
	const char *dose_value;
	const char *dose_unit;
	const char *quantity;
	const char *quantity_unit;
	const char *route;
	double		daily_units;		/* units taken per day, 0 if unknown */
	int32_t		days_supply;		/* -1 when not derivable */
	CdaDaysSource days_source;
	const char *days_note;			/* how it was derived, or why not */
} CdaItem;

typedef struct CdaResult
{
	CrmArena	arena;				/* every string of every item */
	const char *document_kind;		/* WS/T 500 | CDA-CH-EMED | C-CDA | CDA | CDA fragment */
	const char *document_id;		/* ClinicalDocument/id as root^extension, or NULL */
	int32_t		document_date;
	CdaItem    *items;
	int			nitems;
	int			cap;
} CdaResult;

/* Holds the libxml2 tree between parsing and release. */
typedef struct CdaReader
{
	void	   *doc;			/* xmlDocPtr */
	bool		entity_seen;
	int			error_line;
	char		error_msg[CRM_MSG_LEN];
} CdaReader;

/*
 * Parses buf (UTF-8, whatever its XML declaration says) and fills res.
 * Returns false with err filled (CRM_ERR_XML for malformed or hostile XML,
 * CRM_ERR_LIMIT for oversized input).  Call cda_reader_release(reader) and
 * cda_result_free(res) afterwards in every case.
 */
extern bool cda_read(CdaReader *reader, const char *buf, size_t len,
					 CdaResult *res, CrmError *err);
extern void cda_reader_release(CdaReader *reader);
extern void cda_result_init(CdaResult *res);
extern void cda_result_free(CdaResult *res);

/* Dates, numbers and names, shared by the reader's files and its tests. */
extern int32_t cda_date_from_ts(const char *ts);	/* "YYYYMMDD..." or CDA_NO_DATE */
extern void cda_date_to_ymd(int32_t day, int *y, int *m, int *d);
extern bool cda_decimal_ok(const char *s);
extern const char *cda_code_system_name(const char *oid);
extern const char *cda_days_source_name(CdaDaysSource s);
extern const char *cda_kind_name(CdaKind k);

#endif							/* CRM_CDA_H */
