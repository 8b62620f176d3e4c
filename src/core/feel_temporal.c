/*
 * feel_temporal.c - FEEL dates, times, date-times and durations: ISO 8601
 * parsing and formatting, comparison and arithmetic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feel_internal.h"

#define NS_PER_SEC INT64_C(1000000000)
#define SECS_PER_DAY INT64_C(86400)
#define NS_PER_DAY (SECS_PER_DAY * NS_PER_SEC)

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
int64_t
feel_days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
feel_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Reads exactly n digits. */
static bool
digits(const char *s, size_t len, size_t *i, int n, int64_t *out)
{
	int64_t		v = 0;

	for (int k = 0; k < n; k++)
	{
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return false;
		v = v * 10 + (s[(*i)++] - '0');
	}
	*out = v;
	return true;
}

static bool
parse_date_part(const char *s, size_t len, size_t *i, int32_t *days)
{
	bool		neg = false;
	int64_t		y = 0,
				m,
				d;
	int			nd = 0;

	if (*i < len && s[*i] == '-')
		neg = true, (*i)++;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9' && nd < 9)
	{
		y = y * 10 + (s[(*i)++] - '0');
		nd++;
	}
	if (nd < 4 || (nd > 4 && s[*i - nd] == '0'))
		return false;
	if (neg)
		y = -y;
	if (*i >= len || s[(*i)++] != '-' || !digits(s, len, i, 2, &m) ||
		*i >= len || s[(*i)++] != '-' || !digits(s, len, i, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, (int) m))
		return false;
	*days = (int32_t) feel_days_from_civil(y, (int) m, (int) d);
	return true;
}

static bool
parse_offset(const char *s, size_t len, size_t *i, FeelValue *out)
{
	int64_t		hh,
				mm;
	int			sign;

	if (*i >= len)
		return true;
	if (s[*i] == 'Z' || s[*i] == 'z')
	{
		(*i)++;
		out->u.t.has_tz = true;
		out->u.t.tz = 0;
		return true;
	}
	if (s[*i] == '@')
	{
		/* IANA zone ids are accepted but treated as UTC (no zone database in the core) */
		*i = len;
		out->u.t.has_tz = true;
		out->u.t.tz = 0;
		return true;
	}
	if (s[*i] != '+' && s[*i] != '-')
		return false;
	sign = s[(*i)++] == '-' ? -1 : 1;
	if (!digits(s, len, i, 2, &hh) || *i >= len || s[(*i)++] != ':' || !digits(s, len, i, 2, &mm))
		return false;
	if (hh > 14 || mm > 59)
		return false;
	out->u.t.has_tz = true;
	out->u.t.tz = (int32_t) (sign * (hh * 3600 + mm * 60));
	return true;
}

static bool
parse_time_part(const char *s, size_t len, size_t *i, FeelValue *out)
{
	int64_t		hh,
				mm,
				ss,
				frac = 0;
	int			nf = 0;

	if (!digits(s, len, i, 2, &hh) || *i >= len || s[(*i)++] != ':' ||
		!digits(s, len, i, 2, &mm) || *i >= len || s[(*i)++] != ':' ||
		!digits(s, len, i, 2, &ss))
		return false;
	if (*i < len && s[*i] == '.')
	{
		(*i)++;
		while (*i < len && s[*i] >= '0' && s[*i] <= '9')
		{
			if (nf < 9)
				frac = frac * 10 + (s[*i] - '0'), nf++;
			(*i)++;
		}
		if (nf == 0)
			return false;
		while (nf++ < 9)
			frac *= 10;
	}
	if (hh > 24 || mm > 59 || ss > 59 || (hh == 24 && (mm || ss || frac)))
		return false;
	out->u.t.nanos = (hh % 24 * 3600 + mm * 60 + ss) * NS_PER_SEC + frac;
	return parse_offset(s, len, i, out);
}

bool
feel_parse_date(const char *s, size_t len, FeelValue *out)
{
	size_t		i = 0;

	*out = feel_v_null();
	out->kind = FEEL_DATE;
	if (!parse_date_part(s, len, &i, &out->u.t.days) || i != len)
		return *out = feel_v_null(), false;
	return true;
}

bool
feel_parse_time(const char *s, size_t len, FeelValue *out)
{
	size_t		i = 0;

	*out = feel_v_null();
	out->kind = FEEL_TIME;
	if (!parse_time_part(s, len, &i, out) || i != len)
		return *out = feel_v_null(), false;
	return true;
}

bool
feel_parse_datetime(const char *s, size_t len, FeelValue *out)
{
	size_t		i = 0;

	*out = feel_v_null();
	out->kind = FEEL_DATETIME;
	if (!parse_date_part(s, len, &i, &out->u.t.days))
		return *out = feel_v_null(), false;
	if (i == len)
		return true;			/* a date alone means midnight */
	if ((s[i] != 'T' && s[i] != 't') || (i++, !parse_time_part(s, len, &i, out)) || i != len)
		return *out = feel_v_null(), false;
	return true;
}

/* Reads a number (with optional fraction for seconds) followed by a designator. */
static bool
dur_component(const char *s, size_t len, size_t *i, int64_t *v, int64_t *frac, char *designator)
{
	int			n = 0,
				nf = 0;

	*v = 0;
	*frac = 0;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9')
	{
		if (*v > INT64_C(100000000000))
			return false;
		*v = *v * 10 + (s[(*i)++] - '0');
		n++;
	}
	if (*i < len && s[*i] == '.')
	{
		(*i)++;
		while (*i < len && s[*i] >= '0' && s[*i] <= '9')
		{
			if (nf < 9)
				*frac = *frac * 10 + (s[*i] - '0'), nf++;
			(*i)++;
		}
		if (nf == 0)
			return false;
		while (nf++ < 9)
			*frac *= 10;
	}
	if (n == 0 || *i >= len)
		return false;
	*designator = s[(*i)++];
	return true;
}

bool
feel_parse_duration(const char *s, size_t len, FeelValue *out)
{
	size_t		i = 0;
	bool		neg = false,
				in_time = false,
				any = false,
				ym = false,
				dt = false;
	int64_t		months = 0,
				secs = 0,
				nanos = 0,
				v,
				frac;
	char		des;
	const char *order = "YMD";

	*out = feel_v_null();
	if (i < len && s[i] == '-')
		neg = true, i++;
	if (i >= len || s[i++] != 'P')
		return false;
	while (i < len)
	{
		if (s[i] == 'T' && !in_time)
		{
			in_time = true;
			order = "HMS";
			i++;
			if (i == len)
				return false;
			continue;
		}
		if (!dur_component(s, len, &i, &v, &frac, &des) || strchr(order, des) == NULL || des == '\0')
			return false;
		order = strchr(order, des) + 1;
		if (frac != 0 && !(in_time && des == 'S'))
			return false;
		any = true;
		if (!in_time && des == 'Y')
			months += v * 12, ym = true;
		else if (!in_time && des == 'M')
			months += v, ym = true;
		else if (!in_time && des == 'D')
			secs += v * SECS_PER_DAY, dt = true;
		else if (des == 'H')
			secs += v * 3600, dt = true;
		else if (des == 'M')
			secs += v * 60, dt = true;
		else
			secs += v, nanos = frac, dt = true;
	}
	if (!any || (ym && dt))
		return false;
	out->kind = ym ? FEEL_YM_DURATION : FEEL_DT_DURATION;
	out->u.dur.months = neg ? -months : months;
	out->u.dur.secs = neg ? -secs : secs;
	out->u.dur.nanos = (int32_t) (neg ? -nanos : nanos);
	return true;
}

bool
feel_parse_temporal(const char *s, size_t len, FeelValue *out)
{
	if (len > 0 && (s[0] == 'P' || (s[0] == '-' && len > 1 && s[1] == 'P')))
		return feel_parse_duration(s, len, out);
	if (len > 2 && s[2] == ':')
		return feel_parse_time(s, len, out);
	if (memchr(s, 'T', len) != NULL)
		return feel_parse_datetime(s, len, out);
	return feel_parse_date(s, len, out);
}

static void
format_date(int32_t days, CrmBuf *buf)
{
	int64_t		y;
	int			m,
				d;

	feel_civil_from_days(days, &y, &m, &d);
	if (y < 0)
		crm_buf_printf(buf, "-%04lld-%02d-%02d", (long long) -y, m, d);
	else
		crm_buf_printf(buf, "%04lld-%02d-%02d", (long long) y, m, d);
}

static void
format_time(const FeelValue *v, CrmBuf *buf)
{
	int64_t		s = v->u.t.nanos / NS_PER_SEC;
	int64_t		f = v->u.t.nanos % NS_PER_SEC;

	crm_buf_printf(buf, "%02d:%02d:%02d", (int) (s / 3600), (int) (s / 60 % 60), (int) (s % 60));
	if (f != 0)
	{
		char		fr[16];
		int			n;

		snprintf(fr, sizeof(fr), "%09lld", (long long) f);
		for (n = 9; n > 0 && fr[n - 1] == '0'; n--)
			;
		fr[n] = '\0';
		crm_buf_printf(buf, ".%s", fr);
	}
	if (v->u.t.has_tz)
	{
		int			tz = v->u.t.tz;

		if (tz == 0)
			crm_buf_putc(buf, 'Z');
		else
			crm_buf_printf(buf, "%c%02d:%02d", tz < 0 ? '-' : '+', abs(tz) / 3600, abs(tz) / 60 % 60);
	}
}

static void
format_dt_duration(const FeelValue *v, CrmBuf *buf)
{
	int64_t		s = v->u.dur.secs;
	int64_t		ns = v->u.dur.nanos;
	bool		neg = s < 0 || ns < 0;

	if (neg)
		s = -s, ns = -ns, crm_buf_putc(buf, '-');
	crm_buf_putc(buf, 'P');
	if (s / SECS_PER_DAY)
		crm_buf_printf(buf, "%lldD", (long long) (s / SECS_PER_DAY));
	s %= SECS_PER_DAY;
	if (s == 0 && ns == 0)
	{
		if (v->u.dur.secs == 0)
			crm_buf_puts(buf, "T0S");
		return;
	}
	crm_buf_putc(buf, 'T');
	if (s / 3600)
		crm_buf_printf(buf, "%lldH", (long long) (s / 3600));
	if (s / 60 % 60)
		crm_buf_printf(buf, "%lldM", (long long) (s / 60 % 60));
	if (s % 60 || ns)
	{
		crm_buf_printf(buf, "%lld", (long long) (s % 60));
		if (ns)
		{
			char		fr[16];
			int			n;

			snprintf(fr, sizeof(fr), "%09lld", (long long) ns);
			for (n = 9; n > 0 && fr[n - 1] == '0'; n--)
				;
			fr[n] = '\0';
			crm_buf_printf(buf, ".%s", fr);
		}
		crm_buf_putc(buf, 'S');
	}
}

void
feel_temporal_format(const FeelValue *v, CrmBuf *buf)
{
	switch (v->kind)
	{
		case FEEL_DATE:
			format_date(v->u.t.days, buf);
			break;
		case FEEL_TIME:
			format_time(v, buf);
			break;
		case FEEL_DATETIME:
			format_date(v->u.t.days, buf);
			crm_buf_putc(buf, 'T');
			format_time(v, buf);
			break;
		case FEEL_YM_DURATION:
			{
				int64_t		m = v->u.dur.months;

				if (m < 0)
					crm_buf_putc(buf, '-'), m = -m;
				crm_buf_putc(buf, 'P');
				if (m / 12)
					crm_buf_printf(buf, "%lldY", (long long) (m / 12));
				if (m % 12 || m == 0)
					crm_buf_printf(buf, "%lldM", (long long) (m % 12));
				break;
			}
		case FEEL_DT_DURATION:
			format_dt_duration(v, buf);
			break;
		default:
			break;
	}
}

static int
cmp64(int64_t a, int64_t b)
{
	return a < b ? -1 : (a > b);
}

int
feel_temporal_compare(const FeelValue *a, const FeelValue *b)
{
	if (a->kind != b->kind)
		return -2;
	switch (a->kind)
	{
		case FEEL_DATE:
			return cmp64(a->u.t.days, b->u.t.days);
		case FEEL_TIME:
		case FEEL_DATETIME:
			{
				int64_t		da = (int64_t) a->u.t.days * NS_PER_DAY + a->u.t.nanos;
				int64_t		db = (int64_t) b->u.t.days * NS_PER_DAY + b->u.t.nanos;

				if (a->kind == FEEL_DATETIME && a->u.t.has_tz != b->u.t.has_tz)
					return -2;
				if (a->u.t.has_tz && b->u.t.has_tz)
				{
					da -= (int64_t) a->u.t.tz * NS_PER_SEC;
					db -= (int64_t) b->u.t.tz * NS_PER_SEC;
				}
				return cmp64(da, db);
			}
		case FEEL_YM_DURATION:
			return cmp64(a->u.dur.months, b->u.dur.months);
		case FEEL_DT_DURATION:
			{
				int			c = cmp64(a->u.dur.secs, b->u.dur.secs);

				return c != 0 ? c : cmp64(a->u.dur.nanos, b->u.dur.nanos);
			}
		default:
			return -2;
	}
}

/* Total nanoseconds of a days-and-time duration (saturating far outside any real use). */
static int64_t
dur_nanos(const FeelValue *d)
{
	if (d->u.dur.secs > INT64_MAX / NS_PER_SEC - 1 || d->u.dur.secs < INT64_MIN / NS_PER_SEC + 1)
		return d->u.dur.secs < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
	return d->u.dur.secs * NS_PER_SEC + d->u.dur.nanos;
}

static void
set_dt_nanos(FeelValue *out, int64_t ns)
{
	*out = feel_v_null();
	out->kind = FEEL_DT_DURATION;
	out->u.dur.secs = ns / NS_PER_SEC;
	out->u.dur.nanos = (int32_t) (ns % NS_PER_SEC);
}

static bool
add_months(const FeelValue *t, int64_t months, FeelValue *out)
{
	int64_t		y;
	int			m,
				d;
	int64_t		total;

	feel_civil_from_days(t->u.t.days, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	y = total >= 0 ? total / 12 : (total - 11) / 12;
	m = (int) (total - y * 12) + 1;
	if (y < -999999999 || y > 999999999)
		return false;
	if (d > days_in_month(y, m))
		d = days_in_month(y, m);
	*out = *t;
	out->u.t.days = (int32_t) feel_days_from_civil(y, m, d);
	return true;
}

static bool
point_plus_duration(const FeelValue *t, const FeelValue *d, bool subtract, FeelValue *out)
{
	if (d->kind == FEEL_YM_DURATION)
	{
		if (t->kind == FEEL_TIME)
			return false;
		return add_months(t, subtract ? -d->u.dur.months : d->u.dur.months, out);
	}
	else
	{
		int64_t		ns = dur_nanos(d);
		int64_t		total;

		if (subtract)
			ns = -ns;
		*out = *t;
		if (t->kind == FEEL_DATE)
		{
			int64_t		days = ns / NS_PER_DAY - (ns % NS_PER_DAY < 0);

			out->u.t.days = (int32_t) (t->u.t.days + days);
			return true;
		}
		total = t->u.t.nanos + ns % NS_PER_DAY;
		if (t->kind == FEEL_TIME)
		{
			out->u.t.nanos = ((total % NS_PER_DAY) + NS_PER_DAY) % NS_PER_DAY;
			return true;
		}
		out->u.t.days = (int32_t) (t->u.t.days + ns / NS_PER_DAY + (total >= NS_PER_DAY) - (total < 0));
		out->u.t.nanos = ((total % NS_PER_DAY) + NS_PER_DAY) % NS_PER_DAY;
		return true;
	}
}

static bool
point_minus_point(const FeelValue *a, const FeelValue *b, FeelValue *out)
{
	int64_t		da = (int64_t) a->u.t.days * NS_PER_DAY + (a->kind == FEEL_DATE ? 0 : a->u.t.nanos);
	int64_t		db = (int64_t) b->u.t.days * NS_PER_DAY + (b->kind == FEEL_DATE ? 0 : b->u.t.nanos);

	if (a->u.t.has_tz != b->u.t.has_tz && a->kind != FEEL_DATE && b->kind != FEEL_DATE)
		return false;
	if (a->u.t.has_tz && b->u.t.has_tz)
	{
		da -= (int64_t) a->u.t.tz * NS_PER_SEC;
		db -= (int64_t) b->u.t.tz * NS_PER_SEC;
	}
	set_dt_nanos(out, da - db);
	return true;
}

static bool
is_point(FeelKind k)
{
	return k == FEEL_DATE || k == FEEL_TIME || k == FEEL_DATETIME;
}

static bool
is_duration(FeelKind k)
{
	return k == FEEL_YM_DURATION || k == FEEL_DT_DURATION;
}

bool
feel_temporal_add(const FeelValue *a, const FeelValue *b, bool subtract, FeelValue *out)
{
	if (is_point(a->kind) && is_duration(b->kind))
		return point_plus_duration(a, b, subtract, out);
	if (!subtract && is_duration(a->kind) && is_point(b->kind))
		return point_plus_duration(b, a, false, out);
	if (is_duration(a->kind) && a->kind == b->kind)
	{
		*out = *a;
		if (a->kind == FEEL_YM_DURATION)
			out->u.dur.months = subtract ? a->u.dur.months - b->u.dur.months
				: a->u.dur.months + b->u.dur.months;
		else
			set_dt_nanos(out, subtract ? dur_nanos(a) - dur_nanos(b) : dur_nanos(a) + dur_nanos(b));
		return true;
	}
	if (subtract && is_point(a->kind) && is_point(b->kind))
	{
		if (a->kind == b->kind || (a->kind != FEEL_TIME && b->kind != FEEL_TIME))
			return point_minus_point(a, b, out);
	}
	return false;
}

bool
feel_duration_scale(const FeelValue *d, const FeelDec *k, bool divide, FeelValue *out)
{
	FeelDec		base = d->kind == FEEL_YM_DURATION ? feel_dec_from_int(d->u.dur.months)
		: feel_dec_from_int(dur_nanos(d));
	FeelDec		r;
	int64_t		i;

	if (divide ? !feel_dec_div(&base, k, &r) : !feel_dec_mul(&base, k, &r))
		return false;
	if (!feel_dec_round(&r, 0, d->kind == FEEL_YM_DURATION ? FEEL_ROUND_DOWN : FEEL_ROUND_HALF_EVEN, &r) ||
		!feel_dec_to_int64(&r, &i))
		return false;
	*out = *d;
	if (d->kind == FEEL_YM_DURATION)
		out->u.dur.months = i;
	else
		set_dt_nanos(out, i);
	return true;
}

static bool
prop_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

bool
feel_temporal_property(const FeelValue *v, const char *name, size_t len, FeelValue *out)
{
	int64_t		y = 0;
	int			m = 0,
				d = 0;
	int64_t		s = v->u.t.nanos / NS_PER_SEC;

	if (v->kind == FEEL_DATE || v->kind == FEEL_DATETIME)
	{
		feel_civil_from_days(v->u.t.days, &y, &m, &d);
		if (prop_is(name, len, "year"))
			return *out = feel_v_int(y), true;
		if (prop_is(name, len, "month"))
			return *out = feel_v_int(m), true;
		if (prop_is(name, len, "day"))
			return *out = feel_v_int(d), true;
		if (prop_is(name, len, "weekday"))
			return *out = feel_v_int(((v->u.t.days % 7) + 7 + 3) % 7 + 1), true;
	}
	if (v->kind == FEEL_TIME || v->kind == FEEL_DATETIME)
	{
		if (prop_is(name, len, "hour"))
			return *out = feel_v_int(s / 3600), true;
		if (prop_is(name, len, "minute"))
			return *out = feel_v_int(s / 60 % 60), true;
		if (prop_is(name, len, "second"))
			return *out = feel_v_int(s % 60), true;
		if (prop_is(name, len, "time offset"))
		{
			if (!v->u.t.has_tz)
				return *out = feel_v_null(), true;
			*out = feel_v_null();
			out->kind = FEEL_DT_DURATION;
			out->u.dur.secs = v->u.t.tz;
			return true;
		}
	}
	if (v->kind == FEEL_YM_DURATION)
	{
		if (prop_is(name, len, "years"))
			return *out = feel_v_int(v->u.dur.months / 12), true;
		if (prop_is(name, len, "months"))
			return *out = feel_v_int(v->u.dur.months % 12), true;
	}
	if (v->kind == FEEL_DT_DURATION)
	{
		int64_t		ds = v->u.dur.secs;

		if (prop_is(name, len, "days"))
			return *out = feel_v_int(ds / SECS_PER_DAY), true;
		if (prop_is(name, len, "hours"))
			return *out = feel_v_int(ds / 3600 % 24), true;
		if (prop_is(name, len, "minutes"))
			return *out = feel_v_int(ds / 60 % 60), true;
		if (prop_is(name, len, "seconds"))
			return *out = feel_v_int(ds % 60), true;
	}
	return false;
}
