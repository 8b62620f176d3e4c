/*
 * feel_decimal.h - FEEL numbers: decimal floating point with 34 significant
 * digits, every inexact result rounded half-even (the IEEE 754 DECIMAL128
 * rules that FEEL prescribes).
 *
 * value = (neg ? -1 : 1) * coef * 10^exp, coef < 10^34.
 */
#ifndef CRM_FEEL_DECIMAL_H
#define CRM_FEEL_DECIMAL_H

#include "crm_core.h"

#define FEEL_DEC_DIGITS 34
#define FEEL_DEC_EMAX 6111
#define FEEL_DEC_EMIN (-6176)

typedef unsigned __int128 feel_u128;

/*
 * The stored coefficient asks for 8-byte alignment only: the server's palloc
 * guarantees MAXALIGN (8), not the 16 bytes __int128 would otherwise demand.
 */
typedef unsigned __int128 feel_u128_a8 __attribute__((aligned(8)));

typedef struct FeelDec
{
	feel_u128_a8 coef;
	int32_t		exp;
	bool		neg;
} FeelDec;

/* Parses [+-]digits[.digits][e[+-]digits]; false on bad text or exponent out of range. */
extern bool feel_dec_parse(const char *s, size_t len, FeelDec *out);
/* Appends the canonical text: no exponent, no trailing fraction zeros. */
extern void feel_dec_format(const FeelDec *d, CrmBuf *out);
extern FeelDec feel_dec_from_int(int64_t v);
/* Arithmetic: false on overflow (or division by zero for div/mod). */
extern bool feel_dec_add(const FeelDec *a, const FeelDec *b, FeelDec *out);
extern bool feel_dec_sub(const FeelDec *a, const FeelDec *b, FeelDec *out);
extern bool feel_dec_mul(const FeelDec *a, const FeelDec *b, FeelDec *out);
extern bool feel_dec_div(const FeelDec *a, const FeelDec *b, FeelDec *out);
/* FEEL modulo: a - b * floor(a / b). */
extern bool feel_dec_mod(const FeelDec *a, const FeelDec *b, FeelDec *out);
/* a ** n for an integer n. */
extern bool feel_dec_powi(const FeelDec *a, int64_t n, FeelDec *out);
extern int	feel_dec_cmp(const FeelDec *a, const FeelDec *b);
extern bool feel_dec_is_zero(const FeelDec *a);
extern bool feel_dec_is_integer(const FeelDec *a);
/* Integer value if it fits int64 and has no fraction. */
extern bool feel_dec_to_int64(const FeelDec *a, int64_t *out);
extern double feel_dec_to_double(const FeelDec *a);
extern bool feel_dec_from_double(double v, FeelDec *out);

typedef enum FeelRound
{
	FEEL_ROUND_HALF_EVEN = 0,
	FEEL_ROUND_HALF_UP,			/* half away from zero */
	FEEL_ROUND_HALF_DOWN,		/* half towards zero */
	FEEL_ROUND_FLOOR,
	FEEL_ROUND_CEILING,
	FEEL_ROUND_UP,				/* away from zero */
	FEEL_ROUND_DOWN				/* towards zero */
} FeelRound;

/* Rounds to `scale` fraction digits (negative scale rounds to tens, hundreds...). */
extern bool feel_dec_round(const FeelDec *a, int scale, FeelRound mode, FeelDec *out);

#endif							/* CRM_FEEL_DECIMAL_H */
