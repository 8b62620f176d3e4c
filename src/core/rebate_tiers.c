/*
 * rebate_tiers.c - the tiers parser: a small strict JSON reader for
 *   [{"min": 5000, "rate": 0.02}, {"min": 20000, "max": 50000, "amount": 800}]
 * and the checks that make a tier table well formed.
 *
 * Numbers are read exactly (crm_dec_parse on the literal), never through
 * floating point.  Every error names the tier (1-based, with its array index).
 */
#include "rebate.h"

#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

typedef struct TierReader
{
	const char *s;
	size_t		len;
	size_t		i;
	CrmError   *err;
} TierReader;

typedef struct TierSeen
{
	bool		min,
				max,
				rate,
				amount,
				name;
} TierSeen;

static bool
tr_fail(TierReader *r, CrmErrCode code, const char *what)
{
	crm_fail(r->err, code, (int) r->i + 1, "invalid tiers: %s", what);
	crm_error_hint(r->err, "Tiers are a JSON array of objects like {\"min\": 5000, \"rate\": 0.02} (problem at character %d).",
				   (int) r->i + 1);
	return false;
}

static void
tr_skip_ws(TierReader *r)
{
	while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\t' ||
							 r->s[r->i] == '\n' || r->s[r->i] == '\r'))
		r->i++;
}

static bool
tr_expect(TierReader *r, char c)
{
	tr_skip_ws(r);
	if (r->i >= r->len || r->s[r->i] != c)
	{
		char		msg[48];

		snprintf(msg, sizeof(msg), "\"%c\" expected", c);
		return tr_fail(r, CRM_ERR_SYNTAX, msg);
	}
	r->i++;
	return true;
}

/* A JSON string; start and n receive the raw contents (escapes left in place). */
static bool
tr_string(TierReader *r, const char **start, size_t *n)
{
	if (!tr_expect(r, '"'))
		return false;
	*start = r->s + r->i;
	while (r->i < r->len && r->s[r->i] != '"')
	{
		if ((unsigned char) r->s[r->i] < 0x20)
			return tr_fail(r, CRM_ERR_SYNTAX, "control character in string");
		if (r->s[r->i] == '\\')
			r->i++;
		r->i++;
	}
	if (r->i >= r->len)
		return tr_fail(r, CRM_ERR_SYNTAX, "unterminated string");
	*n = (size_t) (r->s + r->i - *start);
	r->i++;
	return true;
}

static bool
is_num_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* A JSON number, read exactly. */
static bool
tr_number(TierReader *r, CrmDec *out)
{
	size_t		start = r->i;
	CrmError	inner;

	if (r->i < r->len && r->s[r->i] == '+')
		return tr_fail(r, CRM_ERR_SYNTAX, "number expected");
	while (r->i < r->len && is_num_char(r->s[r->i]))
		r->i++;
	if (r->i == start || !crm_dec_parse(r->s + start, r->i - start, out, &inner))
	{
		r->i = start;
		return tr_fail(r, CRM_ERR_SYNTAX, "malformed number");
	}
	return true;
}

static bool
tr_literal(TierReader *r, const char *word)
{
	size_t		n = strlen(word);

	if (r->len - r->i < n || memcmp(r->s + r->i, word, n) != 0)
		return tr_fail(r, CRM_ERR_SYNTAX, "unexpected character");
	r->i += n;
	return true;
}

/* Skips any JSON value (used to reach the end of a value of the wrong type). */
static bool
tr_skip_value(TierReader *r, int depth)
{
	const char *s;
	size_t		n;
	CrmDec		d;

	if (depth > JSON_MAX_DEPTH)
		return tr_fail(r, CRM_ERR_LIMIT, "nested too deeply");
	tr_skip_ws(r);
	if (r->i >= r->len)
		return tr_fail(r, CRM_ERR_SYNTAX, "value expected");
	switch (r->s[r->i])
	{
		case '"':
			return tr_string(r, &s, &n);
		case 't':
			return tr_literal(r, "true");
		case 'f':
			return tr_literal(r, "false");
		case 'n':
			return tr_literal(r, "null");
		case '[':
		case '{':
			{
				char		close = r->s[r->i] == '[' ? ']' : '}';
				bool		obj = close == '}';

				r->i++;
				tr_skip_ws(r);
				if (r->i < r->len && r->s[r->i] == close)
				{
					r->i++;
					return true;
				}
				for (;;)
				{
					if (obj && (!tr_string(r, &s, &n) || !tr_expect(r, ':')))
						return false;
					if (!tr_skip_value(r, depth + 1))
						return false;
					tr_skip_ws(r);
					if (r->i < r->len && r->s[r->i] == ',')
					{
						r->i++;
						continue;
					}
					return tr_expect(r, close);
				}
			}
		default:
			return tr_number(r, &d);
	}
}

static bool
tier_fail(TierReader *r, int idx, const char *fmt, const char *key, const char *hint)
{
	crm_fail(r->err, CRM_ERR_INVALID, 0, "invalid tiers: tier %d (array index %d) %s%s",
			 idx + 1, idx, key ? key : "", fmt);
	crm_error_hint(r->err, "%s", hint);
	return false;
}

/* Reads a number member into a fixed scale; type and precision errors name the tier. */
static bool
tier_number(TierReader *r, int idx, const char *key, int scale, int64_t *out, CrmDec *raw)
{
	CrmDec		d;
	CrmError	inner;
	char		what[64];

	tr_skip_ws(r);
	if (r->i >= r->len || !(r->s[r->i] == '-' || (r->s[r->i] >= '0' && r->s[r->i] <= '9')))
	{
		snprintf(what, sizeof(what), "\"%s\" must be a number", key);
		if (!tr_skip_value(r, 1))
			return false;
		tier_fail(r, idx, what, NULL, "Write numbers without quotes, e.g. {\"min\": 5000, \"rate\": 0.02}.");
		r->err->code = CRM_ERR_TYPE;
		return false;
	}
	if (!tr_number(r, &d))
		return false;
	if (d.v < 0)
	{
		snprintf(what, sizeof(what), "\"%s\" is negative", key);
		return tier_fail(r, idx, what, NULL, "Tier bounds, rates and amounts are zero or positive.");
	}
	if (raw)
		*raw = d;
	while (d.scale > 0 && d.v % 10 == 0)
	{
		d.v /= 10;
		d.scale--;
	}
	if (out && (d.scale > scale || !crm_dec_to_scale(d, scale, out, &inner)))
	{
		snprintf(what, sizeof(what), "\"%s\" has more than %d decimal places or is too large", key, scale);
		return tier_fail(r, idx, what, NULL, "Bounds take at most 4 decimals, amounts at most 2 (fen).");
	}
	return true;
}

static bool
tier_rate(TierReader *r, int idx, CrmTier *t)
{
	CrmDec		d;

	if (!tier_number(r, idx, "rate", 0, NULL, &d))
		return false;
	while (d.scale > 0 && d.v % 10 == 0)
	{
		d.v /= 10;
		d.scale--;
	}
	if (d.scale < 0 || d.scale > CRM_TIER_RATE_MAX_SCALE || d.v > INT64_C(1000) * 10000000000LL)
		return tier_fail(r, idx, "\"rate\" must have at most 10 decimal places and be at most 1000", NULL,
						 "Write a rate as a fraction, e.g. 0.02 for 2%.");
	while (d.scale < 0)
	{
		d.v *= 10;
		d.scale++;
	}
	t->rate = d;
	t->has_rate = true;
	return true;
}

static bool
tier_member(TierReader *r, int idx, const char *key, size_t klen, CrmTier *t, TierSeen *seen)
{
	bool	   *flag;
	const char *s;
	size_t		n;

#define KEY_IS(k) (klen == strlen(k) && memcmp(key, k, klen) == 0)
	if (KEY_IS("min"))
		flag = &seen->min;
	else if (KEY_IS("max"))
		flag = &seen->max;
	else if (KEY_IS("rate"))
		flag = &seen->rate;
	else if (KEY_IS("amount"))
		flag = &seen->amount;
	else if (KEY_IS("name"))
		flag = &seen->name;
	else
	{
		char		what[96];

		snprintf(what, sizeof(what), "has unknown key \"%.*s\"", (int) (klen > 40 ? 40 : klen), key);
		return tier_fail(r, idx, what, NULL, "A tier has \"min\", optional \"max\" and \"name\", and \"rate\" or \"amount\".");
	}
	if (*flag)
		return tier_fail(r, idx, "has a key twice", NULL, "Give each key once per tier.");
	*flag = true;
	tr_skip_ws(r);
	if (KEY_IS("name"))
		return tr_string(r, &s, &n);
	if (KEY_IS("max") && r->i < r->len && r->s[r->i] == 'n')
	{
		*flag = false;			/* "max": null is an open upper bound */
		return tr_literal(r, "null");
	}
	if (KEY_IS("min"))
		return tier_number(r, idx, "min", CRM_TIER_BOUND_SCALE, &t->min, NULL);
	if (KEY_IS("max"))
		return (t->has_max = true, tier_number(r, idx, "max", CRM_TIER_BOUND_SCALE, &t->max, NULL));
	if (KEY_IS("amount"))
		return tier_number(r, idx, "amount", 2, &t->amount, NULL);
	return tier_rate(r, idx, t);
#undef KEY_IS
}

static bool
tier_object(TierReader *r, int idx, CrmTier *t)
{
	TierSeen	seen = {0};
	const char *key;
	size_t		klen;

	memset(t, 0, sizeof(*t));
	tr_skip_ws(r);
	if (r->i >= r->len || r->s[r->i] != '{')
	{
		if (!tr_skip_value(r, 1))
			return false;
		tier_fail(r, idx, "is not a JSON object", NULL, "Each tier is an object like {\"min\": 5000, \"rate\": 0.02}.");
		r->err->code = CRM_ERR_TYPE;
		return false;
	}
	r->i++;
	tr_skip_ws(r);
	if (r->i < r->len && r->s[r->i] == '}')
		r->i++;
	else
		for (;;)
		{
			if (!tr_string(r, &key, &klen) || !tr_expect(r, ':') ||
				!tier_member(r, idx, key, klen, t, &seen))
				return false;
			tr_skip_ws(r);
			if (r->i < r->len && r->s[r->i] == ',')
			{
				r->i++;
				continue;
			}
			if (!tr_expect(r, '}'))
				return false;
			break;
		}
	if (!seen.min)
		return tier_fail(r, idx, "has no \"min\"", NULL, "Give every tier its minimum qualifying value, e.g. \"min\": 0.");
	if (seen.rate == seen.amount)
		return tier_fail(r, idx, seen.rate ? "has both \"rate\" and \"amount\"" : "has neither \"rate\" nor \"amount\"",
						 NULL, "A tier pays either a rate of the measured value or a fixed amount, not both.");
	if (t->has_max && t->max <= t->min)
		return tier_fail(r, idx, "has \"max\" not above its \"min\"", NULL, "The maximum is exclusive and must exceed the minimum.");
	return true;
}

/* Order, overlaps and gaps between consecutive tiers. */
static bool
tiers_check_order(TierReader *r, const CrmTiers *out)
{
	for (int i = 1; i < out->ntiers; i++)
	{
		const CrmTier *p = &out->tiers[i - 1];
		const CrmTier *t = &out->tiers[i];

		if (t->min <= p->min)
			return tier_fail(r, i, "is not above the previous tier's \"min\"", NULL,
							 "Sort the tiers by ascending \"min\", each minimum different.");
		if (p->has_max && p->max > t->min)
			return tier_fail(r, i, "overlaps the previous tier", NULL,
							 "The previous tier's \"max\" (exclusive) must equal this tier's \"min\".");
		if (p->has_max && p->max < t->min)
			return tier_fail(r, i, "leaves a gap after the previous tier", NULL,
							 "The previous tier's \"max\" (exclusive) must equal this tier's \"min\"; or leave \"max\" out.");
	}
	return true;
}

bool
crm_tiers_parse(const char *json, size_t len, CrmTiers *out, CrmError *err)
{
	TierReader	r = {json, len, 0, err};
	int			cap = 8;

	out->ntiers = 0;
	out->rate_scale = 0;
	out->tiers = crm_alloc(sizeof(CrmTier) * cap);
	if (!tr_expect(&r, '['))
		goto fail;
	tr_skip_ws(&r);
	if (r.i < r.len && r.s[r.i] == ']')
	{
		r.i++;
		crm_fail(err, CRM_ERR_INVALID, 0, "invalid tiers: the array is empty");
		crm_error_hint(err, "Give at least one tier, e.g. [{\"min\": 0, \"rate\": 0.01}].");
		goto fail;
	}
	for (;;)
	{
		if (out->ntiers == CRM_TIERS_MAX)
		{
			crm_fail(err, CRM_ERR_LIMIT, 0, "invalid tiers: more than %d tiers", CRM_TIERS_MAX);
			goto fail;
		}
		if (out->ntiers == cap)
			out->tiers = crm_realloc(out->tiers, sizeof(CrmTier) * (cap *= 2));
		if (!tier_object(&r, out->ntiers, &out->tiers[out->ntiers]))
			goto fail;
		if (out->tiers[out->ntiers].has_rate && out->tiers[out->ntiers].rate.scale > out->rate_scale)
			out->rate_scale = out->tiers[out->ntiers].rate.scale;
		out->ntiers++;
		tr_skip_ws(&r);
		if (r.i < r.len && r.s[r.i] == ',')
		{
			r.i++;
			continue;
		}
		if (!tr_expect(&r, ']'))
			goto fail;
		break;
	}
	tr_skip_ws(&r);
	if (r.i < r.len)
	{
		tr_fail(&r, CRM_ERR_SYNTAX, "unexpected text after the array");
		goto fail;
	}
	if (!tiers_check_order(&r, out))
		goto fail;
	return true;
fail:
	crm_tiers_free(out);
	return false;
}

void
crm_tiers_free(CrmTiers *tiers)
{
	if (tiers->tiers)
		crm_free(tiers->tiers);
	tiers->tiers = NULL;
	tiers->ntiers = 0;
}

bool
crm_rebate_mode_parse(const char *s, CrmRebateMode *mode, CrmError *err)
{
	if (strcmp(s, "retroactive") == 0)
		*mode = CRM_REBATE_RETROACTIVE;
	else if (strcmp(s, "progressive") == 0)
		*mode = CRM_REBATE_PROGRESSIVE;
	else
	{
		crm_fail(err, CRM_ERR_INVALID, 0, "unknown rebate mode \"%.40s\"", s);
		crm_error_hint(err, "The mode is retroactive (whole volume at the tier reached) or progressive (each band at its own rate).");
		return false;
	}
	return true;
}
