/*
 * dmn_row.c - crm.decide_row(model, decision, inputs record): a decision
 * evaluated on a row of any table, view or ROW(...) expression, the columns
 * matched to the model's input data by name.
 *
 * The column map (which column feeds which input, and how its type becomes a
 * FEEL value) is worked out once per call site and row type and kept with
 * crm.decide's call-site cache; per row the tuple is deformed once and only
 * the mapped columns are converted.  Text arrives as borrowed strings,
 * booleans and integers directly, numeric exactly, dates and times as the
 * ISO strings to_jsonb() writes (coerced by the input's typeRef like JSON
 * input), jsonb as its JSON value, one-dimensional arrays as lists, any other
 * type as its text output.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "dmn_pg.h"

typedef enum RowKind
{
	RK_ABSENT,					/* no column of that name: the input is null */
	RK_TEXT,
	RK_BOOL,
	RK_INT2,
	RK_INT4,
	RK_INT8,
	RK_NUMBER,					/* numeric, float4, float8: through their exact text */
	RK_TEMPORAL,				/* date, time, timetz, timestamp, timestamptz */
	RK_JSONB,
	RK_ARRAY,
	RK_OTHER					/* the type's output function */
} RowKind;

typedef struct RowConv
{
	RowKind		kind;
	Oid			typid;
	FmgrInfo	out;			/* RK_NUMBER, RK_OTHER; the element's for RK_ARRAY */
	/* RK_ARRAY: the element type */
	RowKind		elem_kind;
	Oid			elem_typid;
	int16		elem_len;
	bool		elem_byval;
	char		elem_align;
} RowConv;

typedef struct RowMap
{
	const DmnProgram *program;
	uint64		generation;
	Oid			typid;
	int32		typmod;
	uint64		rowtype_id;		/* the row type's identifier (changes with ALTER) */
	TypeCacheEntry *tc;			/* a named row type's type cache entry (entries live forever) */
	int			natts;
	Datum	   *values;
	bool	   *nulls;
	int			ninputs;
	int		   *attno;			/* per program input: 0-based column, -1 absent */
	const char **names;			/* per program input: its name (the program's) and length */
	size_t	   *name_lens;
	RowConv    *conv;
} RowMap;

static RowKind
scalar_kind(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
			return RK_TEXT;
		case BOOLOID:
			return RK_BOOL;
		case INT2OID:
			return RK_INT2;
		case INT4OID:
			return RK_INT4;
		case INT8OID:
			return RK_INT8;
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			return RK_NUMBER;
		case DATEOID:
		case TIMEOID:
		case TIMETZOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return RK_TEMPORAL;
		case JSONBOID:
			return RK_JSONB;
		default:
			return RK_OTHER;
	}
}

static void
set_output(MemoryContext cxt, Oid typid, FmgrInfo *out)
{
	Oid			fn;
	bool		varlena;

	getTypeOutputInfo(typid, &fn, &varlena);
	fmgr_info_cxt(fn, out, cxt);
}

static void
build_conv(MemoryContext cxt, Form_pg_attribute att, RowConv *c)
{
	Oid			base = getBaseType(att->atttypid);
	Oid			elem = get_element_type(base);

	c->typid = base;
	if (OidIsValid(elem) && scalar_kind(elem) != RK_JSONB)
	{
		c->kind = RK_ARRAY;
		c->elem_typid = elem;
		c->elem_kind = scalar_kind(elem);
		get_typlenbyvalalign(elem, &c->elem_len, &c->elem_byval, &c->elem_align);
		set_output(cxt, elem, &c->out);
		return;
	}
	c->kind = scalar_kind(base);
	if (c->kind == RK_NUMBER || c->kind == RK_OTHER)
		set_output(cxt, base, &c->out);
}

/*
 * generation is the cache's generation when the program was looked up: the
 * catalog lookups here may process invalidations, after which the map must
 * not pass for one of a program compiled later.
 */
static RowMap *
build_map(FunctionCallInfo fcinfo, const DmnProgram *program, uint64 generation, Oid typid, int32 typmod)
{
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	TupleDesc	desc = lookup_rowtype_tupdesc(typid, typmod);
	RowMap	   *m = MemoryContextAllocZero(cxt, sizeof(RowMap));
	uint64		rowtype_id = assign_record_type_identifier(typid, typmod);
	int			n = dmn_program_ninputs(program);

	m->program = program;
	m->generation = generation;
	m->typid = typid;
	m->typmod = typmod;
	m->rowtype_id = rowtype_id;
	m->tc = typid == RECORDOID ? NULL : lookup_type_cache(typid, TYPECACHE_TUPDESC);
	m->natts = desc->natts;
	m->values = MemoryContextAlloc(cxt, sizeof(Datum) * (desc->natts + 1));
	m->nulls = MemoryContextAlloc(cxt, sizeof(bool) * (desc->natts + 1));
	m->ninputs = n;
	m->attno = MemoryContextAlloc(cxt, sizeof(int) * (n + 1));
	m->conv = MemoryContextAllocZero(cxt, sizeof(RowConv) * (n + 1));
	m->names = MemoryContextAlloc(cxt, sizeof(char *) * (n + 1));
	m->name_lens = MemoryContextAlloc(cxt, sizeof(size_t) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		const char *name = dmn_program_input_name(program, i);

		m->names[i] = name;
		m->name_lens[i] = strlen(name);
		m->attno[i] = -1;
		m->conv[i].kind = RK_ABSENT;
		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			{
				m->attno[i] = a;
				build_conv(cxt, att, &m->conv[i]);
				break;
			}
		}
	}
	ReleaseTupleDesc(desc);
	return m;
}

/* Whether the map still describes the row type (ALTER TABLE gives the type a new identifier). */
static bool
map_current(const RowMap *m, Oid typid, int32 typmod)
{
	if (m->tc != NULL && m->tc->tupDesc != NULL)
		return m->tc->tupDesc_identifier == m->rowtype_id;
	return assign_record_type_identifier(typid, typmod) == m->rowtype_id;
}

/*
 * The type cache's descriptor of the row type (composite datums are checked
 * against it).  For a named type whose cached descriptor is the one the map
 * was built for, it is used as it is: nothing between here and the deform
 * can process invalidations.  Otherwise it is looked up and pinned.
 */
static TupleDesc
row_desc(const RowMap *m, Oid typid, int32 typmod, bool *pinned)
{
	if (m->tc != NULL && m->tc->tupDesc != NULL && m->tc->tupDesc_identifier == m->rowtype_id)
	{
		*pinned = false;
		return m->tc->tupDesc;
	}
	*pinned = true;
	return lookup_rowtype_tupdesc(typid, typmod);
}

static void
free_map(RowMap *m)
{
	pfree(m->values);
	pfree(m->nulls);
	pfree(m->attno);
	pfree(m->names);
	pfree(m->name_lens);
	pfree(m->conv);
	pfree(m);
}

/* A number column's exact text as a FEEL number; NaN and infinities have none. */
static FeelValue *
number_value(FmgrInfo *out, Datum d, const char *column)
{
	char	   *s = OutputFunctionCall(out, d);
	CrmError	err;
	FeelValue  *v;

	crm_error_clear(&err);
	v = feel_number_from_text(s, &err);
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" is %s, which is not a FEEL number", column, s),
				 errhint("FEEL numbers are finite decimals: filter or replace NaN and infinite values first.")));
	return v;
}

static FeelValue *
temporal_value(Datum d, Oid typid)
{
	char	   *s = JsonEncodeDateTime(NULL, d, typid, NULL);

	return feel_string(s, strlen(s));
}

/* One non-null value of a scalar kind as a FEEL value (new, owned). */
static FeelValue *
scalar_value(RowKind kind, Oid typid, FmgrInfo *out, Datum d, const char *column)
{
	char	   *s;
	text	   *t;

	switch (kind)
	{
		case RK_TEXT:
			t = DatumGetTextPP(d);
			return feel_string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		case RK_BOOL:
			return feel_boolean(DatumGetBool(d));
		case RK_INT2:
			return feel_number_from_int(DatumGetInt16(d));
		case RK_INT4:
			return feel_number_from_int(DatumGetInt32(d));
		case RK_INT8:
			return feel_number_from_int(DatumGetInt64(d));
		case RK_NUMBER:
			return number_value(out, d, column);
		case RK_TEMPORAL:
			return temporal_value(d, typid);
		case RK_JSONB:
			return dmn_jsonb_to_feel(DatumGetJsonbP(d));
		default:
			s = OutputFunctionCall(out, d);
			return feel_string(s, strlen(s));
	}
}

/* A one-dimensional array as a FEEL list (nulls kept as null items). */
static FeelValue *
array_value(RowConv *c, Datum d, const char *column)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	FeelValue  *list;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("column \"%s\" is a %d-dimensional array; FEEL lists have one dimension", column, ARR_NDIM(arr)),
				 errhint("Pass a one-dimensional array, or the column as jsonb.")));
	deconstruct_array(arr, c->elem_typid, c->elem_len, c->elem_byval, c->elem_align, &elems, &enulls, &n);
	list = feel_list_new();
	for (int i = 0; i < n; i++)
		feel_list_append(list, enulls[i] ? feel_null() :
						 scalar_value(c->elem_kind, c->elem_typid, &c->out, elems[i], column));
	return list;
}

/* Puts input i's column value into the borrowed context. */
static void
put_column(FeelValue *ctx, RowMap *m, int i, const char *name, size_t len)
{
	RowConv    *c = &m->conv[i];
	int			a = m->attno[i];
	Datum		d;
	text	   *t;

	if (a < 0 || m->nulls[a])
	{
		(void) feel_borrowed_put_null(ctx, name, len);
		return;
	}
	d = m->values[a];
	switch (c->kind)
	{
		case RK_TEXT:
			t = DatumGetTextPP(d);
			(void) feel_borrowed_put_string(ctx, name, len, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			return;
		case RK_BOOL:
			(void) feel_borrowed_put_boolean(ctx, name, len, DatumGetBool(d));
			return;
		case RK_INT2:
			(void) feel_borrowed_put_int(ctx, name, len, DatumGetInt16(d));
			return;
		case RK_INT4:
			(void) feel_borrowed_put_int(ctx, name, len, DatumGetInt32(d));
			return;
		case RK_INT8:
			(void) feel_borrowed_put_int(ctx, name, len, DatumGetInt64(d));
			return;
		case RK_ARRAY:
			(void) feel_borrowed_put(ctx, name, len, array_value(c, d, name));
			return;
		default:
			(void) feel_borrowed_put(ctx, name, len, scalar_value(c->kind, c->typid, &c->out, d, name));
			return;
	}
}

PG_FUNCTION_INFO_V1(crm_decide_row);

/* crm.decide_row(model text, decision text, inputs record) RETURNS jsonb */
Datum
crm_decide_row(PG_FUNCTION_ARGS)
{
	text	   *model = PG_GETARG_TEXT_PP(0);
	text	   *decision = PG_GETARG_TEXT_PP(1);
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(2);
	Oid			typid = HeapTupleHeaderGetTypeId(th);
	int32		typmod = HeapTupleHeaderGetTypMod(th);
	HeapTupleData tuple;
	TupleDesc	desc;
	bool		pinned;
	DmnCacheEntry *e;
	RowMap	  **slot;
	RowMap	   *m;
	FeelValue  *ctx;
	FeelValue  *result;
	CrmError	err;
	int			d;
	uint64		generation;

	e = dmn_decide_target(fcinfo, model, decision, &d);
	generation = dmn_cache_generation();
	slot = (RowMap **) dmn_decide_site_extra(fcinfo);
	m = *slot;
	if (m == NULL || m->program != e->program || m->generation != generation ||
		m->typid != typid || m->typmod != typmod || !map_current(m, typid, typmod))
	{
		if (m != NULL)
			free_map(m);
		*slot = NULL;
		m = *slot = build_map(fcinfo, e->program, generation, typid, typmod);
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	desc = row_desc(m, typid, typmod, &pinned);
	Assert(desc->natts == m->natts);
	heap_deform_tuple(&tuple, desc, m->values, m->nulls);
	if (pinned)
		ReleaseTupleDesc(desc);

	ctx = dmn_decide_site_inputs(fcinfo, m->ninputs);
	for (int i = 0; i < m->ninputs; i++)
		put_column(ctx, m, i, m->names[i], m->name_lens[i]);
	crm_error_clear(&err);
	result = dmn_evaluate(e->program, d, ctx, NULL, 0, NULL, &err);
	if (result == NULL)
		dmn_report(&err, e->name);
	PG_RETURN_JSONB_P(dmn_feel_to_jsonb(result, "the decision's result"));
}
