/*
 * dmn_internal.h - the compiled form of a DMN model (shared by dmn_compile.c,
 * dmn_types.c and dmn_eval.c).  Not part of the engine's interface.
 */
#ifndef CRM_DMN_INTERNAL_H
#define CRM_DMN_INTERNAL_H

#include "feel_internal.h"

typedef enum DmnTypeKind
{
	DT_ANY = 0, DT_NUMBER, DT_STRING, DT_BOOLEAN, DT_DATE, DT_TIME, DT_DATETIME,
	DT_DT_DURATION, DT_YM_DURATION, DT_ITEM
} DmnTypeKind;

typedef struct DmnType
{
	DmnTypeKind kind;
	const DmnItemDef *item;		/* DT_ITEM: the definition (in the program arena) */
} DmnType;

typedef struct DmnCInput
{
	const char *name;			/* column name for messages */
	FeelNode   *expr;
	DmnType		type;
} DmnCInput;

typedef struct DmnCOutput
{
	const char *name;			/* context key when the table has several outputs */
	FeelValue  *priorities;		/* output values, in priority order */
	int			npriorities;
	FeelNode   *default_expr;	/* NULL when there is no default */
} DmnCOutput;

typedef struct DmnCRule
{
	FeelNode  **tests;			/* ninputs; NULL = "-" */
	FeelNode  **outputs;		/* noutputs */
} DmnCRule;

typedef struct DmnCDecision
{
	const char *name;
	const char *id;
	int			slot;
	DmnType		type;
	DmnExprKind kind;
	FeelNode   *literal;
	DmnHitPolicy hit_policy;
	DmnAggregation aggregation;
	int			ninputs;
	DmnCInput  *inputs;
	int			noutputs;
	DmnCOutput *outputs;
	int			nrules;
	DmnCRule   *rules;
	int			ndeps;			/* decisions evaluated first, in order */
	int		   *deps;
	int			ndirect;		/* direct dependencies (declared or referenced) */
	int		   *direct;
} DmnCDecision;

typedef struct DmnCInputData
{
	const char *name;
	DmnType		type;
	int			slot;
} DmnCInputData;

struct DmnProgram
{
	CrmArena	arena;			/* everything compiled */
	int			ninputs;
	DmnCInputData *inputs;
	int			ndecisions;
	DmnCDecision *decisions;
	int			nitems;
	DmnItemDef *items;
	int			nglobals;
	FeelNameDef *globals;
	FeelLexNames lex_globals;
	FeelLexNames lex_fields;
	int			input_slot;		/* '?' */
	int			nslots;
	FeelValue  *slots;			/* evaluation frame */
	FeelValue  *inbuf;			/* decision table input values */
	int		   *hits;			/* matched rule indexes */
	int			max_inputs;
	int			max_rules;
	CrmArena	eval_arena;		/* temporaries of one evaluation */
};

/* dmn_types.c */
extern DmnType dmn_resolve_type(const DmnProgram *p, const char *type_ref);
/* Coerces an input value; strict: a value of the wrong type is an error (false, err filled). */
extern bool dmn_coerce(DmnProgram *p, const DmnType *t, const FeelValue *in, FeelValue *out,
					   bool strict, const char *what, CrmError *err);
extern DmnItemDef *dmn_copy_items(CrmArena *a, const DmnItemDef *src, int n);

/* dmn_order.c */
extern bool dmn_order_decisions(DmnProgram *p, const DmnModel *m, CrmError *err);

/* dmn_eval.c */
extern FeelValue dmn_eval_decision(DmnProgram *p, int d, int *matched, int nmatched_max,
								   int *nmatched, CrmError *err, bool *ok);

#endif							/* CRM_DMN_INTERNAL_H */
