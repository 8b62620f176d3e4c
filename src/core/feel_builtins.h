/*
 * feel_builtins.h - ids of the FEEL built-in functions (the order of the
 * table in feel_builtins.c).
 */
#ifndef CRM_FEEL_BUILTINS_H
#define CRM_FEEL_BUILTINS_H

#include "feel_internal.h"

typedef struct FeelBuiltin
{
	const char *name;
	int			min;
	int			max;			/* -1: any number */
	const char *params;			/* parameter names for named arguments, '|'-separated */
} FeelBuiltin;

enum
{
	FB_NOT = 0, FB_STRING, FB_NUMBER, FB_STRING_LENGTH,
	FB_SUBSTRING, FB_UPPER_CASE, FB_LOWER_CASE, FB_CONTAINS,
	FB_STARTS_WITH, FB_ENDS_WITH, FB_SUBSTRING_BEFORE,
	FB_SUBSTRING_AFTER, FB_STRING_JOIN,
	FB_MIN, FB_MAX, FB_SUM, FB_MEAN, FB_PRODUCT,
	FB_MEDIAN, FB_COUNT, FB_ALL, FB_ANY,
	FB_ABS, FB_FLOOR, FB_CEILING, FB_DECIMAL, FB_ROUND_HALF_UP,
	FB_ROUND_HALF_DOWN, FB_ROUND_UP, FB_ROUND_DOWN, FB_MODULO,
	FB_SQRT, FB_ODD, FB_EVEN,
	FB_DATE, FB_TIME, FB_DATE_AND_TIME, FB_DURATION,
	FB_YM_DURATION, FB_NOW, FB_TODAY,
	FB_DAY_OF_WEEK, FB_DAY_OF_YEAR, FB_MONTH_OF_YEAR,
	FB_LIST_CONTAINS, FB_APPEND, FB_CONCATENATE, FB_INSERT_BEFORE,
	FB_REMOVE, FB_REVERSE, FB_INDEX_OF, FB_UNION,
	FB_DISTINCT_VALUES, FB_FLATTEN, FB_SUBLIST, FB_GET_VALUE,
	FB_GET_ENTRIES, FB_IS_DEFINED
};

extern FeelValue feel_call_list_builtin(FeelEnv *env, int id, FeelValue *args, int nargs);
extern FeelValue feel_call_temporal_builtin(FeelEnv *env, int id, FeelValue *args, int nargs);

#endif							/* CRM_FEEL_BUILTINS_H */
