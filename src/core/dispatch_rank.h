/*
 * dispatch_rank.h - choosing a rep for a lead: eligibility stages and fair ranking.
 *
 * Pure logic, no server.  The glue (src/pg/dispatch.c) reads the members of a
 * territory with their flags and counters, asks dispatch_rank() for the order
 * in which to try them, and then reserves the first one whose capacity still
 * allows it under a row lock.
 */
#ifndef CRM_DISPATCH_RANK_H
#define CRM_DISPATCH_RANK_H

#include "crm_core.h"

typedef enum DispatchPolicy
{
	DISPATCH_ROUND_ROBIN = 0,	/* longest since last assignment first */
	DISPATCH_LEAST_LOADED,		/* lowest open_leads / capacity first */
	DISPATCH_WEIGHTED			/* lowest (assigned_total + 1) / weight first */
} DispatchPolicy;

/* Why a lead could not be placed in one territory, in the order the filters apply. */
typedef enum DispatchReason
{
	DISPATCH_OK = 0,
	DISPATCH_NO_LOCATION,		/* lead has no coordinates */
	DISPATCH_NO_TERRITORY,		/* no active territory contains the point */
	DISPATCH_NO_ACTIVE_REP,		/* the territory has no active member */
	DISPATCH_NO_QUALIFIED_REP,	/* no active member holds the required skills and licences */
	DISPATCH_OUTSIDE_HOURS,		/* qualified members exist, none is working now */
	DISPATCH_NO_WEIGHT,			/* weighted policy: every candidate scored 0 or less */
	DISPATCH_ALL_AT_CAPACITY	/* every working, qualified member is full */
} DispatchReason;

typedef struct DispatchCandidate
{
	int64_t		rep_id;
	int32_t		capacity;
	int32_t		open_leads;
	int64_t		assigned_total;
	double		last_assigned;	/* seconds since epoch; < 0 when never assigned */
	double		weight;			/* weighted policy only */
	bool		qualified;
	bool		in_hours;
	int32_t		slot;			/* the caller's own index, carried through the reordering */
	/* set by dispatch_rank() */
	uint64_t	tie;			/* the fair tie-break key */
} DispatchCandidate;

extern bool dispatch_policy_parse(const char *s, DispatchPolicy *out);
extern const char *dispatch_reason_name(DispatchReason r);

/*
 * The tie-break key of a rep for a lead: a mixing hash of both ids, so equal
 * candidates are ordered differently for every lead (each of k tied reps is
 * first for about 1/k of the leads) and never by seniority or id.
 */
extern uint64_t dispatch_tie_key(int64_t lead_id, int64_t rep_id);

/*
 * Filters and orders cands in place.  Returns the number of candidates that
 * may be tried (they are the first ones of the array, best first) and sets
 * *reason to the first filter that left nothing (DISPATCH_OK when the result
 * is > 0).  Candidates at capacity are filtered here too; the caller still
 * re-checks capacity under a lock.
 */
extern int	dispatch_rank(DispatchCandidate *cands, int n, DispatchPolicy policy,
						  int64_t lead_id, DispatchReason *reason);

#endif							/* CRM_DISPATCH_RANK_H */
