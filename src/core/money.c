/*
 * money.c - exact decimal parsing and money arithmetic (see money.h).
 */
#include "money.h"

#include <string.h>

typedef __int128 i128;

static const int64_t pow10_tab[19] = {
	1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
	100000000LL, 1000000000LL, 10000000000LL, 100000000000LL,
	1000000000000LL, 10000000000000LL, 100000000000000LL,
	1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
	1000000000000000000LL
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Divides n by d (d > 0) rounding half away from zero. */
i128
crm_div_round(i128 n, i128 d)
{
	i128		q = n / d;
	i128		r = n % d;

	if (r < 0)
		r = -r;
	if (2 * r >= d)
		q += (n < 0) ? -1 : 1;
	return q;
}

static bool
fits_i64(i128 x)
{
	return x >= (i128) INT64_MIN && x <= (i128) INT64_MAX;
}

static bool
parse_exponent(const char *s, size_t len, size_t *i, int *exp, CrmError *err)
{
	int			sign = 1;
	int			e = 0;
	size_t		start;

	(*i)++;
	if (*i < len && (s[*i] == '+' || s[*i] == '-'))
		sign = (s[(*i)++] == '-') ? -1 : 1;
	start = *i;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9')
	{
		if (e > 1000)
			return crm_fail(err, CRM_ERR_RANGE, (int) *i + 1, "exponent is out of range");
		e = e * 10 + (s[(*i)++] - '0');
	}
	if (*i == start)
		return crm_fail(err, CRM_ERR_SYNTAX, (int) *i + 1, "exponent has no digits");
	*exp = sign * e;
	return true;
}

/*
 * Parses into a wide mantissa: up to 36 significant digits, more decimals
 * truncated.  Digits that do not fit are truncated, never rounded: a value
 * is rounded exactly once, by whoever reduces it to its final scale.
 * Rounding here too would round twice (0.00499999999999999999 would become
 * 0.01), and truncation cannot change that final rounding because the
 * final divisor is an even power of ten.
 */
#define WIDE_MAX_DIGITS 36

static bool
dec_parse_wide(const char *s, size_t len, i128 *out, int *out_scale, CrmError *err)
{
	size_t		i = 0;
	bool		neg = false;
	bool		any = false;
	bool		dot = false;
	int			digits = 0;
	int			dropped_int = 0;
	i128		v = 0;
	int			scale = 0;
	int			exp = 0;

	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = (s[i++] == '-');
	for (; i < len; i++)
	{
		char		c = s[i];

		if (c == '.' && !dot)
		{
			dot = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		any = true;
		if (v == 0 && c == '0')
		{
			if (dot)
				scale++;
			continue;			/* leading zeros are not significant */
		}
		if (digits >= WIDE_MAX_DIGITS)
		{
			if (!dot)
				dropped_int++;	/* integer digit that does not fit: scaled back below */
			continue;
		}
		v = v * 10 + (c - '0');
		digits++;
		if (dot)
			scale++;
	}
	if (!any)
		return crm_fail(err, CRM_ERR_SYNTAX, (int) i + 1, "number expected");
	if (i < len && (s[i] == 'e' || s[i] == 'E') && !parse_exponent(s, len, &i, &exp, err))
		return false;
	while (i < len && is_blank(s[i]))
		i++;
	if (i < len)
		return crm_fail(err, CRM_ERR_SYNTAX, (int) i + 1, "unexpected character \"%c\" in number", s[i]);
	scale -= exp + dropped_int;
	if (v == 0)
		scale = 0;
	if (scale < -(WIDE_MAX_DIGITS - digits))
		return crm_fail(err, CRM_ERR_RANGE, 1, "number is out of range");
	while (scale < 0)
	{
		v *= 10;
		scale++;
	}
	while (scale > 40)
	{
		v /= 10;
		scale--;
	}
	*out = neg ? -v : v;
	*out_scale = scale;
	return true;
}

/* Divides by 10^k (k may exceed 18) rounding half away from zero once. */
static i128
div_pow10_round(i128 v, int k)
{
	while (k > 18)
	{
		v /= 10;				/* truncation first: see dec_parse_wide */
		k--;
	}
	return crm_div_round(v, pow10_tab[k]);
}

bool
crm_dec_parse(const char *s, size_t len, CrmDec *out, CrmError *err)
{
	i128		v;
	int			scale;

	if (!dec_parse_wide(s, len, &v, &scale, err))
		return false;
	while (scale > CRM_DEC_MAX_SCALE || v > (i128) INT64_MAX || v < -(i128) INT64_MAX)
	{
		if (scale == 0)
			return crm_fail(err, CRM_ERR_RANGE, 1, "number is out of range");
		v /= 10;
		scale--;
	}
	out->v = (int64_t) v;
	out->scale = scale;
	return true;
}

bool
crm_money_from_dec(CrmDec d, int64_t *fen, CrmError *err)
{
	i128		x = d.v;

	if (d.scale <= 2)
		x *= pow10_tab[2 - d.scale];
	else
		x = crm_div_round(x, pow10_tab[d.scale - 2]);
	if (!fits_i64(x))
		return crm_fail(err, CRM_ERR_RANGE, 0, "amount is out of range");
	*fen = (int64_t) x;
	return true;
}

bool
crm_money_parse(const char *s, size_t len, int64_t *fen, CrmError *err)
{
	i128		v;
	int			scale;

	if (!dec_parse_wide(s, len, &v, &scale, err))
		return false;
	if (scale <= 2)
	{
		for (; scale < 2; scale++)
		{
			if (v > (i128) INT64_MAX * 10 || v < (i128) INT64_MIN * 10)
				return crm_fail(err, CRM_ERR_RANGE, 0, "amount is out of range");
			v *= 10;
		}
	}
	else
		v = div_pow10_round(v, scale - 2);
	if (!fits_i64(v))
		return crm_fail(err, CRM_ERR_RANGE, 0, "amount is out of range");
	*fen = (int64_t) v;
	return true;
}

void
crm_money_format(int64_t fen, char *out)
{
	char		tmp[CRM_MONEY_BUFLEN];
	uint64_t	u = fen < 0 ? (uint64_t) (-(fen + 1)) + 1 : (uint64_t) fen;
	int			n = 0;
	int			o = 0;

	do
	{
		tmp[n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u > 0 || n < 3);
	if (fen < 0)
		out[o++] = '-';
	while (n > 2)
		out[o++] = tmp[--n];
	out[o++] = '.';
	out[o++] = tmp[1];
	out[o++] = tmp[0];
	out[o] = '\0';
}

bool
crm_money_mul(int64_t fen, CrmDec rate, int64_t *out, CrmError *err)
{
	i128		x = (i128) fen * rate.v;

	x = crm_div_round(x, pow10_tab[rate.scale]);
	if (!fits_i64(x))
		return crm_fail(err, CRM_ERR_RANGE, 0, "amount is out of range");
	*out = (int64_t) x;
	return true;
}

bool
crm_money_add(int64_t a, int64_t b, int64_t *out, CrmError *err)
{
	if (__builtin_add_overflow(a, b, out))
		return crm_fail(err, CRM_ERR_RANGE, 0, "amount is out of range");
	return true;
}
