/*
 * dispatch_rels.c - per-backend cache of the catalog facts the direct dispatch paths need per
 * lead: the OIDs of crm.rep_load and its primary key, crm.outbox and its identity sequence,
 * crm.lead_dispatch, the external_ref key of crm.lead, and the column numbers used there.
 *
 * Looking these up by name cost several catalog cache probes and a pg_depend scan (the identity
 * sequence) per lead.  The cache is dropped whole when anything it was derived from may have
 * changed: a relcache invalidation of one of the cached relations (ALTER TABLE, identity
 * changes, DROP) or of everything, and any change of a pg_class, pg_namespace or pg_proc row
 * (CREATE, DROP, RENAME of a relation or schema; a function's new owner).  The callbacks are
 * registered on first use.  dispatch_rels_epoch() tells derived caches that the facts were
 * looked up again.
 */
#include "postgres.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "dispatch.h"

static DispatchRels rels;
static bool rels_valid = false;
static bool callbacks_registered = false;
static uint64 inval_count = 0;
static uint64 epoch = 0;		/* bumped whenever the facts are looked up again */

static void
rels_relcache_inval(Datum arg, Oid relid)
{
	inval_count++;
	if (relid == InvalidOid || relid == rels.rep_load || relid == rels.rep_load_pkey ||
		relid == rels.outbox || relid == rels.outbox_seq || relid == rels.lead_dispatch ||
		relid == rels.lead || relid == rels.lead_ref_idx)
		rels_valid = false;
}

static void
rels_syscache_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	inval_count++;
	rels_valid = false;
}

static Oid
rel_oid(const char *name, Oid nsp)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation crm.%s is missing", name);
	return relid;
}

static AttrNumber
attnum(Oid relid, const char *name)
{
	AttrNumber	n = get_attnum(relid, name);

	if (n == InvalidAttrNumber)
		elog(ERROR, "crm.%s has no column \"%s\"", get_rel_name(relid), name);
	return n;
}

/* the cached facts, looked up again after any invalidation that may concern them */
const DispatchRels *
dispatch_rels(void)
{
	DispatchRels r;
	Oid			nsp;
	uint64		seen;

	if (rels_valid)
		return &rels;
	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(rels_relcache_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(RELNAMENSP, rels_syscache_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACENAME, rels_syscache_inval, (Datum) 0);
		/* function owners (dispatch_fn.c keeps the trigger function's owner with the facts) */
		CacheRegisterSyscacheCallback(PROCOID, rels_syscache_inval, (Datum) 0);
		callbacks_registered = true;
	}
	seen = inval_count;
	memset(&r, 0, sizeof(r));
	nsp = get_namespace_oid("crm", false);
	r.rep_load = rel_oid("rep_load", nsp);
	r.rep_load_pkey = rel_oid("rep_load_pkey", nsp);
	r.load_open = attnum(r.rep_load, "open_leads");
	r.load_total = attnum(r.rep_load, "assigned_total");
	r.load_last = attnum(r.rep_load, "last_assigned_at");
	r.outbox = rel_oid("outbox", nsp);
	r.outbox_id = get_attnum(r.outbox, "outbox_id");
	/* no identity sequence (or no outbox_id): the direct outbox path does not apply */
	r.outbox_seq = r.outbox_id == InvalidAttrNumber ? InvalidOid :
		getIdentitySequence(r.outbox, r.outbox_id, true);
	r.lead_dispatch = rel_oid("lead_dispatch", nsp);
	r.lead = rel_oid("lead", nsp);
	r.lead_ref_idx = rel_oid("lead_tenant_id_external_ref_key", nsp);
	/* an invalidation received while looking up leaves the cache invalid: looked up again next time */
	rels = r;
	rels_valid = (inval_count == seen);
	epoch++;
	return &rels;
}

/* changes whenever dispatch_rels() looked the facts up again: what is derived from them is stale */
uint64
dispatch_rels_epoch(void)
{
	return epoch;
}
