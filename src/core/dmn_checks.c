/*
 * dmn_checks.c - decision table input tests flattened for matching.
 *
 * Most cells are a comparison with a constant ("< 18"), a range of constants
 * ("[10..20)"), a constant or a list of constants ("\"web\", \"wechat\"").
 * Those become DmnChecks holding the constants in one array, matched without
 * walking the FEEL tree; anything else keeps its tree (CK_GENERIC).  A rule
 * stores only its non-"-" tests, contiguously.
 */
#include <string.h>

#include "dmn_internal.h"

static bool
scalar_const(const FeelNode *n)
{
	return n->kind == FU_EXPR && n->op == 0 && n->kids[0]->kind == FN_CONST &&
		(n->kids[0]->val.kind == FEEL_STRING || n->kids[0]->val.kind == FEEL_NUMBER);
}

static void
build_check(CrmArena *a, DmnCheck *ck, const FeelNode *t)
{
	ck->kind = CK_GENERIC;
	ck->node = t;
	if (t->kind == FU_CMP && t->kids[0]->kind == FN_CONST)
	{
		ck->kind = CK_CMP;
		ck->op = (uint8_t) t->op;
		ck->vals = &t->kids[0]->val;
		ck->nvals = 1;
	}
	else if (t->kind == FU_RANGE && t->kids[0]->kind == FN_CONST && t->kids[1]->kind == FN_CONST)
	{
		FeelValue  *v = crm_arena_alloc(a, sizeof(FeelValue) * 2);

		v[0] = t->kids[0]->val;
		v[1] = t->kids[1]->val;
		ck->kind = CK_RANGE;
		ck->op = (uint8_t) t->op;
		ck->vals = v;
		ck->nvals = 2;
	}
	else if (t->kind == FU_EXPR && t->op == 0 && t->kids[0]->kind == FN_CONST &&
			 t->kids[0]->val.kind == FEEL_BOOLEAN)
	{
		ck->kind = CK_BOOL;
		ck->vals = &t->kids[0]->val;
		ck->nvals = 1;
	}
	else if (scalar_const(t))
	{
		ck->kind = CK_EQ;
		ck->vals = &t->kids[0]->val;
		ck->nvals = 1;
	}
	else if (t->kind == FU_LIST)
	{
		FeelValue  *v;

		for (int i = 0; i < t->nkids; i++)
			if (!scalar_const(t->kids[i]))
				return;
		v = crm_arena_alloc(a, sizeof(FeelValue) * t->nkids);
		for (int i = 0; i < t->nkids; i++)
			v[i] = t->kids[i]->kids[0]->val;
		ck->kind = CK_IN;
		ck->vals = v;
		ck->nvals = t->nkids;
	}
}

void
dmn_build_checks(CrmArena *a, DmnCRule *rule, int ninputs)
{
	int			n = 0;

	for (int i = 0; i < ninputs; i++)
		n += rule->tests[i] != NULL;
	rule->ncheck = n;
	rule->checks = crm_arena_alloc(a, sizeof(DmnCheck) * (n > 0 ? n : 1));
	n = 0;
	for (int i = 0; i < ninputs; i++)
	{
		if (rule->tests[i] == NULL)
			continue;
		memset(&rule->checks[n], 0, sizeof(DmnCheck));
		rule->checks[n].col = (int16_t) i;
		rule->checks[n].memo = -1;
		build_check(a, &rule->checks[n++], rule->tests[i]);
	}
}

static bool
same_check(const DmnCheck *a, const DmnCheck *b)
{
	if (a->kind != b->kind || a->op != b->op || a->col != b->col || a->nvals != b->nvals ||
		a->kind == CK_GENERIC)
		return false;
	for (int i = 0; i < a->nvals; i++)
		if (a->vals[i].kind != b->vals[i].kind || feel_equal(&a->vals[i], &b->vals[i]) != 1)
			return false;
	return true;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

/* A hash equal for equal checks (numbers normalised: 1.50 and 1.5 hash alike). */
static uint64_t
check_hash(const DmnCheck *ck)
{
	uint64_t	h = mix(mix(mix(ck->kind, ck->op), (uint64_t) ck->col), (uint64_t) ck->nvals);

	for (int i = 0; i < ck->nvals; i++)
	{
		const FeelValue *v = &ck->vals[i];

		h = mix(h, v->kind);
		if (v->kind == FEEL_STRING)
		{
			for (size_t k = 0; k < v->u.str.len; k++)
				h = mix(h, (unsigned char) v->u.str.s[k]);
		}
		else if (v->kind == FEEL_NUMBER)
		{
			feel_u128	c = v->u.num.coef;
			int64_t		e = v->u.num.exp;

			while (c != 0 && c % 10 == 0)
				c /= 10, e++;
			h = mix(mix(mix(h, (uint64_t) c), (uint64_t) (c >> 64)), (uint64_t) e * 2 + v->u.num.neg);
		}
		else if (v->kind == FEEL_BOOLEAN)
			h = mix(h, v->u.b);
	}
	return h;
}

/*
 * Tests that appear in several rules of a column ("\"web\"" in ten rules) share
 * one memo slot, so each is computed once per evaluation.  First occurrences
 * are found through an open-addressing hash table.
 */
void
dmn_share_checks(DmnCRule *rules, int nrules, int *nmemo)
{
	int			total = 0;
	int			cap = 16;
	DmnCheck  **table;

	*nmemo = 0;
	for (int r = 0; r < nrules; r++)
		total += rules[r].ncheck;
	while (cap < total * 2)
		cap *= 2;
	table = crm_alloc0(sizeof(DmnCheck *) * cap);
	for (int r = 0; r < nrules; r++)
	{
		for (int k = 0; k < rules[r].ncheck; k++)
		{
			DmnCheck   *ck = &rules[r].checks[k];
			size_t		slot;

			if (ck->kind == CK_GENERIC)
				continue;
			slot = check_hash(ck) & (cap - 1);
			while (table[slot] != NULL && !same_check(ck, table[slot]))
				slot = (slot + 1) & (cap - 1);
			if (table[slot] == NULL)
			{
				table[slot] = ck;
				continue;
			}
			if (table[slot]->memo < 0)
				table[slot]->memo = (*nmemo)++;
			ck->memo = table[slot]->memo;
		}
	}
	crm_free(table);
}

/* Byte equality of two strings of the same length; short ones without a library call. */
static inline bool
same_bytes(const char *a, const char *b, size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Equality with a string or number constant (anything else never equals it). */
static inline bool
equals_const(const FeelValue *in, const FeelValue *c)
{
	if (in->kind != c->kind)
		return false;
	if (c->kind == FEEL_STRING)
		return in->u.str.len == c->u.str.len && same_bytes(in->u.str.s, c->u.str.s, c->u.str.len);
	return feel_dec_cmp(&in->u.num, &c->u.num) == 0;
}

static inline bool
check(FeelEnv *env, const DmnCheck *ck, const FeelValue *in)
{
	switch (ck->kind)
	{
		case CK_CMP:
			return feel_compare3(ck->op, in, &ck->vals[0]) == 1;
		case CK_RANGE:
			return feel_compare3((ck->op & 1) ? FEEL_CMP_GT : FEEL_CMP_GE, in, &ck->vals[0]) == 1 &&
				feel_compare3((ck->op & 2) ? FEEL_CMP_LT : FEEL_CMP_LE, in, &ck->vals[1]) == 1;
		case CK_EQ:
			return equals_const(in, &ck->vals[0]);
		case CK_BOOL:
			/* as a value test: equality for booleans, the constant itself for other inputs */
			if (in->kind == FEEL_BOOLEAN)
				return in->u.b == ck->vals[0].u.b;
			return in->kind != FEEL_NULL && ck->vals[0].u.b;
		case CK_IN:
			for (int i = 0; i < ck->nvals; i++)
				if (equals_const(in, &ck->vals[i]))
					return true;
			return false;
		default:
			env->slots[env->in_slot] = *in;
			return feel_test(env, ck->node) == 1;
	}
}

bool
dmn_rule_matches(FeelEnv *env, const DmnCRule *rule, const FeelValue *inputs, int8_t *memo)
{
	for (int i = 0; i < rule->ncheck; i++)
	{
		const DmnCheck *ck = &rule->checks[i];
		bool		ok;

		if (ck->memo >= 0 && memo[ck->memo] >= 0)
			ok = memo[ck->memo];
		else
		{
			ok = check(env, ck, &inputs[ck->col]);
			if (ck->memo >= 0)
				memo[ck->memo] = ok;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* ---- rules indexed by column ---- */

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char) s[i]) * 0x100000001b3ULL;
	return h;
}

/* Equal for equal numbers: the coefficient without trailing zeros, the exponent, the sign. */
static uint64_t
hash_number(const FeelDec *d)
{
	feel_u128	c = d->coef;
	int64_t		e = d->exp;

	if (c == 0)
		return 0x51ed270b27ULL;
	if ((c >> 64) == 0)
	{
		uint64_t	c64 = (uint64_t) c;

		while (c64 % 10 == 0)
			c64 /= 10, e++;
		c = c64;
	}
	else
		while (c % 10 == 0)
			c /= 10, e++;
	return mix(mix(mix(0x2545f4914f6cdd1dULL, (uint64_t) c), (uint64_t) (c >> 64)),
			   (uint64_t) e * 2 + d->neg);
}

/* The hash of an equality key, false for values no string/number constant equals. */
static inline bool
key_hash(const FeelValue *v, uint64_t *h)
{
	if (v->kind == FEEL_STRING)
		*h = hash_bytes(v->u.str.s, v->u.str.len);
	else if (v->kind == FEEL_NUMBER)
		*h = hash_number(&v->u.num);
	else
		return false;
	return true;
}

static uint64_t *
new_mask(CrmArena *a, int nwords)
{
	uint64_t   *m = crm_arena_alloc(a, sizeof(uint64_t) * nwords);

	memset(m, 0, sizeof(uint64_t) * nwords);
	return m;
}

#define SET_BIT(m, r) ((m)[(r) >> 6] |= (uint64_t) 1 << ((r) & 63))

/* The slot holding key (or the empty slot where it goes). */
static DmnEqSlot *
eq_slot(const DmnColIndex *ci, const FeelValue *key, uint64_t h)
{
	size_t		s = h & (ci->eqcap - 1);

	while (ci->eq[s].key != NULL &&
		   (ci->eq[s].hash != h || !equals_const(key, ci->eq[s].key)))
		s = (s + 1) & (ci->eqcap - 1);
	return &ci->eq[s];
}

static void
index_eq(CrmArena *a, DmnColIndex *ci, const FeelValue *key, int r, int nwords)
{
	uint64_t	h = 0;
	DmnEqSlot  *s;

	(void) key_hash(key, &h);
	s = eq_slot(ci, key, h);
	if (s->key == NULL)
	{
		s->key = key;
		s->hash = h;
		s->mask = new_mask(a, nwords);
	}
	SET_BIT(s->mask, r);
}

static void
index_test(CrmArena *a, DmnColIndex *ci, const DmnCheck *ck, int r, int nwords)
{
	int			t;

	for (t = 0; t < ci->ntests; t++)
		if (same_check(ci->tests[t].ck, ck))
			break;
	if (t == ci->ntests)
	{
		ci->tests[t].ck = ck;
		ci->tests[t].mask = new_mask(a, nwords);
		ci->ntests++;
	}
	SET_BIT(ci->tests[t].mask, r);
}

/* ---- threshold ladders ---- */

typedef struct LadderEntry
{
	const FeelDec *bound;
	bool		incl;
	int			rule;
} LadderEntry;

static bool
number_bound(const DmnCheck *ck, bool *lower)
{
	if (ck->kind != CK_CMP || ck->vals[0].kind != FEEL_NUMBER)
		return false;
	*lower = ck->op == FEEL_CMP_GT || ck->op == FEEL_CMP_GE;
	return *lower || ck->op == FEEL_CMP_LT || ck->op == FEEL_CMP_LE;
}

/* Ladder order: the entries any number passes come first (see DmnLadder). */
static bool
ladder_before(const LadderEntry *a, const LadderEntry *b, bool lower)
{
	int			c = feel_dec_cmp(a->bound, b->bound);

	if (c != 0)
		return lower ? c < 0 : c > 0;
	return a->incl && !b->incl;
}

static void
build_ladder(CrmArena *a, DmnLadder *l, LadderEntry *e, int n, bool lower, int nwords)
{
	/* insertion sort, stable: tables have tens of thresholds, compiled once */
	for (int i = 1; i < n; i++)
	{
		LadderEntry x = e[i];
		int			j = i;

		for (; j > 0 && ladder_before(&x, &e[j - 1], lower); j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
	l->n = n;
	l->bound = crm_arena_alloc(a, sizeof(FeelDec *) * (n + 1));
	l->incl = crm_arena_alloc(a, n + 1);
	l->prefix = new_mask(a, nwords * (n + 1));
	for (int i = 0; i < n; i++)
	{
		uint64_t   *prev = l->prefix + (size_t) i * nwords;
		uint64_t   *next = prev + nwords;

		l->bound[i] = e[i].bound;
		l->incl[i] = e[i].incl;
		memcpy(next, prev, sizeof(uint64_t) * nwords);
		SET_BIT(next, e[i].rule);
	}
}

/* The rules of the ladder's entries that number v passes. */
static inline const uint64_t *
ladder_pass(const DmnLadder *l, const FeelDec *v, bool lower, int nwords)
{
	int			lo = 0,
				hi = l->n;

	/* the first entry v fails */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = feel_dec_cmp(l->bound[mid], v);
		bool		pass = lower ? (c < 0 || (c == 0 && l->incl[mid])) :
			(c > 0 || (c == 0 && l->incl[mid]));

		if (pass)
			lo = mid + 1;
		else
			hi = mid;
	}
	return l->prefix + (size_t) lo * nwords;
}

/* One column: counts first (to size the arrays), then the rules' tests. */
static void
build_column(CrmArena *a, const DmnCDecision *d, DmnColIndex *ci, uint64_t *generic, int nwords)
{
	int			neq = 0,
				ntest = 0,
				nlower = 0,
				nupper = 0;
	LadderEntry *lower_e,
			   *upper_e;
	bool		lower;

	for (int r = 0; r < d->nrules; r++)
		for (int k = 0; k < d->rules[r].ncheck; k++)
		{
			const DmnCheck *ck = &d->rules[r].checks[k];

			if (ck->col == ci->col)
				neq += ck->kind == CK_EQ || ck->kind == CK_IN ? ck->nvals : 0,
					ntest += ck->kind != CK_EQ && ck->kind != CK_IN;
		}
	lower_e = crm_alloc(sizeof(LadderEntry) * (ntest + 1));
	upper_e = crm_alloc(sizeof(LadderEntry) * (ntest + 1));
	ci->always = new_mask(a, nwords);
	for (ci->eqcap = neq ? 8 : 0; ci->eqcap && ci->eqcap < neq * 2; ci->eqcap *= 2);
	ci->eq = crm_arena_alloc(a, sizeof(DmnEqSlot) * (ci->eqcap + 1));
	memset(ci->eq, 0, sizeof(DmnEqSlot) * (ci->eqcap + 1));
	ci->tests = crm_arena_alloc(a, sizeof(DmnColTest) * (ntest + 1));
	ci->ntests = 0;
	for (int r = 0; r < d->nrules; r++)
	{
		const DmnCheck *ck = NULL;

		for (int k = 0; k < d->rules[r].ncheck && ck == NULL; k++)
			if (d->rules[r].checks[k].col == ci->col)
				ck = &d->rules[r].checks[k];
		if (ck == NULL || ck->kind == CK_GENERIC)
		{
			SET_BIT(ci->always, r);
			if (ck != NULL)
				SET_BIT(generic, r);
		}
		else if (ck->kind == CK_EQ || ck->kind == CK_IN)
			for (int i = 0; i < ck->nvals; i++)
				index_eq(a, ci, &ck->vals[i], r, nwords);
		else if (number_bound(ck, &lower))
		{
			LadderEntry *e = lower ? &lower_e[nlower++] : &upper_e[nupper++];

			e->bound = &ck->vals[0].u.num;
			e->incl = ck->op == FEEL_CMP_GE || ck->op == FEEL_CMP_LE;
			e->rule = r;
		}
		else
			index_test(a, ci, ck, r, nwords);
	}
	build_ladder(a, &ci->lower, lower_e, nlower, true, nwords);
	build_ladder(a, &ci->upper, upper_e, nupper, false, nwords);
	crm_free(lower_e);
	crm_free(upper_e);
}

DmnRuleIndex *
dmn_build_index(CrmArena *a, const DmnCDecision *d)
{
	DmnRuleIndex *ix = crm_arena_alloc(a, sizeof(DmnRuleIndex));
	int			ncols = 0;

	ix->nwords = d->nrules / 64 + 1;
	ix->generic = new_mask(a, ix->nwords);
	ix->cols = crm_arena_alloc(a, sizeof(DmnColIndex) * (d->ninputs + 1));
	for (int c = 0; c < d->ninputs; c++)
	{
		bool		tested = false;

		for (int r = 0; r < d->nrules && !tested; r++)
			for (int k = 0; k < d->rules[r].ncheck; k++)
				tested |= d->rules[r].checks[k].col == c;
		if (!tested)
			continue;			/* "-" in every rule */
		ix->cols[ncols].col = c;
		build_column(a, d, &ix->cols[ncols++], ix->generic, ix->nwords);
	}
	ix->ncols = ncols;
	/* hash-only columns first (one lookup each), then by number of tests: the cheap ones narrow */
	for (int i = 1; i < ncols; i++)
	{
		DmnColIndex x = ix->cols[i];
		int			j = i;

		for (; j > 0 && ix->cols[j - 1].ntests > x.ntests; j--)
			ix->cols[j] = ix->cols[j - 1];
		ix->cols[j] = x;
	}
	return ix;
}

static bool
intersects(const uint64_t *a, const uint64_t *b, int nw)
{
	for (int w = 0; w < nw; w++)
		if (a[w] & b[w])
			return true;
	return false;
}

/*
 * The rules passing column ci for value v, into m; tests none of whose rules
 * are still candidates are not evaluated.
 */
static inline void
column_mask(FeelEnv *env, const DmnColIndex *ci, const FeelValue *v, const uint64_t *cand,
			uint64_t *m, int nw)
{
	uint64_t	h;

	memcpy(m, ci->always, sizeof(uint64_t) * nw);
	if (ci->eqcap > 0 && key_hash(v, &h))
	{
		const DmnEqSlot *s = eq_slot(ci, v, h);

		if (s->key != NULL)
			for (int w = 0; w < nw; w++)
				m[w] |= s->mask[w];
	}
	if (v->kind == FEEL_NUMBER && (ci->lower.n > 0 || ci->upper.n > 0))
	{
		const uint64_t *lo = ladder_pass(&ci->lower, &v->u.num, true, nw);
		const uint64_t *hi = ladder_pass(&ci->upper, &v->u.num, false, nw);

		for (int w = 0; w < nw; w++)
			m[w] |= lo[w] | hi[w];
	}
	for (int t = 0; t < ci->ntests; t++)
		if (intersects(ci->tests[t].mask, cand, nw) && check(env, ci->tests[t].ck, v))
			for (int w = 0; w < nw; w++)
				m[w] |= ci->tests[t].mask[w];
}

int
dmn_index_match(FeelEnv *env, const DmnProgram *p, const DmnCDecision *d, bool first)
{
	const DmnRuleIndex *ix = d->index;
	int			nw = ix->nwords;
	uint64_t   *cand = p->cand;
	int			nhits = 0;
	bool		verify = false;

	for (int w = 0; w < nw; w++)
		cand[w] = w < nw - 1 ? ~(uint64_t) 0 : (((uint64_t) 1 << (d->nrules & 63)) - 1);
	for (int c = 0; c < ix->ncols; c++)
	{
		uint64_t	any = 0;

		/* FIRST: past the hash lookups, test the candidates rule by rule and stop at the first */
		if (first && ix->cols[c].ntests > 0)
		{
			verify = true;
			break;
		}
		column_mask(env, &ix->cols[c], &p->inbuf[ix->cols[c].col], cand, p->colmask, nw);
		for (int w = 0; w < nw; w++)
			any |= (cand[w] &= p->colmask[w]);
		if (any == 0)
			return 0;
	}
	for (int w = 0; w < nw; w++)
	{
		uint64_t	bits = cand[w];

		while (bits != 0)
		{
			int			r = w * 64 + __builtin_ctzll(bits);

			bits &= bits - 1;
			if ((verify || (ix->generic[w] >> (r & 63) & 1)) &&
				!dmn_rule_matches(env, &d->rules[r], p->inbuf, p->memo))
				continue;
			p->hits[nhits++] = r;
			if (first)
				return nhits;
		}
	}
	return nhits;
}
