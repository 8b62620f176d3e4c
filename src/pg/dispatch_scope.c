/*
 * dispatch_scope.c - the insert trigger runs as the extension owner, as a SECURITY DEFINER
 * function would, without paying for a definer call per lead.
 *
 * A SECURITY DEFINER function with SET search_path opens a GUC nest level, parses and sets
 * search_path, and restores it on every call, and sets up its call handler again for every
 * statement.  The trigger function crm.lead_dispatch_trigger() is therefore a plain function
 * that switches to its owner itself, for the whole call (SECURITY_LOCAL_USERID_CHANGE, and
 * SECURITY_RESTRICTED_OPERATION on top: nothing it runs may change the role or create session
 * state), exactly where the definer would have switched.  search_path is pinned to
 * pg_catalog, pg_temp only before the first SQL statement of a call (dispatch_exec()), since the
 * direct paths resolve no name through it; most leads run none.  Everything is undone when the
 * call returns; on an error the transaction or subtransaction abort restores the user and the
 * GUC nest level, and the trigger forgets its scope (dispatch_scope_abort()).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "dispatch.h"

static bool scope_open = false;
static int	pin_level = 0;			/* GUC nest level of the pinned search_path, 0 = not pinned */

void
dispatch_scope_enter(DispatchScope *s, Oid owner)
{
	s->prev_open = scope_open;
	s->prev_pin = pin_level;
	GetUserIdAndSecContext(&s->save_user, &s->save_sec);
	SetUserIdAndSecContext(owner, s->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	scope_open = true;
	pin_level = 0;
}

void
dispatch_scope_exit(DispatchScope *s)
{
	if (pin_level > 0)
		AtEOXact_GUC(true, pin_level);
	SetUserIdAndSecContext(s->save_user, s->save_sec);
	scope_open = s->prev_open;
	pin_level = s->prev_pin;
}

void
dispatch_scope_abort(DispatchScope *s)
{
	/* the abort that follows restores the GUC nest level; the user is restored here already */
	SetUserIdAndSecContext(s->save_user, s->save_sec);
	scope_open = s->prev_open;
	pin_level = s->prev_pin;
}

void
dispatch_pin_search_path(void)
{
	if (!scope_open || pin_level > 0)
		return;
	pin_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}
