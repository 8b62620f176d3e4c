/*
 * jsonb_build.c - small helpers for building jsonb values with pushJsonbValue,
 * shared by the features that write their outbox payloads and explanations
 * directly (dispatch, scoring reasons, rebate lines).
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "crm_pg.h"

void
crm_jsonb_push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = (int) strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}
