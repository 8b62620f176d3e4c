/*
 * feel_decimal.c - 34-digit decimal arithmetic with half-even rounding.
 *
 * Coefficients are unsigned 128-bit integers below 10^34; intermediate
 * products and scaled dividends use a 256-bit integer so that every result is
 * computed exactly and rounded once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feel_decimal.h"

typedef struct U256
{
	uint64_t	w[4];			/* little-endian 64-bit limbs */
} U256;

static feel_u128 pow10_table[39];

static feel_u128
pow10_128(int n)
{
	if (pow10_table[0] == 0)
	{
		feel_u128	p = 1;

		for (int i = 0; i < 39; i++, p *= 10)
			pow10_table[i] = p;
	}
	return pow10_table[n];
}

static int
digits128(feel_u128 c)
{
	int			n = 0;

	if (c == 0)
		return 0;
	pow10_128(0);
	while (n < 39 && c >= pow10_table[n])
		n++;
	return n;
}

static U256
u256_from128(feel_u128 v)
{
	U256		r = {{(uint64_t) v, (uint64_t) (v >> 64), 0, 0}};

	return r;
}

static int
u256_cmp(const U256 *a, const U256 *b)
{
	for (int i = 3; i >= 0; i--)
	{
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

/* a *= m; false on overflow. */
static bool
u256_mul_small(U256 *a, uint64_t m)
{
	feel_u128	carry = 0;

	for (int i = 0; i < 4; i++)
	{
		feel_u128	t = (feel_u128) a->w[i] * m + carry;

		a->w[i] = (uint64_t) t;
		carry = t >> 64;
	}
	return carry == 0;
}

static bool
u256_mul_pow10(U256 *a, int n)
{
	while (n > 0)
	{
		int			k = n > 19 ? 19 : n;

		if (!u256_mul_small(a, (uint64_t) pow10_128(k)))
			return false;
		n -= k;
	}
	return true;
}

/* a /= d, returns the remainder. */
static uint64_t
u256_div_small(U256 *a, uint64_t d)
{
	feel_u128	rem = 0;

	for (int i = 3; i >= 0; i--)
	{
		feel_u128	cur = (rem << 64) | a->w[i];

		a->w[i] = (uint64_t) (cur / d);
		rem = cur % d;
	}
	return (uint64_t) rem;
}

static void
u256_add(U256 *a, const U256 *b)
{
	feel_u128	carry = 0;

	for (int i = 0; i < 4; i++)
	{
		feel_u128	t = (feel_u128) a->w[i] + b->w[i] + carry;

		a->w[i] = (uint64_t) t;
		carry = t >> 64;
	}
}

/* a -= b, a >= b */
static void
u256_sub(U256 *a, const U256 *b)
{
	uint64_t	borrow = 0;

	for (int i = 0; i < 4; i++)
	{
		uint64_t	bi = b->w[i] + borrow;
		uint64_t	nb = (bi < borrow) || (a->w[i] < bi);

		a->w[i] -= bi;
		borrow = nb;
	}
}

static U256
u256_mul128(feel_u128 a, feel_u128 b)
{
	uint64_t	a0 = (uint64_t) a,
				a1 = (uint64_t) (a >> 64);
	uint64_t	b0 = (uint64_t) b,
				b1 = (uint64_t) (b >> 64);
	U256		r = {{0, 0, 0, 0}};
	U256		t;
	feel_u128	p;

	p = (feel_u128) a0 * b0;
	r.w[0] = (uint64_t) p;
	r.w[1] = (uint64_t) (p >> 64);
	p = (feel_u128) a1 * b1;
	r.w[2] = (uint64_t) p;
	r.w[3] = (uint64_t) (p >> 64);
	p = (feel_u128) a0 * b1;
	t.w[0] = 0;
	t.w[1] = (uint64_t) p;
	t.w[2] = (uint64_t) (p >> 64);
	t.w[3] = 0;
	u256_add(&r, &t);
	p = (feel_u128) a1 * b0;
	t.w[1] = (uint64_t) p;
	t.w[2] = (uint64_t) (p >> 64);
	u256_add(&r, &t);
	return r;
}

/* q = n / d (bitwise long division), returns whether the remainder is non-zero. */
static bool
u256_div128(const U256 *n, feel_u128 d, U256 *q)
{
	feel_u128	rem = 0;

	*q = (U256) {{0, 0, 0, 0}};
	for (int bit = 255; bit >= 0; bit--)
	{
		int			carry = (int) (rem >> 127);

		rem = (rem << 1) | ((n->w[bit / 64] >> (bit % 64)) & 1);
		if (carry || rem >= d)
		{
			rem -= d;
			q->w[bit / 64] |= (uint64_t) 1 << (bit % 64);
		}
	}
	return rem != 0;
}

/* Fits an exponent into range, false on overflow. */
static bool
dec_finish(FeelDec *d)
{
	feel_u128	limit;

	if (d->coef != 0 && d->exp >= FEEL_DEC_EMIN && d->exp <= FEEL_DEC_EMAX)
		return true;
	limit = pow10_128(FEEL_DEC_DIGITS);
	if (d->coef == 0)
	{
		d->exp = 0;
		d->neg = false;
		return true;
	}
	while (d->exp > FEEL_DEC_EMAX && d->coef * 10 < limit)
	{
		d->coef *= 10;
		d->exp--;
	}
	if (d->exp > FEEL_DEC_EMAX)
		return false;
	if (d->exp < FEEL_DEC_EMIN)
	{
		int			n = FEEL_DEC_EMIN - d->exp;

		d->coef = n > 38 ? 0 : d->coef / pow10_128(n);
		d->exp = FEEL_DEC_EMIN;
		if (d->coef == 0)
			d->exp = 0, d->neg = false;
	}
	return true;
}

/* Rounds v * 10^exp to 34 digits half-even; sticky says a non-zero tail was already dropped. */
static bool
dec_round_u256(U256 v, int64_t exp, bool sticky, bool neg, FeelDec *out)
{
	U256		limit = u256_from128(pow10_128(FEEL_DEC_DIGITS));
	uint64_t	last = 0;
	bool		seen = false;

	while (u256_cmp(&v, &limit) >= 0)
	{
		if (seen && last != 0)
			sticky = true;
		last = u256_div_small(&v, 10);
		seen = true;
		exp++;
	}
	if (seen && (last > 5 || (last == 5 && (sticky || (v.w[0] & 1)))))
	{
		U256		one = {{1, 0, 0, 0}};

		u256_add(&v, &one);
		if (u256_cmp(&v, &limit) >= 0)
		{
			u256_div_small(&v, 10);
			exp++;
		}
	}
	if (exp > INT32_MAX / 2 || exp < INT32_MIN / 2)
		return false;
	out->coef = ((feel_u128) v.w[1] << 64) | v.w[0];
	out->exp = (int32_t) exp;
	out->neg = neg;
	return dec_finish(out);
}

FeelDec
feel_dec_from_int(int64_t v)
{
	FeelDec		d;

	d.neg = v < 0;
	d.coef = v < 0 ? (feel_u128) (-(v + 1)) + 1 : (feel_u128) v;
	d.exp = 0;
	if (d.coef == 0)
		d.neg = false;
	return d;
}

bool
feel_dec_is_zero(const FeelDec *a)
{
	return a->coef == 0;
}

bool
feel_dec_parse(const char *s, size_t len, FeelDec *out)
{
	size_t		i = 0;
	bool		neg = false;
	bool		any = false;
	bool		sticky = false;
	int			ndig = 0;
	int			round_digit = -1;
	int64_t		exp = 0;
	feel_u128	coef = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (int part = 0; part < 2; part++)
	{
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		{
			int			dg = s[i] - '0';

			any = true;
			if (ndig < FEEL_DEC_DIGITS)
			{
				if (ndig > 0 || dg != 0)
				{
					coef = coef * 10 + dg;
					ndig++;
				}
				if (part == 1)
					exp--;
			}
			else
			{
				if (round_digit < 0)
					round_digit = dg;
				else if (dg != 0)
					sticky = true;
				if (part == 0)
					exp++;
			}
		}
		if (part == 0)
		{
			if (i < len && s[i] == '.')
				i++;
			else
				break;
		}
	}
	if (!any)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		bool		eneg = false;
		int64_t		e = 0;
		bool		edig = false;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		{
			edig = true;
			if (e < 100000)
				e = e * 10 + (s[i] - '0');
		}
		if (!edig)
			return false;
		exp += eneg ? -e : e;
	}
	if (i != len)
		return false;
	if (round_digit > 5 || (round_digit == 5 && (sticky || (coef & 1))))
	{
		coef++;
		if (coef == pow10_128(FEEL_DEC_DIGITS))
		{
			coef /= 10;
			exp++;
		}
	}
	if (exp > 100000 || exp < -100000)
		return false;
	out->coef = coef;
	out->exp = (int32_t) exp;
	out->neg = neg;
	return dec_finish(out);
}

void
feel_dec_format(const FeelDec *d, CrmBuf *out)
{
	char		digs[48];
	int			n = 0;
	feel_u128	c = d->coef;
	int			exp = d->exp;
	int			point;

	if (c == 0)
	{
		crm_buf_putc(out, '0');
		return;
	}
	while (exp < 0 && c % 10 == 0)
	{
		c /= 10;
		exp++;
	}
	while (c != 0)
	{
		digs[n++] = (char) ('0' + (int) (c % 10));
		c /= 10;
	}
	if (d->neg)
		crm_buf_putc(out, '-');
	point = n + exp;			/* digits before the decimal point */
	if (point <= 0)
	{
		crm_buf_puts(out, "0.");
		for (int i = 0; i < -point; i++)
			crm_buf_putc(out, '0');
	}
	for (int i = n - 1; i >= 0; i--)
	{
		crm_buf_putc(out, digs[i]);
		if (n - i == point && i > 0)
			crm_buf_putc(out, '.');
	}
	for (int i = 0; i < exp; i++)
		crm_buf_putc(out, '0');
}

static bool
dec_add_signed(const FeelDec *a, bool bneg, const FeelDec *b, FeelDec *out)
{
	FeelDec		hi = *a,
				lo = *b;
	int64_t		d;
	U256		H,
				L;

	lo.neg = bneg;
	if (b->coef == 0)
		return *out = *a, dec_finish(out);
	if (a->coef == 0)
		return *out = lo, dec_finish(out);
	if (hi.exp < lo.exp)
	{
		FeelDec		t = hi;

		hi = lo;
		lo = t;
	}
	d = (int64_t) hi.exp - lo.exp;
	if (d <= 33 && hi.coef < pow10_128(33 - (int) d) && lo.coef < pow10_128(33))
	{
		/* both fit at the smaller exponent with room to spare: exact, no rounding */
		feel_u128	h = hi.coef * pow10_128((int) d);

		out->exp = lo.exp;
		if (hi.neg == lo.neg)
			out->coef = h + lo.coef, out->neg = hi.neg;
		else if (h >= lo.coef)
			out->coef = h - lo.coef, out->neg = hi.neg;
		else
			out->coef = lo.coef - h, out->neg = lo.neg;
		return dec_finish(out);
	}
	if (d > 38)
	{
		int			k = FEEL_DEC_DIGITS - digits128(hi.coef);

		hi.coef *= pow10_128(k);
		hi.exp -= k;
		d -= k;
		if (d > 38)
			return *out = hi, dec_finish(out);
	}
	H = u256_from128(hi.coef);
	u256_mul_pow10(&H, (int) d);
	L = u256_from128(lo.coef);
	if (hi.neg == lo.neg)
	{
		u256_add(&H, &L);
		return dec_round_u256(H, lo.exp, false, hi.neg, out);
	}
	if (u256_cmp(&H, &L) >= 0)
	{
		u256_sub(&H, &L);
		return dec_round_u256(H, lo.exp, false, hi.neg, out);
	}
	u256_sub(&L, &H);
	return dec_round_u256(L, lo.exp, false, lo.neg, out);
}

bool
feel_dec_add(const FeelDec *a, const FeelDec *b, FeelDec *out)
{
	/* the common case (points, counts): same sign and exponent, 64-bit coefficients */
	if (a->exp == b->exp && a->neg == b->neg && (a->coef >> 64) == 0 && (b->coef >> 64) == 0 &&
		a->coef != 0 && b->coef != 0)
	{
		out->coef = a->coef + b->coef;
		out->exp = a->exp;
		out->neg = a->neg;
		return true;
	}
	return dec_add_signed(a, b->neg, b, out);
}

bool
feel_dec_sub(const FeelDec *a, const FeelDec *b, FeelDec *out)
{
	return dec_add_signed(a, !b->neg, b, out);
}

bool
feel_dec_mul(const FeelDec *a, const FeelDec *b, FeelDec *out)
{
	U256		p = u256_mul128(a->coef, b->coef);

	return dec_round_u256(p, (int64_t) a->exp + b->exp, false, a->neg != b->neg, out);
}

bool
feel_dec_div(const FeelDec *a, const FeelDec *b, FeelDec *out)
{
	int			k;
	U256		n,
				q;
	bool		sticky;

	if (b->coef == 0)
		return false;
	if (a->coef == 0)
	{
		*out = feel_dec_from_int(0);
		return true;
	}
	k = FEEL_DEC_DIGITS + 1 + digits128(b->coef) - digits128(a->coef);
	if (k < 0)
		k = 0;
	n = u256_from128(a->coef);
	u256_mul_pow10(&n, k);
	sticky = u256_div128(&n, b->coef, &q);
	if (!dec_round_u256(q, (int64_t) a->exp - b->exp - k, sticky, a->neg != b->neg, out))
		return false;
	while (out->exp < 0 && out->coef != 0 && out->coef % 10 == 0)
	{
		out->coef /= 10;
		out->exp++;
	}
	return true;
}

static int
dec_cmp_mag(const FeelDec *a, const FeelDec *b)
{
	feel_u128	ca = a->coef,
				cb = b->coef;
	int			da,
				db;
	int64_t		aa,
				ab;

	if (a->exp == b->exp)
		return ca < cb ? -1 : (ca > cb);
	da = digits128(ca);
	db = digits128(cb);
	aa = (int64_t) da + a->exp;
	ab = (int64_t) db + b->exp;

	if (ca == 0 || cb == 0)
		return (ca != 0) - (cb != 0);
	if (aa != ab)
		return aa < ab ? -1 : 1;
	if (da < db)
		ca *= pow10_128(db - da);
	else
		cb *= pow10_128(da - db);
	return ca < cb ? -1 : (ca > cb);
}

int
feel_dec_cmp(const FeelDec *a, const FeelDec *b)
{
	int			sa = a->coef == 0 ? 0 : (a->neg ? -1 : 1);
	int			sb = b->coef == 0 ? 0 : (b->neg ? -1 : 1);
	int			m;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	m = dec_cmp_mag(a, b);
	return sa < 0 ? -m : m;
}

bool
feel_dec_round(const FeelDec *a, int scale, FeelRound mode, FeelDec *out)
{
	int64_t		n = (int64_t) -scale - a->exp;	/* digits to drop */
	feel_u128	q,
				r,
				p;
	bool		up = false;
	int			half;

	if (n <= 0 || a->coef == 0)
		return *out = *a, true;
	if (n > 38)
	{
		q = 0;
		r = a->coef;
		half = -1;				/* remainder below half */
	}
	else
	{
		p = pow10_128((int) n);
		q = a->coef / p;
		r = a->coef % p;
		half = r * 2 < p ? -1 : (r * 2 == p ? 0 : 1);
	}
	if (r != 0)
	{
		switch (mode)
		{
			case FEEL_ROUND_HALF_EVEN:
				up = half > 0 || (half == 0 && (q & 1));
				break;
			case FEEL_ROUND_HALF_UP:
				up = half >= 0;
				break;
			case FEEL_ROUND_HALF_DOWN:
				up = half > 0;
				break;
			case FEEL_ROUND_FLOOR:
				up = a->neg;
				break;
			case FEEL_ROUND_CEILING:
				up = !a->neg;
				break;
			case FEEL_ROUND_UP:
				up = true;
				break;
			case FEEL_ROUND_DOWN:
				up = false;
				break;
		}
	}
	out->coef = q + (up ? 1 : 0);
	out->exp = -scale;
	out->neg = a->neg;
	return dec_finish(out);
}

bool
feel_dec_is_integer(const FeelDec *a)
{
	FeelDec		r;

	if (a->exp >= 0)
		return true;
	feel_dec_round(a, 0, FEEL_ROUND_DOWN, &r);
	return feel_dec_cmp(&r, a) == 0;
}

bool
feel_dec_mod(const FeelDec *a, const FeelDec *b, FeelDec *out)
{
	FeelDec		q,
				f,
				m;

	if (b->coef == 0)
		return false;
	if (!feel_dec_div(a, b, &q) || !feel_dec_round(&q, 0, FEEL_ROUND_FLOOR, &f))
		return false;
	if (!feel_dec_mul(b, &f, &m))
		return false;
	return feel_dec_sub(a, &m, out);
}

bool
feel_dec_powi(const FeelDec *a, int64_t n, FeelDec *out)
{
	FeelDec		result = feel_dec_from_int(1);
	FeelDec		base = *a;
	bool		inv = n < 0;
	uint64_t	e = inv ? (uint64_t) (-(n + 1)) + 1 : (uint64_t) n;

	while (e != 0)
	{
		if (e & 1)
		{
			if (!feel_dec_mul(&result, &base, &result))
				return false;
		}
		e >>= 1;
		if (e != 0 && !feel_dec_mul(&base, &base, &base))
			return false;
	}
	if (inv)
	{
		FeelDec		one = feel_dec_from_int(1);

		return feel_dec_div(&one, &result, out);
	}
	*out = result;
	return true;
}

bool
feel_dec_to_int64(const FeelDec *a, int64_t *out)
{
	feel_u128	c = a->coef;

	if (a->exp < 0)
	{
		if (-a->exp > 38)
			return c == 0 ? (*out = 0, true) : false;
		if (c % pow10_128(-a->exp) != 0)
			return false;
		c /= pow10_128(-a->exp);
	}
	else
	{
		for (int i = 0; i < a->exp && c != 0; i++)
		{
			if (c > (feel_u128) INT64_MAX)
				return false;
			c *= 10;
		}
	}
	if (c > (feel_u128) INT64_MAX)
		return false;
	*out = a->neg ? -(int64_t) c : (int64_t) c;
	return true;
}

double
feel_dec_to_double(const FeelDec *a)
{
	CrmBuf		b;
	double		v;

	crm_buf_init(&b);
	feel_dec_format(a, &b);
	v = strtod(b.data, NULL);
	crm_buf_free(&b);
	return v;
}

bool
feel_dec_from_double(double v, FeelDec *out)
{
	char		buf[64];

	if (v != v || v > 1e300 || v < -1e300)
		return false;
	snprintf(buf, sizeof(buf), "%.15g", v);
	return feel_dec_parse(buf, strlen(buf), out);
}
