/*
 * test_env.c - the unit runner finds the shared test data.
 */
#include <sys/stat.h>

#include "unit.h"

UNIT_TEST(shared_testdata_is_found)
{
	struct stat st;
	char		path[4096];

	snprintf(path, sizeof(path), "%s/README.md", unit_testdata());
	CHECK(stat(path, &st) == 0);
}
