/*
 * cda_med.c - one medication line: drug, dates, dose, quantity, route and
 * the derived days supply.
 *
 * Days supply, first rule that applies (docs/cda.md):
 *   1. explicit: WS/T 500 observation DE06.00.294.00 (处方有效天数, PQ in 天)
 *      of the line, else of the document;
 *   2. supply: dispensed units / units per day, where dispensed units are the
 *      supply quantity (times the package size when the quantity counts
 *      packages) and units per day are dose x doses per day (PIVL_TS period,
 *      EIVL_TS events, SXPR_TS parts, nested dosage entries, WS/T 500
 *      frequency); rounded down, at least 1;
 *   3. interval: effective time low..high, both days counted;
 *   4. otherwise none, with the reason in days_note.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cda_int.h"

#define CODE_WST500_DAYS	"DE06.00.294.00"
#define CODE_WST500_FREQ	"DE06.00.133.00"
#define CODE_WST500_TOTAL	"DE06.00.135.00"
#define MAX_DAYS_SUPPLY		3650

typedef struct MedWork
{
	double		dose;			/* 0 if unknown */
	const char *dose_unit;
	double		daily;			/* units per day, 0 if unknown */
	const char *daily_why;		/* why daily is unknown */
	double		total;			/* dispensed units, 0 if unknown */
	const char *total_unit;
	const char *total_how;
} MedWork;

static const xmlNode *related(const xmlNode *med, const char *name, const xmlNode *after);

/* A decimal attribute as a double; 0 (unknown) when malformed, not positive or beyond 1e9. */
static double
num(const char *s)
{
	double		v = cda_decimal_ok(s) ? strtod(s, NULL) : 0.0;

	return (isfinite(v) && v > 0 && v <= 1e9) ? v : 0.0;
}

static const xmlNode *
material_of(const xmlNode *med, bool is_supply)
{
	const xmlNode *mp = cx_child(cx_child(med, is_supply ? "product" : "consumable"), "manufacturedProduct");
	const xmlNode *m = cx_child(mp, "manufacturedMaterial");

	return m ? m : cx_child(mp, "manufacturedLabeledDrug");
}

/* ---------------------------------------------------------------------------------------------
 * Timing
 * ------------------------------------------------------------------------------------------- */
static double
per_day_of_period(const xmlNode *period)
{
	double		v = num(cx_attr(period, "value"));
	const char *u = cx_attr(period, "unit");

	if (v < 1e-3 || u == NULL)
		return 0;				/* more often than every 3.6 seconds is not a dosing schedule */
	if (strcmp(u, "h") == 0)
		return 24.0 / v;
	if (strcmp(u, "d") == 0)
		return 1.0 / v;
	if (strcmp(u, "wk") == 0)
		return 1.0 / (7.0 * v);
	if (strcmp(u, "min") == 0)
		return 1440.0 / v;
	if (strcmp(u, "mo") == 0)
		return 1.0 / (30.0 * v);
	return 0;
}

/* Doses per day of one timing element (PIVL_TS, EIVL_TS or SXPR_TS); 0 for IVL_TS or unknown. */
static double
per_day_of_timing(const xmlNode *et, int depth)
{
	const char *t = cx_xsi_type(et);
	double		sum = 0;

	if (depth > 8)
		return 0;
	if ((t && strcmp(t, "PIVL_TS") == 0) || cx_child(et, "period") != NULL)
		return per_day_of_period(cx_child(et, "period"));
	if ((t && strcmp(t, "EIVL_TS") == 0) || cx_child(et, "event") != NULL)
		return cx_null(cx_child(et, "event")) ? 0 : 1;	/* meal and sleep events happen daily */
	if ((t && strcmp(t, "SXPR_TS") == 0) || cx_child(et, "comp") != NULL)
	{
		for (const xmlNode *c = cx_child(et, "comp"); c != NULL; c = cx_next(c, "comp"))
		{
			double		f = per_day_of_timing(c, depth + 1);

			if (f <= 0)
				return 0;
			sum += f;
		}
	}
	return sum;
}

/* WS/T 500 药物使用频率 as a code or text: qd, bid, tid, qid, qn, hs, qod, qw, qNh, 每日N次. */
static double
per_day_of_words(const char *s)
{
	static const struct
	{
		const char *word;
		double		per_day;
	}			words[] = {
		{"qd", 1}, {"od", 1}, {"qn", 1}, {"hs", 1}, {"bid", 2}, {"tid", 3}, {"qid", 4},
		{"qod", 0.5}, {"qw", 1.0 / 7}, {"每日一次", 1}, {"每日1次", 1}, {"每日两次", 2},
		{"每日二次", 2}, {"每日2次", 2}, {"每日三次", 3}, {"每日3次", 3}, {"每日四次", 4},
		{"每日4次", 4}, {"每晚一次", 1}, {"隔日一次", 0.5}, {"每周一次", 1.0 / 7},
	};
	char		low[32];
	size_t		n;

	if (s == NULL || (n = strlen(s)) >= sizeof(low))
		return 0;
	for (size_t i = 0; i <= n; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i];
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(low, words[i].word) == 0)
			return words[i].per_day;
	if (low[0] == 'q' && low[n - 1] == 'h' && n > 2)
	{
		char	   *end;
		double		h = strtod(low + 1, &end);

		if (end == low + n - 1 && h > 0)
			return 24.0 / h;
	}
	return 0;
}

/* An observation with this code directly related to the entry (entryRelationship/observation). */
static const xmlNode *
own_observation(const xmlNode *sa, const char *code)
{
	for (const xmlNode *obs = related(sa, "observation", NULL); obs != NULL; obs = related(sa, "observation", obs))
	{
		const char *c = cx_attr(cx_child(obs, "code"), "code");

		if (c != NULL && strcmp(c, code) == 0)
			return obs;
	}
	return NULL;
}

double
cda_doses_per_day(const xmlNode *sa)
{
	double		sum = 0;
	const xmlNode *obs;

	for (const xmlNode *et = cx_child(sa, "effectiveTime"); et != NULL; et = cx_next(et, "effectiveTime"))
		sum += per_day_of_timing(et, 0);
	if (sum > 0)
		return sum;
	obs = own_observation(sa, CODE_WST500_FREQ);
	if (obs != NULL)
	{
		const xmlNode *value = cx_child(obs, "value");

		sum = per_day_of_words(cx_attr(value, "code"));
		if (sum <= 0 && value != NULL && value->children != NULL &&
			value->children->type == XML_TEXT_NODE && value->children->next == NULL)
			sum = per_day_of_words((const char *) value->children->content);
		return sum;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Dates, dose, quantity
 * ------------------------------------------------------------------------------------------- */
/* low + width (an IVL_TS given as a duration): the last day, both ends counted. */
static int32_t
end_of_width(int32_t start, const xmlNode *width)
{
	double		v = num(cx_attr(width, "value"));
	const char *u = cx_attr(width, "unit");
	double		days;

	if (v <= 0 || u == NULL)
		return CDA_NO_DATE;
	if (strcmp(u, "d") == 0)
		days = v;
	else if (strcmp(u, "wk") == 0)
		days = 7 * v;
	else if (strcmp(u, "mo") == 0)
		days = 30 * v;
	else
		return CDA_NO_DATE;
	if (days < 1 || days > MAX_DAYS_SUPPLY || days != floor(days))
		return CDA_NO_DATE;
	return start + (int32_t) days - 1;
}

static bool
interval_of(const xmlNode *sa, int32_t *start, int32_t *end)
{
	for (const xmlNode *et = cx_child(sa, "effectiveTime"); et != NULL; et = cx_next(et, "effectiveTime"))
	{
		const char *t = cx_xsi_type(et);
		const char *v;

		if (t != NULL && strcmp(t, "IVL_TS") != 0 && strcmp(t, "TS") != 0)
			continue;
		if (per_day_of_timing(et, 0) > 0)
			continue;
		v = cx_attr(et, "value");
		*start = cda_date_from_ts(v ? v : cx_attr(cx_child(et, "low"), "value"));
		*end = cda_date_from_ts(v ? v : cx_attr(cx_child(et, "high"), "value"));
		if (*end == CDA_NO_DATE && *start != CDA_NO_DATE)
			*end = end_of_width(*start, cx_child(et, "width"));
		return true;
	}
	return false;
}

static const xmlNode *
related(const xmlNode *med, const char *name, const xmlNode *after)
{
	const xmlNode *er = after ? after->parent : NULL;

	er = er ? cx_next(er, "entryRelationship") : cx_child(med, "entryRelationship");
	for (; er != NULL; er = cx_next(er, "entryRelationship"))
	{
		const xmlNode *x = cx_child(er, name);

		if (x != NULL)
			return x;
	}
	return NULL;
}

static bool
dose_of(const xmlNode *sa, double *dose, const char **value, const char **unit)
{
	const xmlNode *dq = cx_child(sa, "doseQuantity");
	const char *v = cx_attr(dq, "value");

	if (v == NULL)
		v = cx_attr(cx_child(dq, "low"), "value");
	if (!cda_decimal_ok(v) || num(v) <= 0)
		return false;
	*dose = num(v);
	*value = v;
	*unit = cx_attr(dq, "unit");
	if (*unit == NULL)
		*unit = cx_attr(cx_child(dq, "low"), "unit");
	return true;
}

/* Units per day: dose x doses per day, or the sum over nested dosage entries. */
static void
daily_units(CdaWalk *w, const xmlNode *med, CdaItem *it, MedWork *mw)
{
	double		top = cda_doses_per_day(med);
	const char *v;
	const char *u;
	double		d;

	if (dose_of(med, &mw->dose, &it->dose_value, &mw->dose_unit))
	{
		mw->daily = top > 0 ? mw->dose * top : 0;
		mw->daily_why = top > 0 ? NULL : "no frequency";
		return;
	}
	mw->daily_why = "no dose";
	for (const xmlNode *sa = related(med, "substanceAdministration", NULL); sa != NULL;
		 sa = related(med, "substanceAdministration", sa))
	{
		double		f;

		if (!dose_of(sa, &d, &v, &u))
			continue;
		f = cda_doses_per_day(sa);
		if (f <= 0)
			f = top;
		if (it->dose_value == NULL)
		{
			it->dose_value = v;
			mw->dose_unit = u;
			mw->dose = d;
		}
		if (f <= 0)
		{
			mw->daily = 0;
			mw->daily_why = "no frequency";
			return;
		}
		mw->daily += d * f;
		mw->daily_why = NULL;
	}
}

static void
quantity_of(CdaWalk *w, const xmlNode *med, bool is_supply, CdaItem *it, MedWork *mw)
{
	const xmlNode *sup = is_supply ? med : NULL;
	const xmlNode *qn;
	const xmlNode *cap;
	const char *u;

	for (const xmlNode *s = is_supply ? NULL : related(med, "supply", NULL); s != NULL; s = related(med, "supply", s))
	{
		const char *mood = cx_attr(s, "moodCode");

		if (cx_child(s, "quantity") == NULL)
			continue;
		if (sup == NULL || (mood != NULL && strcmp(mood, "EVN") == 0))
			sup = s;
	}
	if (sup == NULL)
	{
		/* WS/T 500 药物使用总剂量: the total over the prescription, in the dose's unit */
		qn = cx_child(own_observation(med, CODE_WST500_TOTAL), "value");
		if (qn == NULL || !cda_decimal_ok(cx_attr(qn, "value")) || num(cx_attr(qn, "value")) <= 0)
			return;
		it->quantity = cx_attr(qn, "value");
		it->quantity_unit = cx_attr(qn, "unit");
		mw->total = num(it->quantity);
		mw->total_unit = it->quantity_unit;
		return;
	}
	if (cx_attr(sup, "moodCode") != NULL && strcmp(cx_attr(sup, "moodCode"), "EVN") == 0)
	{
		const xmlNode *et = cx_child(sup, "effectiveTime");
		const char *v = cx_attr(et, "value");

		it->supplied_on = cda_date_from_ts(v ? v : cx_attr(cx_child(et, "low"), "value"));
	}
	qn = cx_child(sup, "quantity");
	if (!cda_decimal_ok(cx_attr(qn, "value")) || num(cx_attr(qn, "value")) <= 0)
		return;
	it->quantity = cx_attr(qn, "value");
	it->quantity_unit = cx_attr(qn, "unit");
	mw->total = num(it->quantity);
	mw->total_unit = it->quantity_unit;
	u = it->quantity_unit;
	cap = cx_child(cx_child(cx_child(material_of(med, is_supply), "asContent"),
							"containerPackagedMedicine"), "capacityQuantity");
	if ((u == NULL || u[0] == '\0' || strcmp(u, "1") == 0) && num(cx_attr(cap, "value")) > 0)
	{
		mw->total_how = cx_printf(w, "%s package(s) of %s", it->quantity, cx_attr(cap, "value"));
		mw->total *= num(cx_attr(cap, "value"));
		mw->total_unit = cx_attr(cap, "unit");
	}
}

/* ---------------------------------------------------------------------------------------------
 * Days supply
 * ------------------------------------------------------------------------------------------- */
static bool
is_measure(const char *u)
{
	static const char *const m[] = {"mg", "g", "kg", "ug", "mcg", "ng", "ml", "mL", "l", "L",
	"IU", "[IU]", "[iU]", "U", "mmol", "mol", "%"};

	if (u != NULL && strchr(u, '/') != NULL)
		return true;			/* a concentration such as mg/actuat or mg/mL */
	for (size_t i = 0; u != NULL && i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(u, m[i]) == 0)
			return true;
	return false;
}

static bool
units_match(const char *a, const char *b)
{
	bool		a_count = a == NULL || a[0] == '\0' || strcmp(a, "1") == 0;
	bool		b_count = b == NULL || b[0] == '\0' || strcmp(b, "1") == 0;

	if (a_count && b_count)
		return true;
	if (a_count || b_count)
		return !is_measure(a_count ? b : a);
	return strcmp(a, b) == 0;
}

static bool
explicit_days(CdaWalk *w, const xmlNode *med, CdaItem *it)
{
	const xmlNode *obs = own_observation(med, CODE_WST500_DAYS);
	const char *v = obs ? cx_attr(cx_child(obs, "value"), "value") : w->doc_days;
	const char *u = obs ? cx_attr(cx_child(obs, "value"), "unit") : w->doc_days_unit;
	double		d = num(v);
	double		factor = 0;

	if (v == NULL || d <= 0)
		return false;
	if (u == NULL || u[0] == '\0' || strcmp(u, "天") == 0 || strcmp(u, "d") == 0 ||
		strcmp(u, "日") == 0 || strcmp(u, "day") == 0)
		factor = 1;
	else if (strcmp(u, "周") == 0 || strcmp(u, "wk") == 0)
		factor = 7;
	if (factor == 0 || ceil(d * factor) > MAX_DAYS_SUPPLY)
		return false;
	it->days_supply = (int32_t) ceil(d * factor - 1e-9);
	it->days_source = CDA_DS_EXPLICIT;
	it->days_note = cx_printf(w, "DE06.00.294.00 处方有效天数 %s %s%s", v, u ? u : "天",
							  obs ? "" : " (document level)");
	return true;
}

static const char *
fmt_num(CdaWalk *w, double v)
{
	return cx_printf(w, "%.6g", v);
}

/* Why the supply rule cannot apply, or NULL when it can. */
static const char *
supply_obstacle(CdaWalk *w, const MedWork *mw)
{
	if (mw->total <= 0)
		return "no supply quantity";
	if (mw->daily <= 0)
		return mw->daily_why ? mw->daily_why : "no dose";
	if (!units_match(mw->total_unit, mw->dose_unit))
		return cx_printf(w, "supply in %s but dose in %s",
						 mw->total_unit ? mw->total_unit : "units",
						 mw->dose_unit ? mw->dose_unit : "units");
	if (floor(mw->total / mw->daily + 1e-9) > MAX_DAYS_SUPPLY)
		return "supply lasts implausibly long";
	return NULL;
}

static bool
supply_days(CdaWalk *w, CdaItem *it, MedWork *mw, const char **why)
{
	double		days;

	*why = supply_obstacle(w, mw);
	if (*why != NULL)
		return false;
	days = floor(mw->total / mw->daily + 1e-9);
	it->days_supply = days < 1 ? 1 : (int32_t) days;
	it->days_source = CDA_DS_SUPPLY;
	it->days_note = cx_printf(w, "%s%s%s / %s per day", fmt_num(w, mw->total),
							  mw->total_how ? " = " : "", mw->total_how ? mw->total_how : "",
							  fmt_num(w, mw->daily));
	return true;
}

static void
derive_days(CdaWalk *w, const xmlNode *med, CdaItem *it, MedWork *mw)
{
	const char *why = NULL;

	if (explicit_days(w, med, it) || supply_days(w, it, mw, &why))
		return;
	if (it->start_date != CDA_NO_DATE && it->end_date != CDA_NO_DATE && it->end_date >= it->start_date &&
		it->end_date - it->start_date < MAX_DAYS_SUPPLY)
	{
		it->days_supply = it->end_date - it->start_date + 1;
		it->days_source = CDA_DS_INTERVAL;
		it->days_note = cx_dup(w, "effective time, both days counted");
		return;
	}
	it->days_note = cx_printf(w, "no days supply element; %s; %s", why,
							  it->start_date == CDA_NO_DATE ? "no start date" : "no end date");
}

/* ---------------------------------------------------------------------------------------------
 * The line
 * ------------------------------------------------------------------------------------------- */
bool
cda_medication(CdaWalk *w, const xmlNode *med, bool is_supply)
{
	const xmlNode *m = material_of(med, is_supply);
	const xmlNode *route = cx_child(med, "routeCode");
	CdaItem    *it = cda_new_item(w, CDA_MEDICATION);
	MedWork		mw;

	if (it == NULL)
		return false;
	memset(&mw, 0, sizeof(mw));
	cda_pick_code(w, cx_child(m, "code"), it, true);
	if (it->code == NULL)		/* CDA-CH-EMED: the package may carry the code */
		cda_pick_code(w, cx_child(cx_child(cx_child(m, "asContent"), "containerPackagedMedicine"), "code"),
					  it, true);
	if (cx_text(w, cx_child(m, "name")) != NULL)	/* the product's own name reads best */
		it->display = cx_text(w, cx_child(m, "name"));
	if (!interval_of(med, &it->start_date, &it->end_date))
		for (const xmlNode *sa = related(med, "substanceAdministration", NULL); sa != NULL;
			 sa = related(med, "substanceAdministration", sa))
			if (interval_of(sa, &it->start_date, &it->end_date))
				break;
	for (const xmlNode *sa = related(med, "substanceAdministration", NULL); route == NULL && sa != NULL;
		 sa = related(med, "substanceAdministration", sa))
		route = cx_child(sa, "routeCode");
	if (route != NULL && !cx_null(route))
		it->route = cx_attr(route, "displayName") ? cx_attr(route, "displayName") : cx_attr(route, "code");
	daily_units(w, med, it, &mw);
	quantity_of(w, med, is_supply, it, &mw);
	if (is_supply && it->start_date == CDA_NO_DATE)
		it->start_date = it->supplied_on;
	it->dose_value = cx_dup(w, it->dose_value);
	it->dose_unit = cx_dup(w, mw.dose_unit);
	it->quantity = cx_dup(w, it->quantity);
	it->quantity_unit = cx_dup(w, it->quantity_unit);
	it->route = cx_dup(w, it->route);
	it->daily_units = mw.daily;
	derive_days(w, med, it, &mw);
	return true;
}
