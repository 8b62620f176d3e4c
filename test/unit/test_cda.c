/*
 * test_cda.c - the CDA reader over the shared HL7 samples, the project's WS/T 500 prescriptions
 * and hostile XML.  Every expected days supply is worked out by hand in the comment above it.
 */
#include <stdlib.h>

#include "unit.h"
#include "cda.h"

typedef struct Doc
{
	CdaReader	reader;
	CdaResult	res;
	CrmError	err;
	bool		ok;
} Doc;

static void
doc_read(Doc *d, const char *buf, size_t len)
{
	memset(&d->reader, 0, sizeof(d->reader));
	cda_result_init(&d->res);
	d->ok = cda_read(&d->reader, buf, len, &d->res, &d->err);
	cda_reader_release(&d->reader);
}

static void
doc_text(Doc *d, const char *xml)
{
	doc_read(d, xml, strlen(xml));
}

static bool
doc_file(Doc *d, const char *dir, const char *rel)
{
	char		path[1024];
	FILE	   *f;
	long		n;
	char	   *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		printf("  cannot open %s\n", path);
		return false;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n);
	if (fread(buf, 1, n, f) != (size_t) n)
		n = 0;
	fclose(f);
	doc_read(d, buf, n);
	free(buf);
	return true;
}

/*
 * ../shared/testdata.  test/unit/Makefile exports CRM_TESTDATA empty when its relative lookup
 * misses (it resolves the path after changing to the project root), so fall back here.
 */
static const char *
testdata(void)
{
	const char *t = unit_testdata();

	return (t != NULL && t[0] != '\0') ? t : "../shared/testdata";
}

static void
doc_free(Doc *d)
{
	cda_result_free(&d->res);
}

/* The n-th item (0-based) of a kind, or NULL. */
static const CdaItem *
nth(const Doc *d, CdaKind kind, int n)
{
	for (int i = 0; i < d->res.nitems; i++)
		if (d->res.items[i].kind == kind && n-- == 0)
			return &d->res.items[i];
	return NULL;
}

static int
count(const Doc *d, CdaKind kind)
{
	int			c = 0;

	for (int i = 0; i < d->res.nitems; i++)
		c += d->res.items[i].kind == kind;
	return c;
}

static int32_t
ymd(int y, int m, int dd)
{
	char		ts[16];

	snprintf(ts, sizeof(ts), "%04d%02d%02d", y, m, dd);
	return cda_date_from_ts(ts);
}

#define CCDA "hl7-c-cda-examples/"
#define EMED "hl7ch-cda-fhir-maps/input/cda-ch-emed/"

UNIT_TEST(cda_ccd_medications)
{
	Doc			d;
	const CdaItem *a;
	const CdaItem *b;

	CHECK(doc_file(&d, testdata(), "cda/" CCDA "Documents/CCD/CCD 1/CCD.XML"));
	CHECK(d.ok);
	CHECK_STR_EQ(d.res.document_kind, "C-CDA");
	CHECK_INT_EQ(d.res.document_date, ymd(2013, 8, 15));
	CHECK_INT_EQ(count(&d, CDA_MEDICATION), 2);
	a = nth(&d, CDA_MEDICATION, 0);
	CHECK_STR_EQ(a->code, "573621");
	CHECK_STR_EQ(a->code_system, "2.16.840.1.113883.6.88");
	CHECK_STR_EQ(a->code_system_name, "RxNorm");
	CHECK_STR_EQ(a->display, "albuterol 0.09 MG/ACTUAT [Proventil]");
	CHECK_INT_EQ(a->start_date, ymd(2011, 1, 3));
	CHECK_INT_EQ(a->end_date, CDA_NO_DATE);
	CHECK_INT_EQ(a->supplied_on, ymd(2012, 8, 15));		/* the dispense, not the order */
	CHECK_STR_EQ(a->dose_value, "2");
	CHECK_STR_EQ(a->quantity, "75");
	CHECK_STR_EQ(a->route, "Inhalation Route of Administration");
	/* 2 puffs every 6 hours = 8 a day; 75 dispensed: floor(75 / 8) = 9 days */
	CHECK_DBL_NEAR(a->daily_units, 8.0, 1e-9);
	CHECK_INT_EQ(a->days_supply, 9);
	CHECK_INT_EQ(a->days_source, CDA_DS_SUPPLY);
	b = nth(&d, CDA_MEDICATION, 1);
	CHECK_STR_EQ(b->code, "197380");
	CHECK_STR_EQ(b->display, "atenolol 25 MG Oral Tablet");
	CHECK_INT_EQ(b->start_date, ymd(2012, 3, 18));
	/* 1 every 12 hours, but no quantity and no end date: not derivable */
	CHECK_DBL_NEAR(b->daily_units, 2.0, 1e-9);
	CHECK_INT_EQ(b->days_supply, -1);
	CHECK_INT_EQ(b->days_source, CDA_DS_NONE);
	CHECK(strstr(b->days_note, "no supply quantity") != NULL);
	CHECK(strstr(b->days_note, "no end date") != NULL);
	/* problems in SNOMED CT; no immunization (CVX) became a medication */
	CHECK_INT_EQ(count(&d, CDA_DIAGNOSIS), 4);
	CHECK_STR_EQ(nth(&d, CDA_DIAGNOSIS, 1)->display, "Chest pain");
	doc_free(&d);
}

UNIT_TEST(cda_fragment_with_undeclared_xsi)
{
	Doc			d;
	const CdaItem *a;

	CHECK(doc_file(&d, testdata(), "cda/" CCDA "Medications/Med oral QID with PRN/Med oral QID with PRN(C-CDA2.1).xml"));
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 1);
	a = nth(&d, CDA_MEDICATION, 0);
	CHECK_STR_EQ(a->code, "197806");
	CHECK_STR_EQ(a->alt_code, "00603402221");	/* NDC translation */
	CHECK_STR_EQ(a->alt_code_system, "2.16.840.1.113883.6.69");
	CHECK_INT_EQ(a->start_date, ymd(2013, 12, 18));
	CHECK_INT_EQ(a->end_date, CDA_NO_DATE);	/* <high nullFlavor="NI"/> */
	CHECK_DBL_NEAR(a->daily_units, 4.0, 1e-9);	/* xsi:type="PIVL_TS" read although xsi is undeclared */
	doc_free(&d);
}

UNIT_TEST(cda_interval_days)
{
	Doc			d;

	CHECK(doc_file(&d, testdata(), "cda/" CCDA "Medications/Withdrawn Anitbiotics with varied dosing/Withdrawn Antibiotics with varied dosing(C-CDA2.1).xml"));
	CHECK(d.ok);
	CHECK_INT_EQ(count(&d, CDA_MEDICATION), 2);
	/* 2014-03-10 .. 2014-03-10 = 1 day; 2014-03-11 .. 2014-03-14 = 4 days */
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 0)->days_supply, 1);
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 0)->days_source, CDA_DS_INTERVAL);
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 1)->days_supply, 4);
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 1)->start_date, ymd(2014, 3, 11));
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 1)->end_date, ymd(2014, 3, 14));
	doc_free(&d);
}

UNIT_TEST(cda_problem_translation)
{
	Doc			d;
	const CdaItem *p;

	CHECK(doc_file(&d, testdata(), "cda/" CCDA "Problems/Problem Value, Translation, Qualifier examples/Problem List with different translation and qualifier usages(C-CDA2.1).xml"));
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 1);
	p = nth(&d, CDA_DIAGNOSIS, 0);
	CHECK_STR_EQ(p->code, "8801005");
	CHECK_STR_EQ(p->display, "Secondary diabetes mellitus");
	CHECK_STR_EQ(p->alt_code, "E08.22");	/* ICD-10-CM preferred over the vendor code */
	CHECK_STR_EQ(p->alt_code_system, "2.16.840.1.113883.6.90");
	CHECK_INT_EQ(p->start_date, ymd(2014, 2, 27));
	doc_free(&d);
}

UNIT_TEST(cda_emed_prescription_packages)
{
	Doc			d;
	const CdaItem *a;

	CHECK(doc_file(&d, testdata(), "cda/" EMED "2-6-MedicationPrescription.xml"));
	CHECK(d.ok);
	CHECK_STR_EQ(d.res.document_kind, "CDA-CH-EMED");
	a = nth(&d, CDA_MEDICATION, 0);
	CHECK_STR_EQ(a->code, "7680500440334");
	CHECK_STR_EQ(a->code_system_name, "GTIN");
	CHECK_STR_EQ(a->display, "NORVASC Tabl 10 mg");
	/* 1 package of 30; 1 tablet at breakfast + 1 at dinner = 2 a day: 30 / 2 = 15 days */
	CHECK_DBL_NEAR(a->daily_units, 2.0, 1e-9);
	CHECK_INT_EQ(a->days_supply, 15);
	CHECK_INT_EQ(a->days_source, CDA_DS_SUPPLY);
	doc_free(&d);
}

UNIT_TEST(cda_emed_nested_dosage)
{
	Doc			d;

	CHECK(doc_file(&d, testdata(), "cda/" EMED "2-7-MedicationCard.xml"));
	CHECK(d.ok);
	CHECK_INT_EQ(count(&d, CDA_MEDICATION), 2);
	/* Beloc: 1 tablet at breakfast + 0.5 at dinner = 1.5 a day; no quantity: not derivable */
	CHECK_STR_EQ(nth(&d, CDA_MEDICATION, 0)->code, "7680521101306");
	CHECK_DBL_NEAR(nth(&d, CDA_MEDICATION, 0)->daily_units, 1.5, 1e-9);
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 0)->days_supply, -1);
	doc_free(&d);
	CHECK(doc_file(&d, testdata(), "cda/" EMED "1-2-MedicationDispense.xml"));
	CHECK(d.ok);
	CHECK_INT_EQ(count(&d, CDA_MEDICATION), 1);
	/* dispense of 1 package of 20, 0.5 tablet at breakfast: 20 / 0.5 = 40 days */
	CHECK_STR_EQ(nth(&d, CDA_MEDICATION, 0)->code, "7680538751228");
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 0)->start_date, ymd(2011, 11, 29));
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 0)->days_supply, 40);
	CHECK_STR_EQ(nth(&d, CDA_MEDICATION, 0)->route, "Oral use");
	doc_free(&d);
}

UNIT_TEST(cda_wst500_document_days)
{
	Doc			d;
	const CdaItem *a;

	CHECK(doc_file(&d, ".", "test/data/cda/wst500_rx_hypertension.xml"));
	CHECK(d.ok);
	CHECK_STR_EQ(d.res.document_kind, "WS/T 500");
	CHECK_INT_EQ(d.res.document_date, ymd(2026, 11, 5));
	CHECK_STR_EQ(nth(&d, CDA_DIAGNOSIS, 0)->code, "I10");
	CHECK_STR_EQ(nth(&d, CDA_DIAGNOSIS, 0)->code_system, "2.16.156.10011.2.3.3.11.3");
	a = nth(&d, CDA_MEDICATION, 0);
	CHECK_STR_EQ(a->code, "C08CA01");	/* only in a translation of <code nullFlavor="UNK"> */
	CHECK_STR_EQ(a->code_system, "2.16.840.1.113883.6.73");
	CHECK_STR_EQ(a->display, "苯磺酸氨氯地平片");
	CHECK_STR_EQ(a->route, "口服");
	/* the document-level 处方有效天数 30 天 */
	CHECK_INT_EQ(a->days_supply, 30);
	CHECK_INT_EQ(a->days_source, CDA_DS_EXPLICIT);
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 1)->days_supply, 30);
	doc_free(&d);
}

UNIT_TEST(cda_wst500_line_days_and_total_dose)
{
	Doc			d;

	CHECK(doc_file(&d, ".", "test/data/cda/wst500_rx_diabetes.xml"));
	CHECK(d.ok);
	CHECK_INT_EQ(count(&d, CDA_DIAGNOSIS), 2);
	/* metformin: its own 处方有效天数 14 天 (0.5 g tid = 1.5 g a day) */
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 0)->days_supply, 14);
	CHECK_DBL_NEAR(nth(&d, CDA_MEDICATION, 0)->daily_units, 1.5, 1e-9);
	/* glimepiride: 每日一次 2 mg, total 56 mg: 56 / 2 = 28 days */
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 1)->days_supply, 28);
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 1)->days_source, CDA_DS_SUPPLY);
	/* atorvastatin: qn, but nothing to count with: no days supply (the other line's 14 天 is not the document's) */
	CHECK_INT_EQ(nth(&d, CDA_MEDICATION, 2)->days_supply, -1);
	doc_free(&d);
}

#define SA_HEAD "<section xmlns=\"urn:hl7-org:v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><entry>" \
	"<substanceAdministration classCode=\"SBADM\" moodCode=\"EVN\">" \
	"<effectiveTime xsi:type=\"IVL_TS\"><low value=\"20260101\"/><high value=\"20260130\"/></effectiveTime>"
#define SA_DRUG "<consumable><manufacturedProduct><manufacturedMaterial><code code=\"C09CA01\" " \
	"codeSystem=\"2.16.840.1.113883.6.73\"/></manufacturedMaterial></manufacturedProduct></consumable>"
#define SA_SUPPLY(q) "<entryRelationship typeCode=\"REFR\"><supply classCode=\"SPLY\" moodCode=\"EVN\">" \
	"<quantity value=\"" q "\"/></supply></entryRelationship>"
#define SA_TAIL "</substanceAdministration></entry></section>"

UNIT_TEST(cda_days_supply_rounding_and_fallbacks)
{
	Doc			d;

	/* 3 tablets every 8 hours = 9 a day; 10 dispensed: floor(10 / 9) = 1 */
	doc_text(&d, SA_HEAD "<effectiveTime xsi:type=\"PIVL_TS\"><period value=\"8\" unit=\"h\"/></effectiveTime>"
			 "<doseQuantity value=\"3\"/>" SA_DRUG SA_SUPPLY("10") SA_TAIL);
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.items[0].days_supply, 1);
	doc_free(&d);
	/* 5 dispensed, 9 a day: less than a day still counts as 1 */
	doc_text(&d, SA_HEAD "<effectiveTime xsi:type=\"PIVL_TS\"><period value=\"8\" unit=\"h\"/></effectiveTime>"
			 "<doseQuantity value=\"3\"/>" SA_DRUG SA_SUPPLY("5") SA_TAIL);
	CHECK_INT_EQ(d.res.items[0].days_supply, 1);
	doc_free(&d);
	/* once a week (period 1 wk), 1 tablet, 4 dispensed: 4 / (1/7) = 28 days */
	doc_text(&d, SA_HEAD "<effectiveTime xsi:type=\"PIVL_TS\"><period value=\"1\" unit=\"wk\"/></effectiveTime>"
			 "<doseQuantity value=\"1\"/>" SA_DRUG SA_SUPPLY("4") SA_TAIL);
	CHECK_INT_EQ(d.res.items[0].days_supply, 28);
	doc_free(&d);
	/* dose in mg, supply in tablets: not comparable, so the interval 2026-01-01..30 = 30 days */
	doc_text(&d, SA_HEAD "<effectiveTime xsi:type=\"PIVL_TS\"><period value=\"1\" unit=\"d\"/></effectiveTime>"
			 "<doseQuantity value=\"80\" unit=\"mg\"/>" SA_DRUG SA_SUPPLY("28") SA_TAIL);
	CHECK_INT_EQ(d.res.items[0].days_supply, 30);
	CHECK_INT_EQ(d.res.items[0].days_source, CDA_DS_INTERVAL);
	doc_free(&d);
	/* WS/T 500 frequency words: q8h with 1 tablet, 21 dispensed: 21 / 3 = 7 days */
	doc_text(&d, SA_HEAD "<doseQuantity value=\"1\"/>" SA_DRUG SA_SUPPLY("21")
			 "<entryRelationship typeCode=\"COMP\"><observation><code code=\"DE06.00.133.00\"/>"
			 "<value xsi:type=\"CD\" code=\"q8h\"/></observation></entryRelationship>" SA_TAIL);
	CHECK_INT_EQ(d.res.items[0].days_supply, 7);
	doc_free(&d);
	/* IVL_TS as low + width: 2026-02-01 for 2 wk = 14 days, ending 2026-02-14 */
	doc_text(&d, "<substanceAdministration xmlns=\"urn:hl7-org:v3\"><effectiveTime><low value=\"20260201\"/>"
			 "<width value=\"2\" unit=\"wk\"/></effectiveTime>" SA_DRUG "</substanceAdministration>");
	CHECK_INT_EQ(d.res.items[0].end_date, ymd(2026, 2, 14));
	CHECK_INT_EQ(d.res.items[0].days_supply, 14);
	CHECK_INT_EQ(d.res.items[0].days_source, CDA_DS_INTERVAL);
	doc_free(&d);
	/* a bare entry as the root element */
	doc_text(&d, "<substanceAdministration xmlns=\"urn:hl7-org:v3\">" SA_DRUG "</substanceAdministration>");
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 1);
	CHECK_STR_EQ(d.res.items[0].code, "C09CA01");
	doc_free(&d);
}

UNIT_TEST(cda_refuses_entities)
{
	Doc			d;
	const char *laughs =
		"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		"<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
		"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
		"<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
		"<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
		"<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
		"<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
		"<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
		"<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
		"]><lolz>&lol9;</lolz>";

	doc_text(&d, laughs);
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	CHECK(strstr(d.err.message, "entity") != NULL);
	doc_free(&d);
	doc_text(&d, "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>");
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	doc_free(&d);
	doc_text(&d, "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://example.invalid/p.dtd\"> %p;]><r/>");
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	doc_free(&d);
	/* an external DTD is never loaded: the document parses and yields nothing */
	doc_text(&d, "<!DOCTYPE r SYSTEM \"http://example.invalid/r.dtd\"><r/>");
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 0);
	doc_free(&d);
	/* an undeclared entity reference is an error, not an empty string */
	doc_text(&d, "<r>&nope;</r>");
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	doc_free(&d);
}

UNIT_TEST(cda_refuses_deep_big_and_broken)
{
	Doc			d;
	char	   *buf;
	size_t		n = 0;

	buf = malloc(300 * 7 + 16);
	for (int i = 0; i < 300; i++)
		n += sprintf(buf + n, "<a>");
	for (int i = 0; i < 300; i++)
		n += sprintf(buf + n, "</a>");
	doc_read(&d, buf, n);
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	doc_free(&d);
	n = 0;
	for (int i = 0; i < 210; i++)
		n += sprintf(buf + n, "<a>");
	for (int i = 0; i < 210; i++)
		n += sprintf(buf + n, "</a>");
	doc_read(&d, buf, n);
	CHECK(!d.ok);
	CHECK(strstr(d.err.message, "too deeply") != NULL);
	doc_free(&d);
	free(buf);
	buf = calloc(CDA_MAX_INPUT + 1, 1);
	doc_read(&d, buf, CDA_MAX_INPUT + 1);
	free(buf);
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_LIMIT);
	doc_free(&d);
	doc_text(&d, "<ClinicalDocument><component>");
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	CHECK(d.err.detail[0] != '\0');
	doc_free(&d);
	doc_text(&d, "");
	CHECK(!d.ok);
	doc_free(&d);
}

UNIT_TEST(cda_dates_and_decimals)
{
	int			y;
	int			m;
	int			dd;

	CHECK_INT_EQ(cda_date_from_ts("20000101"), 0);
	CHECK_INT_EQ(cda_date_from_ts("20000301") - cda_date_from_ts("20000228"), 2);	/* 2000 is leap */
	CHECK_INT_EQ(cda_date_from_ts("19000229"), CDA_NO_DATE);
	CHECK_INT_EQ(cda_date_from_ts("202611"), CDA_NO_DATE);	/* month precision is no date */
	CHECK_INT_EQ(cda_date_from_ts("20261105093000+0800"), cda_date_from_ts("20261105"));
	CHECK_INT_EQ(cda_date_from_ts("2026-11-05"), CDA_NO_DATE);
	cda_date_to_ymd(cda_date_from_ts("19991231"), &y, &m, &dd);
	CHECK(y == 1999 && m == 12 && dd == 31);
	CHECK(cda_decimal_ok("0.5"));
	CHECK(cda_decimal_ok("-2e3"));
	CHECK(!cda_decimal_ok("1,5"));
	CHECK(!cda_decimal_ok("."));
	CHECK(!cda_decimal_ok("NaN"));
	CHECK(!cda_decimal_ok("1e99999"));
}

UNIT_TEST(cda_reads_utf8_whatever_the_declaration_says)
{
	Doc			d;

	/* the xml type hands over UTF-8 text even when the declaration names another encoding */
	doc_text(&d, "<?xml version=\"1.0\" encoding=\"GB2312\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\">"
			 "<effectiveTime value=\"20261105\"/><component><structuredBody><component><section><entry>"
			 "<substanceAdministration><consumable><manufacturedProduct><manufacturedLabeledDrug>"
			 "<name>缬沙坦胶囊</name></manufacturedLabeledDrug></manufacturedProduct></consumable>"
			 "</substanceAdministration></entry></section></component></structuredBody></component>"
			 "</ClinicalDocument>");
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 1);
	CHECK_STR_EQ(d.res.items[0].display, "缬沙坦胶囊");
	CHECK(d.res.items[0].code == NULL);		/* a name without a code is still a line */
	CHECK_STR_EQ(d.res.document_kind, "CDA");
	doc_free(&d);
	/* bytes that are not UTF-8 are an error */
	doc_text(&d, "<r>\xc3\x28</r>");
	CHECK(!d.ok);
	CHECK_INT_EQ(d.err.code, CRM_ERR_XML);
	doc_free(&d);
}

UNIT_TEST(cda_diagnosis_tolerance)
{
	Doc			d;
	const char *problem =
		"<section xmlns=\"urn:hl7-org:v3\"><entry><act><entryRelationship>"
		"<observation classCode=\"OBS\" moodCode=\"EVN\"%s><templateId root=\"2.16.840.1.113883.10.20.22.4.4\"/>"
		"<effectiveTime><low value=\"20240301\"/></effectiveTime>"
		"<value xsi:type=\"CD\" nullFlavor=\"OTH\"><translation code=\"E11.9\" codeSystem=\"2.16.840.1.113883.6.90\""
		" displayName=\"Type 2 diabetes mellitus without complications\"/></value>"
		"</observation></entryRelationship></act></entry></section>";
	char		buf[1024];

	/* the value is a nullFlavor: the code comes from its translation */
	snprintf(buf, sizeof(buf), problem, "");
	doc_text(&d, buf);
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 1);
	CHECK_STR_EQ(d.res.items[0].code, "E11.9");
	CHECK_STR_EQ(d.res.items[0].code_system_name, "ICD-10-CM");
	CHECK_STR_EQ(d.res.items[0].display, "Type 2 diabetes mellitus without complications");
	CHECK(d.res.items[0].alt_code == NULL);
	CHECK_INT_EQ(d.res.items[0].start_date, ymd(2024, 3, 1));
	doc_free(&d);
	/* a negated problem ("no diabetes") is not a diagnosis */
	snprintf(buf, sizeof(buf), problem, " negationInd=\"true\"");
	doc_text(&d, buf);
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 0);
	doc_free(&d);
	/* a problem with no code at all is skipped, not an error */
	doc_text(&d, "<observation><templateId root=\"2.16.840.1.113883.10.20.22.4.4\"/><value nullFlavor=\"UNK\"/></observation>");
	CHECK(d.ok);
	CHECK_INT_EQ(d.res.nitems, 0);
	doc_free(&d);
}
