/*
 * fuzz_common.h - malloc-based allocator hooks for libFuzzer harnesses over src/core.
 */
#ifndef CRM_FUZZ_COMMON_H
#define CRM_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "crm_core.h"

static void *
fuzz_malloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

static void *
fuzz_realloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL)
		abort();
	return q;
}

static inline void
fuzz_init(void)
{
	static int	done = 0;

	if (!done)
	{
		crm_set_allocator(fuzz_malloc, fuzz_realloc, free);
		done = 1;
	}
}

#endif
