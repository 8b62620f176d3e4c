/*
 * feel_parse_int.h - parser state shared by feel_parse.c (expressions) and
 * feel_tests.c (unary tests).
 */
#ifndef CRM_FEEL_PARSE_INT_H
#define CRM_FEEL_PARSE_INT_H

#include "feel_internal.h"

#define FEEL_MAX_LOCALS 64
#define FEEL_MAX_DEPTH 96

typedef struct FeelParser
{
	const char *text;
	size_t		len;
	size_t		pos;			/* byte offset where the next token starts (before blanks) */
	CrmArena   *arena;
	FeelScope  *scope;
	CrmError   *err;
	bool		failed;
	int			depth;
	int			uses_input;		/* count of '?' references seen */
	int			uses_item;		/* count of references to the innermost filter item */
	FeelNameDef locals[FEEL_MAX_LOCALS];
	int			nlocals;
	int			item_slot;		/* slot of the innermost filter item, or -1 */
	const char *local_names[FEEL_MAX_LOCALS];
	size_t		local_lens[FEEL_MAX_LOCALS];
	FeelLexNames lex_locals;
} FeelParser;

extern FeelToken fp_peek(FeelParser *p);
extern FeelToken fp_next(FeelParser *p);
extern bool fp_is_kw(FeelParser *p, const FeelToken *t, const char *kw);
extern bool fp_accept(FeelParser *p, FeelTok tok);
extern bool fp_expect(FeelParser *p, FeelTok tok, const char *what);
extern void *fp_fail(FeelParser *p, const FeelToken *t, CrmErrCode code, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern FeelNode *fp_node(FeelParser *p, FeelNodeKind kind, const FeelToken *t, int nkids);
extern FeelNode *fp_expression(FeelParser *p);
extern FeelNode *fp_additive(FeelParser *p);
/* Positive unary tests: one test, or (in 'in') a parenthesised list. */
extern FeelNode *fp_positive_test(FeelParser *p, bool in_operator);
extern void fp_fold(FeelParser *p, FeelNode *n);

#endif							/* CRM_FEEL_PARSE_INT_H */
