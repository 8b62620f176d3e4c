/*
 * test_dmn_util.h - helpers for the decision engine unit tests: building
 * small DMN documents, evaluating decisions with simple inputs, rendering
 * results.
 */
#ifndef TEST_DMN_UTIL_H
#define TEST_DMN_UTIL_H

#include "dmn_engine.h"
#include "feel_internal.h"

#define DMN15 "https://www.omg.org/spec/DMN/20230324/MODEL/"

/*
 * A model with input data Age (number) and Risk (string) and one decision
 * "Score" whose table has inputs Age and Risk, the given <output> elements,
 * and rules written as "age test|risk test=>output|output#annotation;..."
 */
extern char *tdmn_table(const char *hit_policy, const char *aggregation, const char *outputs,
						const char *rules);
/* Reads and compiles; NULL with err on failure (the model is freed). */
extern DmnProgram *tdmn_compile(const char *xml, CrmError *err);
/* Evaluates decision `name` with Age (number text or NULL) and Risk (string or NULL); renders
 * the result, or "ERROR <code>: message". */
extern const char *tdmn_eval(DmnProgram *p, const char *name, const char *age, const char *risk);
extern const char *tdmn_render(const FeelValue *v);

#endif
