/*
 * scoring.h - lead scoring internals shared by scoring.c (settings,
 * behaviour, the per-model plan, evaluation) and scoring_trigger.c (the
 * trigger lead_10_score and crm.score).
 */
#ifndef CRM_SCORING_H
#define CRM_SCORING_H

#include "postgres.h"

#include "access/htup_details.h"
#include "utils/jsonb.h"

#include "dmn_pg.h"

/* Lead columns passed to the scoring decision as strings and as numbers. */
extern const char *const scoring_text_columns[];
extern const char *const scoring_number_columns[];
#define NTEXT 8
#define NNUMBER 2

/* Behaviour aggregates over crm.lead_event, by input name. */
extern const char *const scoring_behaviour_names[];
#define NBEHAVIOUR 10
#define BEH_NUMERIC(i) ((i) == 7 || (i) == 8)	/* purchase_total, purchase_max are numeric */

typedef struct ScoringConfig
{
	int64		tenant_id;
	bool		found;
	bool		active;
	char	   *model_name;
	char	   *decision_name;
	Datum		grade_min[3];	/* A, B, C thresholds (numeric) */
	Datum		window;			/* interval */
	Datum		large_purchase_min; /* numeric */
	int			max_reasons;
} ScoringConfig;

/* Attribute numbers of crm.lead, kept per trigger call site. */
typedef struct LeadAttnums
{
	Oid			relid;
	int			tenant_id;
	int			lead_id;
	int			text_cols[NTEXT];
	int			number_cols[NNUMBER];
	int			attributes;
	int			score;
	int			grade;
	int			score_reasons;
	int			scored_at;
} LeadAttnums;

/* Behaviour aggregates of one lead (all zero for a new lead). */
typedef struct Behaviour
{
	Datum		vals[NBEHAVIOUR];	/* int8 counts, numeric amounts */
	char	   *topics;
	bool		zero;
} Behaviour;

/* Where each input the program needs comes from. */
typedef enum InputSourceKind
{
	SRC_NONE = 0,				/* nothing of the lead: null */
	SRC_TEXT,					/* a text column */
	SRC_NUMBER,					/* a bigint column */
	SRC_BEHAVIOUR,				/* an aggregate of crm.lead_event */
	SRC_TOPICS,					/* question_topics */
	SRC_ATTRIBUTES,				/* the attributes object */
	SRC_ATTRIBUTE_KEY			/* one key of the attributes object */
} InputSourceKind;

typedef struct InputSource
{
	InputSourceKind kind;
	int			index;
	const char *name;
} InputSource;

/*
 * Derived once per compiled model and scoring decision (kept with the cache
 * entry): the inputs to build for each lead, and each rule's points when its
 * output cell is a number literal (the usual case), so that reasons cost no
 * evaluation.
 */
typedef struct ScoringPlan
{
	int			decision;
	int			ninputs;
	InputSource *inputs;
	int			nrules;
	bool	   *constant;
	Datum	   *points;
	double	   *points_order;
	Datum	   *rule_number;	/* 1-based rule numbers as numeric, for the reasons */
	Jsonb	  **reason;			/* constant rules: their reason object, ready to copy */
	bool		needs_behaviour;	/* does the program read any crm.lead_event aggregate? */
} ScoringPlan;

extern ScoringConfig *scoring_config(int64 tenant_id);
extern void scoring_read_behaviour(Behaviour *b, int64 tenant_id, int64 lead_id, const ScoringConfig *c);
extern FeelValue *scoring_behaviour_value(const Behaviour *b, int i);
extern FeelValue *scoring_number(int64 v);
extern void scoring_put_attributes(FeelValue *ctx, Jsonb *attrs, const char *const *taken, int ntaken);
extern ScoringPlan *scoring_resolve(const ScoringConfig *c, DmnCacheEntry **entry);
extern void scoring_evaluate(DmnCacheEntry *e, const ScoringPlan *plan, const ScoringConfig *c, FeelValue *inputs,
							 Datum *score, const char **grade, Jsonb **reasons);

#endif							/* CRM_SCORING_H */
