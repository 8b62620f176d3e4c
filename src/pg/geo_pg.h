/*
 * geo_pg.h - helpers shared by the geo-fence glue (geofence.c, geo_io.c, geo_locate.c).
 */
#ifndef CRM_GEO_PG_H
#define CRM_GEO_PG_H

#include "crm_pg.h"
#include "fmgr.h"

#include "geo.h"

/* Deserializes a crm.geofence datum (detoasted into the current context). */
extern void crm_geo_fence_arg(Datum d, CrmArena *arena, CrmFence *out);
/* A crm.geofence datum (palloc'd) holding the fence. */
extern Datum crm_geo_fence_datum(const CrmFence *fence);
/* Parses a coordinate system name or raises an error naming the argument. */
extern CrmSrs crm_geo_srs_arg(text *name);

/*
 * Territory ids of the tenant's active territories containing the point, by priority (at most
 * max); the caller has checked the tenant.
 */
extern int	crm_geo_locate_tenant(int64 tenant, double lon, double lat, text *srs_name, int64 *ids,
								  int max);

#define CRM_GEO_CIRCLE_VERTICES 64

#endif							/* CRM_GEO_PG_H */
