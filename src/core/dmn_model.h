/*
 * dmn_model.h - a DMN model as plain data: what the XML reader produces, what
 * the SQL authoring tables hold, and what the compiler consumes.
 *
 * Every string is NUL-terminated UTF-8 owned by the model's arena; optional
 * strings are NULL when absent.  FEEL text (unary tests, expressions) is kept
 * verbatim; nothing here is parsed.  Names are the DMN names (may contain
 * spaces); ids are the XML ids (may be NULL for SQL-authored models, where the
 * name serves as id).
 */
#ifndef CRM_DMN_MODEL_H
#define CRM_DMN_MODEL_H

#include "crm_core.h"

typedef enum DmnHitPolicy
{
	DMN_HIT_UNIQUE = 0,
	DMN_HIT_ANY,
	DMN_HIT_PRIORITY,
	DMN_HIT_FIRST,
	DMN_HIT_RULE_ORDER,
	DMN_HIT_OUTPUT_ORDER,
	DMN_HIT_COLLECT
} DmnHitPolicy;

typedef enum DmnAggregation
{
	DMN_AGG_NONE = 0,
	DMN_AGG_SUM,
	DMN_AGG_MIN,
	DMN_AGG_MAX,
	DMN_AGG_COUNT
} DmnAggregation;

/* A named type (itemDefinition): a base typeRef, or components, or a collection of a type. */
typedef struct DmnItemDef
{
	char	   *name;
	char	   *type_ref;		/* e.g. "number", "string", "date", another item name; NULL if components */
	char	   *allowed_values; /* unary tests text, or NULL */
	bool		is_collection;
	int			ncomponents;
	struct DmnItemDef *components;	/* each with name and type_ref (may nest) */
} DmnItemDef;

typedef struct DmnInputClause
{
	char	   *id;
	char	   *label;
	char	   *expr;			/* inputExpression text, e.g. "Applicant.Age" */
	char	   *type_ref;		/* inputExpression typeRef, or NULL */
	char	   *input_values;	/* inputValues unary tests text, or NULL */
} DmnInputClause;

typedef struct DmnOutputClause
{
	char	   *id;
	char	   *name;			/* NULL for a single unnamed output */
	char	   *label;
	char	   *type_ref;
	char	   *output_values;	/* outputValues text ("\"a\",\"b\""), gives PRIORITY / OUTPUT ORDER */
	char	   *default_output; /* defaultOutputEntry expression text, or NULL */
} DmnOutputClause;

typedef struct DmnRule
{
	char	   *id;
	char	  **input_entries;	/* ninputs unary-test texts ("-" = any) */
	char	  **output_entries; /* noutputs expression texts */
	char	   *annotation;		/* rule annotation (first annotationEntry or description), or NULL */
} DmnRule;

typedef struct DmnDecisionTable
{
	DmnHitPolicy hit_policy;
	DmnAggregation aggregation;
	int			ninputs;
	DmnInputClause *inputs;
	int			noutputs;
	DmnOutputClause *outputs;
	int			nrules;
	DmnRule    *rules;
} DmnDecisionTable;

typedef enum DmnExprKind
{
	DMN_EXPR_DECISION_TABLE = 0,
	DMN_EXPR_LITERAL
} DmnExprKind;

typedef struct DmnDecision
{
	char	   *id;
	char	   *name;
	char	   *type_ref;		/* variable typeRef (result type), or NULL */
	DmnExprKind kind;
	DmnDecisionTable table;		/* when kind == DMN_EXPR_DECISION_TABLE */
	char	   *literal;		/* when kind == DMN_EXPR_LITERAL: the FEEL expression text */
	int			nrequired_decisions;
	char	  **required_decisions; /* ids (href without '#') of required decisions */
	int			nrequired_inputs;
	char	  **required_inputs;	/* ids of required input data */
} DmnDecision;

typedef struct DmnInputData
{
	char	   *id;
	char	   *name;
	char	   *type_ref;
} DmnInputData;

typedef struct DmnModel
{
	CrmArena	arena;			/* owns every string and array of the model */
	char	   *name;			/* definitions/@name */
	char	   *namespace_uri;	/* definitions/@namespace */
	char	   *dmn_version;	/* "1.1" .. "1.5", from the DMN namespace the document used */
	int			nitems;
	DmnItemDef *items;
	int			ninputs;
	DmnInputData *inputs;
	int			ndecisions;
	DmnDecision *decisions;
} DmnModel;

/* An empty model whose arena is ready; free with dmn_model_free. */
extern DmnModel *dmn_model_new(void);
extern void dmn_model_free(DmnModel *model);

/*
 * Reads a DMN 1.1-1.5 document (any OMG DMN namespace, prefixed or not) with
 * libxml2: no entity expansion, no DTD loading, no network, no huge mode,
 * nesting depth limited.  On failure fills err (CRM_ERR_XML, message naming
 * the element path, e.g. "/definitions/decision[2]/decisionTable/rule[3]")
 * and returns NULL; nothing is leaked.  It installs no global libxml2
 * handlers: in the server the caller wraps it in pg_xml_init()/pg_xml_done().
 */
extern DmnModel *dmn_read_xml(const char *doc, size_t len, CrmError *err);

/* Writes the model as a DMN 1.5 document that dmn_read_xml reads back identically. */
extern char *dmn_write_xml(const DmnModel *model);

/*
 * Added: do two models hold the same content?  Compares every field except
 * dmn_version (a written model is always DMN 1.5).
 */
extern bool dmn_model_equal(const DmnModel *a, const DmnModel *b);

#endif							/* CRM_DMN_MODEL_H */
