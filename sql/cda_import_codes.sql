-- crm.import_cda with drug codes other than ATC: GTIN (CDA-CH-EMED dispense) and RxNorm (C-CDA CCD).
\set VERBOSITY default
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set ccd `cat '../shared/testdata/cda/hl7-c-cda-examples/Documents/CCD/CCD 1/CCD.XML'`
\set ch_dis `cat '../shared/testdata/cda/hl7ch-cda-fhir-maps/input/cda-ch-emed/1-2-MedicationDispense.xml'`
INSERT INTO crm.customer (member_no, display_name) VALUES ('CDA-0101', '赵女士');
SELECT customer_id AS zhao FROM crm.customer WHERE member_no = 'CDA-0101' \gset
-- the chain maps the GTIN and RxNorm codes it knows to ATC (crm.drug_code_map, the health feature's table)
INSERT INTO crm.drug_code_map (code_system, code, atc_code, drug_name) VALUES
    ('gtin', '7680538751228', 'C09AA05', 'ramipril 2.5 mg'),
    ('rxnorm', '573621', 'R03AC02', 'salbutamol inhaler'),
    ('rxnorm', '197380', 'C07AB03', 'atenolol 25 mg');
CREATE ROLE cda_importer LOGIN IN ROLE crm_health_reader;
SET ROLE cda_importer;
-- TRIATEC: 1 package of 20, 0.5 tablet a day -> 40 days; no dispense date, so the start date
-- (2011-11-29). CCD: albuterol dispensed 2012-08-15, 75 / 8 a day -> 9 days; atenolol has no
-- quantity and no days supply, dated by its start (2012-03-18). ATC codes come from the map; the
-- names stay the document's.
SELECT crm.import_cda(:zhao, :'ch_dis') AS loaded;
SELECT crm.import_cda(:zhao, :'ccd') AS loaded;
SELECT d.drug_code, d.code_system, d.atc_code, d.drug_name, d.quantity, d.days_supply,
       d.dispensed_at AT TIME ZONE 'Asia/Shanghai' AS dispensed_cst, d.source
  FROM crm.dispense d WHERE d.customer_id = :zhao ORDER BY d.dispense_id;
RESET ROLE;
DROP ROLE cda_importer;
