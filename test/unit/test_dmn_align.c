/*
 * test_dmn_align.c - the engine's data structures need no more than 8-byte
 * alignment, which is all the server's allocator (palloc, MAXALIGN on
 * x86-64) guarantees; the tests' malloc gives 16 and would hide a mistake.
 */
#include "dmn_internal.h"
#include "unit.h"

UNIT_TEST(dmn_structures_need_at_most_8_byte_alignment)
{
	CHECK_INT_EQ(_Alignof(FeelDec), 8);
	CHECK(_Alignof(FeelValue) <= 8);
	CHECK(_Alignof(FeelNode) <= 8);
	CHECK(_Alignof(DmnCDecision) <= 8);
	CHECK(_Alignof(struct DmnProgram) <= 8);
}
