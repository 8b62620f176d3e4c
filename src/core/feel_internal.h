/*
 * feel_internal.h - the FEEL value layout, syntax tree and evaluator shared
 * by the feel_*.c and dmn_*.c files.  Not part of the engine's interface.
 */
#ifndef CRM_FEEL_INTERNAL_H
#define CRM_FEEL_INTERNAL_H

#include <string.h>

#include "dmn_engine.h"
#include "feel_decimal.h"

typedef struct FeelStr
{
	const char *s;
	size_t		len;
} FeelStr;

/*
 * A value.  Values built through the public constructors own their strings
 * and arrays (crm_alloc); values made during evaluation point into the
 * evaluation arena, the program's constants or the caller's inputs, and are
 * deep-copied out (feel_value_copy) when they become a result.
 */
struct FeelValue
{
	FeelKind	kind;
	union
	{
		bool		b;
		FeelDec		num;
		FeelStr		str;
		struct
		{
			int32_t		days;	/* date part: days since 1970-01-01 */
			int32_t		tz;		/* offset seconds east of UTC */
			int64_t		nanos;	/* time part: nanoseconds since midnight */
			bool		has_tz;
		}			t;
		struct
		{
			int64_t		months; /* years and months duration */
			int64_t		secs;	/* days and time duration: whole seconds */
			int32_t		nanos;	/* and the fraction, same sign as secs */
		}			dur;
		struct
		{
			struct FeelValue *items;
			int			n;
			int			cap;
		}			list;
		struct
		{
			FeelStr    *keys;
			struct FeelValue *vals;
			int			n;
			int			cap;
		}			ctx;
		int			fn;			/* built-in id */
	}			u;
};

/* ---- values (feel_value.c); the constructors inline: they are on every evaluation's path ---- */
static inline FeelValue
feel_v_null(void)
{
	FeelValue	v;

	memset(&v, 0, sizeof(v));
	v.kind = FEEL_NULL;
	return v;
}

static inline FeelValue
feel_v_bool(bool b)
{
	FeelValue	v = feel_v_null();

	v.kind = FEEL_BOOLEAN;
	v.u.b = b;
	return v;
}

static inline FeelValue
feel_v_num(FeelDec d)
{
	FeelValue	v = feel_v_null();

	v.kind = FEEL_NUMBER;
	v.u.num = d;
	return v;
}

static inline FeelValue
feel_v_int(int64_t i)
{
	return feel_v_num(feel_dec_from_int(i));
}

static inline FeelValue
feel_v_str(const char *s, size_t len)
{
	FeelValue	v = feel_v_null();

	v.kind = FEEL_STRING;
	v.u.str.s = s;
	v.u.str.len = len;
	return v;
}
/* Arena-built lists and contexts (evaluation temporaries). */
extern void feel_a_list_init(FeelValue *v, CrmArena *a, int cap);
extern void feel_a_list_push(FeelValue *v, CrmArena *a, const FeelValue *item);
extern void feel_a_ctx_init(FeelValue *v, CrmArena *a, int cap);
extern void feel_a_ctx_put(FeelValue *v, CrmArena *a, const char *key, size_t klen, const FeelValue *val);
/* Deep copy into crm_alloc memory. */
extern FeelValue *feel_value_copy(const FeelValue *v);
extern void feel_value_copy_into(FeelValue *dst, const FeelValue *src);
extern void feel_value_free_contents(FeelValue *v);
/* Context entry by key (NULL if absent). */
extern const FeelValue *feel_ctx_get(const FeelValue *ctx, const char *key, size_t klen);
/* FEEL equality: 1 true, 0 false, -1 null (not comparable). */
extern int	feel_equal(const FeelValue *a, const FeelValue *b);
/* FEEL ordering: -1/0/1, or -2 when not comparable. */
extern int	feel_compare(const FeelValue *a, const FeelValue *b);
/* FEEL string(x) text; appended to buf. */
extern void feel_value_to_text(const FeelValue *v, CrmBuf *buf);
/* A debugging / test rendering: strings quoted, lists [..], contexts {..}. */
extern void feel_value_repr(const FeelValue *v, CrmBuf *buf);

/* ---- temporal values (feel_temporal.c) ---- */
extern bool feel_parse_date(const char *s, size_t len, FeelValue *out);
extern bool feel_parse_time(const char *s, size_t len, FeelValue *out);
extern bool feel_parse_datetime(const char *s, size_t len, FeelValue *out);
extern bool feel_parse_duration(const char *s, size_t len, FeelValue *out);
/* Any of the above (for @"..." literals). */
extern bool feel_parse_temporal(const char *s, size_t len, FeelValue *out);
extern void feel_temporal_format(const FeelValue *v, CrmBuf *buf);
extern int64_t feel_days_from_civil(int64_t y, int m, int d);
extern void feel_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* Temporal arithmetic: false when the operation does not apply (result null). */
extern bool feel_temporal_add(const FeelValue *a, const FeelValue *b, bool subtract, FeelValue *out);
extern int	feel_temporal_compare(const FeelValue *a, const FeelValue *b);
extern bool feel_duration_scale(const FeelValue *d, const FeelDec *k, bool divide, FeelValue *out);
extern bool feel_temporal_property(const FeelValue *v, const char *name, size_t len, FeelValue *out);

/* ---- syntax tree (feel_parse.c) ---- */
typedef enum FeelNodeKind
{
	FN_CONST = 0,
	FN_VAR,						/* slot */
	FN_FIELD,					/* implicit field of the filter item in slot: name */
	FN_PATH,					/* kids[0].name */
	FN_FILTER,					/* kids[0][kids[1]], item bound to slot */
	FN_CALL,					/* built-in op(kids...) */
	FN_NEG,
	FN_ARITH,					/* op: '+', '-', '*', '/', '^' */
	FN_CMP,						/* op: FEEL_CMP_* */
	FN_AND,
	FN_OR,
	FN_IF,
	FN_BETWEEN,
	FN_IN,						/* kids[0] in test kids[1] */
	FN_LIST,
	FN_CONTEXT,					/* keys[i]: kids[i], entry i bound to slot + i */
	FN_FOR,						/* for slot in kids[0] return kids[1] */
	FN_SOME,					/* some slot in kids[0] satisfies kids[1] */
	FN_EVERY,
	/* unary tests: matched against the value in the input slot */
	FU_ANY,
	FU_CMP,						/* input op kids[0] */
	FU_RANGE,					/* kids[0] .. kids[1], op bit 1 = low open, bit 2 = high open */
	FU_EXPR,					/* value test; op = 1 when the expression uses '?' */
	FU_NOT,						/* not(kids[0]) */
	FU_LIST						/* any of kids */
} FeelNodeKind;

enum
{
	FEEL_CMP_EQ = 1, FEEL_CMP_NE, FEEL_CMP_LT, FEEL_CMP_LE, FEEL_CMP_GT, FEEL_CMP_GE
};

typedef struct FeelNode
{
	FeelNodeKind kind;
	int			op;
	int			pos;			/* 1-based character position in the text */
	int			slot;
	FeelStr		name;
	FeelValue	val;
	int			nkids;
	struct FeelNode **kids;
	FeelStr    *keys;			/* FN_CONTEXT */
} FeelNode;

/* Names a parse may resolve. */
typedef struct FeelNameDef
{
	const char *name;
	size_t		len;
	int			slot;
} FeelNameDef;

typedef struct FeelLexNames FeelLexNames;

typedef struct FeelScope
{
	const FeelNameDef *globals;
	int			nglobals;
	const FeelLexNames *lex_globals;	/* the same names for the lexer */
	const FeelLexNames *lex_fields; /* extra names allowed after '.' (component names) */
	int			input_slot;		/* slot of '?' (the unary test input) */
	int			next_local;		/* first free local slot; updated by the parser */
	int			max_slot;		/* highest slot used + 1; updated by the parser */
} FeelScope;

/* Parses an expression / unary tests into nodes allocated in arena.  NULL with err on failure. */
extern FeelNode *feel_parse_expr(const char *text, CrmArena *arena, FeelScope *scope, CrmError *err);
extern FeelNode *feel_parse_tests(const char *text, CrmArena *arena, FeelScope *scope, CrmError *err);

/* ---- lexer (feel_lex.c) ---- */
typedef enum FeelTok
{
	FT_EOF = 0, FT_NUMBER, FT_STRING, FT_NAME, FT_LPAREN, FT_RPAREN, FT_LBRACK, FT_RBRACK,
	FT_LBRACE, FT_RBRACE, FT_COMMA, FT_DOT, FT_DOTDOT, FT_COLON, FT_LT, FT_LE, FT_GT, FT_GE,
	FT_EQ, FT_NE, FT_PLUS, FT_MINUS, FT_STAR, FT_SLASH, FT_POW, FT_QMARK, FT_AT, FT_ERROR
} FeelTok;

typedef struct FeelToken
{
	FeelTok		tok;
	size_t		start;			/* byte offset */
	size_t		end;
} FeelToken;

/* Candidate multi-word names for the lexer (longest match wins). */
struct FeelLexNames
{
	const char *const *names;
	const size_t *lens;
	int			n;
};

/* Reads the token at offset pos (skipping blanks and comments). */
extern FeelToken feel_lex(const char *text, size_t len, size_t pos,
						  const FeelLexNames *const *sets, int nsets);
/* Does text[start..end) equal name, treating any run of blanks in text as one space? */
extern bool feel_name_matches(const char *text, size_t start, size_t end, const char *name, size_t nlen);
extern bool feel_name_equal_norm(const char *a, size_t alen, const char *b, size_t blen);
/* Decodes a string literal token (with escapes) into arena memory. */
extern bool feel_unquote(const char *text, const FeelToken *t, CrmArena *arena, FeelStr *out);
/* 1-based character (not byte) position of byte offset off. */
extern int	feel_char_pos(const char *text, size_t off);

/* ---- built-ins (feel_builtins.c) ---- */
/* Id of a built-in function name, or -1. */
extern int	feel_builtin_find(const char *name, size_t len);
extern const char *const *feel_builtin_names(int *n);
extern bool feel_builtin_arity_ok(int id, int nargs);
/* Position of a named parameter of a built-in, or -1. */
extern int	feel_builtin_param(int id, const char *name, size_t len);
/* False for now() and today(): not folded at compile time. */
extern bool feel_builtin_pure(int id);
extern const char *feel_builtin_name(int id);
/* Multi-word built-in names, for the lexer. */
extern const FeelLexNames *feel_builtin_lex(void);

/* ---- evaluation (feel_eval.c) ---- */
typedef struct FeelEnv
{
	FeelValue  *slots;
	CrmArena   *arena;
	int			in_slot;		/* slot holding the unary test input ('?') */
	int			depth;
} FeelEnv;

extern FeelValue feel_eval(FeelEnv *env, const FeelNode *n);
/* Three-valued comparison (FEEL_CMP_* op): 1 true, 0 false, -1 null. */
extern int	feel_compare3(int op, const FeelValue *a, const FeelValue *b);
/* Unary test against the value in the input slot: 1 matches, 0 not, -1 null. */
extern int	feel_test(FeelEnv *env, const FeelNode *n);
extern FeelValue feel_call_builtin(FeelEnv *env, int id, FeelValue *args, int nargs);
/* Folds a node whose value does not depend on slots; true if n became FN_CONST. */
extern bool feel_is_const(const FeelNode *n);

#endif							/* CRM_FEEL_INTERNAL_H */
