/*
 * main.c - runs the registered unit tests with malloc-based core allocator hooks.
 */
#include <stdlib.h>

#include "unit.h"

#define MAX_TESTS 4096

static struct
{
	const char *name;
	unit_fn		fn;
}			tests[MAX_TESTS];
static int	ntests = 0;

void
unit_register(const char *name, unit_fn fn)
{
	if (ntests < MAX_TESTS)
	{
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL)
		abort();
	return q;
}

const char *
unit_testdata(void)
{
	const char *e = getenv("CRM_TESTDATA");

	return e ? e : "../shared/testdata";
}

int
main(int argc, char **argv)
{
	int			passed = 0;
	int			failed = 0;

	crm_set_allocator(xmalloc, xrealloc, free);
	for (int i = 0; i < ntests; i++)
	{
		int			f = 0;

		if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
			continue;
		tests[i].fn(&f);
		printf("%s %s\n", f ? "FAIL" : "ok  ", tests[i].name);
		if (f)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
