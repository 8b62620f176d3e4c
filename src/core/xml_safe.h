/*
 * xml_safe.h - the one way the readers (DMN, KML, CDA) hand a document to
 * libxml2.
 *
 * Every parse gets its own parser context with its own callbacks (nothing
 * global is installed, so the server's pg_xml_init() handler stays as it is):
 * XML_PARSE_NONET always; never NOENT, DTDLOAD or HUGE.  Any entity
 * declaration, internal or external, general or parameter, stops the parser
 * at once, and a reference to an undeclared entity resolves to nothing but
 * the five predefined ones, so neither external entities (XXE) nor entity
 * expansion ("billion laughs") can happen.  Documents are limited in size
 * and in element depth; the first error libxml2 reports is kept for the
 * message.  The caller frees the returned tree with xmlFreeDoc().
 */
#ifndef CRM_XML_SAFE_H
#define CRM_XML_SAFE_H

#include "crm_core.h"

typedef enum CrmXmlFailure
{
	CRM_XML_OK = 0,
	CRM_XML_TOO_LARGE,			/* more than max_bytes */
	CRM_XML_ENTITY,				/* an entity declaration */
	CRM_XML_MALFORMED,			/* not well-formed */
	CRM_XML_NO_ROOT,			/* well-formed but without a root element */
	CRM_XML_TOO_DEEP,			/* elements nested deeper than max_depth */
	CRM_XML_NOMEM				/* no parser could be allocated */
} CrmXmlFailure;

typedef struct CrmXmlRead
{
	/* set by the caller */
	size_t		max_bytes;		/* at most INT32_MAX */
	int			max_depth;		/* nested elements; 0: libxml2's own limit only */
	const char *encoding;		/* forced encoding, or NULL to follow the document */
	bool		tolerate_namespace_errors;	/* undeclared prefixes (xsi: in fragments) */
	/* set by crm_xml_read */
	CrmXmlFailure failure;
	char		message[CRM_MSG_LEN];	/* libxml2's first error, trimmed, whole UTF-8 */
	int			line;
	int			column;
} CrmXmlRead;

/* The document's tree (an xmlDocPtr), or NULL with r->failure and r->message set. */
extern void *crm_xml_read(CrmXmlRead *r, const char *buf, size_t len);

#endif							/* CRM_XML_SAFE_H */
