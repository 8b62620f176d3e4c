-- crm.decide_row: inputs from a row's columns, matched by name; every result must equal
-- crm.decide on the same row as JSON (to_jsonb), for every column type it converts itself.
SET client_min_messages = warning;
SELECT crm.dmn_import($doc$<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="row test" namespace="urn:crm:row">
  <inputData id="i1" name="Age"><variable name="Age" typeRef="number"/></inputData>
  <inputData id="i2" name="Channel"><variable name="Channel" typeRef="string"/></inputData>
  <inputData id="i3" name="Licensed"><variable name="Licensed" typeRef="boolean"/></inputData>
  <inputData id="i4" name="Since"><variable name="Since" typeRef="date"/></inputData>
  <inputData id="i5" name="Tags"><variable name="Tags"/></inputData>
  <decision id="d1" name="Points">
    <informationRequirement><requiredInput href="#i1"/></informationRequirement>
    <informationRequirement><requiredInput href="#i2"/></informationRequirement>
    <informationRequirement><requiredInput href="#i3"/></informationRequirement>
    <informationRequirement><requiredInput href="#i4"/></informationRequirement>
    <decisionTable hitPolicy="COLLECT" aggregation="SUM">
      <input><inputExpression typeRef="number"><text>Age</text></inputExpression></input>
      <input><inputExpression typeRef="string"><text>Channel</text></inputExpression></input>
      <input><inputExpression typeRef="boolean"><text>Licensed</text></inputExpression></input>
      <input><inputExpression typeRef="date"><text>Since</text></inputExpression></input>
      <output typeRef="number"/>
      <rule><inputEntry><text>&gt;= 18</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>1</text></outputEntry></rule>
      <rule><inputEntry><text>[30..40)</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>2</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><inputEntry><text>"web", "wechat"</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>4</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>true</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>8</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>&lt; date("2024-01-01")</text></inputEntry><outputEntry><text>16</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 60.5</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>32</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="d2" name="Tagged">
    <informationRequirement><requiredInput href="#i5"/></informationRequirement>
    <literalExpression><text>if Tags = null then "none" else string(count(Tags)) + " " + Tags[1]</text></literalExpression>
  </decision>
</definitions>$doc$::xml);
RESET client_min_messages;

CREATE TEMP TABLE row_input AS
SELECT g AS id,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g * 7) % 90 + (g % 3) * 0.25 END::numeric AS "Age",
       CASE WHEN g % 13 = 0 THEN NULL ELSE (ARRAY['web', 'wechat', 'phone', '门店'])[1 + g % 4] END AS "Channel",
       CASE WHEN g % 7 = 0 THEN NULL ELSE g % 2 = 0 END AS "Licensed",
       CASE WHEN g % 5 = 0 THEN NULL ELSE date '2023-06-01' + (g * 3) % 500 END AS "Since",
       CASE WHEN g % 6 = 0 THEN NULL ELSE (ARRAY['慢病', 'vip', 'new'])[1 + g % 3:3] END AS "Tags",
       'not an input' AS other
  FROM generate_series(1, 600) g;

-- numeric columns: same result as the JSON form, on every row; and the rules really discriminate
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Points', r)
                               IS DISTINCT FROM crm.decide('row test', 'Points', to_jsonb(r))) AS differ,
       count(DISTINCT crm.decide_row('row test', 'Points', r)) > 20 AS varied
  FROM row_input r;
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Tagged', r)
                               IS DISTINCT FROM crm.decide('row test', 'Tagged', to_jsonb(r))) AS differ,
       count(DISTINCT crm.decide_row('row test', 'Tagged', r)) AS results
  FROM row_input r;

-- the same through other types: int2, int4 (through a domain), int8, float8, varchar, jsonb
CREATE DOMAIN pg_temp.age_years AS integer CHECK (VALUE >= 0);
CREATE TEMP VIEW row_typed AS
SELECT id, "Age"::integer::pg_temp.age_years AS "Age", "Channel"::varchar(10) AS "Channel",
       "Licensed", "Since", to_jsonb("Tags") AS "Tags"
  FROM row_input;
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Points', r)
                               IS DISTINCT FROM crm.decide('row test', 'Points', to_jsonb(r))) AS differ
  FROM row_typed r;
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Tagged', r)
                               IS DISTINCT FROM crm.decide('row test', 'Tagged', to_jsonb(r))) AS differ
  FROM row_typed r;
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Points', r)
                               IS DISTINCT FROM crm.decide('row test', 'Points', to_jsonb(r))) AS differ
  FROM (SELECT id, "Age"::int2 AS "Age", "Channel", "Licensed" FROM row_input) r;
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Points', r)
                               IS DISTINCT FROM crm.decide('row test', 'Points', to_jsonb(r))) AS differ
  FROM (SELECT id, ("Age" * 1000)::int8 / 1000 AS "Age", "Age"::float8 AS unused, "Channel" FROM row_input) r;
SELECT count(*) FILTER (WHERE crm.decide_row('row test', 'Points', r)
                               IS DISTINCT FROM crm.decide('row test', 'Points', to_jsonb(r))) AS differ
  FROM (SELECT id, "Age"::float8 AS "Age" FROM row_input) r;

-- an anonymous ROW(...) needs names: without them nothing matches and every input is null
SELECT crm.decide_row('row test', 'Points', ROW(40, 'web', true));
SELECT crm.decide_row('row test', 'Points', r)
  FROM (SELECT 40 AS "Age", 'web' AS "Channel", true AS "Licensed", date '2020-02-02' AS "Since") r;

-- the column map follows the row type when it changes in the session
CREATE TEMP TABLE row_alter (id int, "Age" int);
INSERT INTO row_alter VALUES (1, 35);
SELECT crm.decide_row('row test', 'Points', r) FROM row_alter r;
ALTER TABLE row_alter ADD COLUMN "Licensed" boolean DEFAULT true;
SELECT crm.decide_row('row test', 'Points', r) FROM row_alter r;
ALTER TABLE row_alter DROP COLUMN "Age";
SELECT crm.decide_row('row test', 'Points', r) FROM row_alter r;

-- bad inputs: clear errors (a timestamptz for a date input, as its JSON text would be)
SELECT crm.decide_row('row test', 'Points', r) FROM (SELECT timestamptz '2023-01-01 08:00+08' AS "Since") r;
SELECT crm.decide_row('row test', 'Points', r) FROM (SELECT 'NaN'::float8 AS "Age") r;
SELECT crm.decide_row('row test', 'Points', r) FROM (SELECT 'forty'::text AS "Age") r;
SELECT crm.decide_row('row test', 'Tagged', r) FROM (SELECT ARRAY[[1, 2], [3, 4]] AS "Tags") r;
SELECT crm.decide_row('row test', 'Nope', r) FROM (SELECT 1 AS "Age") r;
SELECT crm.decide_row('no such model', 'Points', r) FROM (SELECT 1 AS "Age") r;
