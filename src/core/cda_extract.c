/*
 * cda_extract.c - finds medication lines and diagnoses in a CDA tree.
 *
 * Medication lines: every substanceAdministration (or top-level supply)
 * whose product names a drug, wherever it sits (sections, organizers,
 * entries), excluding immunizations.  Nested dosage instructions of
 * CDA-CH-EMED belong to their parent line.  Diagnoses: C-CDA / IHE problem
 * observations, WS/T 500 diagnosis observations (DE05.01.024.00) and any
 * observation coded in ICD-10 of GB/T 14396 (2.16.156.10011.2.3.3.11.x).
 */
#include <string.h>

#include "cda_int.h"

#define OID_WST500_DOC		"2.16.156.10011.2.1.1.24"
#define OID_CN_ICD10		"2.16.156.10011.2.3.3.11"
#define OID_CVX				"2.16.840.1.113883.12.292"
#define CODE_WST500_DAYS	"DE06.00.294.00"
#define CODE_WST500_DIAG	"DE05.01.024.00"

CdaItem *
cda_new_item(CdaWalk *w, CdaKind kind)
{
	CdaResult  *res = w->res;
	CdaItem    *it;

	if (res->nitems >= CDA_MAX_ITEMS)
	{
		crm_fail(w->err, CRM_ERR_LIMIT, 0, "clinical document has more than %d entries", CDA_MAX_ITEMS);
		crm_error_hint(w->err, "Split the document.");
		return NULL;
	}
	if (res->nitems == res->cap)
	{
		res->cap = res->cap ? res->cap * 2 : 16;
		res->items = crm_realloc(res->items, sizeof(CdaItem) * res->cap);
	}
	it = &res->items[res->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->start_date = it->end_date = it->supplied_on = CDA_NO_DATE;
	it->days_supply = -1;
	return it;
}

static bool
is_icd10(const char *oid)
{
	return oid != NULL &&
		(strcmp(oid, "2.16.840.1.113883.6.90") == 0 || strcmp(oid, "2.16.840.1.113883.6.3") == 0 ||
		 strncmp(oid, OID_CN_ICD10, strlen(OID_CN_ICD10)) == 0);
}

static bool
is_atc(const char *oid)
{
	return oid != NULL && strcmp(oid, "2.16.840.1.113883.6.73") == 0;
}

static bool
usable_code(const xmlNode *c)
{
	const char *v = cx_attr(c, "code");

	return v != NULL && v[0] != '\0' && cx_attr(c, "nullFlavor") == NULL;
}

/* The first translation other than `skip` (preferring ICD-10, or ATC for drugs). */
static const xmlNode *
pick_translation(const xmlNode *code, const xmlNode *skip, bool medication)
{
	const xmlNode *first = NULL;

	for (const xmlNode *t = cx_child(code, "translation"); t != NULL; t = cx_next(t, "translation"))
	{
		const char *sys = cx_attr(t, "codeSystem");

		if (t == skip || !usable_code(t) ||
			(skip != NULL && strcmp(cx_attr(t, "code"), cx_attr(skip, "code")) == 0))
			continue;
		if (medication ? is_atc(sys) : is_icd10(sys))
			return t;
		if (first == NULL)
			first = t;
	}
	return first;
}

static const char *
original_text(CdaWalk *w, const xmlNode *code)
{
	const xmlNode *ot = cx_child(code, "originalText");

	if (ot == NULL || cx_child(ot, "reference") != NULL)
		return NULL;
	return cx_text(w, ot);
}

/*
 * Chooses the code of a coded element: its own code unless it is missing or
 * a nullFlavor, else its first usable translation.  The display name comes
 * from the chosen code, the element itself, or its original text.
 */
void
cda_pick_code(CdaWalk *w, const xmlNode *code, CdaItem *it, bool medication)
{
	const xmlNode *chosen = NULL;
	const xmlNode *alt;
	const char *disp;

	if (code == NULL)
		return;
	if (usable_code(code))
		chosen = code;
	else
		chosen = pick_translation(code, NULL, medication);
	if (chosen != NULL)
	{
		it->code = cx_dup(w, cx_attr(chosen, "code"));
		it->code_system = cx_dup(w, cx_attr(chosen, "codeSystem"));
		it->code_system_name = cx_dup(w, cx_attr(chosen, "codeSystemName"));
		if (it->code_system_name == NULL || it->code_system_name[0] == '\0')
			it->code_system_name = cda_code_system_name(it->code_system);
		alt = pick_translation(code, chosen, medication);
		if (alt != NULL)
		{
			it->alt_code = cx_dup(w, cx_attr(alt, "code"));
			it->alt_code_system = cx_dup(w, cx_attr(alt, "codeSystem"));
		}
	}
	disp = chosen ? cx_attr(chosen, "displayName") : NULL;
	if (disp == NULL || disp[0] == '\0')
		disp = cx_attr(code, "displayName");
	if (disp != NULL && disp[0] != '\0')
		it->display = cx_dup(w, disp);
	else
		it->display = original_text(w, code);
}

/* ---------------------------------------------------------------------------------------------
 * Diagnoses
 * ------------------------------------------------------------------------------------------- */
static bool
is_diagnosis(const xmlNode *obs)
{
	const xmlNode *value = cx_child(obs, "value");
	const char *code = cx_attr(cx_child(obs, "code"), "code");
	const char *neg = cx_attr(obs, "negationInd");

	if (value == NULL || (neg != NULL && strcmp(neg, "true") == 0))
		return false;
	if (cx_has_template(obs, "2.16.840.1.113883.10.20.22.4.4") ||	/* C-CDA Problem Observation */
		cx_has_template(obs, "1.3.6.1.4.1.19376.1.5.3.1.4.5") ||	/* IHE Problem Entry */
		cx_has_template(obs, "2.16.840.1.113883.10.20.1.28"))	/* CCD 1.0 Problem Observation */
		return true;
	if (code != NULL && strcmp(code, CODE_WST500_DIAG) == 0)
		return true;
	return is_icd10(cx_attr(value, "codeSystem")) &&
		strncmp(cx_attr(value, "codeSystem"), OID_CN_ICD10, strlen(OID_CN_ICD10)) == 0;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
duplicate_diagnosis(const CdaResult *res, const CdaItem *it)
{
	for (int i = 0; i < res->nitems - 1; i++)
	{
		const CdaItem *o = &res->items[i];

		if (o->kind == CDA_DIAGNOSIS && same_str(o->code, it->code) &&
			same_str(o->code_system, it->code_system) && o->start_date == it->start_date &&
			o->end_date == it->end_date)
			return true;
	}
	return false;
}

static bool
extract_diagnosis(CdaWalk *w, const xmlNode *obs)
{
	const xmlNode *value = cx_child(obs, "value");
	const xmlNode *et = cx_child(obs, "effectiveTime");
	CdaItem    *it;

	if (!usable_code(value) && pick_translation(value, NULL, false) == NULL)
		return true;			/* a problem without any code (nullFlavor): nothing to say */
	it = cda_new_item(w, CDA_DIAGNOSIS);
	if (it == NULL)
		return false;
	cda_pick_code(w, value, it, false);
	if (et != NULL)
	{
		const char *v = cx_attr(et, "value");

		it->start_date = cda_date_from_ts(v ? v : cx_attr(cx_child(et, "low"), "value"));
		it->end_date = cda_date_from_ts(cx_attr(cx_child(et, "high"), "value"));
	}
	if (duplicate_diagnosis(w->res, it))
		w->res->nitems--;		/* the same problem listed again in another section */
	return true;
}

/* ---------------------------------------------------------------------------------------------
 * Medications
 * ------------------------------------------------------------------------------------------- */
static const xmlNode *
product_material(const xmlNode *med, bool is_supply)
{
	const xmlNode *mp = cx_child(cx_child(med, is_supply ? "product" : "consumable"), "manufacturedProduct");
	const xmlNode *m = cx_child(mp, "manufacturedMaterial");

	return m ? m : cx_child(mp, "manufacturedLabeledDrug");
}

static bool
names_a_drug(CdaWalk *w, const xmlNode *med, bool is_supply)
{
	const xmlNode *m = product_material(med, is_supply);
	const xmlNode *code;
	const xmlNode *mp;

	if (m == NULL)
		return false;
	code = cx_child(m, "code");
	mp = m->parent;
	if (cx_has_template(med, "2.16.840.1.113883.10.20.22.4.52") ||	/* Immunization Activity */
		cx_has_template(mp, "2.16.840.1.113883.10.20.22.4.54"))	/* Immunization Medication */
		return false;
	if (code != NULL && cx_attr(code, "codeSystem") != NULL &&
		strcmp(cx_attr(code, "codeSystem"), OID_CVX) == 0)
		return false;
	if (usable_code(code) || pick_translation(code, NULL, true) != NULL)
		return true;
	return cx_text(w, cx_child(m, "name")) != NULL || (code && original_text(w, code) != NULL);
}

static const char *
document_kind(const xmlNode *root)
{
	const char *code = cx_attr(cx_child(root, "code"), "code");

	if (cx_has_template(root, OID_WST500_DOC) || (code != NULL && strcmp(code, "C0004") == 0))
		return "WS/T 500";
	for (const xmlNode *c = root->children; c != NULL; c = c->next)
	{
		const char *r = cx_is(c, "templateId") ? cx_attr(c, "root") : NULL;

		if (r == NULL)
			continue;
		if (strncmp(r, "2.16.756.5.30.1.1.10", 20) == 0)
			return "CDA-CH-EMED";
		if (strncmp(r, "2.16.840.1.113883.10.20.22", 26) == 0)
			return "C-CDA";
	}
	return cx_is(root, "ClinicalDocument") ? "CDA" : "CDA fragment";
}

static bool
walk(CdaWalk *w, const xmlNode *n)
{
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
	{
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if ((cx_is(c, "substanceAdministration") || cx_is(c, "supply")) &&
			names_a_drug(w, c, cx_is(c, "supply")))
		{
			if (!cda_medication(w, c, cx_is(c, "supply")))
				return false;
			continue;
		}
		if (cx_is(c, "observation") && is_diagnosis(c))
		{
			if (!extract_diagnosis(w, c))
				return false;
			continue;
		}
		if (!walk(w, c))
			return false;
	}
	return true;
}

bool
cda_extract_tree(CdaWalk *w)
{
	const xmlNode *days;
	const xmlNode *et = cx_child(w->root, "effectiveTime");
	const xmlNode *id = cx_child(w->root, "id");
	const char *id_root = cx_attr(id, "root");
	const char *id_ext = cx_attr(id, "extension");

	w->res->document_kind = document_kind(w->root);
	if (cx_is(w->root, "ClinicalDocument") && id_root != NULL && id_root[0] != '\0' && !cx_null(id))
		w->res->document_id = (id_ext != NULL && id_ext[0] != '\0') ?
			cx_printf(w, "%s^%s", id_root, id_ext) : cx_dup(w, id_root);
	w->res->document_date = cda_date_from_ts(cx_attr(et, "value"));
	days = cx_find_observation(w->root, CODE_WST500_DAYS, true, 0);
	if (days != NULL)
	{
		w->doc_days = cx_attr(cx_child(days, "value"), "value");
		w->doc_days_unit = cx_attr(cx_child(days, "value"), "unit");
	}
	if (cx_is(w->root, "substanceAdministration") || cx_is(w->root, "supply") ||
		cx_is(w->root, "observation"))
	{
		/* a bare entry: walk it as the child of a virtual parent */
		xmlNode		parent;

		memset(&parent, 0, sizeof(parent));
		parent.children = w->root;
		return walk(w, &parent);
	}
	return walk(w, w->root);
}
