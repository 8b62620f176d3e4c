-- Foundation: tenant setting, core tables, constraints, outbox.
\set VERBOSITY default
SET client_min_messages = warning;

-- the tenant defaults to 1 and is validated when set
SELECT crm.current_tenant();
SET crm.tenant_id = '7';
SELECT crm.current_tenant();
SET crm.tenant_id = 'abc';
SET crm.tenant_id = '-3';
RESET crm.tenant_id;
SELECT crm.current_tenant();

-- every table leads with tenant_id (lists offenders) and is registered for pg_dump
SELECT count(*) > 7 AS has_core_tables FROM pg_class c
 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r';
SELECT c.relname, a.attname AS first_column
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r' AND a.attname <> 'tenant_id'
 ORDER BY 1;
SELECT count(*) AS tables_not_dumped
  FROM pg_class c
 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r'
   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'crm')::oid[]);
SELECT count(*) AS tables_without_rls
  FROM pg_class c
 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r' AND NOT c.relrowsecurity;
-- every primary key, unique constraint and foreign key starts with tenant_id
SELECT conrelid::regclass, conname
  FROM pg_constraint
 WHERE connamespace = 'crm'::regnamespace AND contype IN ('p', 'u', 'f')
   AND (SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = conkey[1]) <> 'tenant_id';

-- reference data and a lead
INSERT INTO crm.rep (employee_no, name, skills, capacity) VALUES ('E001', '张伟', '{oncology}', 5);
INSERT INTO crm.rep (employee_no, name, manager_id) VALUES ('E002', '李娜', 1);
INSERT INTO crm.store (code, name, kind, city, lon, lat, srs)
VALUES ('NJ-001', '南京新街口店', 'pharmacy', '南京', 118.7841, 32.0416, 'gcj02');
INSERT INTO crm.lead (source, company_name, city, lon, lat, required_skills)
VALUES ('wechat', '鼓楼社区诊所', '南京', 118.77, 32.06, '{oncology}')
RETURNING tenant_id, lead_id, status, srs;

-- constraints say what is wrong (terse: the failing rows carry timestamps)
\set VERBOSITY terse
INSERT INTO crm.lead (source) VALUES ('fax');
INSERT INTO crm.lead (lon) VALUES (118.7);
INSERT INTO crm.store (code, name, kind) VALUES ('NJ-001', 'duplicate code', 'pharmacy');
INSERT INTO crm.rep (employee_no, name, manager_id) VALUES ('E003', '王芳', 99);
INSERT INTO crm.rep (employee_no, name, capacity) VALUES ('E004', '赵磊', -1);

\set VERBOSITY default

-- updated_at moves on update
SELECT updated_at = created_at AS untouched FROM crm.lead WHERE lead_id = 1;
UPDATE crm.lead SET status = 'assigned', owner_rep_id = 1 WHERE lead_id = 1;
SELECT updated_at > created_at AS touched FROM crm.lead WHERE lead_id = 1;

-- relays claim and confirm outbox rows (the NOTIFY is checked by test/isolation/specs/outbox.spec)
INSERT INTO crm.outbox (topic, entity, entity_id, recipient, payload)
VALUES ('lead.assigned', 'lead', 1, 'E001', '{"lead_id": 1}');
\set VERBOSITY terse
INSERT INTO crm.outbox (topic) VALUES ('Bad Topic');
\set VERBOSITY default
SELECT outbox_id, topic, attempts FROM crm.outbox_claim(10);
SELECT count(*) AS claimed_again_too_soon FROM crm.outbox_claim(10);
SELECT crm.outbox_delivered(ARRAY[1]::bigint[]) AS delivered, crm.outbox_delivered(ARRAY[1]::bigint[]) AS again;
SELECT * FROM crm.outbox_claim(0);

-- the BI funnel
SELECT city, source, status, leads FROM crm.lead_funnel;

-- dropping and re-creating the extension works, repeatedly
DROP EXTENSION crm;
CREATE EXTENSION crm;
DROP EXTENSION crm;
CREATE EXTENSION crm;
SELECT count(*) AS reps_after_recreate FROM crm.rep;
