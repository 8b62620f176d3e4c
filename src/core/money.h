/*
 * money.h - exact decimal and money arithmetic on integers.
 *
 * Money is held as int64 minor units (fen, 1/100 yuan).  Decimal inputs are
 * parsed exactly into a scaled integer; every rounding is half away from zero
 * (四舍五入), the rule Chinese accounting uses, and happens in one place.
 */
#ifndef CRM_MONEY_H
#define CRM_MONEY_H

#include "crm_core.h"

#define CRM_DEC_MAX_SCALE 18

/* n / d rounded half away from zero (d > 0): the one rounding rule of the project. */
extern __int128 crm_div_round(__int128 n, __int128 d);

/* value = v / 10^scale */
typedef struct CrmDec
{
	int64_t		v;
	int			scale;
} CrmDec;

/* Parses [+-]digits[.digits][e[+-]digits]; surrounding blanks allowed. */
extern bool crm_dec_parse(const char *s, size_t len, CrmDec *out, CrmError *err);
/* Rounds to fen. */
extern bool crm_money_from_dec(CrmDec d, int64_t *fen, CrmError *err);
extern bool crm_money_parse(const char *s, size_t len, int64_t *fen, CrmError *err);
/* Writes "-12.34" style text; out must hold CRM_MONEY_BUFLEN bytes. */
#define CRM_MONEY_BUFLEN 32
extern void crm_money_format(int64_t fen, char *out);
/* fen * rate, rounded to fen. */
extern bool crm_money_mul(int64_t fen, CrmDec rate, int64_t *out, CrmError *err);
/* a + b with overflow check. */
extern bool crm_money_add(int64_t a, int64_t b, int64_t *out, CrmError *err);

#endif							/* CRM_MONEY_H */
