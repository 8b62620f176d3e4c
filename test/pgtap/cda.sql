-- Clinical documents: privileges of the CDA functions and table, and the SQLSTATE of every refusal.
BEGIN;
SELECT plan(24);
\set cn_htn `cat test/data/cda/wst500_rx_hypertension.xml`
\set cn_dm `cat test/data/cda/wst500_rx_diabetes.xml`
\set qid `cat '../shared/testdata/cda/hl7-c-cda-examples/Medications/Med oral QID with PRN/Med oral QID with PRN(C-CDA2.1).xml'`

-- privileges
SELECT function_privs_are('crm', 'import_cda', ARRAY['bigint', 'xml', 'bigint'], 'crm_health_reader', ARRAY['EXECUTE'],
                          'health readers may import clinical documents');
SELECT function_privs_are('crm', 'import_cda', ARRAY['bigint', 'xml', 'bigint'], 'crm_admin', ARRAY['EXECUTE'],
                          'admins may import clinical documents');
SELECT function_privs_are('crm', 'import_cda', ARRAY['bigint', 'xml', 'bigint'], 'crm_rep', ARRAY[]::text[],
                          'reps may not import clinical documents');
SELECT function_privs_are('crm', 'import_cda', ARRAY['bigint', 'xml', 'bigint'], 'crm_bi_reader', ARRAY[]::text[],
                          'BI readers may not import clinical documents');
SELECT function_privs_are('crm', 'import_cda', ARRAY['bigint', 'xml', 'bigint'], 'public', ARRAY[]::text[],
                          'PUBLIC may not import clinical documents');
SELECT function_privs_are('crm', 'cda_extract', ARRAY['xml'], 'crm_bi_reader', ARRAY[]::text[],
                          'BI readers may not read clinical documents');
SELECT function_privs_are('crm', 'cda_extract', ARRAY['xml'], 'crm_health_reader', ARRAY['EXECUTE'],
                          'health readers may read clinical documents');
SELECT table_privs_are('crm', 'cda_import', 'crm_health_reader', ARRAY['SELECT'], 'health readers see the import log');
SELECT table_privs_are('crm', 'cda_import', 'crm_bi_reader', ARRAY[]::text[], 'BI readers do not see the import log');
SELECT table_privs_are('crm', 'cda_import', 'crm_rep', ARRAY[]::text[], 'reps do not see the import log');
SELECT volatility_is('crm', 'cda_extract', ARRAY['xml'], 'immutable', 'cda_extract depends on its document alone');

-- what is read
SELECT results_eq(pg_catalog.format('SELECT code, days_supply FROM crm.cda_extract(%L) WHERE kind = %L', :'cn_dm', 'medication'),
                  $$VALUES ('A10BA02', 14), ('A10BB12', 28), ('C10AA05', NULL::integer)$$,
                  'WS/T 500: explicit 14 days, 56 mg / 2 mg a day = 28, atorvastatin not derivable');
SELECT results_eq(pg_catalog.format('SELECT code, daily_dose FROM crm.cda_extract(%L)', :'qid'),
                  $$VALUES ('197806', 4::numeric)$$,
                  'a fragment with an undeclared xsi prefix is read (every 6 h = 4 a day)');

-- hostile and broken XML
SELECT throws_ok($$SELECT * FROM crm.cda_extract(xmlparse(DOCUMENT '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'))$$,
                 '2200M', 'clinical document declares an entity', 'external entity (XXE) refused');
SELECT throws_ok($$SELECT * FROM crm.cda_extract(xmlparse(DOCUMENT '<!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><r>&b;</r>'))$$,
                 '2200M', 'clinical document declares an entity', 'internal entities refused');
SELECT throws_ok(pg_catalog.format('SELECT * FROM crm.cda_extract(%L::xml)', repeat('<a>', 201) || repeat('</a>', 201)),
                 '2200M', 'clinical document nests elements too deeply', 'nesting deeper than 200 refused');
SELECT throws_ok($$SELECT * FROM crm.cda_extract('<a>text</a><b/>'::xml)$$,
                 '2200M', 'clinical document is not well-formed XML', 'two roots refused');
SELECT throws_ok($$SELECT * FROM crm.cda_extract(repeat('x', 16 * 1024 * 1024 + 1)::xml)$$,
                 '54000', NULL, 'more than 16 MB refused');

-- import: privileges, refusals, all or nothing
INSERT INTO crm.customer (member_no) VALUES ('TAP-CDA-1');
CREATE ROLE tap_cda_health LOGIN IN ROLE crm_health_reader;
CREATE ROLE tap_cda_rep LOGIN IN ROLE crm_rep;
SELECT customer_id AS cust FROM crm.customer WHERE member_no = 'TAP-CDA-1' \gset
SET ROLE tap_cda_rep;
SELECT throws_ok(pg_catalog.format('SELECT crm.import_cda(%s, %L)', :cust, :'cn_htn'), '42501', NULL,
                 'a rep cannot call crm.import_cda');
SET ROLE tap_cda_health;
SELECT is(crm.import_cda(:cust, :'cn_htn'), 2, 'a health reader imports the hypertension prescription');
SELECT throws_ok(pg_catalog.format('SELECT crm.import_cda(%s, %L)', :cust, :'cn_htn'), '23505', NULL,
                 'the same document is not imported twice');
SELECT throws_ok(pg_catalog.format('SELECT crm.import_cda(%s, %L)', -1, :'cn_dm'), '23503', NULL,
                 'an unknown customer is refused');
SELECT throws_ok(pg_catalog.format('SELECT crm.import_cda(%s, %L)', :cust,
                                   replace(:'cn_dm', '<code code="C10AA05" codeSystem="2.16.840.1.113883.6.73" codeSystemName="ATC" displayName="atorvastatin"/>', '')),
                 '22023', NULL, 'a line without a drug code refuses the whole document');
RESET ROLE;
SELECT is((SELECT count(*) FROM crm.dispense WHERE customer_id = :cust), 2::bigint,
          'only the successful import left dispensing lines');

SELECT * FROM finish();
ROLLBACK;
