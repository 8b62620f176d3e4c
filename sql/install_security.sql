-- Install-script safety in the style of CVE-2020-14350: objects planted where the install script
-- or the extension's functions might look must not be picked up.
SET client_min_messages = warning;
DROP EXTENSION crm;
DROP SCHEMA crm;
CREATE ROLE crm_attacker NOLOGIN;

-- 1. a schema "crm" prepared by someone else is refused
CREATE SCHEMA crm AUTHORIZATION crm_attacker;
CREATE EXTENSION crm;
DROP SCHEMA crm;

-- 2. a schema "crm" of ours that already holds objects is refused
CREATE SCHEMA crm;
CREATE FUNCTION crm.current_tenant() RETURNS bigint LANGUAGE sql RETURN 2;
CREATE EXTENSION crm;
DROP SCHEMA crm CASCADE;

-- 3. shadow functions and operators in a schema searched before pg_catalog are never called
CREATE SCHEMA trap AUTHORIZATION crm_attacker;
CREATE TABLE trap.calls (what text);
GRANT INSERT ON trap.calls TO PUBLIC;
CREATE FUNCTION trap.pg_notify(text, text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO trap.calls VALUES ('pg_notify') $$;
CREATE FUNCTION trap.clock_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ INSERT INTO trap.calls VALUES ('clock_timestamp') RETURNING now() $$;
CREATE FUNCTION trap.current_setting(text, boolean) RETURNS text LANGUAGE sql
    AS $$ INSERT INTO trap.calls VALUES ('current_setting') RETURNING '2' $$;
CREATE FUNCTION trap.int8eq_evil(bigint, bigint) RETURNS boolean LANGUAGE sql
    AS $$ INSERT INTO trap.calls VALUES ('=') RETURNING true $$;
CREATE OPERATOR trap.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = trap.int8eq_evil);
SET search_path = trap, pg_catalog, public;
CREATE EXTENSION crm;
INSERT INTO crm.rep (employee_no, name) VALUES ('E1', 'x');
INSERT INTO crm.outbox (topic) VALUES ('lead.assigned');
UPDATE crm.rep SET name = 'y';
SELECT crm.current_tenant();
SELECT count(*) FROM crm.outbox_claim(5);
SELECT crm.outbox_delivered(ARRAY[1]::bigint[]);
SELECT count(*) FROM crm.lead_funnel;
RESET search_path;
SELECT what, count(*) FROM trap.calls GROUP BY 1;

-- 4. group roles that can log in are refused
DROP EXTENSION crm;
DROP SCHEMA crm;
ALTER ROLE crm_bi_reader LOGIN;
CREATE EXTENSION crm;
ALTER ROLE crm_bi_reader NOLOGIN;
CREATE EXTENSION crm;

DROP SCHEMA trap CASCADE;
DROP ROLE crm_attacker;
