/*
 * health_privacy.c - keyed pseudonyms (HMAC-SHA256 with PostgreSQL's own
 * implementation), key generation, and the caller's tenant inside
 * SECURITY DEFINER functions.
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "crm_pg.h"

PG_FUNCTION_INFO_V1(crm_hmac_sha256);
PG_FUNCTION_INFO_V1(crm_random_key);
PG_FUNCTION_INFO_V1(crm_caller_tenant);
PG_FUNCTION_INFO_V1(crm_caller);

#define CRM_MIN_KEY_BYTES 16

/* hmac_sha256(key bytea, message bytea) RETURNS bytea */
Datum
crm_hmac_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	bytea	   *out = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	pg_hmac_ctx *ctx;

	if (VARSIZE_ANY_EXHDR(key) < CRM_MIN_KEY_BYTES)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("HMAC key is %d bytes long", (int) VARSIZE_ANY_EXHDR(key)),
						errhint("Use a key of at least %d random bytes.", CRM_MIN_KEY_BYTES)));
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, (uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) < 0 ||
		pg_hmac_update(ctx, (uint8 *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg)) < 0 ||
		pg_hmac_final(ctx, (uint8 *) VARDATA(out), PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *why = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("HMAC-SHA256 failed: %s", why)));
	}
	pg_hmac_free(ctx);
	SET_VARSIZE(out, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	PG_RETURN_BYTEA_P(out);
}

/* random_key() RETURNS bytea: 32 bytes from the operating system's strong random source. */
Datum
crm_random_key(PG_FUNCTION_ARGS)
{
	bytea	   *out = palloc(VARHDRSZ + 32);

	if (!pg_strong_random(VARDATA(out), 32))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes")));
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

/*
 * caller_tenant() RETURNS bigint: crm.current_tenant() evaluated for the role
 * that called from outside (SET ROLE or session role), not for the owner of a
 * SECURITY DEFINER function that is running.  Definer functions call this
 * first so that they serve only a tenant the caller belongs to.
 */
Datum
crm_caller_tenant(PG_FUNCTION_ARGS)
{
	Oid			save_user;
	int			save_sec;
	volatile int64 tenant = 0;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(GetOuterUserId(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		SPI_connect();
		tenant = crm_current_tenant();
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	PG_RETURN_INT64(tenant);
}

/* caller() RETURNS name: the role that called from outside (see caller_tenant). */
Datum
crm_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false))));
}
