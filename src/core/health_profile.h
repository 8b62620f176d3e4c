/*
 * health_profile.h - one customer's health profile from its dispensing lines.
 *
 * Pure computation: the server glue collects a customer's lines (with ATC
 * codes and channels interned into small dictionaries) and the ATC-prefix →
 * condition mapping of the tenant, and gets back every dimension of
 * crm.health_profile that depends on that customer alone.
 */
#ifndef CRM_HEALTH_PROFILE_H
#define CRM_HEALTH_PROFILE_H

#include "crm_core.h"
#include "adherence.h"

/* A therapy episode ends after a gap longer than this (days without supply). */
#define CRM_PERSISTENCE_GAP 60
/* A single fill implies a condition when it carries at least this many days. */
#define CRM_CONDITION_MIN_DAYS 28
/* PDC is measurable when the first fill is at least this many days before as_of (PQA: 91). */
#define CRM_MEASURABLE_DAYS 90
#define CRM_NO_DAY INT32_MIN

typedef struct CrmHealthLine
{
	int32_t		day;			/* fill date (day number) */
	int32_t		days_supply;	/* 0 = not given */
	int32_t		atc;			/* index into the ATC dictionary, -1 = unknown */
	int32_t		channel;		/* index into the channel dictionary, -1 = unknown */
	int64_t		store_id;		/* 0 = unknown */
	int64_t		price_fen;		/* amount paid, fen */
	bool		promo;
} CrmHealthLine;

/* ATC prefix → condition, longest prefix wins. */
typedef struct CrmCondMap
{
	int			nrules;
	char	  **prefix;
	int		   *rule_cond;		/* condition index of each rule */
	int			nconds;
	char	  **cond_name;		/* condition keys, e.g. "hypertension" */
	int		   *threshold_bp;	/* adherence threshold in basis points (8000 = 80%) */
} CrmCondMap;

typedef struct CrmCondStat
{
	int			cond;			/* index into the map's conditions */
	int			fills;			/* lines of the class up to as_of */
	int			drugs;			/* distinct ATC codes */
	int32_t		first_fill;
	int32_t		last_fill;
	int32_t		next_refill;	/* day after the last covered day */
	int32_t		days_overdue;	/* as_of - next_refill, at least 0 */
	int			pdc_bp[3];		/* PDC 90/180/365 days, basis points; -1 = not computable */
	bool		measurable;		/* fills on >= 2 dates and first fill >= 90 days before as_of */
	bool		adherent;		/* measurable and pdc_365 >= threshold */
	bool		persistent;		/* days_overdue <= CRM_PERSISTENCE_GAP */
	int32_t		persistence_days;	/* length of the current therapy episode */
} CrmCondStat;

typedef struct CrmHealthProfile
{
	int32_t		as_of;
	int			lines;			/* lines up to as_of */
	int32_t		first_purchase; /* CRM_NO_DAY when no line */
	int32_t		last_purchase;
	int			visits_90;		/* distinct purchase days in the last 90 days */
	int			visits_365;
	int			lines_365;
	int			promo_lines_365;
	int64_t		spend_365_fen;
	int64_t		preferred_store_id; /* 0 = none */
	int			store_count_365;
	int			preferred_channel;	/* index, -1 = none */
	int			nconds;			/* conditions inferred */
	CrmCondStat *conds;			/* sorted by condition name */
} CrmHealthProfile;

/* Condition index of an ATC code (longest matching prefix), -1 if none. */
extern int	crm_condmap_lookup(const CrmCondMap *map, const char *atc);

/*
 * Computes the profile.  lines are reordered (by day).  atc_cond[i] is the
 * condition index of ATC dictionary entry i (crm_condmap_lookup), natc its
 * length.  prof->conds is allocated with crm_alloc.
 */
extern bool crm_health_profile(CrmHealthLine *lines, int n, const int *atc_cond, int natc,
							   int nchannels, const CrmCondMap *map, int32_t as_of,
							   CrmHealthProfile *prof, CrmError *err);

/* Appends the per-condition detail as a JSON object keyed by condition. */
extern void crm_health_conditions_json(const CrmHealthProfile *prof, const CrmCondMap *map, CrmBuf *out);

#endif							/* CRM_HEALTH_PROFILE_H */
