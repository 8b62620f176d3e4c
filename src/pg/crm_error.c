/*
 * crm_error.c - turns core errors into ereport() with SQLSTATEs.
 */
#include "postgres.h"

#include "crm_pg.h"

int
crm_sqlstate(CrmErrCode code)
{
	switch (code)
	{
		case CRM_ERR_SYNTAX:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
		case CRM_ERR_INVALID:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case CRM_ERR_RANGE:
			return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		case CRM_ERR_DIV_ZERO:
			return ERRCODE_DIVISION_BY_ZERO;
		case CRM_ERR_TYPE:
			return ERRCODE_DATATYPE_MISMATCH;
		case CRM_ERR_NOT_FOUND:
			return ERRCODE_UNDEFINED_OBJECT;
		case CRM_ERR_XML:
			return ERRCODE_INVALID_XML_DOCUMENT;
		case CRM_ERR_DATA:
			return ERRCODE_DATA_EXCEPTION;
		case CRM_ERR_LIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case CRM_ERR_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case CRM_OK:
		case CRM_ERR_INTERNAL:
			break;
	}
	return ERRCODE_INTERNAL_ERROR;
}

void
crm_report(const CrmError *err, const char *context)
{
	ereport(ERROR,
			(errcode(crm_sqlstate(err->code)),
			 context ? errmsg("%s: %s", context, err->message) : errmsg("%s", err->message),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) :
			 (err->position > 0 ? errhint("The problem is at character %d of the input.",
										  err->position) : 0)));
	pg_unreachable();
}
