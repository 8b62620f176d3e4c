/*
 * crm.c - module entry: _PG_init, the crm.* settings, core allocator hooks.
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "crm_pg.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static char *tenant_id_setting = NULL;

/*
 * A value SET before this module was loaded is only a placeholder that
 * PostgreSQL could not check; if it is invalid, DefineCustomStringVariable
 * drops it with a warning.  Remember it, so that the session fails loudly
 * instead of silently working for tenant 1, until crm.tenant_id is set again.
 */
static char *tenant_id_rejected = NULL;

static void *
core_palloc(size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_HUGE);
}

static void *
core_repalloc(void *ptr, size_t size)
{
	return repalloc_huge(ptr, size);
}

static void
core_pfree(void *ptr)
{
	pfree(ptr);
}

static bool
tenant_id_valid(const char *s, int64 *out)
{
	char	   *end;
	long long	v;

	*out = 1;
	if (s == NULL || *s == '\0')
		return true;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || !isdigit((unsigned char) *s))
		return false;
	*out = (int64) v;
	return true;
}

/* crm.tenant_id must be a positive bigint; rejected at SET time with a hint. */
static bool
check_tenant_id(char **newval, void **extra, GucSource source)
{
	int64		v;

	if (!tenant_id_valid(*newval, &v))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("invalid value for crm.tenant_id: \"%s\"", *newval);
		GUC_check_errhint("The tenant is a positive bigint, for example SET crm.tenant_id = 2.");
		return false;
	}
	return true;
}

static void
assign_tenant_id(const char *newval, void *extra)
{
	if (tenant_id_rejected != NULL)
	{
		pfree(tenant_id_rejected);
		tenant_id_rejected = NULL;
	}
}

PG_FUNCTION_INFO_V1(crm_tenant_setting);

/* crm.tenant_setting(): the parsed crm.tenant_id (1 when unset). */
Datum
crm_tenant_setting(PG_FUNCTION_ARGS)
{
	int64		v;

	if (tenant_id_rejected != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for crm.tenant_id: \"%s\"", tenant_id_rejected),
				 errhint("The tenant is a positive bigint, for example SET crm.tenant_id = 2.")));
	if (!tenant_id_valid(tenant_id_setting, &v))
		elog(ERROR, "crm.tenant_id holds an unchecked value");
	PG_RETURN_INT64(v);
}

void
_PG_init(void)
{
	const char *early = GetConfigOption("crm.tenant_id", true, false);
	char	   *rejected = NULL;
	int64		ignored;

	crm_set_allocator(core_palloc, core_repalloc, core_pfree);
	if (early != NULL && !tenant_id_valid(early, &ignored))
		rejected = MemoryContextStrdup(TopMemoryContext, early);

	DefineCustomStringVariable("crm.tenant_id",
							   "The tenant (company) this session works for.",
							   "A positive bigint; empty means tenant 1. Row-level security shows "
							   "each role only the tenants it is registered for in crm.tenant_member.",
							   &tenant_id_setting,
							   "",
							   PGC_USERSET,
							   0,
							   check_tenant_id,
							   assign_tenant_id,
							   NULL);
	/* after the definition: defining runs the assign hook with the default */
	tenant_id_rejected = rejected;
	MarkGUCPrefixReserved("crm");
}
