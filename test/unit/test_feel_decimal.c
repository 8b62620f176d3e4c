/*
 * test_feel_decimal.c - properties of the 34-digit decimal arithmetic,
 * checked on many pseudo-random operands against exact 128-bit integer
 * arithmetic.
 */
#include <stdlib.h>

#include "feel_decimal.h"
#include "unit.h"

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A decimal value coef * 10^-scale with a random sign; 17 digits, so products stay exact. */
static FeelDec
rand_dec(int64_t *coef, int *scale)
{
	FeelDec		d;

	*coef = (int64_t) (rng() % 100000000000000000ULL);
	if (rng() & 1)
		*coef = -*coef;
	*scale = (int) (rng() % 10);
	d = feel_dec_from_int(*coef);
	d.exp = -*scale;
	return d;
}

static bool
equals_scaled(const FeelDec *d, __int128 v, int scale)
{
	FeelDec		ref;
	__int128	a = v < 0 ? -v : v;

	ref.neg = v < 0;
	ref.coef = (feel_u128) a;
	ref.exp = -scale;
	return feel_dec_cmp(d, &ref) == 0;
}

UNIT_TEST(feel_decimal_add_sub_mul_are_exact)
{
	for (int i = 0; i < 20000; i++)
	{
		int64_t		ca,
					cb;
		int			sa,
					sb;
		FeelDec		a = rand_dec(&ca, &sa);
		FeelDec		b = rand_dec(&cb, &sb);
		FeelDec		r;
		int			s = sa > sb ? sa : sb;
		__int128	xa = (__int128) ca,
					xb = (__int128) cb;

		for (int k = sa; k < s; k++)
			xa *= 10;
		for (int k = sb; k < s; k++)
			xb *= 10;
		CHECK(feel_dec_add(&a, &b, &r));
		CHECK(equals_scaled(&r, xa + xb, s));
		CHECK(feel_dec_sub(&a, &b, &r));
		CHECK(equals_scaled(&r, xa - xb, s));
		CHECK(feel_dec_mul(&a, &b, &r));
		CHECK(equals_scaled(&r, (__int128) ca * cb, sa + sb));
		CHECK_INT_EQ(feel_dec_cmp(&a, &b), xa < xb ? -1 : xa > xb);
	}
}

UNIT_TEST(feel_decimal_division_inverts_multiplication)
{
	for (int i = 0; i < 20000; i++)
	{
		int64_t		ca,
					cb;
		int			sa,
					sb;
		FeelDec		a = rand_dec(&ca, &sa);
		FeelDec		b = rand_dec(&cb, &sb);
		FeelDec		p,
					q;

		if (cb == 0)
			continue;
		CHECK(feel_dec_mul(&a, &b, &p));
		CHECK(feel_dec_div(&p, &b, &q));
		CHECK_INT_EQ(feel_dec_cmp(&q, &a), 0);
	}
}

UNIT_TEST(feel_decimal_division_rounds_half_even_at_34_digits)
{
	FeelDec		one = feel_dec_from_int(1),
				three = feel_dec_from_int(3),
				q,
				back,
				diff;
	CrmBuf		b;

	CHECK(feel_dec_div(&one, &three, &q));
	CHECK(feel_dec_mul(&q, &three, &back));
	CHECK(feel_dec_sub(&one, &back, &diff));
	crm_buf_init(&b);
	feel_dec_format(&diff, &b);
	CHECK_STR_EQ(b.data, "0.0000000000000000000000000000000001");
	crm_buf_free(&b);
	/* 0.5 ulp ties: 1.000...0005 (35 digits) rounds to even */
	CHECK(feel_dec_parse("1.0000000000000000000000000000000005", 36, &q));
	crm_buf_init(&b);
	feel_dec_format(&q, &b);
	CHECK_STR_EQ(b.data, "1");
	crm_buf_free(&b);
	CHECK(feel_dec_parse("1.0000000000000000000000000000000015", 36, &q));
	crm_buf_init(&b);
	feel_dec_format(&q, &b);
	CHECK_STR_EQ(b.data, "1.000000000000000000000000000000002");
	crm_buf_free(&b);
}

/* Rounds a non-negative integer to 34 significant digits, half even: value = *q * 10^*drop. */
static void
ref_round34(unsigned __int128 p, unsigned __int128 *q, int *drop)
{
	unsigned __int128 limit = 1;
	unsigned __int128 pow = 1;
	unsigned __int128 r;

	for (int i = 0; i < 34; i++)
		limit *= 10;
	*drop = 0;
	while (p / pow >= limit)
	{
		pow *= 10;
		(*drop)++;
	}
	*q = p / pow;
	r = p % pow;
	if (*drop > 0 && (r * 2 > pow || (r * 2 == pow && (*q & 1))))
		(*q)++;
	if (*q == limit)
	{
		*q /= 10;
		(*drop)++;
	}
}

UNIT_TEST(feel_decimal_products_round_half_even_like_decimal128)
{
	rng_state = 12345;
	for (int i = 0; i < 20000; i++)
	{
		uint64_t	a = rng() % 1000000000000000000ULL;
		uint64_t	b = rng() % 1000000000000000000ULL;
		FeelDec		x = feel_dec_from_int((int64_t) a),
					y = feel_dec_from_int((int64_t) b),
					r,
					ref;
		unsigned __int128 q;
		int			drop;

		if (i % 7 == 0)
			a = b = 999999999999999999ULL, x = y = feel_dec_from_int((int64_t) a);
		CHECK(feel_dec_mul(&x, &y, &r));
		ref_round34((unsigned __int128) a * b, &q, &drop);
		ref.neg = false;
		ref.coef = q;
		ref.exp = drop;
		if (q == 0)
			ref.exp = 0;
		CHECK_INT_EQ(feel_dec_cmp(&r, &ref), 0);
	}
}
