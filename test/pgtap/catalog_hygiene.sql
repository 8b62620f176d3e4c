-- Rules every object of the extension follows, checked over the whole schema so that a new
-- function or table that forgets one fails here: comments, tenant_id first with row security,
-- SECURITY DEFINER only with a pinned search_path and never open to PUBLIC (one reviewed exception),
-- every table and sequence dumped with the data (pg_extension_config_dump).
BEGIN;
SELECT plan(8);

SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'crm'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
                 ORDER BY 1), '{}'::text[], 'every function has a comment');
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
                   AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1), '{}'::text[],
          'every table and view has a comment');
SELECT is(ARRAY(SELECT t.oid::regtype::text FROM pg_type t
                 WHERE t.typnamespace = 'crm'::regnamespace AND t.typcategory <> 'A'
                   AND (t.typtype IN ('b', 'd', 'e') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
                   AND obj_description(t.oid, 'pg_type') IS NULL ORDER BY 1), '{}'::text[],
          'every type has a comment');
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
                 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p') AND a.attname <> 'tenant_id'
                 ORDER BY 1), '{}'::text[], 'every table leads with tenant_id');
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
                 ORDER BY 1), '{}'::text[], 'every table has row-level security enabled');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'crm'::regnamespace AND p.prosecdef
                   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%')
                 ORDER BY 1), '{}'::text[], 'every SECURITY DEFINER function pins its search_path');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'crm'::regnamespace AND p.prosecdef
                   AND has_function_privilege('public', p.oid, 'EXECUTE')
                 ORDER BY 1), ARRAY['crm.tenant_registry_open()'],
          'PUBLIC may run no SECURITY DEFINER function but the tenant registry probe crm.current_tenant() needs');

SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'p', 'S')
                   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'crm')::oid[])
                 ORDER BY 1), '{}'::text[], 'every table and sequence is registered for pg_dump');

SELECT * FROM finish();
ROLLBACK;
