/*
 * test_dispatch_rank.c - eligibility stages and fair ordering of reps.
 */
#include "unit.h"
#include "dispatch_rank.h"

static DispatchCandidate
cand(int64_t id, int cap, int open, double last)
{
	DispatchCandidate c;

	memset(&c, 0, sizeof(c));
	c.rep_id = id;
	c.capacity = cap;
	c.open_leads = open;
	c.last_assigned = last;
	c.assigned_total = 0;
	c.weight = 1;
	c.qualified = true;
	c.in_hours = true;
	return c;
}

UNIT_TEST(dispatch_reasons_follow_the_filter_order)
{
	DispatchCandidate c[3];
	DispatchReason r;

	CHECK_INT_EQ(dispatch_rank(c, 0, DISPATCH_ROUND_ROBIN, 1, &r), 0);
	CHECK_INT_EQ(r, DISPATCH_NO_ACTIVE_REP);

	c[0] = cand(1, 5, 0, -1);
	c[0].qualified = false;
	c[1] = cand(2, 5, 5, -1);
	c[1].in_hours = false;
	CHECK_INT_EQ(dispatch_rank(c, 2, DISPATCH_ROUND_ROBIN, 1, &r), 0);
	CHECK_INT_EQ(r, DISPATCH_OUTSIDE_HOURS);

	c[0] = cand(1, 5, 5, -1);
	c[1] = cand(2, 0, 0, -1);
	CHECK_INT_EQ(dispatch_rank(c, 2, DISPATCH_LEAST_LOADED, 1, &r), 0);
	CHECK_INT_EQ(r, DISPATCH_ALL_AT_CAPACITY);

	c[0] = cand(1, 5, 0, -1);
	c[0].qualified = false;
	CHECK_INT_EQ(dispatch_rank(c, 1, DISPATCH_WEIGHTED, 1, &r), 0);
	CHECK_INT_EQ(r, DISPATCH_NO_QUALIFIED_REP);

	c[0] = cand(1, 5, 0, -1);
	c[0].weight = 0;
	CHECK_INT_EQ(dispatch_rank(c, 1, DISPATCH_WEIGHTED, 1, &r), 0);
	CHECK_INT_EQ(r, DISPATCH_NO_WEIGHT);
	CHECK_STR_EQ(dispatch_reason_name(DISPATCH_ALL_AT_CAPACITY), "all at capacity");
}

UNIT_TEST(dispatch_round_robin_takes_longest_idle_first)
{
	DispatchCandidate c[3];
	DispatchReason r;

	c[0] = cand(1, 5, 0, 300);
	c[1] = cand(2, 5, 4, 100);
	c[2] = cand(3, 5, 0, 200);
	CHECK_INT_EQ(dispatch_rank(c, 3, DISPATCH_ROUND_ROBIN, 7, &r), 3);
	CHECK_INT_EQ(r, DISPATCH_OK);
	CHECK_INT_EQ(c[0].rep_id, 2);
	CHECK_INT_EQ(c[1].rep_id, 3);
	CHECK_INT_EQ(c[2].rep_id, 1);
}

UNIT_TEST(dispatch_least_loaded_uses_the_load_ratio)
{
	DispatchCandidate c[3];
	DispatchReason r;

	c[0] = cand(1, 10, 5, 1);	/* 0.5 */
	c[1] = cand(2, 4, 1, 2);	/* 0.25 */
	c[2] = cand(3, 20, 6, 3);	/* 0.3 */
	CHECK_INT_EQ(dispatch_rank(c, 3, DISPATCH_LEAST_LOADED, 1, &r), 3);
	CHECK_INT_EQ(c[0].rep_id, 2);
	CHECK_INT_EQ(c[1].rep_id, 3);
	CHECK_INT_EQ(c[2].rep_id, 1);
}

/* simulates a stream of leads: the weighted policy's shares follow the weights */
UNIT_TEST(dispatch_weighted_shares_follow_weights)
{
	DispatchCandidate reps[3], c[3];
	DispatchReason r;
	int64_t		got[3] = {0, 0, 0};

	for (int i = 0; i < 3; i++)
		reps[i] = cand(10 + i, 1000000, 0, -1);
	reps[0].weight = 1;
	reps[1].weight = 2;
	reps[2].weight = 3;
	for (int lead = 1; lead <= 600; lead++)
	{
		memcpy(c, reps, sizeof(c));
		CHECK_INT_EQ(dispatch_rank(c, 3, DISPATCH_WEIGHTED, lead, &r), 3);
		for (int i = 0; i < 3; i++)
			if (reps[i].rep_id == c[0].rep_id)
			{
				reps[i].assigned_total++;
				reps[i].last_assigned = lead;
				got[i]++;
			}
	}
	CHECK_INT_EQ(got[0], 100);
	CHECK_INT_EQ(got[1], 200);
	CHECK_INT_EQ(got[2], 300);
}

/* k tied reps: each comes first for about 1/k of the leads, whatever its id */
UNIT_TEST(dispatch_ties_are_shared_fairly)
{
	DispatchCandidate c[4];
	DispatchReason r;
	int			first[4] = {0, 0, 0, 0};

	for (int lead = 1; lead <= 4000; lead++)
	{
		for (int i = 0; i < 4; i++)
			c[i] = cand(i + 1, 5, 0, -1);
		CHECK_INT_EQ(dispatch_rank(c, 4, DISPATCH_LEAST_LOADED, lead, &r), 4);
		first[c[0].rep_id - 1]++;
	}
	for (int i = 0; i < 4; i++)
		CHECK(first[i] > 850 && first[i] < 1150);
	CHECK(dispatch_tie_key(1, 2) != dispatch_tie_key(2, 1));
}

UNIT_TEST(dispatch_policy_names)
{
	DispatchPolicy p;

	CHECK(dispatch_policy_parse("weighted", &p) && p == DISPATCH_WEIGHTED);
	CHECK(dispatch_policy_parse("least_loaded", &p) && p == DISPATCH_LEAST_LOADED);
	CHECK(dispatch_policy_parse(NULL, &p) && p == DISPATCH_ROUND_ROBIN);
	CHECK(!dispatch_policy_parse("random", &p));
}
