-- Clinical documents: crm.cda_extract over the shared HL7 samples and the project's WS/T 500
-- prescriptions, hostile XML, crm.import_cda (privileges, all-or-nothing).
-- Every expected days supply below is worked out by hand in a comment.
\set VERBOSITY default
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

\set ccd `cat '../shared/testdata/cda/hl7-c-cda-examples/Documents/CCD/CCD 1/CCD.XML'`
\set qid `cat '../shared/testdata/cda/hl7-c-cda-examples/Medications/Med oral QID with PRN/Med oral QID with PRN(C-CDA2.1).xml'`
\set abx `cat '../shared/testdata/cda/hl7-c-cda-examples/Medications/Withdrawn Anitbiotics with varied dosing/Withdrawn Antibiotics with varied dosing(C-CDA2.1).xml'`
\set problems `cat '../shared/testdata/cda/hl7-c-cda-examples/Problems/Problem Value, Translation, Qualifier examples/Problem List with different translation and qualifier usages(C-CDA2.1).xml'`
\set ch_rx `cat '../shared/testdata/cda/hl7ch-cda-fhir-maps/input/cda-ch-emed/2-6-MedicationPrescription.xml'`
\set ch_card `cat '../shared/testdata/cda/hl7ch-cda-fhir-maps/input/cda-ch-emed/2-7-MedicationCard.xml'`
\set ch_dis `cat '../shared/testdata/cda/hl7ch-cda-fhir-maps/input/cda-ch-emed/1-2-MedicationDispense.xml'`
\set cn_htn `cat test/data/cda/wst500_rx_hypertension.xml`
\set cn_dm `cat test/data/cda/wst500_rx_diabetes.xml`

-- C-CDA CCD. Albuterol: 2 puffs every 6 h = 8 a day; dispensed 75 -> floor(75 / 8) = 9 days.
-- Atenolol: 1 tablet every 12 h, no supply and an open interval -> no days supply.
SELECT code, code_system_name, display, start_date, supplied_on, dose_value, daily_dose, quantity,
       days_supply, days_supply_source, days_supply_note
  FROM crm.cda_extract(:'ccd') WHERE kind = 'medication';
SELECT code, code_system_name, display, start_date, end_date, document_kind, document_date
  FROM crm.cda_extract(:'ccd') WHERE kind = 'diagnosis';

-- A section fragment using xsi: without declaring it; the RxNorm code keeps its NDC translation.
SELECT code, display, alt_code, alt_code_system, route, daily_dose, days_supply, days_supply_note,
       document_kind
  FROM crm.cda_extract(:'qid');
-- Azithromycin 2 tablets on 2014-03-10, then 1 a day 2014-03-11..14: intervals of 1 and 4 days.
SELECT start_date, end_date, dose_value, days_supply, days_supply_source FROM crm.cda_extract(:'abx');
-- Problem in SNOMED CT with an ICD-10-CM translation.
SELECT kind, code, code_system_name, display, alt_code, alt_code_system, start_date
  FROM crm.cda_extract(:'problems');

-- CDA-CH-EMED (pharm: namespace, GTIN). Prescription: 1 package of 30 tablets, 1 tablet at
-- breakfast and 1 at dinner (SXPR_TS of two EIVL_TS) -> 30 / 2 = 15 days.
SELECT code, code_system_name, display, dose_value, dose_unit, quantity, daily_dose, days_supply,
       days_supply_note FROM crm.cda_extract(:'ch_rx');
-- Medication card: Beloc 1 tablet at breakfast + 0.5 at dinner (nested dosage entries) = 1.5 a
-- day; no quantity, open interval -> no days supply.
SELECT code, display, start_date, daily_dose, days_supply, days_supply_note FROM crm.cda_extract(:'ch_card');
-- Dispense: 1 package of 20, 0.5 tablet at breakfast (nested dosage) -> 20 / 0.5 = 40 days.
SELECT code, display, start_date, route, quantity, daily_dose, days_supply, days_supply_source,
       days_supply_note, document_kind FROM crm.cda_extract(:'ch_dis');

-- WS/T 500 西药处方: the document-level 处方有效天数 (30 天) for both lines; amlodipine's ATC
-- code only in a translation of a nullFlavor code.
SELECT kind, code, code_system, code_system_name, display, dose_value, dose_unit, route, days_supply,
       days_supply_source, days_supply_note, document_kind, document_date
  FROM crm.cda_extract(:'cn_htn');
-- Metformin: its own 处方有效天数 14 天. Glimepiride: no explicit days; total 56 mg / (2 mg once a
-- day) = 28 days. Atorvastatin: nothing to derive from.
SELECT kind, code, display, daily_dose, quantity, quantity_unit, days_supply, days_supply_source,
       days_supply_note FROM crm.cda_extract(:'cn_dm');

-- Hostile and broken XML is refused with SQLSTATE 2200M. (The xml type's own input already refuses
-- the amplifying entities below; test/unit/test_cda.c feeds a full billion laughs to the reader.)
SET xmloption = document;
SELECT pg_temp.error_of($q$SELECT * FROM crm.cda_extract('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')$q$) AS xxe;
SELECT pg_temp.error_of($q$SELECT * FROM crm.cda_extract('<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><r>&c;</r>')$q$) AS laughs;
SELECT pg_temp.error_of($q$SELECT * FROM crm.cda_extract('<!DOCTYPE r [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]><r/>')$q$) AS parameter_entity;
SELECT pg_temp.error_of(pg_catalog.format('SELECT * FROM crm.cda_extract(%L)',
       '<r>' || repeat('<x>', 220) || repeat('</x>', 220) || '</r>')) AS deep;
RESET xmloption;
SELECT pg_temp.error_of($q$SELECT * FROM crm.cda_extract('plain text, not a document')$q$) AS not_xml;
-- the hint and detail a user sees
SELECT * FROM crm.cda_extract('<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>');
-- a document without medications or diagnoses gives no rows
SELECT count(*) FROM crm.cda_extract('<ClinicalDocument xmlns="urn:hl7-org:v3"/>');

-- crm.import_cda: only crm_health_reader and crm_admin may call it
SELECT p.proname, pg_catalog.has_function_privilege('crm_rep', p.oid, 'EXECUTE') AS rep,
       pg_catalog.has_function_privilege('crm_bi_reader', p.oid, 'EXECUTE') AS bi,
       pg_catalog.has_function_privilege('crm_manager', p.oid, 'EXECUTE') AS manager,
       pg_catalog.has_function_privilege('crm_health_reader', p.oid, 'EXECUTE') AS health,
       pg_catalog.has_function_privilege('crm_admin', p.oid, 'EXECUTE') AS admin,
       p.provolatile, p.proparallel, p.prosecdef
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'crm'::regnamespace AND p.proname IN ('import_cda', 'cda_extract')
 ORDER BY 1;

INSERT INTO crm.store (code, name, city) VALUES ('SH-CDA-01', '上海测试门店', '上海');
INSERT INTO crm.customer (member_no, display_name) VALUES ('CDA-0001', '李女士'), ('CDA-0002', '王先生');
CREATE ROLE cda_pharmacist LOGIN IN ROLE crm_health_reader;
CREATE ROLE cda_rep LOGIN IN ROLE crm_rep;
SELECT customer_id AS li FROM crm.customer WHERE member_no = 'CDA-0001' \gset
SELECT customer_id AS wang FROM crm.customer WHERE member_no = 'CDA-0002' \gset
SELECT store_id AS store FROM crm.store WHERE code = 'SH-CDA-01' \gset

SET ROLE cda_rep;
SELECT pg_temp.error_of($q$SELECT crm.import_cda(1, '<r/>')$q$) AS rep_may_not_import;
RESET ROLE;

SET ROLE cda_pharmacist;
SELECT crm.import_cda(:li, :'cn_htn', :store) AS loaded;
-- the same document again (its ClinicalDocument/id) is refused
SELECT crm.import_cda(:li, :'cn_htn', :store) AS loaded;
SELECT document_id, document_kind, document_date, customer_id = :li AS for_li, store_id = :store AS at_store,
       lines, imported_by FROM crm.cda_import;
RESET ROLE;
SELECT c.member_no, s.code AS store, d.drug_code, d.code_system, d.atc_code, d.drug_name, d.quantity,
       d.days_supply, d.dispensed_at AT TIME ZONE 'Asia/Shanghai' AS dispensed_cst, d.source
  FROM crm.dispense d JOIN crm.customer c USING (tenant_id, customer_id)
  LEFT JOIN crm.store s USING (tenant_id, store_id)
 ORDER BY d.dispense_id;

-- All or nothing: the atorvastatin line has no code here, so not even the coded line is loaded.
SELECT count(*) AS before FROM crm.dispense \gset
\set bad `sed -e 's|<code code="C10AA05"[^>]*/>|<code nullFlavor="UNK"/>|' test/data/cda/wst500_rx_diabetes.xml`
SET ROLE cda_pharmacist;
SELECT crm.import_cda(:wang, :'bad');
SELECT crm.import_cda(999999, :'cn_dm');
SELECT crm.import_cda(:wang, :'cn_dm', 999999);
SELECT pg_temp.error_of(pg_catalog.format('SELECT crm.import_cda(%s, %L)', :wang, '<r><x></r>')) AS broken;
-- the code system OID says ATC but the code is not one
SELECT crm.import_cda(:wang, replace(:'cn_dm', 'A10BB12', 'GLIM-2MG')::xml);
RESET ROLE;
SELECT count(*) - :before AS added_by_failed_calls FROM crm.dispense;

-- (imports of GTIN and RxNorm coded lines: sql/cda_import_codes.sql)

-- the tenant is the caller's: a role registered only for tenant 2 cannot import into tenant 1
INSERT INTO crm.tenant_member VALUES (1, 'crm_admin'), (2, 'cda_pharmacist');
SET ROLE cda_pharmacist;
SET crm.tenant_id = 1;
SELECT pg_temp.error_of(pg_catalog.format('SELECT crm.import_cda(%s, %L)', :wang, :'cn_dm')) AS other_tenant;
SET crm.tenant_id = 2;
SELECT pg_temp.error_of(pg_catalog.format('SELECT crm.import_cda(%s, %L)', :wang, :'cn_dm')) AS customer_of_tenant_1;
RESET crm.tenant_id;
RESET ROLE;
SELECT count(*) - :before AS added_by_failed_calls FROM crm.dispense;
DELETE FROM crm.tenant_member;
DROP ROLE cda_pharmacist;
DROP ROLE cda_rep;
