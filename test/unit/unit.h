/*
 * unit.h - a tiny test runner for src/core.
 *
 *   UNIT_TEST(money_parses_fen) { CHECK(x == 1); CHECK_INT_EQ(a, b); CHECK_STR_EQ(s, "x"); }
 *
 * Tests register themselves; test/unit/main.c runs them all (or those whose names contain argv[1])
 * and prints "N passed, N failed". A failed CHECK ends its test.
 */
#ifndef CRM_UNIT_H
#define CRM_UNIT_H

#include <stdio.h>
#include <string.h>

#include "crm_core.h"

typedef void (*unit_fn) (int *failed);
extern void unit_register(const char *name, unit_fn fn);

#define UNIT_TEST(name) \
	static void name(int *unit_failed_); \
	__attribute__((constructor)) static void name##_register(void) { unit_register(#name, name); } \
	static void name(int *unit_failed_)

#define CHECK(cond) do { if (!(cond)) { \
	printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); *unit_failed_ = 1; return; } } while (0)

#define CHECK_INT_EQ(a, b) do { long long a_ = (long long) (a), b_ = (long long) (b); if (a_ != b_) { \
	printf("  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); \
	*unit_failed_ = 1; return; } } while (0)

#define CHECK_DBL_NEAR(a, b, eps) do { double a_ = (a), b_ = (b); if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps))) { \
	printf("  %s:%d: %s ~ %s failed: %.12g vs %.12g\n", __FILE__, __LINE__, #a, #b, a_, b_); \
	*unit_failed_ = 1; return; } } while (0)

#define CHECK_STR_EQ(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) { \
	printf("  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, \
		a_ ? a_ : "(null)", b_ ? b_ : "(null)"); *unit_failed_ = 1; return; } } while (0)

/* Path of ../shared/testdata (from CRM_TESTDATA or relative to the project root). */
extern const char *unit_testdata(void);

#endif
