/*
 * test_xml_safe.c - the hardened libxml2 entry shared by the DMN, KML and CDA
 * readers: entity declarations of every kind refused (XXE, billion laughs,
 * parameter entities), undeclared entities not resolved, predefined ones
 * kept, size and depth limits, the first error with its line, namespace
 * errors tolerated only when asked; and each reader refusing an entity.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "dmn_engine.h"
#include "geo.h"
#include "unit.h"
#include "xml_safe.h"

static CrmXmlFailure
read_status(const char *doc, size_t max_bytes, int max_depth, bool tolerate_ns, CrmXmlRead *out)
{
	CrmXmlRead r;
	void	   *d;

	memset(&r, 0, sizeof(r));
	r.max_bytes = max_bytes;
	r.max_depth = max_depth;
	r.tolerate_namespace_errors = tolerate_ns;
	d = crm_xml_read(&r, doc, strlen(doc));
	if (d != NULL)
		xmlFreeDoc((xmlDocPtr) d);
	if (out)
		*out = r;
	return r.failure;
}

UNIT_TEST(xml_safe_refuses_every_entity_declaration)
{
	static const char *const docs[] = {
		"<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
		"<!DOCTYPE a [<!ENTITY x \"hi\">]><a>&x;</a>",
		"<!DOCTYPE a [<!ENTITY a0 \"lol\"><!ENTITY a1 \"&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;\">]><a>&a1;</a>",
		"<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://example.invalid/x.dtd\"> %p;]><a/>",
		"<!DOCTYPE a [<!ENTITY u SYSTEM \"x.png\" NDATA png>]><a/>",
		"<!DOCTYPE a [<!ENTITY x \"declared but never used\">]><a/>",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		CHECK_INT_EQ(read_status(docs[i], 1 << 20, 0, false, NULL), CRM_XML_ENTITY);
}

UNIT_TEST(xml_safe_entities_undeclared_and_predefined)
{
	CrmXmlRead r;
	void	   *d;
	xmlChar    *text;
	const char *ok = "<a>x &amp; y &lt; z &#x4E2D;</a>";

	CHECK_INT_EQ(read_status("<a>&nope;</a>", 1 << 20, 0, false, &r), CRM_XML_MALFORMED);
	CHECK(strstr(r.message, "nope") != NULL);
	memset(&r, 0, sizeof(r));
	r.max_bytes = 1 << 20;
	d = crm_xml_read(&r, ok, strlen(ok));
	CHECK(d != NULL);
	text = xmlNodeGetContent(xmlDocGetRootElement((xmlDocPtr) d));
	CHECK_STR_EQ((const char *) text, "x & y < z 中");
	xmlFree(text);
	xmlFreeDoc((xmlDocPtr) d);
}

UNIT_TEST(xml_safe_limits_and_messages)
{
	CrmXmlRead r;
	char		deep[4096] = "";

	CHECK_INT_EQ(read_status("<a>0123456789</a>", 10, 0, false, NULL), CRM_XML_TOO_LARGE);
	for (int i = 0; i < 30; i++)
		strcat(deep, "<e>");
	for (int i = 0; i < 30; i++)
		strcat(deep, "</e>");
	CHECK_INT_EQ(read_status(deep, 1 << 20, 30, false, NULL), CRM_XML_OK);
	CHECK_INT_EQ(read_status(deep, 1 << 20, 29, false, NULL), CRM_XML_TOO_DEEP);
	CHECK_INT_EQ(read_status("<a>\n<b>\n</a>", 1 << 20, 0, false, &r), CRM_XML_MALFORMED);
	CHECK_INT_EQ(r.line, 3);
	CHECK(r.message[0] != '\0' && r.message[strlen(r.message) - 1] != '\n');
	CHECK_INT_EQ(read_status("   ", 1 << 20, 0, false, NULL), CRM_XML_MALFORMED);
	CHECK_INT_EQ(read_status("<a><xsi:b/></a>", 1 << 20, 0, false, NULL), CRM_XML_MALFORMED);
	CHECK_INT_EQ(read_status("<a><xsi:b/></a>", 1 << 20, 0, true, NULL), CRM_XML_OK);
}

UNIT_TEST(xml_readers_refuse_entities)
{
	CrmError	err;
	const char *kml = "<!DOCTYPE kml [<!ENTITY c \"116.3,39.9 116.4,39.9 116.4,40.0 116.3,39.9\">]>"
		"<kml><Polygon><outerBoundaryIs><LinearRing><coordinates>&c;</coordinates>"
		"</LinearRing></outerBoundaryIs></Polygon></kml>";
	const char *dmn = "<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<definitions xmlns=\"https://www.omg.org/spec/DMN/20230324/MODEL/\" name=\"&x;\"/>";

	CHECK(crm_kml_open(kml, strlen(kml), &err) == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_XML);
	CHECK(strstr(err.message, "entity") != NULL);
	CHECK(dmn_read_xml(dmn, strlen(dmn), &err) == NULL);
	CHECK_INT_EQ(err.code, CRM_ERR_XML);
	CHECK(strstr(err.message, "entity declarations are not allowed") != NULL);
}
