/*
 * cda_xml.c - CDA documents parsed through crm_xml_read (xml_safe.h: no
 * network, no DTD, entity declarations refused, bounded size and depth), and
 * tree access.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "cda_int.h"
#include "xml_safe.h"

static bool
cda_parse(CdaReader *r, const char *buf, size_t len, CrmError *err)
{
	CrmXmlRead x;

	memset(&x, 0, sizeof(x));
	x.max_bytes = CDA_MAX_INPUT;
	x.max_depth = CDA_MAX_DEPTH;
	x.encoding = "UTF-8";
	/* undeclared namespace prefixes (xsi: in fragments) are tolerated */
	x.tolerate_namespace_errors = true;
	r->doc = crm_xml_read(&x, buf, len);
	if (r->doc != NULL)
		return true;
	r->entity_seen = x.failure == CRM_XML_ENTITY;
	snprintf(r->error_msg, sizeof(r->error_msg), "%s", x.message);
	r->error_line = x.line;
	switch (x.failure)
	{
		case CRM_XML_TOO_LARGE:
			crm_fail(err, CRM_ERR_LIMIT, 0, "clinical document is too large (%zu bytes)", len);
			crm_error_hint(err, "Documents of at most %d MB are read.", CDA_MAX_INPUT / (1024 * 1024));
			return false;
		case CRM_XML_ENTITY:
			crm_fail(err, CRM_ERR_XML, 0, "clinical document declares an entity");
			crm_error_detail(err, "Entity declarations are refused: they can read files or the network (XXE) or expand without bound.");
			crm_error_hint(err, "Send the document without a DOCTYPE that declares entities.");
			return false;
		case CRM_XML_TOO_DEEP:
			crm_fail(err, CRM_ERR_XML, 0, "clinical document nests elements too deeply");
			crm_error_detail(err, "More than %d nested elements; CDA documents need far fewer.", CDA_MAX_DEPTH);
			crm_error_hint(err, "Check that this is a CDA document.");
			return false;
		case CRM_XML_NOMEM:
			return crm_fail(err, CRM_ERR_NOMEM, 0, "could not allocate an XML parser");
		case CRM_XML_NO_ROOT:
			return crm_fail(err, CRM_ERR_XML, 0, "clinical document has no root element");
		default:
			crm_fail(err, CRM_ERR_XML, 0, "clinical document is not well-formed XML");
			crm_error_detail(err, "%s (line %d)", x.message, x.line);
			crm_error_hint(err, "Check that the document is complete, well-formed XML.");
			return false;
	}
}

bool
cda_read(CdaReader *reader, const char *buf, size_t len, CdaResult *res, CrmError *err)
{
	CdaWalk		w;

	crm_error_clear(err);
	if (!cda_parse(reader, buf, len, err))
		return false;
	memset(&w, 0, sizeof(w));
	w.res = res;
	w.err = err;
	w.root = xmlDocGetRootElement((xmlDocPtr) reader->doc);
	return cda_extract_tree(&w);
}

void
cda_reader_release(CdaReader *reader)
{
	if (reader->doc != NULL)
		xmlFreeDoc((xmlDocPtr) reader->doc);
	reader->doc = NULL;
}

void
cda_result_init(CdaResult *res)
{
	memset(res, 0, sizeof(*res));
	crm_arena_init(&res->arena, 8192);
	res->document_kind = "CDA";
	res->document_date = CDA_NO_DATE;
}

void
cda_result_free(CdaResult *res)
{
	crm_arena_free(&res->arena);
	if (res->items != NULL)
		crm_free(res->items);
	res->items = NULL;
	res->nitems = res->cap = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Tree access
 * ------------------------------------------------------------------------------------------- */
bool
cx_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

xmlNode *
cx_next(const xmlNode *n, const char *name)
{
	for (n = n->next; n != NULL; n = n->next)
		if (cx_is(n, name))
			return (xmlNode *) n;
	return NULL;
}

xmlNode *
cx_child(const xmlNode *n, const char *name)
{
	if (n == NULL)
		return NULL;
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (cx_is(c, name))
			return (xmlNode *) c;
	return NULL;
}

/* Follows a NULL-terminated list of child names. */
xmlNode *
cx_path(const xmlNode *n, const char *const *names)
{
	for (; n != NULL && *names != NULL; names++)
		n = cx_child(n, *names);
	return (xmlNode *) n;
}

/*
 * An attribute by local name in any namespace.  An attribute with an
 * undeclared prefix keeps its prefix in the name ("xsi:type"), so the
 * prefixed spelling is matched too.
 */
const char *
cx_attr(const xmlNode *n, const char *name)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return NULL;
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
	{
		const char *an = (const char *) a->name;
		const char *colon = strchr(an, ':');

		if (strcmp(an, name) == 0 || (colon != NULL && strcmp(colon + 1, name) == 0))
		{
			if (a->children != NULL && a->children->type == XML_TEXT_NODE &&
				a->children->next == NULL)
				return (const char *) a->children->content;
			return "";
		}
	}
	return NULL;
}

const char *
cx_xsi_type(const xmlNode *n)
{
	const char *t = cx_attr(n, "type");
	const char *colon;

	if (t == NULL)
		return NULL;
	colon = strchr(t, ':');		/* "v3:IVL_TS" */
	return colon ? colon + 1 : t;
}

bool
cx_has_template(const xmlNode *n, const char *root)
{
	for (const xmlNode *c = n ? n->children : NULL; c != NULL; c = c->next)
	{
		const char *r;

		if (!cx_is(c, "templateId"))
			continue;
		r = cx_attr(c, "root");
		if (r != NULL && strcmp(r, root) == 0)
			return true;
	}
	return false;
}

bool
cx_null(const xmlNode *n)
{
	return n == NULL || cx_attr(n, "nullFlavor") != NULL;
}

const char *
cx_dup(CdaWalk *w, const char *s)
{
	if (s == NULL)
		return NULL;
	return crm_arena_strdup(&w->res->arena, s, strlen(s));
}

const char *
cx_printf(CdaWalk *w, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *out;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	out = crm_arena_alloc(&w->res->arena, (size_t) (n < 0 ? 0 : n) + 1);
	out[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(out, (size_t) (n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	return out;
}

/* Text content with blanks collapsed, or NULL when empty. */
const char *
cx_text(CdaWalk *w, const xmlNode *n)
{
	xmlChar    *raw;
	char	   *out;
	size_t		len = 0;
	bool		space = false;

	if (n == NULL)
		return NULL;
	raw = xmlNodeGetContent(n);
	if (raw == NULL)
		return NULL;
	out = crm_arena_alloc(&w->res->arena, strlen((const char *) raw) + 1);
	for (const unsigned char *p = raw; *p; p++)
	{
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			space = len > 0;
		else
		{
			if (space)
				out[len++] = ' ';
			space = false;
			out[len++] = (char) *p;
		}
	}
	out[len] = '\0';
	xmlFree(raw);
	return len > 0 ? out : NULL;
}

/*
 * The first observation below n (inclusive) whose code is `code`; with
 * outside_meds, observations inside medication entries are not searched.
 */
xmlNode *
cx_find_observation(const xmlNode *n, const char *code, bool outside_meds, int depth)
{
	if (n == NULL || depth > CDA_MAX_DEPTH ||
		(outside_meds && (cx_is(n, "substanceAdministration") || cx_is(n, "supply"))))
		return NULL;
	if (cx_is(n, "observation"))
	{
		const char *c = cx_attr(cx_child(n, "code"), "code");

		if (c != NULL && strcmp(c, code) == 0)
			return (xmlNode *) n;
	}
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
	{
		xmlNode    *f;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		f = cx_find_observation(c, code, outside_meds, depth + 1);
		if (f != NULL)
			return f;
	}
	return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------------------------- */
static int32_t
days_from_civil(int y, int m, int d)
{
	int			era;
	int			yoe;
	int			doy;
	int			doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;	/* days since 2000-01-01 */
}

static int
digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* An HL7 TS ("YYYYMMDD[HHMM[SS]][+ZZZZ]") as a date; less than day precision is no date. */
int32_t
cda_date_from_ts(const char *ts)
{
	int			y;
	int			m;
	int			d;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (ts == NULL || strlen(ts) < 8)
		return CDA_NO_DATE;
	y = digits(ts, 4);
	m = digits(ts + 4, 2);
	d = digits(ts + 6, 2);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return CDA_NO_DATE;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return CDA_NO_DATE;
	return days_from_civil(y, m, d);
}

void
cda_date_to_ymd(int32_t day, int *y, int *m, int *d)
{
	int			z = day + 10957 + 719468;
	int			era = (z >= 0 ? z : z - 146096) / 146097;
	int			doe = z - era * 146097;
	int			yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int			doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int			mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* [+-]digits[.digits][e[+-]digits], at most 40 characters: what numeric_in accepts. */
bool
cda_decimal_ok(const char *s)
{
	const char *p = s;
	int			nd = 0;

	if (s == NULL || strlen(s) > 40)
		return false;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char) *p))
		p++, nd++;
	if (*p == '.')
		for (p++; isdigit((unsigned char) *p); p++)
			nd++;
	if (nd == 0)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char) *p))
			return false;
		for (nd = 0; isdigit((unsigned char) *p); p++)
			if (++nd > 3)
				return false;
	}
	return *p == '\0';
}

const char *
cda_code_system_name(const char *oid)
{
	static const char *const map[][2] = {
		{"2.16.840.1.113883.6.88", "RxNorm"},
		{"2.16.840.1.113883.6.69", "NDC"},
		{"2.16.840.1.113883.6.73", "ATC"},
		{"2.51.1.1", "GTIN"},
		{"2.16.840.1.113883.6.96", "SNOMED CT"},
		{"2.16.840.1.113883.6.90", "ICD-10-CM"},
		{"2.16.840.1.113883.6.3", "ICD-10"},
		{"2.16.840.1.113883.6.1", "LOINC"},
		{"2.16.840.1.113883.12.292", "CVX"},
		{"2.16.156.10011.2.3.3.11", "ICD-10 (GB/T 14396)"},
	};

	if (oid == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(oid, map[i][0]) == 0)
			return map[i][1];
	if (strncmp(oid, "2.16.156.10011.2.3.3.11.", 24) == 0)
		return "ICD-10 (GB/T 14396)";
	return NULL;
}

const char *
cda_days_source_name(CdaDaysSource s)
{
	switch (s)
	{
		case CDA_DS_EXPLICIT:
			return "explicit";
		case CDA_DS_SUPPLY:
			return "supply";
		case CDA_DS_INTERVAL:
			return "interval";
		case CDA_DS_NONE:
			break;
	}
	return NULL;
}

const char *
cda_kind_name(CdaKind k)
{
	return k == CDA_MEDICATION ? "medication" : "diagnosis";
}
