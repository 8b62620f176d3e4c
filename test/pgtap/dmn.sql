-- Decision engine through SQL: hit policies, null semantics, errors with SQLSTATEs, authoring,
-- versions, tenants and privileges.
BEGIN;
SELECT plan(50);

SELECT lives_ok($i$SELECT crm.dmn_import($$<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="tap" namespace="https://example.com/tap">
  <inputData id="i_n" name="n"><variable name="n" typeRef="number"/></inputData>
  <inputData id="i_c" name="colour"><variable name="colour" typeRef="string"/></inputData>
  <inputData id="i_d" name="day"><variable name="day" typeRef="date"/></inputData>
  <decision id="d_u" name="unique"><informationRequirement><requiredInput href="#i_n"/></informationRequirement>
    <decisionTable hitPolicy="UNIQUE"><input><inputExpression typeRef="number"><text>n</text></inputExpression></input><output typeRef="string"/>
      <rule><inputEntry><text>&lt; 0</text></inputEntry><outputEntry><text>"negative"</text></outputEntry></rule>
      <rule><inputEntry><text>[0..10)</text></inputEntry><outputEntry><text>"small"</text></outputEntry></rule>
      <rule><inputEntry><text>[5..20]</text></inputEntry><outputEntry><text>"overlap"</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_p" name="priority"><informationRequirement><requiredInput href="#i_n"/></informationRequirement>
    <decisionTable hitPolicy="PRIORITY"><input><inputExpression typeRef="number"><text>n</text></inputExpression></input>
      <output typeRef="string"><outputValues><text>"gold","silver","bronze"</text></outputValues></output>
      <rule><inputEntry><text>&gt; 0</text></inputEntry><outputEntry><text>"bronze"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 100</text></inputEntry><outputEntry><text>"gold"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 10</text></inputEntry><outputEntry><text>"silver"</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_o" name="output order"><informationRequirement><requiredInput href="#i_n"/></informationRequirement>
    <decisionTable hitPolicy="OUTPUT ORDER"><input><inputExpression typeRef="number"><text>n</text></inputExpression></input>
      <output typeRef="string"><outputValues><text>"gold","silver","bronze"</text></outputValues></output>
      <rule><inputEntry><text>&gt; 0</text></inputEntry><outputEntry><text>"bronze"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 100</text></inputEntry><outputEntry><text>"gold"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 10</text></inputEntry><outputEntry><text>"silver"</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_r" name="rule order"><informationRequirement><requiredInput href="#i_n"/></informationRequirement>
    <decisionTable hitPolicy="RULE ORDER"><input><inputExpression typeRef="number"><text>n</text></inputExpression></input>
      <output typeRef="string"/>
      <rule><inputEntry><text>&gt; 0</text></inputEntry><outputEntry><text>"bronze"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 100</text></inputEntry><outputEntry><text>"gold"</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 10</text></inputEntry><outputEntry><text>"silver"</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_a" name="any"><informationRequirement><requiredInput href="#i_c"/></informationRequirement>
    <decisionTable hitPolicy="ANY"><input><inputExpression typeRef="string"><text>colour</text></inputExpression></input>
      <output typeRef="boolean"/>
      <rule><inputEntry><text>"red","green"</text></inputEntry><outputEntry><text>true</text></outputEntry></rule>
      <rule><inputEntry><text>not("blue")</text></inputEntry><outputEntry><text>true</text></outputEntry></rule>
      <rule><inputEntry><text>"green"</text></inputEntry><outputEntry><text>false</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_f" name="first"><informationRequirement><requiredInput href="#i_c"/></informationRequirement>
    <decisionTable hitPolicy="FIRST"><input><inputExpression typeRef="string"><text>colour</text></inputExpression></input>
      <output name="code" typeRef="number"/><output name="label" typeRef="string"/>
      <rule><inputEntry><text>null</text></inputEntry><outputEntry><text>0</text></outputEntry><outputEntry><text>"unknown"</text></outputEntry></rule>
      <rule><inputEntry><text>starts with(?, "r")</text></inputEntry><outputEntry><text>1</text></outputEntry><outputEntry><text>upper case(colour)</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><outputEntry><text>2</text></outputEntry><outputEntry><text>"other"</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_c" name="collect"><informationRequirement><requiredInput href="#i_n"/></informationRequirement>
    <decisionTable hitPolicy="COLLECT"><input><inputExpression typeRef="number"><text>n</text></inputExpression></input>
      <output typeRef="number"/>
      <rule><inputEntry><text>&gt; 0</text></inputEntry><outputEntry><text>n * 2</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 1</text></inputEntry><outputEntry><text>n / 4</text></outputEntry></rule>
      <rule><inputEntry><text>-</text></inputEntry><outputEntry><text>1</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_s" name="sum"><informationRequirement><requiredInput href="#i_n"/></informationRequirement>
    <decisionTable hitPolicy="COLLECT" aggregation="SUM"><input><inputExpression typeRef="number"><text>n</text></inputExpression></input>
      <output typeRef="number"/>
      <rule><inputEntry><text>&gt; 0</text></inputEntry><outputEntry><text>0.1</text></outputEntry></rule>
      <rule><inputEntry><text>&gt; 1</text></inputEntry><outputEntry><text>0.2</text></outputEntry></rule>
    </decisionTable></decision>
  <decision id="d_day" name="weekday"><informationRequirement><requiredInput href="#i_d"/></informationRequirement>
    <literalExpression><text>day + duration("P1D")</text></literalExpression></decision>
</definitions>$$)$i$, 'a DMN 1.3 document with every hit policy imports');

-- hit policies
SELECT is(crm.decide('tap', 'unique', '{"n": -1}'), '"negative"', 'UNIQUE: the one matching rule');
SELECT throws_ok($$SELECT crm.decide('tap', 'unique', '{"n": 7}')$$, '22000', NULL, 'UNIQUE: two matching rules are an error (22000)');
SELECT is(crm.decide('tap', 'unique', '{"n": 50}'), 'null', 'UNIQUE: no match is null');
SELECT is(crm.decide('tap', 'priority', '{"n": 150}'), '"gold"', 'PRIORITY: the highest output value wins');
SELECT is(crm.decide('tap', 'priority', '{"n": 50}'), '"silver"', 'PRIORITY: among the matching rules');
SELECT is(crm.decide('tap', 'output order', '{"n": 150}'), '["gold", "silver", "bronze"]', 'OUTPUT ORDER: a list by priority');
SELECT is(crm.decide('tap', 'rule order', '{"n": 150}'), '["bronze", "gold", "silver"]', 'RULE ORDER: a list in rule order');
SELECT is(crm.decide('tap', 'rule order', '{"n": -5}'), 'null', 'RULE ORDER: no match is null');
SELECT is(crm.decide('tap', 'any', '{"colour": "red"}'), 'true', 'ANY: matching rules agree');
SELECT throws_ok($$SELECT crm.decide('tap', 'any', '{"colour": "green"}')$$, '22000', NULL, 'ANY: disagreeing rules are an error (22000)');
SELECT is(crm.decide('tap', 'first', '{"colour": "rose"}'), '{"code": 1, "label": "ROSE"}', 'FIRST with two outputs: an object');
SELECT is(crm.decide('tap', 'first', '{"colour": "blue"}'), '{"code": 2, "label": "other"}', 'FIRST: the first match only');
SELECT is(crm.decide('tap', 'collect', '{"n": 3}'), '[6, 0.75, 1]', 'COLLECT: every output in rule order, exact decimals');
SELECT is(crm.decide('tap', 'sum', '{"n": 3}'), '0.3', 'COLLECT SUM: decimal arithmetic (0.1 + 0.2 = 0.3)');
SELECT is(crm.decide('tap', 'sum', '{"n": -3}'), 'null', 'COLLECT SUM: no match is null');
SELECT is(crm.decide('tap', 'weekday', '{"day": "2026-02-28"}'), '"2026-03-01"', 'dates in and out as ISO text');

-- null semantics
SELECT is(crm.decide_row('tap', 'first', r), crm.decide('tap', 'first', to_jsonb(r)), 'decide_row: the same result as decide on the row as JSON')
  FROM (SELECT 'rose'::text AS colour, 3 AS n) r;
SELECT is(crm.decide_row('tap', 'sum', r), '0.3', 'decide_row: an integer column feeds a number input')
  FROM (SELECT 3 AS n) r;
SELECT function_privs_are('crm', 'decide_row', ARRAY['text', 'text', 'record'], 'crm_rep', ARRAY['EXECUTE'],
                          'crm_rep may call crm.decide_row');
SELECT ok(NOT has_function_privilege('public', 'crm.decide_row(text, text, record)', 'EXECUTE'),
          'PUBLIC may not call crm.decide_row');
SELECT is(crm.decide('tap', 'first', '{"colour": null}'), '{"code": 0, "label": "unknown"}', 'a null input matches the null test');
SELECT is(crm.decide('tap', 'first', '{}'), '{"code": 0, "label": "unknown"}', 'a missing input is null');
SELECT is(crm.decide('tap', 'collect', '{"n": null}'), '[1]', 'a null input fails comparisons, matches "-"');
SELECT is(crm.decide('tap', 'unique', '{"n": null}'), 'null', 'null is not < 0 and not in a range');

-- errors carry SQLSTATEs
SELECT throws_ok($$SELECT crm.decide('missing', 'x', '{}')$$, '42704', 'decision model "missing" does not exist', 'unknown model: 42704');
SELECT throws_ok($$SELECT crm.decide('tap', 'missing', '{}')$$, '42704', NULL, 'unknown decision: 42704');
SELECT throws_ok($$SELECT crm.decide('tap', 'unique', '"n"')$$, '22023', NULL, 'inputs must be an object: 22023');
SELECT throws_ok($$SELECT crm.decide('tap', 'weekday', '{"day": "someday"}')$$, '42804', NULL, 'an input of the wrong type: 42804');
SELECT throws_ok($$SELECT crm.dmn_import('<x/>')$$, '2200M', NULL, 'not a DMN document: 2200M');
SELECT throws_ok($$SELECT crm.dmn_export('missing')$$, '42704', NULL, 'export of an unknown model: 42704');
SELECT throws_ok($$SELECT crm.dmn_export('tap', 9)$$, '42704', NULL, 'export of an unknown version: 42704');
SELECT throws_ok($$SELECT crm.dmn_new_version('missing')$$, '42704', NULL, 'new version of an unknown model: 42704');
SELECT throws_ok($$SELECT crm.dmn_create_model('')$$, '22023', NULL, 'a model needs a name: 22023');

-- validation of SQL edits (checked at SET CONSTRAINTS ... IMMEDIATE or commit)
SAVEPOINT s;
UPDATE crm.dmn_rule SET input_entries = ARRAY['[0..'] WHERE decision_id = crm.dmn_decision_id('tap', 'unique') AND position = 2;
SELECT throws_like('SET CONSTRAINTS ALL IMMEDIATE', '%unique%', 'a bad cell is refused naming the decision');
ROLLBACK TO SAVEPOINT s;
UPDATE crm.dmn_rule SET input_entries = ARRAY['[0..'] WHERE decision_id = crm.dmn_decision_id('tap', 'unique') AND position = 2;
SELECT throws_ok('SET CONSTRAINTS ALL IMMEDIATE', '22P02', NULL, 'a FEEL syntax error in a cell: 22P02');
ROLLBACK TO SAVEPOINT s;
UPDATE crm.dmn_rule SET input_entries = ARRAY['1', '2'] WHERE decision_id = crm.dmn_decision_id('tap', 'unique') AND position = 2;
SELECT throws_ok('SET CONSTRAINTS ALL IMMEDIATE', '22023', NULL, 'a rule with too many cells: 22023');
ROLLBACK TO SAVEPOINT s;
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
VALUES (crm.dmn_decision_id('tap', 'unique'), 'decision', 'unique', 1);
SELECT throws_ok('SET CONSTRAINTS ALL IMMEDIATE', '22023', NULL, 'a decision requiring itself: 22023');
ROLLBACK TO SAVEPOINT s;
SELECT is(crm.decide('tap', 'unique', '{"n": 3}'), '"small"', 'the rolled-back edits left the model as it was');

-- versions
SELECT isnt(crm.dmn_new_version('tap'), crm.dmn_model_id('tap', 1), 'a new version gets its own id');
UPDATE crm.dmn_rule SET output_entries = ARRAY['"tiny"'] WHERE decision_id = crm.dmn_decision_id('tap', 'unique') AND position = 2;
SELECT is(crm.decide('tap', 'unique', '{"n": 3}'), '"tiny"', 'decide uses the current version');
SELECT throws_ok($$UPDATE crm.dmn_rule SET annotation = 'x' WHERE model_id = crm.dmn_model_id('tap', 1)$$, '55000', NULL,
                 'old versions are read-only: 55000');
SELECT is((SELECT count(*) FROM crm.dmn_rule WHERE model_id = crm.dmn_model_id('tap', 1)),
          (SELECT count(*) FROM crm.dmn_rule WHERE model_id = crm.dmn_model_id('tap', 2)), 'the old version keeps all its rules');

-- tenants and privileges
CREATE ROLE tap_dmn_rep LOGIN IN ROLE crm_rep;
SET ROLE tap_dmn_rep;
SELECT is(crm.decide('tap', 'unique', '{"n": 3}'), '"tiny"', 'a rep may evaluate decisions');
SELECT throws_ok($$SELECT crm.dmn_import('<x/>')$$, '42501', NULL, 'a rep may not import models');
SELECT throws_ok($$DELETE FROM crm.dmn_rule$$, '42501', NULL, 'a rep may not change rules');
RESET ROLE;
CREATE ROLE tap_dmn_admin LOGIN IN ROLE crm_admin;
SET ROLE tap_dmn_admin;
SELECT lives_ok($$SELECT crm.dmn_new_version('tap')$$, 'an admin starts a new version');
SELECT lives_ok($$UPDATE crm.dmn_rule SET output_entries = ARRAY['"petite"']
                   WHERE decision_id = crm.dmn_decision_id('tap', 'unique') AND position = 2;
                  SET CONSTRAINTS ALL IMMEDIATE$$, 'and edits its rules in SQL');
SELECT is(crm.decide('tap', 'unique', '{"n": 3}'), '"petite"', 'which decide uses at once');
RESET ROLE;
SET crm.tenant_id = 2;
SELECT throws_ok($$SELECT crm.decide('tap', 'unique', '{"n": 3}')$$, '42704', NULL, 'another tenant does not see the model');
RESET crm.tenant_id;

SELECT * FROM finish();
ROLLBACK;
