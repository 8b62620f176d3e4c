/*
 * cda_pg.h - the CDA reader for the server glue.
 */
#ifndef CRM_CDA_PG_H
#define CRM_CDA_PG_H

#include "postgres.h"

#include "cda.h"

/*
 * Reads an xml datum (any server encoding) into res, inside pg_xml_init()
 * with the libxml2 tree freed on every path; raises the core's error
 * (2200M for malformed or hostile XML, 54000 for oversized input).
 */
extern void crm_cda_read_datum(Datum doc, CdaResult *res);
/* A core string (UTF-8) as a text datum in the server encoding. */
extern Datum crm_cda_text(const char *s);

#endif							/* CRM_CDA_PG_H */
