/*
 * dmn_engine.h - FEEL values, compiled DMN programs and their evaluation.
 *
 * dmn_compile turns a DmnModel into a compact program (every FEEL text
 * parsed once, requirement graph ordered, cycles rejected); dmn_evaluate
 * runs one decision against a context of input values.  The program owns
 * all its memory (one arena); evaluation allocates nothing per rule, only
 * for result values (in the caller's allocator scope).
 */
#ifndef CRM_DMN_ENGINE_H
#define CRM_DMN_ENGINE_H

#include "dmn_model.h"

/* ---- FEEL values (opaque; build and read them through these functions) ---- */

typedef enum FeelKind
{
	FEEL_NULL = 0,
	FEEL_BOOLEAN,
	FEEL_NUMBER,
	FEEL_STRING,
	FEEL_DATE,
	FEEL_TIME,
	FEEL_DATETIME,
	FEEL_YM_DURATION,			/* years and months duration */
	FEEL_DT_DURATION,			/* days and time duration */
	FEEL_LIST,
	FEEL_CONTEXT,
	FEEL_FUNCTION				/* built-ins passed as values; not convertible */
} FeelKind;

typedef struct FeelValue FeelValue;

extern FeelKind feel_kind(const FeelValue *v);

extern FeelValue *feel_null(void);
extern FeelValue *feel_boolean(bool b);
/* A number from decimal text ("12.5", "-3e2"); NULL with err on bad text. */
extern FeelValue *feel_number_from_text(const char *text, CrmError *err);
extern FeelValue *feel_number_from_int(int64_t i);
extern FeelValue *feel_string(const char *s, size_t len);
extern FeelValue *feel_list_new(void);
extern void feel_list_append(FeelValue *list, FeelValue *item);
extern FeelValue *feel_context_new(void);
extern void feel_context_put(FeelValue *ctx, const char *key, size_t keylen, FeelValue *value);

/*
 * Input contexts for one evaluation without copies: a fixed capacity, keys
 * and strings borrowed from the caller (they must outlive the evaluation),
 * keys distinct.  The put functions return false when the context is full.
 * Free only with feel_borrowed_free (which frees the context, not what it
 * borrows nor the contents of values moved in with feel_borrowed_put).
 */
extern FeelValue *feel_borrowed_context(int cap);
/* Moves a value from the constructors above into the context (the box is freed). */
extern bool feel_borrowed_put(FeelValue *ctx, const char *key, size_t keylen, FeelValue *value);
extern bool feel_borrowed_put_string(FeelValue *ctx, const char *key, size_t keylen, const char *s, size_t len);
extern bool feel_borrowed_put_boolean(FeelValue *ctx, const char *key, size_t keylen, bool b);
extern bool feel_borrowed_put_int(FeelValue *ctx, const char *key, size_t keylen, int64_t i);
extern bool feel_borrowed_put_null(FeelValue *ctx, const char *key, size_t keylen);
/* Empties the context for reuse (same capacity); its capacity. */
extern void feel_borrowed_reset(FeelValue *ctx);
extern int	feel_borrowed_capacity(const FeelValue *ctx);
extern void feel_borrowed_free(FeelValue *ctx);

extern bool feel_get_boolean(const FeelValue *v);
/* Canonical decimal text of a number (no exponent, no trailing zeros); caller frees with crm_free. */
extern char *feel_number_to_text(const FeelValue *v);
/* A number with an integer value that fits int64 (the fast path of conversions). */
extern bool feel_number_to_int64(const FeelValue *v, int64_t *out);
extern const char *feel_get_string(const FeelValue *v, size_t *len);
/* ISO-8601 text of a date, time, date and time, or duration; caller frees with crm_free. */
extern char *feel_temporal_to_text(const FeelValue *v);
extern int	feel_list_length(const FeelValue *v);
extern const FeelValue *feel_list_get(const FeelValue *v, int i);
extern int	feel_context_size(const FeelValue *v);
extern const FeelValue *feel_context_entry(const FeelValue *v, int i, const char **key);

extern void feel_value_free(FeelValue *v);

/* ---- compiled programs ---- */

typedef struct DmnProgram DmnProgram;

/*
 * Compiles every decision of the model.  Errors name the decision, the rule
 * (1-based) and the column (input or output name) of a bad cell, with the
 * position inside the cell: CRM_ERR_SYNTAX for FEEL syntax, CRM_ERR_INVALID
 * for a requirement cycle or an unknown reference.
 */
extern DmnProgram *dmn_compile(const DmnModel *model, CrmError *err);
extern void dmn_program_free(DmnProgram *program);

/* Index of the decision with this name (or id), or -1. */
extern int	dmn_find_decision(const DmnProgram *program, const char *name);
/* Names of the input data (and required decisions) a decision needs, transitively. */
extern int	dmn_program_ninputs(const DmnProgram *program);
extern const char *dmn_program_input_name(const DmnProgram *program, int i);

/*
 * Evaluates decision number `decision` with `inputs` (a FEEL context keyed
 * by input data name; values are coerced by the model's typeRefs, e.g. an
 * ISO string for a date input).  Required decisions are evaluated first.
 * Result shape: single output -> the value; several outputs -> a context;
 * COLLECT without aggregation, RULE ORDER, OUTPUT ORDER -> a list (rule order
 * for COLLECT); no match -> null (or the default output entries).  On error
 * (wrong input type, UNIQUE with two hits, ...) returns NULL and fills err
 * naming the decision (and rule, column where they apply).
 *
 * If `matched` is not NULL it receives the 0-based indexes of the rules that
 * matched in the decision itself, in rule order (capacity nmatched_max), and
 * *nmatched their count: lead scoring reports them as reasons.
 */
extern FeelValue *dmn_evaluate(DmnProgram *program, int decision, const FeelValue *inputs,
							   int *matched, int nmatched_max, int *nmatched, CrmError *err);

/* The value of output `output` of rule `rule` (0-based) of a decision table, for these inputs. */
extern FeelValue *dmn_rule_output(DmnProgram *program, int decision, int rule, int output,
								  const FeelValue *inputs, CrmError *err);

/* Parses and evaluates a standalone FEEL expression against a context (NULL = empty). */
extern FeelValue *feel_eval_text(const char *expr, const FeelValue *context, CrmError *err);

#endif							/* CRM_DMN_ENGINE_H */
