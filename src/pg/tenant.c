/*
 * tenant.c - the session's tenant for C code (triggers, SPI callers).
 */
#include "postgres.h"

#include "executor/spi.h"

#include "crm_pg.h"

/*
 * Asks crm.current_tenant(), so that C code applies exactly the same
 * membership rule as the row-level security policies.  The caller must be
 * connected to SPI.
 */
int64
crm_current_tenant(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute("SELECT crm.current_tenant()", true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "crm.current_tenant() returned no row");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "crm.current_tenant() returned null");
	return DatumGetInt64(d);
}
