-- DMN XML: import (older namespaces, prefixed elements), export, re-import as a new version,
-- hostile and malformed documents.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- a DMN 1.1 document with prefixed elements
SELECT crm.dmn_import($$<dmn:definitions xmlns:dmn="http://www.omg.org/spec/DMN/20151101/dmn.xsd"
    id="shipping" name="shipping" namespace="https://example.com/shipping">
  <dmn:inputData id="i_weight" name="Weight"><dmn:variable name="Weight" typeRef="number"/></dmn:inputData>
  <dmn:inputData id="i_zone" name="Zone"><dmn:variable name="Zone" typeRef="string"/></dmn:inputData>
  <dmn:decision id="d_fee" name="Fee">
    <dmn:variable name="Fee" typeRef="number"/>
    <dmn:informationRequirement><dmn:requiredInput href="#i_weight"/></dmn:informationRequirement>
    <dmn:informationRequirement><dmn:requiredInput href="#i_zone"/></dmn:informationRequirement>
    <dmn:decisionTable hitPolicy="FIRST">
      <dmn:input id="c_w" label="Weight"><dmn:inputExpression typeRef="number"><dmn:text>Weight</dmn:text></dmn:inputExpression></dmn:input>
      <dmn:input id="c_z" label="Zone"><dmn:inputExpression typeRef="string"><dmn:text>Zone</dmn:text></dmn:inputExpression></dmn:input>
      <dmn:output id="c_fee" name="fee" typeRef="number"/>
      <dmn:rule id="r1"><dmn:description>free for light parcels in town</dmn:description>
        <dmn:inputEntry><dmn:text>&lt;= 1</dmn:text></dmn:inputEntry><dmn:inputEntry><dmn:text>"city"</dmn:text></dmn:inputEntry>
        <dmn:outputEntry><dmn:text>0</dmn:text></dmn:outputEntry></dmn:rule>
      <dmn:rule id="r2">
        <dmn:inputEntry><dmn:text>-</dmn:text></dmn:inputEntry><dmn:inputEntry><dmn:text>"city"</dmn:text></dmn:inputEntry>
        <dmn:outputEntry><dmn:text>Weight * 1.5</dmn:text></dmn:outputEntry></dmn:rule>
      <dmn:rule id="r3">
        <dmn:inputEntry><dmn:text>-</dmn:text></dmn:inputEntry><dmn:inputEntry><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:outputEntry><dmn:text>8 + Weight * 2.25</dmn:text></dmn:outputEntry></dmn:rule>
    </dmn:decisionTable>
  </dmn:decision>
</dmn:definitions>$$) AS imported;

SELECT name, version, is_current, origin, dmn_version FROM crm.dmn_model WHERE name IN ('policies', 'loan', 'shipping') ORDER BY model_id;
SELECT position, input_entries, output_entries, annotation FROM crm.dmn_rule WHERE model_id = crm.dmn_model_id('shipping') ORDER BY position;
SELECT crm.decide('shipping', 'Fee', '{"Weight": 0.5, "Zone": "city"}') AS light_city,
       crm.decide('shipping', 'Fee', '{"Weight": 3, "Zone": "city"}') AS heavy_city,
       crm.decide('shipping', 'd_fee', '{"Weight": 3, "Zone": "rural"}') AS by_id;

-- export is DMN 1.5 and re-imports as version 2 with exactly the same content
SELECT xpath_exists('/dmn:definitions[@name="shipping"]/dmn:decision/dmn:decisionTable[@hitPolicy="FIRST"]',
                    crm.dmn_export('shipping'), ARRAY[ARRAY['dmn', 'https://www.omg.org/spec/DMN/20230324/MODEL/']]) AS dmn15;
SELECT crm.dmn_import(crm.dmn_export('shipping')) AS reimported;
SELECT version, is_current FROM crm.dmn_model WHERE name = 'shipping' ORDER BY version;
SELECT crm.dmn_model_json('shipping', 1) = crm.dmn_model_json('shipping', 2) AS same_rows,
       crm.dmn_export('shipping', 1)::text = crm.dmn_export('shipping', 2)::text AS same_document;
SELECT crm.dmn_export('shipping', 7);
SELECT crm.dmn_export('nothing');

-- an SQL-authored model exports and imports too
BEGIN;
SELECT crm.dmn_create_model('tiny') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position, type_ref) VALUES (:m, 'n', 1, 'number');
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy) VALUES (:m, 'sign', 1, 'UNIQUE');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position) VALUES (crm.dmn_decision_id('tiny', 'sign'), 'input', 'n', 1);
INSERT INTO crm.dmn_input (decision_id, position, expr) VALUES (crm.dmn_decision_id('tiny', 'sign'), 1, 'n');
INSERT INTO crm.dmn_output (decision_id, position, type_ref) VALUES (crm.dmn_decision_id('tiny', 'sign'), 1, 'string');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation) VALUES
    (crm.dmn_decision_id('tiny', 'sign'), 1, ARRAY['< 0'], ARRAY['"-"'], 'negative'),
    (crm.dmn_decision_id('tiny', 'sign'), 2, ARRAY['>= 0'], ARRAY['"+"'], 'not negative');
COMMIT;
SELECT crm.dmn_import(crm.dmn_export('tiny')) AS reimported_sql_model;
SELECT crm.decide('tiny', 'sign', '{"n": -2}') AS minus, crm.dmn_model_json('tiny', 1) = crm.dmn_model_json('tiny', 2) AS same_rows;

-- ---------------------------------------------------------------------------------------------
-- Refused documents leave nothing behind
-- ---------------------------------------------------------------------------------------------
SELECT count(*) AS models_before FROM crm.dmn_model \gset
-- not DMN at all
SELECT crm.dmn_import('<html><body/></html>');
-- no name
SELECT crm.dmn_import('<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" namespace="x"/>');
-- a bad FEEL cell: the error names the decision, the rule and the column
SELECT crm.dmn_import($$<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="bad cell" namespace="x">
  <inputData id="a" name="A"><variable name="A" typeRef="number"/></inputData>
  <decision id="d" name="Check"><informationRequirement><requiredInput href="#a"/></informationRequirement>
    <decisionTable><input label="A column"><inputExpression><text>A</text></inputExpression></input><output name="o"/>
      <rule><inputEntry><text>&gt; 1</text></inputEntry><outputEntry><text>1</text></outputEntry></rule>
      <rule><inputEntry><text>[1..</text></inputEntry><outputEntry><text>2</text></outputEntry></rule>
    </decisionTable></decision></definitions>$$);
-- a requirement cycle
SELECT crm.dmn_import($$<definitions xmlns="https://www.omg.org/spec/DMN/20180521/MODEL/" name="cycle" namespace="x">
  <decision id="a" name="A"><informationRequirement><requiredDecision href="#b"/></informationRequirement><literalExpression><text>B + 1</text></literalExpression></decision>
  <decision id="b" name="B"><informationRequirement><requiredDecision href="#a"/></informationRequirement><literalExpression><text>A + 1</text></literalExpression></decision>
</definitions>$$);
-- Hostile documents. The xml type itself parses its input (PostgreSQL refuses external entities,
-- detects entity bombs and limits depth), so most never reach the importer; those that do are read
-- without entity expansion, DTD loading or network access.
CREATE FUNCTION pg_temp.try_import(label text, doc text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    RETURN label || ': imported ' || crm.dmn_import(XMLPARSE(DOCUMENT doc));
EXCEPTION WHEN OTHERS THEN
    RETURN label || ': refused, SQLSTATE ' || SQLSTATE || ', ' || split_part(SQLERRM, E'\n', 1);
END
$f$;
SELECT pg_temp.try_import('external entity (XXE)',
    '<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    || '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="xxe" namespace="x">'
    || '<inputData id="i" name="&xxe;"/></definitions>') AS result
UNION ALL
SELECT pg_temp.try_import('internal entity',
    '<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY n "Age">]>'
    || '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="entity" namespace="x">'
    || '<inputData id="i" name="&n;"/></definitions>')
UNION ALL
SELECT pg_temp.try_import('billion laughs',
    '<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY a "aaaaaaaaaa">'
    || '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    || '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    || '<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">'
    || '<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>'
    || '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="lol" namespace="x">'
    || '<inputData id="i" name="&i;"/></definitions>')
UNION ALL
SELECT pg_temp.try_import('10 MB of nesting',
    '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="deep" namespace="x">'
    || repeat('<extensionElements>', 250000) || repeat('</extensionElements>', 250000) || '</definitions>')
UNION ALL
SELECT pg_temp.try_import('200 levels of nesting',
    '<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="deep200" namespace="x">'
    || repeat('<extensionElements>', 200) || repeat('</extensionElements>', 200) || '</definitions>');
SELECT count(*) AS leaked_files FROM crm.dmn_input_data WHERE name LIKE '%root:%';
-- truncated document
SELECT crm.dmn_import('<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="cut"><decision');
SELECT count(*) - :models_before AS models_added, (SELECT count(*) FROM crm.dmn_model WHERE name IN ('bad cell', 'cycle', 'xxe', 'lol', 'deep', 'cut')) AS refused_models_stored
  FROM crm.dmn_model;
