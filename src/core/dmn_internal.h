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
	DT_DT_DURATION, DT_YM_DURATION, DT_DURATION, DT_ITEM
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

/* A rule's input test flattened for fast matching (see dmn_checks.c). */
typedef enum DmnCheckKind
{
	CK_GENERIC = 0, CK_CMP, CK_RANGE, CK_EQ, CK_IN, CK_BOOL
} DmnCheckKind;

typedef struct DmnCheck
{
	uint8_t		kind;
	uint8_t		op;
	int16_t		col;			/* input column */
	int32_t		memo;			/* result slot shared by identical tests of the column, or -1 */
	int32_t		nvals;
	const FeelValue *vals;		/* constants: CK_CMP [0], CK_RANGE [0..1], CK_EQ [0], CK_IN [0..n) */
	const FeelNode *node;		/* CK_GENERIC: the unary tests */
} DmnCheck;

typedef struct DmnCRule
{
	int			ncheck;			/* tests other than "-" */
	DmnCheck   *checks;
	FeelNode  **tests;			/* ninputs; NULL = "-" */
	FeelNode  **outputs;		/* noutputs */
} DmnCRule;

/*
 * Rules indexed by input column (see dmn_checks.c): for each column with a
 * test, the bitset of rules passing it is built from the "-" rules, a hash of
 * the equality constants and the column's distinct other tests; the rules
 * matching are the AND over the columns.
 */
typedef struct DmnEqSlot
{
	const FeelValue *key;		/* NULL: empty slot */
	uint64_t	hash;
	uint64_t   *mask;			/* rules testing equality with key */
} DmnEqSlot;

typedef struct DmnColTest
{
	const DmnCheck *ck;
	uint64_t   *mask;			/* rules with this very test */
} DmnColTest;

/*
 * Comparisons of a number with a number constant as a ladder: the lower
 * bounds ("> 5", ">= 30") sorted by constant ascending, ">=" before ">" at
 * the same constant; the upper bounds ("< 10", "<= 2") sorted descending,
 * "<=" before "<".  The bounds a number passes are a prefix of each ladder,
 * found by binary search; prefix[k] holds the rules of its first k entries
 * (nwords each), so a column of thresholds costs two searches, not one
 * comparison per rule.  Anything but a number passes none of them.
 */
typedef struct DmnLadder
{
	int			n;
	const FeelDec **bound;
	bool	   *incl;			/* ">=" / "<=" */
	uint64_t   *prefix;			/* (n + 1) masks */
} DmnLadder;

typedef struct DmnColIndex
{
	int			col;
	uint64_t   *always;			/* rules passing whatever the value ("-", generic tests) */
	int			eqcap;			/* hash slots (power of two), 0 without equality tests */
	DmnEqSlot  *eq;
	DmnLadder	lower;
	DmnLadder	upper;
	int			ntests;			/* the other tests, evaluated one by one */
	DmnColTest *tests;
} DmnColIndex;

typedef struct DmnRuleIndex
{
	int			nwords;
	int			ncols;
	DmnColIndex *cols;
	uint64_t   *generic;		/* rules with a generic test, matched in full at the end */
} DmnRuleIndex;

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
	int			nmemo;			/* distinct memoised tests */
	DmnRuleIndex *index;		/* decision tables */
	int64_t    *int_outputs;	/* one output, every rule an integer literal below 2^56: the values */
	int			ndeps;			/* decisions evaluated first, in order */
	int		   *deps;
	int			ndirect;		/* direct dependencies (declared or referenced) */
	int		   *direct;
	char	   *refs;			/* per global slot: referenced by this decision's FEEL */
	int			nused;			/* input data this decision and its dependencies read */
	int		   *used;			/* indexes into DmnProgram.inputs */
} DmnCDecision;

typedef struct DmnCInputData
{
	const char *name;
	const char *what;			/* "input \"name\"" for messages */
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
	FeelValue  *outs;			/* output values of the matched rules */
	int8_t	   *memo;			/* per evaluation: -1 unknown, 0/1 test result */
	int			max_memo;
	int			max_inputs;
	int			max_rules;
	uint64_t   *cand;			/* candidate rules (bitset of max_rules) */
	uint64_t   *colmask;		/* rules passing one column */
	CrmArena	eval_arena;		/* temporaries of one evaluation */
};

/* dmn_types.c */
extern DmnType dmn_resolve_type(const DmnProgram *p, const char *type_ref);
/* Coerces an input value; strict: a value of the wrong type is an error (false, err filled). */
extern bool dmn_coerce(DmnProgram *p, const DmnType *t, const FeelValue *in, FeelValue *out,
					   bool strict, const char *what, CrmError *err);
extern DmnItemDef *dmn_copy_items(CrmArena *a, const DmnItemDef *src, int n);

/* dmn_checks.c */
extern void dmn_build_checks(CrmArena *a, DmnCRule *rule, int ninputs);
extern void dmn_share_checks(DmnCRule *rules, int nrules, int *nmemo);
extern bool dmn_rule_matches(FeelEnv *env, const DmnCRule *rule, const FeelValue *inputs, int8_t *memo);
extern DmnRuleIndex *dmn_build_index(CrmArena *a, const DmnCDecision *d);
/* Matching rules' indexes into hits, in rule order (only the first when first); their count. */
extern int	dmn_index_match(FeelEnv *env, const DmnProgram *p, const DmnCDecision *d, bool first);

/* dmn_order.c */
extern bool dmn_order_decisions(DmnProgram *p, const DmnModel *m, CrmError *err);

/* dmn_eval.c */
extern int64_t *dmn_int_outputs(CrmArena *a, const DmnCDecision *d);
extern FeelValue dmn_eval_decision(DmnProgram *p, int d, int *matched, int nmatched_max,
								   int *nmatched, CrmError *err, bool *ok);

#endif							/* CRM_DMN_INTERNAL_H */
