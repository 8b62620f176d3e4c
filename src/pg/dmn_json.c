/*
 * dmn_json.c - jsonb <-> FEEL values.
 *
 * JSON numbers become FEEL numbers from their exact decimal text; strings
 * stay strings (the engine coerces them by the model's typeRefs, e.g. ISO
 * text to a date); arrays become lists and objects contexts.  Back to jsonb:
 * numbers exact as numeric, dates, times and durations as ISO-8601 strings.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "dmn_pg.h"

/* A JSON number that is an integer fitting int4 (scale 0): the common case, without text. */
static bool
small_jsonb_integer(Numeric n, int32 *out)
{
	bool		overflow = false;

	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(n))) != 0)
		return false;
	*out = numeric_int4_opt_error(n, &overflow);
	return !overflow;
}

static FeelValue *
scalar_to_feel(JsonbValue *v)
{
	int32		i;

	CrmError	err;
	FeelValue  *f;
	char	   *s;

	switch (v->type)
	{
		case jbvNull:
			return feel_null();
		case jbvBool:
			return feel_boolean(v->val.boolean);
		case jbvString:
			return feel_string(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			/* the same FEEL number as parsing the text */
			if (small_jsonb_integer(v->val.numeric, &i))
				return feel_number_from_int(i);
			s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			crm_error_clear(&err);
			f = feel_number_from_text(s, &err);
			if (f == NULL)
				crm_report(&err, "JSON number");
			return f;
		case jbvBinary:
			return dmn_jsonb_container_to_feel(v->val.binary.data);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;
}

FeelValue *
dmn_jsonb_container_to_feel(JsonbContainer *c)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue	key = {.type = jbvNull};
	FeelValue  *result = NULL;
	bool		scalar_array = false;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				scalar_array = v.val.array.rawScalar;
				result = scalar_array ? NULL : feel_list_new();
				break;
			case WJB_BEGIN_OBJECT:
				result = feel_context_new();
				break;
			case WJB_ELEM:
				if (scalar_array)
					result = scalar_to_feel(&v);
				else
					feel_list_append(result, scalar_to_feel(&v));
				break;
			case WJB_KEY:
				key = v;
				break;
			case WJB_VALUE:
				feel_context_put(result, key.val.string.val, key.val.string.len, scalar_to_feel(&v));
				break;
			default:
				break;
		}
	}
	return result ? result : feel_null();
}

FeelValue *
dmn_jsonb_to_feel(Jsonb *jb)
{
	return dmn_jsonb_container_to_feel(&jb->root);
}

FeelValue *
dmn_jsonb_value_to_feel(JsonbValue *v)
{
	return scalar_to_feel(v);
}

void
dmn_put_jsonb_value(FeelValue *ctx, const char *key, size_t keylen, JsonbValue *v)
{
	bool		ok;
	int32		i;

	if (v->type == jbvString)
		ok = feel_borrowed_put_string(ctx, key, keylen, v->val.string.val, v->val.string.len);
	else if (v->type == jbvBool)
		ok = feel_borrowed_put_boolean(ctx, key, keylen, v->val.boolean);
	else if (v->type == jbvNull)
		ok = feel_borrowed_put_null(ctx, key, keylen);
	else if (v->type == jbvNumeric && small_jsonb_integer(v->val.numeric, &i))
		ok = feel_borrowed_put_int(ctx, key, keylen, i);
	else
		ok = feel_borrowed_put(ctx, key, keylen, scalar_to_feel(v));
	if (!ok)
		elog(ERROR, "input context full at \"%s\"", key);
}

/* An integer of at most 18 digits (the common case: points, counts) without numeric_in. */
static bool
small_integer(const char *s, int64 *out)
{
	const char *p = s + (*s == '-');
	int64		v = 0;
	int			n = 0;

	for (; *p >= '0' && *p <= '9' && n < 19; p++, n++)
		v = v * 10 + (*p - '0');
	if (*p != '\0' || n == 0 || n > 18)
		return false;
	*out = *s == '-' ? -v : v;
	return true;
}

Datum
dmn_feel_to_numeric(const FeelValue *v)
{
	char	   *s;
	int64		i;
	Datum		d;

	if (feel_number_to_int64(v, &i))
		return NumericGetDatum(int64_to_numeric(i));
	s = feel_number_to_text(v);
	if (small_integer(s, &i))
		d = NumericGetDatum(int64_to_numeric(i));
	else
		d = DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	crm_free(s);
	return d;
}

static JsonbValue *push_feel(JsonbParseState **st, const FeelValue *v, JsonbIteratorToken tok, const char *what);

/* A scalar FEEL value as a JsonbValue; false for lists and contexts. */
static bool
feel_scalar(const FeelValue *v, JsonbValue *out, const char *what)
{
	char	   *s;
	size_t		len;

	switch (feel_kind(v))
	{
		case FEEL_NULL:
			out->type = jbvNull;
			return true;
		case FEEL_BOOLEAN:
			out->type = jbvBool;
			out->val.boolean = feel_get_boolean(v);
			return true;
		case FEEL_NUMBER:
			out->type = jbvNumeric;
			out->val.numeric = DatumGetNumeric(dmn_feel_to_numeric(v));
			return true;
		case FEEL_STRING:
			s = (char *) feel_get_string(v, &len);
			out->type = jbvString;
			out->val.string.val = s;
			out->val.string.len = (int) len;
			return true;
		case FEEL_DATE:
		case FEEL_TIME:
		case FEEL_DATETIME:
		case FEEL_YM_DURATION:
		case FEEL_DT_DURATION:
			s = feel_temporal_to_text(v);
			out->type = jbvString;
			out->val.string.val = pstrdup(s);
			out->val.string.len = (int) strlen(s);
			crm_free(s);
			return true;
		case FEEL_FUNCTION:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s is a function, which has no JSON form", what),
					 errhint("Make the decision return a value, not a function.")));
			break;
		case FEEL_LIST:
		case FEEL_CONTEXT:
			break;
	}
	return false;
}

/* Pushes a value; returns what the last push returned (the finished container at the top). */
static JsonbValue *
push_feel(JsonbParseState **st, const FeelValue *v, JsonbIteratorToken tok, const char *what)
{
	JsonbValue	jv;

	if (feel_scalar(v, &jv, what))
		return pushJsonbValue(st, tok, &jv);
	if (feel_kind(v) == FEEL_LIST)
	{
		int			n = feel_list_length(v);

		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < n; i++)
			push_feel(st, feel_list_get(v, i), WJB_ELEM, what);
		return pushJsonbValue(st, WJB_END_ARRAY, NULL);
	}
	else
	{
		int			n = feel_context_size(v);

		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < n; i++)
		{
			const char *key;
			const FeelValue *e = feel_context_entry(v, i, &key);
			JsonbValue	k;

			k.type = jbvString;
			k.val.string.val = (char *) key;
			k.val.string.len = (int) strlen(key);
			pushJsonbValue(st, WJB_KEY, &k);
			push_feel(st, e, WJB_VALUE, what);
		}
		return pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
}

/*
 * A number as a scalar jsonb, laid out as convertToJsonb() lays out a raw
 * scalar: a one-element array container flagged scalar, whose JEntry holds
 * the end offset (first element), then the numeric, already 4-byte aligned.
 */
static Jsonb *
numeric_scalar_jsonb(Numeric n)
{
	uint32		nlen = VARSIZE_ANY(n);
	uint32		size = VARHDRSZ + sizeof(uint32) + sizeof(JEntry) + nlen;
	char	   *jb = palloc(size);
	uint32		header = 1 | JB_FARRAY | JB_FSCALAR;
	JEntry		entry = JENTRY_ISNUMERIC | JENTRY_HAS_OFF | nlen;

	SET_VARSIZE(jb, size);
	memcpy(jb + VARHDRSZ, &header, sizeof(uint32));
	memcpy(jb + VARHDRSZ + sizeof(uint32), &entry, sizeof(JEntry));
	memcpy(jb + VARHDRSZ + sizeof(uint32) + sizeof(JEntry), n, nlen);
	return (Jsonb *) jb;
}

Jsonb *
dmn_feel_to_jsonb(const FeelValue *v, const char *what)
{
	JsonbParseState *st = NULL;
	JsonbValue	jv;
	JsonbValue *res;

	if (v == NULL)
		v = feel_null();
	if (feel_kind(v) == FEEL_NUMBER)
		return numeric_scalar_jsonb(DatumGetNumeric(dmn_feel_to_numeric(v)));
	if (feel_scalar(v, &jv, what))
		return JsonbValueToJsonb(&jv);
	res = push_feel(&st, v, WJB_ELEM, what);
	return JsonbValueToJsonb(res);
}
