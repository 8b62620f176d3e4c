/*
 * crm_pg.h - helpers shared by the server glue in src/pg.
 */
#ifndef CRM_PG_H
#define CRM_PG_H

#include "postgres.h"

#include "crm_core.h"

/* Raises the core error as ereport(ERROR) with its SQLSTATE; never returns. */
extern void crm_report(const CrmError *err, const char *context) pg_attribute_noreturn();
/* The SQLSTATE a core error class maps to. */
extern int	crm_sqlstate(CrmErrCode code);

/* The tenant of the current session (crm.tenant_id, default 1), checked for membership. */
extern int64 crm_current_tenant(void);

/* Pushes an object key (a C string, not copied: it must outlive the build) into a jsonb being built. */
struct JsonbParseState;
extern void crm_jsonb_push_key(struct JsonbParseState **st, const char *key);

/* A text datum as a NUL-terminated C string in the current memory context. */
#define CRM_TEXT_ARG(n) text_to_cstring(PG_GETARG_TEXT_PP(n))

#endif							/* CRM_PG_H */
