/*
 * xml_safe.c - hardened libxml2 parsing shared by the DMN, KML and CDA
 * readers (see xml_safe.h for the rules).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "xml_safe.h"

#define SAFE_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

typedef struct SafeState
{
	CrmXmlRead *r;
	bool		entity_seen;
} SafeState;

/* Cuts a UTF-8 string truncated by snprintf back to its last whole character. */
static void
clip_utf8(char *s)
{
	size_t		n = strlen(s);
	size_t		i = n;
	unsigned char lead;
	size_t		need;

	while (i > 0 && ((unsigned char) s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char) s[i - 1];
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* Keeps the first error of the parse; never allocates. */
static void
safe_error(void *data, xmlErrorPtr error)
{
	xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr) data;
	SafeState  *st = (SafeState *) ctxt->_private;
	CrmXmlRead *r = st->r;
	size_t		n;

	if (error == NULL || error->level < XML_ERR_ERROR || r->message[0] != '\0')
		return;
	if (error->domain == XML_FROM_NAMESPACE && r->tolerate_namespace_errors)
		return;
	snprintf(r->message, sizeof(r->message), "%s", error->message ? error->message : "unknown error");
	clip_utf8(r->message);
	n = strlen(r->message);
	while (n > 0 && isspace((unsigned char) r->message[n - 1]))
		r->message[--n] = '\0';
	r->line = error->line;
	r->column = error->int2;
}

/* Any entity declaration ends the parse: none of the documents read here needs one. */
static void
safe_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
				 const xmlChar *system_id, xmlChar *content)
{
	xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr) ctx;
	SafeState  *st = (SafeState *) ctxt->_private;

	st->entity_seen = true;
	xmlStopParser(ctxt);
}

static void
safe_unparsed_entity_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
						  const xmlChar *system_id, const xmlChar *notation)
{
	safe_entity_decl(ctx, name, 0, public_id, system_id, NULL);
}

/* Only the five predefined entities (&lt; &gt; &amp; &apos; &quot;) resolve. */
static xmlEntityPtr
safe_get_entity(void *ctx, const xmlChar *name)
{
	return xmlGetPredefinedEntity(name);
}

/* The deepest element nesting below n, counting stops past limit. */
static int
element_depth(const xmlNode *n, int depth, int limit)
{
	int			max = depth;

	if (depth > limit)
		return depth;
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
	{
		if (c->type == XML_ELEMENT_NODE)
		{
			int			d = element_depth(c, depth + 1, limit);

			if (d > max)
				max = d;
			if (max > limit)
				break;
		}
	}
	return max;
}

static void *
fail(CrmXmlRead *r, CrmXmlFailure f, xmlDocPtr doc)
{
	r->failure = f;
	if (doc != NULL)
		xmlFreeDoc(doc);
	return NULL;
}

void *
crm_xml_read(CrmXmlRead *r, const char *buf, size_t len)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr	doc;
	SafeState	st;
	bool		well_formed;

	r->failure = CRM_XML_OK;
	r->message[0] = '\0';
	r->line = r->column = 0;
	if (len > r->max_bytes || len > (size_t) INT32_MAX)
		return fail(r, CRM_XML_TOO_LARGE, NULL);
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		return fail(r, CRM_XML_NOMEM, NULL);
	memset(&st, 0, sizeof(st));
	st.r = r;
	ctxt->_private = &st;
	xmlCtxtUseOptions(ctxt, SAFE_PARSE_OPTIONS);
	/* after the options, which may reset handlers */
	ctxt->sax->serror = safe_error;
	ctxt->sax->error = NULL;
	ctxt->sax->warning = NULL;
	ctxt->sax->entityDecl = safe_entity_decl;
	ctxt->sax->unparsedEntityDecl = safe_unparsed_entity_decl;
	ctxt->sax->getEntity = safe_get_entity;
	ctxt->sax->getParameterEntity = safe_get_entity;
	doc = xmlCtxtReadMemory(ctxt, buf, (int) len, NULL, r->encoding, SAFE_PARSE_OPTIONS);
	well_formed = ctxt->wellFormed;
	xmlFreeParserCtxt(ctxt);
	if (st.entity_seen)
		return fail(r, CRM_XML_ENTITY, doc);
	if (doc == NULL || !well_formed || r->message[0] != '\0')
	{
		if (r->message[0] == '\0')
			snprintf(r->message, sizeof(r->message), "the parser gave up");
		return fail(r, CRM_XML_MALFORMED, doc);
	}
	if (xmlDocGetRootElement(doc) == NULL)
		return fail(r, CRM_XML_NO_ROOT, doc);
	if (r->max_depth > 0 && element_depth(xmlDocGetRootElement(doc), 1, r->max_depth) > r->max_depth)
		return fail(r, CRM_XML_TOO_DEEP, doc);
	return doc;
}
