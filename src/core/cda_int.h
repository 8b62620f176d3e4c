/*
 * cda_int.h - internals shared by the CDA reader's files (not for the glue).
 */
#ifndef CRM_CDA_INT_H
#define CRM_CDA_INT_H

#include <libxml/tree.h>

#include "cda.h"

/* State of one extraction run. */
typedef struct CdaWalk
{
	CdaResult  *res;
	CrmError   *err;
	xmlNode    *root;
	const char *doc_days;			/* document-level 处方有效天数 value, or NULL */
	const char *doc_days_unit;
} CdaWalk;

/* Tree access by local name, ignoring namespaces (fragments often lack them). */
extern bool cx_is(const xmlNode *n, const char *name);
extern xmlNode *cx_child(const xmlNode *n, const char *name);
extern xmlNode *cx_next(const xmlNode *n, const char *name);
extern const char *cx_attr(const xmlNode *n, const char *name);
extern const char *cx_xsi_type(const xmlNode *n);
extern bool cx_has_template(const xmlNode *n, const char *root);
extern bool cx_null(const xmlNode *n);
extern xmlNode *cx_path(const xmlNode *n, const char *const *names);
extern const char *cx_text(CdaWalk *w, const xmlNode *n);
extern const char *cx_dup(CdaWalk *w, const char *s);
extern const char *cx_printf(CdaWalk *w, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern xmlNode *cx_find_observation(const xmlNode *n, const char *code, bool outside_meds, int depth);

/* Extraction (cda_extract.c) and medication details (cda_med.c). */
extern bool cda_extract_tree(CdaWalk *w);
extern CdaItem *cda_new_item(CdaWalk *w, CdaKind kind);
extern void cda_pick_code(CdaWalk *w, const xmlNode *code, CdaItem *it, bool medication);
extern bool cda_medication(CdaWalk *w, const xmlNode *med, bool is_supply);
extern double cda_doses_per_day(const xmlNode *sa);

#endif							/* CRM_CDA_INT_H */
