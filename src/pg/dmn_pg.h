/*
 * dmn_pg.h - server glue of the decision engine: model storage, the backend
 * cache of compiled programs, and jsonb <-> FEEL value conversion.
 */
#ifndef CRM_DMN_PG_H
#define CRM_DMN_PG_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "crm_pg.h"
#include "dmn_engine.h"

/* One compiled model version in the backend cache. */
typedef struct DmnCacheEntry
{
	int64		tenant_id;
	Oid			user_id;		/* rows were read under this role's row-level security */
	char	   *name;
	int64		model_id;
	int			version;
	DmnModel   *model;			/* the stored model (annotations, table sizes) */
	DmnProgram *program;
	MemoryContext cxt;			/* owns everything of this entry */
	void	   *extra;			/* a user's derived data (lead scoring's plan), in cxt */
} DmnCacheEntry;

/* ---- dmn_cache.c ---- */

/* The tenant setting without a round trip through SQL (membership is checked when loading). */
extern int64 dmn_session_tenant(void);

/*
 * The compiled current version of a model, loading and compiling it on a
 * miss.  Valid until the next call into the cache (which may drop stale
 * entries): callers must not run SQL between getting and using it.
 * Returns NULL when the model does not exist and missing_ok.
 */
extern DmnCacheEntry *dmn_cache_get(int64 tenant_id, const char *name, bool missing_ok);

/* Incremented whenever the cache is invalidated; lets other caches follow. */
extern uint64 dmn_cache_generation(void);

/* Makes sure the relcache callback is registered (idempotent). */
extern void dmn_cache_register(void);

/* ---- dmn_store.c (callers are connected to SPI) ---- */

/* Reads a stored model version; NULL if it does not exist (or is not visible). */
extern DmnModel *dmn_store_load(int64 tenant_id, int64 model_id, bool *is_current, int *version);

/* Finds the model_id of a model's current (version <= 0) or given version; 0 if none. */
extern int64 dmn_store_find(int64 tenant_id, const char *name, int version);

/* Stores the model as a new current version of its name; returns the new model_id. */
extern int64 dmn_store_save(const DmnModel *model);

/* ---- dmn_json.c ---- */

/* A jsonb value (object, array or scalar) as a FEEL value. */
extern FeelValue *dmn_jsonb_to_feel(Jsonb *jb);
extern FeelValue *dmn_jsonb_container_to_feel(JsonbContainer *c);
/* A FEEL value as jsonb; numbers exact, temporals as ISO text. */
extern Jsonb *dmn_feel_to_jsonb(const FeelValue *v, const char *what);
/* One jsonb value (scalar or container) as a FEEL value. */
extern FeelValue *dmn_jsonb_value_to_feel(JsonbValue *v);
/* Puts a jsonb value into a borrowed context (strings point into the jsonb, which must outlive it). */
extern void dmn_put_jsonb_value(FeelValue *ctx, const char *key, size_t keylen, JsonbValue *v);
/* A FEEL number as a numeric datum. */
extern Datum dmn_feel_to_numeric(const FeelValue *v);

/* ---- dmn_funcs.c ---- */

/*
 * crm.decide's call-site cache (fn_extra): the compiled model and the
 * decision's index for these names, looked up again only after a cache
 * invalidation or a change of tenant or role.
 */
extern DmnCacheEntry *dmn_decide_target(FunctionCallInfo fcinfo, text *model, text *decision, int *index);
/* An empty borrowed input context of at least ninputs entries, kept in the call-site cache. */
extern FeelValue *dmn_decide_site_inputs(FunctionCallInfo fcinfo, int ninputs);
/* A pointer the caller may keep in the same call-site cache (fn_mcxt memory; starts NULL). */
extern void **dmn_decide_site_extra(FunctionCallInfo fcinfo);

/* ---- errors ---- */

/* Raises a core error about a model as ereport(ERROR). */
extern void dmn_report(const CrmError *err, const char *model) pg_attribute_noreturn();

#endif							/* CRM_DMN_PG_H */
