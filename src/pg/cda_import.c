/*
 * cda_import.c - crm.import_cda(customer_id, doc, store_id): loads the
 * medication lines of a clinical document into crm.dispense.
 *
 * EXECUTE is granted to crm_health_reader and crm_admin only.  The caller's
 * tenant is taken (and its membership checked) as the caller; the rows are
 * then written with the rights of the owner of crm.dispense, because health
 * readers may read but not write dispensing lines directly.  Every line is
 * checked before the first insert, and the call is one statement, so a bad
 * document loads nothing.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/date.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "crm_pg.h"
#include "cda_pg.h"

#define IMPORT_NARGS 10

static const char *const import_sql =
"INSERT INTO crm.dispense (tenant_id, customer_id, store_id, drug_code, code_system, atc_code, "
"drug_name, quantity, days_supply, dispensed_at, source) "
"VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, "
"($10::pg_catalog.date::pg_catalog.timestamp AT TIME ZONE 'Asia/Shanghai'), 'cda')";

/* crm.dispense.code_system for a code system OID. */
static const char *
dispense_code_system(const char *oid)
{
	if (strcmp(oid, "2.16.840.1.113883.6.73") == 0)
		return "atc";
	if (strcmp(oid, "2.16.840.1.113883.6.88") == 0)
		return "rxnorm";
	if (strcmp(oid, "2.16.840.1.113883.6.69") == 0)
		return "ndc";
	if (strcmp(oid, "2.51.1.1") == 0)
		return "gtin";
	return "other";
}

static bool
atc_shaped(const char *c)
{
	size_t		n = c ? strlen(c) : 0;
	static const char shape[] = "ADDAADD";	/* C09CA01: letter, digits, letters, digits */

	if (n != 1 && n != 3 && n != 4 && n != 5 && n != 7)
		return false;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'A' ? !(c[i] >= 'A' && c[i] <= 'Z') : !(c[i] >= '0' && c[i] <= '9'))
			return false;
	return true;
}

static int32
fill_date(const CdaResult *res, const CdaItem *it)
{
	if (it->supplied_on != CDA_NO_DATE)
		return it->supplied_on;
	if (it->start_date != CDA_NO_DATE)
		return it->start_date;
	return res->document_date;
}

/* Refuses the whole document if any medication line cannot become a dispensing line. */
static void
check_lines(const CdaResult *res)
{
	int			line = 0;

	for (int i = 0; i < res->nitems; i++)
	{
		const CdaItem *it = &res->items[i];
		const char *name = it->display ? it->display : "(unnamed)";

		if (it->kind != CDA_MEDICATION)
			continue;
		line++;
		if (it->code == NULL || it->code_system == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("medication %d of the document (\"%s\") has no drug code", line,
							pg_any_to_server(name, strlen(name), PG_UTF8)),
					 errdetail("crm.dispense needs a drug code; nothing was imported."),
					 errhint("Code the drug in the document (ATC 2.16.840.1.113883.6.73, RxNorm, GTIN 2.51.1.1), "
							 "as the code or a translation.")));
		if (strcmp(dispense_code_system(it->code_system), "atc") == 0 && !atc_shaped(it->code))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("medication %d of the document has code \"%s\", which is not an ATC code", line,
							pg_any_to_server(it->code, strlen(it->code), PG_UTF8)),
					 errdetail("Its code system is ATC (2.16.840.1.113883.6.73); nothing was imported."),
					 errhint("ATC codes look like C09CA01.")));
		if (fill_date(res, it) == CDA_NO_DATE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("medication %d of the document (\"%s\") has no date", line,
							pg_any_to_server(name, strlen(name), PG_UTF8)),
					 errdetail("Neither a dispense date, a start date nor the document's effectiveTime is given; nothing was imported."),
					 errhint("Give the document an effectiveTime with at least a day (YYYYMMDD).")));
	}
}

static Oid
dispense_owner(void)
{
	Oid			rel = RangeVarGetRelid(makeRangeVar("crm", "dispense", -1), NoLock, false);
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", rel);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

static void
check_exists(const char *sql, int64 tenant, int64 id, const char *what)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(tenant), Int64GetDatum(id)};

	if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("%s " INT64_FORMAT " does not exist in tenant " INT64_FORMAT, what, id, tenant),
				 errhint("Import for an existing %s of the current tenant (crm.tenant_id).", what)));
}

static Datum
opt_text(const char *s, char *null_flag)
{
	if (s == NULL)
	{
		*null_flag = 'n';
		return (Datum) 0;
	}
	*null_flag = ' ';
	return crm_cda_text(s);
}

static void
insert_line(SPIPlanPtr plan, int64 tenant, int64 customer, Datum store, bool store_null,
			const CdaResult *res, const CdaItem *it)
{
	Datum		v[IMPORT_NARGS];
	char		n[IMPORT_NARGS + 1];
	const char *sys = dispense_code_system(it->code_system);
	const char *atc = NULL;

	memset(n, ' ', IMPORT_NARGS);
	n[IMPORT_NARGS] = '\0';
	if (strcmp(sys, "atc") != 0 && it->alt_code_system != NULL &&
		strcmp(it->alt_code_system, "2.16.840.1.113883.6.73") == 0 && atc_shaped(it->alt_code))
		atc = it->alt_code;
	v[0] = Int64GetDatum(tenant);
	v[1] = Int64GetDatum(customer);
	v[2] = store;
	n[2] = store_null ? 'n' : ' ';
	v[3] = crm_cda_text(it->code);
	v[4] = CStringGetTextDatum(sys);
	v[5] = opt_text(atc, &n[5]);
	v[6] = opt_text(it->display, &n[6]);
	v[7] = opt_text(it->quantity, &n[7]);
	v[8] = Int32GetDatum(it->days_supply);
	n[8] = (it->days_supply >= 1 && it->days_supply <= 400) ? ' ' : 'n';
	v[9] = DateADTGetDatum(fill_date(res, it));
	if (SPI_execute_plan(plan, v, n, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed");
}

/*
 * Records the import first, so that a second import of the same document id waits here for the
 * first transaction and then finds the conflict: each document is loaded once per tenant.
 */
static void
record_import(int64 tenant, int64 customer, Datum store, bool store_null, const CdaResult *res,
			  int lines, const char *caller)
{
	Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, DATEOID, INT8OID, INT8OID, INT4OID, NAMEOID};
	Datum		v[8];
	char		n[9] = "        ";
	int			rc;

	v[0] = Int64GetDatum(tenant);
	v[1] = opt_text(res->document_id, &n[1]);
	v[2] = crm_cda_text(res->document_kind);
	v[3] = DateADTGetDatum(res->document_date);
	n[3] = res->document_date == CDA_NO_DATE ? 'n' : ' ';
	v[4] = Int64GetDatum(customer);
	v[5] = store;
	n[5] = store_null ? 'n' : ' ';
	v[6] = Int32GetDatum(lines);
	v[7] = DirectFunctionCall1(namein, CStringGetDatum(caller));
	rc = SPI_execute_with_args("INSERT INTO crm.cda_import (tenant_id, document_id, document_kind, "
							   "document_date, customer_id, store_id, lines, imported_by) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
							   "ON CONFLICT (tenant_id, document_id) DO NOTHING",
							   8, types, v, n, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("clinical document \"%s\" was already imported",
						pg_any_to_server(res->document_id, strlen(res->document_id), PG_UTF8)),
				 errdetail("crm.cda_import records it; nothing was imported again."),
				 errhint("Each document is loaded once; a corrected document carries a new ClinicalDocument/id.")));
}

static int
count_lines(const CdaResult *res)
{
	int			c = 0;

	for (int i = 0; i < res->nitems; i++)
		c += res->items[i].kind == CDA_MEDICATION;
	return c;
}

static int
import_lines(int64 tenant, int64 customer, Datum store, bool store_null, const CdaResult *res)
{
	Oid			types[IMPORT_NARGS] = {INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT4OID, DATEOID};
	SPIPlanPtr	plan = SPI_prepare(import_sql, IMPORT_NARGS, types);
	int			count = 0;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	for (int i = 0; i < res->nitems; i++)
	{
		if (res->items[i].kind != CDA_MEDICATION)
			continue;
		insert_line(plan, tenant, customer, store, store_null, res, &res->items[i]);
		count++;
	}
	return count;
}

PG_FUNCTION_INFO_V1(crm_import_cda);

/* crm.import_cda(customer_id bigint, doc xml, store_id bigint DEFAULT NULL) RETURNS integer */
Datum
crm_import_cda(PG_FUNCTION_ARGS)
{
	int64		customer;
	bool		store_null = PG_ARGISNULL(2);
	CdaResult	res;
	int64		tenant;
	Oid			save_user;
	int			save_sec;
	int			count;
	char	   *caller;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("customer_id and doc must not be null"),
				 errhint("Pass the pseudonymised customer's id and the CDA document.")));
	customer = PG_GETARG_INT64(0);
	crm_cda_read_datum(PG_GETARG_DATUM(1), &res);
	check_lines(&res);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	tenant = crm_current_tenant();	/* as the caller: membership is checked */
	GetUserIdAndSecContext(&save_user, &save_sec);
	caller = GetUserNameFromId(save_user, false);
	SetUserIdAndSecContext(dispense_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	check_exists("SELECT 1 FROM crm.customer WHERE tenant_id OPERATOR(pg_catalog.=) $1 "
				 "AND customer_id OPERATOR(pg_catalog.=) $2", tenant, customer, "customer");
	if (!store_null)
		check_exists("SELECT 1 FROM crm.store WHERE tenant_id OPERATOR(pg_catalog.=) $1 "
					 "AND store_id OPERATOR(pg_catalog.=) $2", tenant, PG_GETARG_INT64(2), "store");
	record_import(tenant, customer, store_null ? (Datum) 0 : PG_GETARG_DATUM(2), store_null, &res,
				  count_lines(&res), caller);
	count = import_lines(tenant, customer, store_null ? (Datum) 0 : PG_GETARG_DATUM(2), store_null, &res);
	SetUserIdAndSecContext(save_user, save_sec);
	SPI_finish();
	cda_result_free(&res);
	PG_RETURN_INT32(count);
}
