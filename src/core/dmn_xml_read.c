/*
 * dmn_xml_read.c - reads DMN 1.1-1.5 XML into a DmnModel with libxml2.
 *
 * Parsing goes through crm_xml_read (xml_safe.h): no network, no DTD, entity
 * declarations refused, bounded size; libxml2's own depth limit applies and
 * the walk below only descends into the few DMN elements it knows.  Errors
 * carry the element path
 * ("/definitions/decision[2]/decisionTable/rule[3]").  No global libxml2
 * state is touched: errors are read from the parser context.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dmn_model.h"
#include "xml_safe.h"

#define DMN_MAX_DOC_BYTES (64 * 1024 * 1024)
#define DMN_MAX_ITEM_DEPTH 16

typedef struct Reader
{
	DmnModel   *m;
	CrmError   *err;
	const xmlChar *ns;			/* the DMN namespace of this document */
	char		path[1024];
	bool		failed;
} Reader;

static const struct
{
	const char *uri;
	const char *version;
}			dmn_namespaces[] = {
	{"http://www.omg.org/spec/DMN/20151101/dmn.xsd", "1.1"},
	{"http://www.omg.org/spec/DMN/20151101/dmn11.xsd", "1.1"},
	{"http://www.omg.org/spec/DMN/20151101", "1.1"},
	{"http://www.omg.org/spec/DMN/20180521/MODEL/", "1.2"},
	{"https://www.omg.org/spec/DMN/20180521/MODEL/", "1.2"},
	{"http://www.omg.org/spec/DMN/20191111/MODEL/", "1.3"},
	{"https://www.omg.org/spec/DMN/20191111/MODEL/", "1.3"},
	{"http://www.omg.org/spec/DMN/20211108/MODEL/", "1.4"},
	{"https://www.omg.org/spec/DMN/20211108/MODEL/", "1.4"},
	{"http://www.omg.org/spec/DMN/20230324/MODEL/", "1.5"},
	{"https://www.omg.org/spec/DMN/20230324/MODEL/", "1.5"},
};

static bool rfail(Reader *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static bool
rfail(Reader *r, const char *fmt,...)
{
	va_list		ap;
	char		msg[CRM_MSG_LEN];

	if (r->failed)
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->failed = true;
	crm_fail(r->err, CRM_ERR_XML, 0, "invalid DMN document: %s", msg);
	crm_error_detail(r->err, "The problem is at %s.", r->path[0] ? r->path : "/");
	return false;
}

static size_t
path_push(Reader *r, const char *name, int index)
{
	size_t		len = strlen(r->path);

	if (index > 0)
		snprintf(r->path + len, sizeof(r->path) - len, "/%s[%d]", name, index);
	else
		snprintf(r->path + len, sizeof(r->path) - len, "/%s", name);
	return len;
}

static void
path_pop(Reader *r, size_t len)
{
	r->path[len] = '\0';
}

static bool
is_el(Reader *r, xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL && xmlStrEqual(n->ns->href, r->ns) &&
		strcmp((const char *) n->name, name) == 0;
}

static xmlNodePtr
child(Reader *r, xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
	{
		if (is_el(r, c, name))
			return c;
	}
	return NULL;
}

static int
count_children(Reader *r, xmlNodePtr n, const char *name)
{
	int			k = 0;

	for (xmlNodePtr c = n->children; c; c = c->next)
		k += is_el(r, c, name);
	return k;
}

static char *
keep(Reader *r, const char *s, size_t len)
{
	return crm_arena_strdup(&r->m->arena, s, len);
}

static char *
attr(Reader *r, xmlNodePtr n, const char *name)
{
	xmlChar    *v = xmlGetNoNsProp(n, (const xmlChar *) name);
	char	   *s;

	if (v == NULL)
		return NULL;
	s = keep(r, (const char *) v, strlen((const char *) v));
	xmlFree(v);
	return s;
}

/* A typeRef without its QName prefix ("feel:number" -> "number") when the prefix is a declared namespace. */
static char *
type_ref(Reader *r, xmlNodePtr n, char *t)
{
	char	   *colon;
	char		prefix[64];
	size_t		plen;

	if (t == NULL)
		return NULL;
	colon = strchr(t, ':');
	if (colon == NULL || colon[1] == '\0')
		return t;
	plen = (size_t) (colon - t);
	if (plen == 0 || plen >= sizeof(prefix))
		return t;
	memcpy(prefix, t, plen);
	prefix[plen] = '\0';
	if (xmlSearchNs(n->doc, n, (const xmlChar *) prefix) == NULL)
		return t;
	/* the local part without the blanks a QName cannot hold (the writer's text is trimmed on reading) */
	for (colon++; *colon == ' ' || *colon == '\t' || *colon == '\n' || *colon == '\r'; colon++);
	return *colon ? colon : t;
}

/* Trimmed text content of an element. */
static char *
content(Reader *r, xmlNodePtr n)
{
	xmlChar    *v = xmlNodeGetContent(n);
	const char *s = v ? (const char *) v : "";
	size_t		len = strlen(s);
	char	   *out;

	while (len > 0 && strchr(" \t\r\n", *s) != NULL)
		s++, len--;
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	out = keep(r, s, len);
	if (v)
		xmlFree(v);
	return out;
}

/* Text of the <text> child of n's child `name` (or of n itself when name is NULL). */
static char *
text_of(Reader *r, xmlNodePtr n, const char *name)
{
	xmlNodePtr	c = name ? child(r, n, name) : n;
	xmlNodePtr	t;

	if (c == NULL)
		return NULL;
	t = child(r, c, "text");
	return t ? content(r, t) : NULL;
}

static const char *
href_id(const char *href)
{
	const char *h = href ? strchr(href, '#') : NULL;

	return h ? h + 1 : href;
}

static bool
read_item(Reader *r, xmlNodePtr n, DmnItemDef *it, int depth)
{
	xmlNodePtr	t;
	char	   *coll;
	int			k = 0;

	if (depth > DMN_MAX_ITEM_DEPTH)
		return rfail(r, "item definitions nested more than %d levels", DMN_MAX_ITEM_DEPTH);
	it->name = attr(r, n, "name");
	if (it->name == NULL)
		return rfail(r, "item definition without a name");
	t = child(r, n, "typeRef");
	it->type_ref = type_ref(r, t ? t : n, t ? content(r, t) : attr(r, n, "typeRef"));
	it->allowed_values = text_of(r, n, "allowedValues");
	coll = attr(r, n, "isCollection");
	it->is_collection = coll != NULL && strcmp(coll, "true") == 0;
	it->ncomponents = count_children(r, n, "itemComponent");
	if (it->ncomponents == 0)
		return true;
	it->components = crm_arena_alloc(&r->m->arena, sizeof(DmnItemDef) * it->ncomponents);
	memset(it->components, 0, sizeof(DmnItemDef) * it->ncomponents);
	for (xmlNodePtr c = n->children; c; c = c->next)
	{
		size_t		len;

		if (!is_el(r, c, "itemComponent"))
			continue;
		len = path_push(r, "itemComponent", k + 1);
		if (!read_item(r, c, &it->components[k++], depth + 1))
			return false;
		path_pop(r, len);
	}
	return true;
}

static bool
parse_hit_policy(Reader *r, xmlNodePtr dt, DmnDecisionTable *t)
{
	static const char *const names[] = {"UNIQUE", "ANY", "PRIORITY", "FIRST", "RULE ORDER",
	"OUTPUT ORDER", "COLLECT"};
	static const char *const aggs[] = {"", "SUM", "MIN", "MAX", "COUNT"};
	char	   *hp = attr(r, dt, "hitPolicy");
	char	   *agg = attr(r, dt, "aggregation");
	bool		found = hp == NULL;

	t->hit_policy = DMN_HIT_UNIQUE;
	for (int i = 0; hp && i < 7; i++)
	{
		if (strcmp(hp, names[i]) == 0)
			t->hit_policy = (DmnHitPolicy) i, found = true;
	}
	if (!found)
		return rfail(r, "unknown hit policy \"%.40s\"", hp);
	t->aggregation = DMN_AGG_NONE;
	if (agg == NULL)
		return true;
	for (int i = 1; i < 5; i++)
	{
		if (strcmp(agg, aggs[i]) == 0)
			t->aggregation = (DmnAggregation) i;
	}
	if (t->aggregation == DMN_AGG_NONE)
		return rfail(r, "unknown aggregation \"%.40s\"", agg);
	if (t->hit_policy != DMN_HIT_COLLECT)
		return rfail(r, "aggregation %s is only allowed with hit policy COLLECT", agg);
	return true;
}

static bool
read_clauses(Reader *r, xmlNodePtr dt, DmnDecisionTable *t)
{
	int			ki = 0,
				ko = 0;

	t->ninputs = count_children(r, dt, "input");
	t->noutputs = count_children(r, dt, "output");
	if (t->noutputs == 0)
		return rfail(r, "decision table has no output");
	t->inputs = crm_arena_alloc(&r->m->arena, sizeof(DmnInputClause) * (t->ninputs + 1));
	t->outputs = crm_arena_alloc(&r->m->arena, sizeof(DmnOutputClause) * t->noutputs);
	for (xmlNodePtr c = dt->children; c; c = c->next)
	{
		if (is_el(r, c, "input"))
		{
			DmnInputClause *in = &t->inputs[ki++];
			xmlNodePtr	ie = child(r, c, "inputExpression");

			in->id = attr(r, c, "id");
			in->label = attr(r, c, "label");
			in->expr = ie ? text_of(r, ie, NULL) : NULL;
			in->type_ref = ie ? type_ref(r, ie, attr(r, ie, "typeRef")) : NULL;
			in->input_values = text_of(r, c, "inputValues");
			if (in->expr == NULL)
			{
				size_t		len = path_push(r, "input", ki);

				return rfail(r, "decision table input without an inputExpression text"), path_pop(r, len), false;
			}
		}
		else if (is_el(r, c, "output"))
		{
			DmnOutputClause *out = &t->outputs[ko++];

			out->id = attr(r, c, "id");
			out->name = attr(r, c, "name");
			out->label = attr(r, c, "label");
			out->type_ref = type_ref(r, c, attr(r, c, "typeRef"));
			out->output_values = text_of(r, c, "outputValues");
			out->default_output = text_of(r, c, "defaultOutputEntry");
		}
	}
	return true;
}

static bool
read_rule(Reader *r, xmlNodePtr rn, DmnDecisionTable *t, DmnRule *rule)
{
	int			ni = 0,
				no = 0;

	rule->id = attr(r, rn, "id");
	if (count_children(r, rn, "inputEntry") != t->ninputs ||
		count_children(r, rn, "outputEntry") != t->noutputs)
		return rfail(r, "rule has %d input and %d output entries, but the table has %d inputs and %d outputs",
					 count_children(r, rn, "inputEntry"), count_children(r, rn, "outputEntry"),
					 t->ninputs, t->noutputs);
	rule->input_entries = crm_arena_alloc(&r->m->arena, sizeof(char *) * (t->ninputs + 1));
	rule->output_entries = crm_arena_alloc(&r->m->arena, sizeof(char *) * t->noutputs);
	rule->annotation = NULL;
	for (xmlNodePtr c = rn->children; c; c = c->next)
	{
		char	   *txt;

		if (is_el(r, c, "inputEntry") || is_el(r, c, "outputEntry"))
		{
			txt = text_of(r, c, NULL);
			if (txt == NULL)
				txt = keep(r, "", 0);
			if (is_el(r, c, "inputEntry"))
				rule->input_entries[ni++] = txt;
			else
				rule->output_entries[no++] = txt;
		}
		else if (is_el(r, c, "annotationEntry") && rule->annotation == NULL)
			rule->annotation = text_of(r, c, NULL);
		else if (is_el(r, c, "description") && rule->annotation == NULL)
			rule->annotation = content(r, c);
	}
	return true;
}

static bool
read_table(Reader *r, xmlNodePtr dt, DmnDecisionTable *t)
{
	int			k = 0;

	if (!parse_hit_policy(r, dt, t) || !read_clauses(r, dt, t))
		return false;
	t->nrules = count_children(r, dt, "rule");
	t->rules = crm_arena_alloc(&r->m->arena, sizeof(DmnRule) * (t->nrules + 1));
	for (xmlNodePtr c = dt->children; c; c = c->next)
	{
		size_t		len;

		if (!is_el(r, c, "rule"))
			continue;
		len = path_push(r, "rule", k + 1);
		if (!read_rule(r, c, t, &t->rules[k++]))
			return false;
		path_pop(r, len);
	}
	return true;
}

static bool
read_requirements(Reader *r, xmlNodePtr dn, DmnDecision *d)
{
	int			nreq = count_children(r, dn, "informationRequirement");

	d->required_decisions = crm_arena_alloc(&r->m->arena, sizeof(char *) * (nreq + 1));
	d->required_inputs = crm_arena_alloc(&r->m->arena, sizeof(char *) * (nreq + 1));
	for (xmlNodePtr c = dn->children; c; c = c->next)
	{
		xmlNodePtr	rd,
					ri;
		const char *h;

		if (!is_el(r, c, "informationRequirement"))
			continue;
		rd = child(r, c, "requiredDecision");
		ri = child(r, c, "requiredInput");
		if (rd)
		{
			h = href_id(attr(r, rd, "href"));
			if (h == NULL)
				return rfail(r, "requiredDecision without href");
			d->required_decisions[d->nrequired_decisions++] = (char *) h;
		}
		else if (ri)
		{
			h = href_id(attr(r, ri, "href"));
			if (h == NULL)
				return rfail(r, "requiredInput without href");
			d->required_inputs[d->nrequired_inputs++] = (char *) h;
		}
	}
	return true;
}

static bool
read_decision(Reader *r, xmlNodePtr dn, DmnDecision *d)
{
	xmlNodePtr	var = child(r, dn, "variable");
	xmlNodePtr	dt = child(r, dn, "decisionTable");
	xmlNodePtr	le = child(r, dn, "literalExpression");
	size_t		len;

	d->id = attr(r, dn, "id");
	d->name = attr(r, dn, "name");
	if (d->name == NULL)
		return rfail(r, "decision without a name");
	d->type_ref = var ? type_ref(r, var, attr(r, var, "typeRef")) : NULL;
	if (!read_requirements(r, dn, d))
		return false;
	if (dt != NULL)
	{
		d->kind = DMN_EXPR_DECISION_TABLE;
		len = path_push(r, "decisionTable", 0);
		if (!read_table(r, dt, &d->table))
			return false;
		path_pop(r, len);
		return true;
	}
	if (le != NULL)
	{
		d->kind = DMN_EXPR_LITERAL;
		d->literal = text_of(r, le, NULL);
		if (d->literal == NULL)
			return rfail(r, "literal expression of decision \"%.60s\" has no text", d->name);
		return true;
	}
	return rfail(r, "decision \"%.60s\" has neither a decision table nor a literal expression "
				 "(other boxed expressions are not supported)", d->name);
}

static bool
read_definitions(Reader *r, xmlNodePtr root)
{
	DmnModel   *m = r->m;
	int			ki = 0,
				kn = 0,
				kd = 0;

	m->name = attr(r, root, "name");
	m->namespace_uri = attr(r, root, "namespace");
	m->nitems = count_children(r, root, "itemDefinition");
	m->ninputs = count_children(r, root, "inputData");
	m->ndecisions = count_children(r, root, "decision");
	m->items = crm_arena_alloc(&m->arena, sizeof(DmnItemDef) * (m->nitems + 1));
	m->inputs = crm_arena_alloc(&m->arena, sizeof(DmnInputData) * (m->ninputs + 1));
	m->decisions = crm_arena_alloc(&m->arena, sizeof(DmnDecision) * (m->ndecisions + 1));
	memset(m->items, 0, sizeof(DmnItemDef) * (m->nitems + 1));
	memset(m->inputs, 0, sizeof(DmnInputData) * (m->ninputs + 1));
	memset(m->decisions, 0, sizeof(DmnDecision) * (m->ndecisions + 1));
	for (xmlNodePtr c = root->children; c; c = c->next)
	{
		size_t		len;

		if (is_el(r, c, "itemDefinition"))
		{
			len = path_push(r, "itemDefinition", ki + 1);
			if (!read_item(r, c, &m->items[ki++], 0))
				return false;
			path_pop(r, len);
		}
		else if (is_el(r, c, "inputData"))
		{
			DmnInputData *in = &m->inputs[kn++];
			xmlNodePtr	var = child(r, c, "variable");

			len = path_push(r, "inputData", kn);
			in->id = attr(r, c, "id");
			in->name = attr(r, c, "name");
			in->type_ref = var ? type_ref(r, var, attr(r, var, "typeRef")) : NULL;
			if (in->name == NULL)
				return rfail(r, "input data without a name");
			path_pop(r, len);
		}
		else if (is_el(r, c, "decision"))
		{
			len = path_push(r, "decision", kd + 1);
			if (!read_decision(r, c, &m->decisions[kd++]))
				return false;
			path_pop(r, len);
		}
	}
	return true;
}

static bool
check_root(Reader *r, xmlNodePtr root)
{
	if (root == NULL)
		return rfail(r, "the document has no root element");
	if (strcmp((const char *) root->name, "definitions") != 0)
		return rfail(r, "the root element is <%.40s>, not <definitions>", (const char *) root->name);
	if (root->ns == NULL)
		return rfail(r, "<definitions> is not in a DMN namespace");
	for (size_t i = 0; i < sizeof(dmn_namespaces) / sizeof(dmn_namespaces[0]); i++)
	{
		if (strcmp((const char *) root->ns->href, dmn_namespaces[i].uri) == 0)
		{
			r->ns = root->ns->href;
			r->m->dmn_version = keep(r, dmn_namespaces[i].version, 3);
			return true;
		}
	}
	return rfail(r, "unknown DMN namespace \"%.100s\"", (const char *) root->ns->href);
}

/* The document's tree, or NULL with err saying why it was refused. */
static xmlDocPtr
parse_doc(const char *doc, size_t len, CrmError *err)
{
	CrmXmlRead x;
	xmlDocPtr	xdoc;

	memset(&x, 0, sizeof(x));
	x.max_bytes = DMN_MAX_DOC_BYTES;
	xdoc = crm_xml_read(&x, doc, len);
	switch (x.failure)
	{
		case CRM_XML_OK:
			break;
		case CRM_XML_TOO_LARGE:
			crm_fail(err, CRM_ERR_XML, 0, "DMN document too large (%zu bytes)", len);
			crm_error_hint(err, "Documents up to %d MB are accepted.", DMN_MAX_DOC_BYTES / (1024 * 1024));
			break;
		case CRM_XML_ENTITY:
			crm_fail(err, CRM_ERR_XML, 0, "invalid DMN document: entity declarations are not allowed");
			crm_error_detail(err, "Entity declarations are refused: they can read files or the network (XXE) or expand without bound.");
			crm_error_hint(err, "Remove the DOCTYPE with <!ENTITY> declarations; DMN does not use them.");
			break;
		case CRM_XML_NOMEM:
			crm_fail(err, CRM_ERR_NOMEM, 0, "could not allocate an XML parser");
			break;
		case CRM_XML_NO_ROOT:
			crm_fail(err, CRM_ERR_XML, 0, "invalid DMN document: no root element");
			break;
		default:
			crm_fail(err, CRM_ERR_XML, 0, "invalid DMN document: %s", x.message);
			if (x.line > 0)
				crm_error_detail(err, "The XML parser stopped at line %d, column %d.", x.line, x.column);
			break;
	}
	return xdoc;
}

DmnModel *
dmn_read_xml(const char *doc, size_t len, CrmError *err)
{
	Reader		r;
	xmlDocPtr	xdoc;
	bool		ok;

	crm_error_clear(err);
	xdoc = parse_doc(doc, len, err);
	if (xdoc == NULL)
		return NULL;
	memset(&r, 0, sizeof(r));
	r.err = err;
	r.m = dmn_model_new();
	strcpy(r.path, "");
	path_push(&r, "definitions", 0);
	ok = check_root(&r, xmlDocGetRootElement(xdoc)) && read_definitions(&r, xmlDocGetRootElement(xdoc));
	xmlFreeDoc(xdoc);
	if (!ok)
	{
		dmn_model_free(r.m);
		return NULL;
	}
	return r.m;
}
