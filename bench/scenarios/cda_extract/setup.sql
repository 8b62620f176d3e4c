-- :scale medication documents, deterministic: three RxNorm lines each with timing and a dispense.
CREATE TABLE bench_doc (id integer PRIMARY KEY, doc xml NOT NULL);
INSERT INTO bench_doc
SELECT g, pg_catalog.format(
  '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
  '<templateId root="2.16.840.1.113883.10.20.22.1.2"/><id root="2.16.840.1.113883.19" extension="D%1$s"/>'
  '<effectiveTime value="20260%2$s15"/><component><structuredBody>'
  '<component><section><code code="10160-0" codeSystem="2.16.840.1.113883.6.1"/>%3$s%4$s%5$s</section></component>'
  '<component><section><code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/><entry><act><entryRelationship>'
  '<observation classCode="OBS" moodCode="EVN"><templateId root="2.16.840.1.113883.10.20.22.4.4"/>'
  '<effectiveTime><low value="20250101"/></effectiveTime>'
  '<value xsi:type="CD" code="38341003" codeSystem="2.16.840.1.113883.6.96" displayName="Hypertension">'
  '<translation code="I10" codeSystem="2.16.840.1.113883.6.90"/></value></observation>'
  '</entryRelationship></act></entry></section></component></structuredBody></component></ClinicalDocument>',
  g, 1 + g % 9,
  pg_catalog.format(e.tpl, '197380', 'atenolol 25 MG Oral Tablet', 'C07AB03', 12, 1, 30 + g % 60),
  pg_catalog.format(e.tpl, '314076', 'lisinopril 10 MG Oral Tablet', 'C09AA03', 24, 1, 28 + g % 30),
  pg_catalog.format(e.tpl, '861004', 'metformin 500 MG Oral Tablet', 'A10BA02', 8, 2, 90 + g % 90))::xml
  FROM generate_series(1, :scale) g,
       (SELECT '<entry><substanceAdministration classCode="SBADM" moodCode="EVN">'
               '<templateId root="2.16.840.1.113883.10.20.22.4.16"/>'
               '<effectiveTime xsi:type="IVL_TS"><low value="20260101"/></effectiveTime>'
               '<effectiveTime xsi:type="PIVL_TS" institutionSpecified="true" operator="A"><period value="%4$s" unit="h"/></effectiveTime>'
               '<doseQuantity value="%5$s"/><consumable><manufacturedProduct><manufacturedMaterial>'
               '<code code="%1$s" codeSystem="2.16.840.1.113883.6.88" displayName="%2$s">'
               '<translation code="%3$s" codeSystem="2.16.840.1.113883.6.73"/></code>'
               '</manufacturedMaterial></manufacturedProduct></consumable>'
               '<entryRelationship typeCode="REFR"><supply classCode="SPLY" moodCode="EVN">'
               '<effectiveTime value="20260102"/><quantity value="%6$s"/></supply></entryRelationship>'
               '</substanceAdministration></entry>' AS tpl) e;
ANALYZE bench_doc;
