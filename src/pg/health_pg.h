/*
 * health_pg.h - server helpers of the health profile (src/pg/health_*.c).
 */
#ifndef CRM_HEALTH_PG_H
#define CRM_HEALTH_PG_H

#include "postgres.h"

#include "health_profile.h"

/* Loads the tenant's ATC prefix → condition map (overrides, then shipped defaults) into cxt. */
extern void health_load_condmap(CrmCondMap *map, int64 tenant, MemoryContext cxt);

/* The per-condition detail of a profile as a jsonb datum, built directly (no text parsing). */
extern Datum health_conditions_jsonb(const CrmHealthProfile *prof, const CrmCondMap *map);

#endif							/* CRM_HEALTH_PG_H */
