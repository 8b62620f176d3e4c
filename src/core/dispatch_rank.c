/*
 * dispatch_rank.c - eligibility stages and fair ordering of reps for one lead.
 *
 * Ordering, per policy (documented in docs/dispatch.md):
 *   round_robin   last_assigned ascending (never assigned first), then the tie key
 *   least_loaded  open_leads / capacity ascending, then last_assigned, then the tie key
 *   weighted      (assigned_total + 1) / weight ascending, so over time each rep's
 *                 share of leads follows its weight; then last_assigned, then the tie key
 * The tie key is a hash of (lead_id, rep_id): among equals, who comes first
 * changes from lead to lead instead of always favouring the oldest member.
 */
#include <string.h>

#include "dispatch_rank.h"

bool
dispatch_policy_parse(const char *s, DispatchPolicy *out)
{
	if (s == NULL || strcmp(s, "round_robin") == 0)
		*out = DISPATCH_ROUND_ROBIN;
	else if (strcmp(s, "least_loaded") == 0)
		*out = DISPATCH_LEAST_LOADED;
	else if (strcmp(s, "weighted") == 0)
		*out = DISPATCH_WEIGHTED;
	else
		return false;
	return true;
}

const char *
dispatch_reason_name(DispatchReason r)
{
	switch (r)
	{
		case DISPATCH_OK:
			return "assigned";
		case DISPATCH_NO_LOCATION:
			return "no location";
		case DISPATCH_NO_TERRITORY:
			return "no territory";
		case DISPATCH_NO_ACTIVE_REP:
			return "no active rep";
		case DISPATCH_NO_QUALIFIED_REP:
			return "no qualified rep";
		case DISPATCH_OUTSIDE_HOURS:
			return "outside working hours";
		case DISPATCH_NO_WEIGHT:
			return "no rep with positive weight";
		case DISPATCH_ALL_AT_CAPACITY:
			return "all at capacity";
	}
	return "unknown";
}

/* splitmix64 finaliser: cheap, well mixed, the same on every platform */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t
dispatch_tie_key(int64_t lead_id, int64_t rep_id)
{
	return mix64(mix64((uint64_t) lead_id + UINT64_C(0x9e3779b97f4a7c15)) ^ (uint64_t) rep_id);
}

/* keeps the candidates for which keep[] is true, in order; returns their number */
static int
compact(DispatchCandidate *c, int n, const bool *keep)
{
	int			m = 0;

	for (int i = 0; i < n; i++)
		if (keep[i])
			c[m++] = c[i];
	return m;
}

static int
cmp_double(double a, double b)
{
	return (a < b) ? -1 : (a > b) ? 1 : 0;
}

static double
primary_key(const DispatchCandidate *c, DispatchPolicy policy)
{
	switch (policy)
	{
		case DISPATCH_LEAST_LOADED:
			return c->capacity > 0 ? (double) c->open_leads / c->capacity : 1e300;
		case DISPATCH_WEIGHTED:
			return ((double) c->assigned_total + 1.0) / c->weight;
		case DISPATCH_ROUND_ROBIN:
			break;
	}
	return c->last_assigned;
}

static int
cmp_cand(const DispatchCandidate *a, const DispatchCandidate *b, DispatchPolicy policy)
{
	int			r = cmp_double(primary_key(a, policy), primary_key(b, policy));

	if (r == 0 && policy != DISPATCH_ROUND_ROBIN)
		r = cmp_double(a->last_assigned, b->last_assigned);
	if (r == 0)
		r = (a->tie < b->tie) ? -1 : (a->tie > b->tie) ? 1 : 0;
	if (r == 0)
		r = (a->rep_id < b->rep_id) ? -1 : (a->rep_id > b->rep_id) ? 1 : 0;
	return r;
}

/* insertion sort: territories have a handful to a few dozen members */
static void
sort_cands(DispatchCandidate *c, int n, DispatchPolicy policy)
{
	for (int i = 1; i < n; i++)
	{
		DispatchCandidate x = c[i];
		int			j = i - 1;

		while (j >= 0 && cmp_cand(&c[j], &x, policy) > 0)
		{
			c[j + 1] = c[j];
			j--;
		}
		c[j + 1] = x;
	}
}

/* one filter stage: keeps candidates passing the test; reports the stage if none is left */
#define FILTER_STAGE(test, why) \
	do { \
		for (int i = 0; i < n; i++) \
			keep[i] = (test); \
		n = compact(cands, n, keep); \
		if (n == 0) { *reason = (why); crm_free(keep); return 0; } \
	} while (0)

int
dispatch_rank(DispatchCandidate *cands, int n, DispatchPolicy policy, int64_t lead_id,
			  DispatchReason *reason)
{
	bool	   *keep;

	*reason = DISPATCH_NO_ACTIVE_REP;
	if (n <= 0)
		return 0;
	keep = crm_alloc(sizeof(bool) * n);
	FILTER_STAGE(cands[i].qualified, DISPATCH_NO_QUALIFIED_REP);
	FILTER_STAGE(cands[i].in_hours, DISPATCH_OUTSIDE_HOURS);
	if (policy == DISPATCH_WEIGHTED)
		FILTER_STAGE(cands[i].weight > 0, DISPATCH_NO_WEIGHT);
	FILTER_STAGE(cands[i].open_leads < cands[i].capacity, DISPATCH_ALL_AT_CAPACITY);
	crm_free(keep);
	for (int i = 0; i < n; i++)
		cands[i].tie = dispatch_tie_key(lead_id, cands[i].rep_id);
	sort_cands(cands, n, policy);
	*reason = DISPATCH_OK;
	return n;
}
