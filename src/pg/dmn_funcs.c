/*
 * dmn_funcs.c - the SQL front doors of the decision engine:
 * crm.dmn_import(xml), crm.dmn_export(text, integer), crm.decide(text, text, jsonb).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/xml.h"

#include "dmn_pg.h"

/* Reads the document inside pg_xml_init()/pg_xml_done(), as PostgreSQL's xml.c does. */
static DmnModel *
read_document(const char *doc, size_t len, CrmError *err)
{
	PgXmlErrorContext *xcxt = pg_xml_init(PG_XML_STRICTNESS_ALL);
	DmnModel   *volatile model = NULL;

	PG_TRY();
	{
		model = dmn_read_xml(doc, len, err);
	}
	PG_CATCH();
	{
		pg_xml_done(xcxt, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pg_xml_done(xcxt, model == NULL || pg_xml_error_occurred(xcxt));
	return model;
}

PG_FUNCTION_INFO_V1(crm_dmn_import);

/* crm.dmn_import(doc xml) RETURNS text: stores the document as a new current model version. */
Datum
crm_dmn_import(PG_FUNCTION_ARGS)
{
	xmltype    *x = PG_GETARG_XML_P(0);
	CrmError	err;
	DmnModel   *model;
	DmnProgram *program;

	crm_error_clear(&err);
	model = read_document(VARDATA_ANY(x), VARSIZE_ANY_EXHDR(x), &err);
	if (model == NULL)
		crm_report(&err, NULL);
	if (model->name == NULL || model->name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_XML_DOCUMENT),
				 errmsg("invalid DMN document: /definitions has no name"),
				 errhint("Give the definitions element a name attribute; models are stored under it.")));
	/* refuse a model that does not compile before storing anything */
	program = dmn_compile(model, &err);
	if (program == NULL)
		dmn_report(&err, model->name);
	dmn_program_free(program);

	SPI_connect();
	(void) dmn_store_save(model);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(model->name));
}

PG_FUNCTION_INFO_V1(crm_dmn_export);

/* crm.dmn_export(model text, version integer DEFAULT NULL) RETURNS xml */
Datum
crm_dmn_export(PG_FUNCTION_ARGS)
{
	char	   *name;
	int			version = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	int64		tenant_id = dmn_session_tenant();
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;
	DmnModel   *model = NULL;
	int64		model_id;
	char	   *doc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SPI_connect();
	(void) crm_current_tenant();
	model_id = dmn_store_find(tenant_id, name, version);
	if (model_id != 0)
	{
		old = MemoryContextSwitchTo(caller);
		model = dmn_store_load(tenant_id, model_id, NULL, NULL);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	if (model == NULL && version > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("decision model \"%s\" has no version %d", name, version),
				 errhint("SELECT version FROM crm.dmn_model WHERE name = '...' lists the versions.")));
	if (model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("decision model \"%s\" does not exist", name),
				 errhint("Import it with crm.dmn_import() or create it with crm.dmn_create_model().")));
	doc = dmn_write_xml(model);
	PG_RETURN_XML_P((xmltype *) cstring_to_text(doc));
}

static void
no_such_decision(const DmnCacheEntry *e, const char *decision)
{
	StringInfoData names;

	initStringInfo(&names);
	for (int i = 0; i < e->model->ndecisions && i < 20; i++)
		appendStringInfo(&names, "%s\"%s\"", i ? ", " : "", e->model->decisions[i].name);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("decision \"%s\" does not exist in model \"%s\"", decision, e->name),
			 errhint("The model's decisions are: %s.", names.data)));
}

/*
 * Per call site (fn_extra): the model and decision last used there, valid
 * while the backend cache has seen no invalidation since (same generation),
 * so that repeated calls skip the name lookups.
 */
typedef struct DecideSite
{
	uint64		generation;
	int64		tenant_id;
	Oid			user_id;
	text	   *model;			/* copies of the arguments, in fn_mcxt */
	text	   *decision;
	DmnCacheEntry *entry;
	int			index;
	void	   *row_map;		/* crm.decide_row's column map (dmn_row.c), in fn_mcxt */
	FeelValue  *inputs;			/* the borrowed input context, reused call after call */
} DecideSite;

static bool
same_text(const text *a, const text *b)
{
	return a != NULL && VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

static text *
copy_text(MemoryContext cxt, const text *t)
{
	size_t		n = VARSIZE_ANY_EXHDR(t);
	text	   *c = MemoryContextAlloc(cxt, VARHDRSZ + n);

	SET_VARSIZE(c, VARHDRSZ + n);
	memcpy(VARDATA(c), VARDATA_ANY(t), n);
	return c;
}

/* The compiled model and decision index for these arguments. */
DmnCacheEntry *
dmn_decide_target(FunctionCallInfo fcinfo, text *model, text *decision, int *index)
{
	DecideSite *site = fcinfo->flinfo->fn_extra;
	int64		tenant_id = dmn_session_tenant();
	Oid			user_id = GetUserId();
	uint64		gen = dmn_cache_generation();
	DmnCacheEntry *e;
	char	   *name;

	if (site != NULL && site->generation == gen && site->tenant_id == tenant_id && site->user_id == user_id &&
		same_text(site->model, model) && same_text(site->decision, decision))
	{
		*index = site->index;
		return site->entry;
	}
	name = text_to_cstring(model);
	e = dmn_cache_get(tenant_id, name, false);
	*index = dmn_find_decision(e->program, text_to_cstring(decision));
	if (*index < 0)
		no_such_decision(e, text_to_cstring(decision));
	if (site == NULL)
		site = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DecideSite));
	if (site->model)
		pfree(site->model);
	if (site->decision)
		pfree(site->decision);
	site->model = copy_text(fcinfo->flinfo->fn_mcxt, model);
	site->decision = copy_text(fcinfo->flinfo->fn_mcxt, decision);
	site->generation = dmn_cache_generation();
	site->tenant_id = tenant_id;
	site->user_id = user_id;
	site->entry = e;
	site->index = *index;
	fcinfo->flinfo->fn_extra = site;
	return e;
}

FeelValue *
dmn_decide_site_inputs(FunctionCallInfo fcinfo, int ninputs)
{
	DecideSite *site = fcinfo->flinfo->fn_extra;

	Assert(site != NULL);
	if (site->inputs == NULL || feel_borrowed_capacity(site->inputs) < ninputs)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (site->inputs != NULL)
			feel_borrowed_free(site->inputs);
		site->inputs = NULL;
		site->inputs = feel_borrowed_context(ninputs);
		MemoryContextSwitchTo(old);
	}
	feel_borrowed_reset(site->inputs);
	return site->inputs;
}

void	  **
dmn_decide_site_extra(FunctionCallInfo fcinfo)
{
	DecideSite *site = fcinfo->flinfo->fn_extra;

	Assert(site != NULL);
	return &site->row_map;
}

/*
 * The inputs object as a FEEL context holding only the names the program
 * reads (looked up by binary search in the jsonb object); other keys, such as
 * the rest of a lead's attributes, cost nothing.  Keys and strings are
 * borrowed from the program and the jsonb, both alive during the call.  The
 * context holds every input in program order (null when the key is absent,
 * which FEEL treats alike), so the engine binds each by position.
 */
static FeelValue *
program_inputs(FunctionCallInfo fcinfo, const DmnProgram *program, Jsonb *jb)
{
	int			n = dmn_program_ninputs(program);
	FeelValue  *ctx = dmn_decide_site_inputs(fcinfo, n);

	for (int i = 0; i < n; i++)
	{
		const char *name = dmn_program_input_name(program, i);
		size_t		len = strlen(name);
		JsonbValue	buf;
		JsonbValue *v = getKeyJsonValueFromContainer(&jb->root, name, len, &buf);

		if (v == NULL)
		{
			buf.type = jbvNull;
			v = &buf;
		}
		dmn_put_jsonb_value(ctx, name, len, v);
	}
	return ctx;
}

PG_FUNCTION_INFO_V1(crm_decide);

/* crm.decide(model text, decision text, inputs jsonb) RETURNS jsonb */
Datum
crm_decide(PG_FUNCTION_ARGS)
{
	text	   *model = PG_GETARG_TEXT_PP(0);
	text	   *decision = PG_GETARG_TEXT_PP(1);
	Jsonb	   *jb = PG_GETARG_JSONB_P(2);
	FeelValue  *inputs;
	FeelValue  *result;
	DmnCacheEntry *e;
	int			d;
	CrmError	err;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("inputs of decision \"%s\" must be a JSON object", text_to_cstring(decision)),
				 errhint("Pass the inputs keyed by input data name, e.g. '{\"Age\": 42}'.")));
	e = dmn_decide_target(fcinfo, model, decision, &d);
	inputs = program_inputs(fcinfo, e->program, jb);
	crm_error_clear(&err);
	result = dmn_evaluate(e->program, d, inputs, NULL, 0, NULL, &err);
	if (result == NULL)
		dmn_report(&err, e->name);
	PG_RETURN_JSONB_P(dmn_feel_to_jsonb(result, "the decision's result"));
}
