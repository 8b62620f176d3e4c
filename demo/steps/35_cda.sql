-- Clinical documents: a community clinic sends two WS/T 500 prescriptions (西药处方) for loyalty
-- members 12 and 31; the pharmacist imports them, and the lines join the members'
-- dispensing history with their days supply.
\echo
\echo '================ 3.5 Clinical documents: WS/T 500 prescriptions from a clinic ================'
\set htn `cat test/data/cda/wst500_rx_hypertension.xml`
\set dm `cat test/data/cda/wst500_rx_diabetes.xml`

\echo 'What the reader finds in the diabetes prescription (crm.cda_extract):'
SELECT kind AS "类别", code AS "编码", display AS "名称", dose_value || coalesce(dose_unit, '') AS "单次剂量",
       daily_dose AS "日剂量", days_supply AS "用药天数", days_supply_source AS "天数来源",
       days_supply_note AS "推导"
  FROM crm.cda_extract(:'dm');

SELECT crm.import_cda(12, :'htn',
                      (SELECT home_store_id FROM crm.customer WHERE customer_id = 12)) AS "高血压处方导入行数";
-- atorvastatin has no derivable days supply: it is loaded as a dispense without one
SELECT crm.import_cda(31, :'dm',
                      (SELECT home_store_id FROM crm.customer WHERE customer_id = 31)) AS "糖尿病处方导入行数";

\echo 'Imported clinical documents (crm.cda_import) and the dispensing lines they created:'
SELECT i.document_id AS "文档", i.document_kind AS "类型", i.document_date AS "日期", c.member_no AS "会员",
       i.lines AS "行数"
  FROM crm.cda_import i JOIN crm.customer c USING (tenant_id, customer_id) ORDER BY i.cda_import_id;
SELECT c.member_no AS "会员", d.drug_code AS "药品", d.atc_code AS "ATC", d.drug_name AS "名称",
       d.days_supply AS "天数", (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date AS "日期"
  FROM crm.dispense d JOIN crm.customer c USING (tenant_id, customer_id)
 WHERE d.source = 'cda' ORDER BY d.dispense_id;

\echo 'The imported lines feed the members'' health profiles at once (conditions inferred from ATC):'
SELECT c.member_no AS "会员", p.conditions AS "慢病", p.lines AS "购药行数", p.last_purchase AS "最近购药"
  FROM crm.health_profile p JOIN crm.customer c USING (tenant_id, customer_id)
 WHERE p.customer_id IN (12, 31) ORDER BY p.customer_id;

\echo 'Hostile XML is refused (an external entity):'
\set ON_ERROR_STOP 0
SELECT * FROM crm.cda_extract(xmlparse(DOCUMENT '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'));
\set ON_ERROR_STOP 1
