
-- =============================================================================================
-- 10_dmn.sql: decision models (OMG DMN decision tables and FEEL) stored in tables, with two front
-- doors: plain SQL authoring (INSERT into the tables below) and DMN XML (crm.dmn_import /
-- crm.dmn_export). crm.decide evaluates a decision; compiled models are cached per backend and
-- dropped the moment any of these tables changes (statement triggers -> relcache invalidation of
-- crm.dmn_model, seen by every backend and by the changing transaction at its next command).
-- =============================================================================================

CREATE TABLE crm.dmn_model (
    tenant_id     bigint      NOT NULL DEFAULT crm.current_tenant(),
    model_id      bigint      GENERATED ALWAYS AS IDENTITY,
    name          text        NOT NULL CHECK (name <> ''),
    version       integer     NOT NULL CHECK (version > 0),
    is_current    boolean     NOT NULL DEFAULT true,
    namespace_uri text,
    dmn_version   text        CHECK (dmn_version IN ('1.1', '1.2', '1.3', '1.4', '1.5')),
    origin        text        NOT NULL DEFAULT 'sql' CHECK (origin IN ('sql', 'xml')),
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name        NOT NULL DEFAULT CURRENT_USER,
    PRIMARY KEY (tenant_id, model_id),
    UNIQUE (tenant_id, name, version)
);
COMMENT ON TABLE crm.dmn_model IS 'Decision models (DMN definitions), one row per version. Re-importing or re-versioning a model adds a version and makes it current; older versions stay for audit and are read-only.';
COMMENT ON COLUMN crm.dmn_model.name IS 'The model name (DMN definitions/@name); crm.decide and crm.dmn_export address models by it.';
COMMENT ON COLUMN crm.dmn_model.version IS 'Version number, 1, 2, ... per model name.';
COMMENT ON COLUMN crm.dmn_model.is_current IS 'True for the one version crm.decide uses.';
COMMENT ON COLUMN crm.dmn_model.namespace_uri IS 'DMN definitions/@namespace, kept for export.';
COMMENT ON COLUMN crm.dmn_model.dmn_version IS 'DMN version of the imported document (1.1-1.5); exports are always DMN 1.5.';
COMMENT ON COLUMN crm.dmn_model.origin IS 'sql (authored in the tables) or xml (crm.dmn_import).';
CREATE UNIQUE INDEX dmn_model_current_idx ON crm.dmn_model (tenant_id, name) WHERE is_current;

CREATE TABLE crm.dmn_item_definition (
    tenant_id      bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id       bigint  NOT NULL,
    name           text    NOT NULL CHECK (name <> ''),
    position       integer NOT NULL CHECK (position > 0),
    type_ref       text,
    allowed_values text,
    is_collection  boolean NOT NULL DEFAULT false,
    components     jsonb,
    PRIMARY KEY (tenant_id, model_id, name),
    UNIQUE (tenant_id, model_id, position),
    FOREIGN KEY (tenant_id, model_id) REFERENCES crm.dmn_model (tenant_id, model_id) ON DELETE CASCADE,
    CHECK (components IS NULL OR pg_catalog.jsonb_typeof(components) OPERATOR(pg_catalog.=) 'array')
);
COMMENT ON TABLE crm.dmn_item_definition IS 'Named types of a model (DMN itemDefinition): a base type, a structure of components, or a collection.';
COMMENT ON COLUMN crm.dmn_item_definition.type_ref IS 'Base type (number, string, boolean, date, time, date and time, days and time duration, years and months duration) or another item name; NULL for a structure.';
COMMENT ON COLUMN crm.dmn_item_definition.allowed_values IS 'FEEL unary tests the values must pass, e.g. "low","high" or [0..100].';
COMMENT ON COLUMN crm.dmn_item_definition.components IS 'For structures: JSON array of {"name", "type_ref", "allowed_values", "is_collection", "components"} (nested the same way).';

CREATE TABLE crm.dmn_input_data (
    tenant_id bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id  bigint  NOT NULL,
    name      text    NOT NULL CHECK (name <> ''),
    position  integer NOT NULL CHECK (position > 0),
    xml_id    text,
    type_ref  text,
    PRIMARY KEY (tenant_id, model_id, name),
    UNIQUE (tenant_id, model_id, position),
    FOREIGN KEY (tenant_id, model_id) REFERENCES crm.dmn_model (tenant_id, model_id) ON DELETE CASCADE
);
COMMENT ON TABLE crm.dmn_input_data IS 'Input data of a model (DMN inputData): the names crm.decide takes from its inputs object.';
COMMENT ON COLUMN crm.dmn_input_data.xml_id IS 'The id the element had in DMN XML (NULL for SQL-authored rows; the name serves as id).';
COMMENT ON COLUMN crm.dmn_input_data.type_ref IS 'Type of the input (base type or item definition name); inputs are coerced to it, e.g. ISO text to a date.';

CREATE TABLE crm.dmn_decision (
    tenant_id   bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id    bigint  NOT NULL,
    decision_id bigint  GENERATED ALWAYS AS IDENTITY,
    name        text    NOT NULL CHECK (name <> ''),
    position    integer NOT NULL CHECK (position > 0),
    xml_id      text,
    type_ref    text,
    kind        text    NOT NULL DEFAULT 'table' CHECK (kind IN ('table', 'literal')),
    literal     text,
    hit_policy  text    NOT NULL DEFAULT 'UNIQUE'
                CHECK (hit_policy IN ('UNIQUE', 'ANY', 'PRIORITY', 'FIRST', 'RULE ORDER', 'OUTPUT ORDER', 'COLLECT')),
    aggregation text    CHECK (aggregation IN ('SUM', 'MIN', 'MAX', 'COUNT')),
    PRIMARY KEY (tenant_id, decision_id),
    UNIQUE (tenant_id, model_id, decision_id),
    UNIQUE (tenant_id, model_id, name),
    UNIQUE (tenant_id, model_id, position),
    FOREIGN KEY (tenant_id, model_id) REFERENCES crm.dmn_model (tenant_id, model_id) ON DELETE CASCADE,
    CHECK ((kind OPERATOR(pg_catalog.=) 'literal') = (literal IS NOT NULL)),
    CHECK (aggregation IS NULL OR hit_policy OPERATOR(pg_catalog.=) 'COLLECT')
);
COMMENT ON TABLE crm.dmn_decision IS 'Decisions of a model: a decision table (inputs, outputs, rules in the tables below) or a FEEL literal expression.';
COMMENT ON COLUMN crm.dmn_decision.name IS 'Decision name, unique in the model; crm.decide addresses decisions by it (or by xml_id).';
COMMENT ON COLUMN crm.dmn_decision.position IS 'Order of the decision in the model (and in exported XML).';
COMMENT ON COLUMN crm.dmn_decision.type_ref IS 'Result type (DMN variable typeRef), or NULL.';
COMMENT ON COLUMN crm.dmn_decision.kind IS 'table (decision table) | literal (FEEL literal expression in column literal).';
COMMENT ON COLUMN crm.dmn_decision.literal IS 'FEEL expression of a literal decision, e.g. Base + max(Extra 1, Extra 2).';
COMMENT ON COLUMN crm.dmn_decision.hit_policy IS 'UNIQUE | ANY | PRIORITY | FIRST | RULE ORDER | OUTPUT ORDER | COLLECT.';
COMMENT ON COLUMN crm.dmn_decision.aggregation IS 'For COLLECT: SUM | MIN | MAX | COUNT, or NULL for the list of outputs.';

CREATE TABLE crm.dmn_input (
    tenant_id    bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id     bigint  NOT NULL,
    decision_id  bigint  NOT NULL,
    position     integer NOT NULL CHECK (position > 0),
    xml_id       text,
    label        text,
    expr         text    NOT NULL,
    type_ref     text,
    input_values text,
    PRIMARY KEY (tenant_id, decision_id, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.dmn_input IS 'Input columns of a decision table, left to right by position.';
COMMENT ON COLUMN crm.dmn_input.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_input.label IS 'Column heading; errors name the column by it (or by expr).';
COMMENT ON COLUMN crm.dmn_input.expr IS 'FEEL input expression, usually an input data name, e.g. Applicant.Age or company size.';
COMMENT ON COLUMN crm.dmn_input.input_values IS 'FEEL unary tests listing the allowed input values, or NULL.';

CREATE TABLE crm.dmn_output (
    tenant_id      bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id       bigint  NOT NULL,
    decision_id    bigint  NOT NULL,
    position       integer NOT NULL CHECK (position > 0),
    xml_id         text,
    name           text,
    label          text,
    type_ref       text,
    output_values  text,
    default_output text,
    PRIMARY KEY (tenant_id, decision_id, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.dmn_output IS 'Output columns of a decision table, left to right by position.';
COMMENT ON COLUMN crm.dmn_output.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_output.name IS 'Output name (the key in the result object when a table has several outputs); NULL for a single unnamed output.';
COMMENT ON COLUMN crm.dmn_output.output_values IS 'FEEL list of the possible values in priority order, e.g. "high","medium","low": used by PRIORITY and OUTPUT ORDER.';
COMMENT ON COLUMN crm.dmn_output.default_output IS 'FEEL expression returned when no rule matches, or NULL.';

CREATE TABLE crm.dmn_rule (
    tenant_id      bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id       bigint  NOT NULL,
    decision_id    bigint  NOT NULL,
    position       integer NOT NULL CHECK (position > 0),
    xml_id         text,
    input_entries  text[]  NOT NULL,
    output_entries text[]  NOT NULL,
    annotation     text,
    PRIMARY KEY (tenant_id, decision_id, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE,
    CHECK (pg_catalog.array_position(input_entries, NULL) IS NULL),
    CHECK (pg_catalog.array_position(output_entries, NULL) IS NULL)
);
COMMENT ON TABLE crm.dmn_rule IS 'Rules of a decision table, top to bottom by position: one FEEL text cell per input and per output.';
COMMENT ON COLUMN crm.dmn_rule.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_rule.input_entries IS 'FEEL unary tests, one per input column, e.g. {">= 18", "\"web\",\"wechat\"", "-"}; "-" matches anything.';
COMMENT ON COLUMN crm.dmn_rule.output_entries IS 'FEEL expressions, one per output column, e.g. {"20"}.';
COMMENT ON COLUMN crm.dmn_rule.annotation IS 'Why the rule exists, in words; lead scoring shows it as the reason.';

CREATE TABLE crm.dmn_requirement (
    tenant_id   bigint  NOT NULL DEFAULT crm.current_tenant(),
    model_id    bigint  NOT NULL,
    decision_id bigint  NOT NULL,
    kind        text    NOT NULL CHECK (kind IN ('decision', 'input')),
    required    text    NOT NULL,
    position    integer NOT NULL CHECK (position > 0),
    PRIMARY KEY (tenant_id, decision_id, kind, required),
    UNIQUE (tenant_id, decision_id, kind, position),
    FOREIGN KEY (tenant_id, model_id, decision_id)
        REFERENCES crm.dmn_decision (tenant_id, model_id, decision_id) ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.dmn_requirement IS 'Information requirements: which other decisions and input data a decision reads (evaluated first; cycles are rejected).';
COMMENT ON COLUMN crm.dmn_requirement.model_id IS 'The decision''s model; filled from decision_id when omitted.';
COMMENT ON COLUMN crm.dmn_requirement.kind IS 'decision (another decision of the model) | input (an input data).';
COMMENT ON COLUMN crm.dmn_requirement.required IS 'Name of the required decision or input data.';

CREATE INDEX dmn_decision_model_idx ON crm.dmn_decision (tenant_id, model_id, position);
CREATE INDEX dmn_input_model_idx ON crm.dmn_input (tenant_id, model_id);
CREATE INDEX dmn_output_model_idx ON crm.dmn_output (tenant_id, model_id);
CREATE INDEX dmn_rule_model_idx ON crm.dmn_rule (tenant_id, model_id);
CREATE INDEX dmn_requirement_model_idx ON crm.dmn_requirement (tenant_id, model_id);

SELECT crm.setup_tenant_table('crm.dmn_model');
SELECT crm.setup_tenant_table('crm.dmn_item_definition');
SELECT crm.setup_tenant_table('crm.dmn_input_data');
SELECT crm.setup_tenant_table('crm.dmn_decision');
SELECT crm.setup_tenant_table('crm.dmn_input');
SELECT crm.setup_tenant_table('crm.dmn_output');
SELECT crm.setup_tenant_table('crm.dmn_rule');
SELECT crm.setup_tenant_table('crm.dmn_requirement');

-- ---------------------------------------------------------------------------------------------
-- Guards: child rows get their model_id from the decision; only the current version may change.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_child_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current_ok boolean;
    mname text;
    mversion integer;
BEGIN
    -- pg_dump and pg_restore run with row_security = off: restored rows are taken as dumped
    IF pg_catalog.current_setting('row_security') = 'off' THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME IN ('dmn_input', 'dmn_output', 'dmn_rule', 'dmn_requirement') AND NEW.model_id IS NULL THEN
        SELECT d.model_id INTO NEW.model_id FROM crm.dmn_decision d
         WHERE d.tenant_id = NEW.tenant_id AND d.decision_id = NEW.decision_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'decision % does not exist', NEW.decision_id
                USING ERRCODE = '23503',
                      HINT = 'Create the decision in crm.dmn_decision first; crm.dmn_decision_id(model, decision) finds its id.';
        END IF;
    END IF;
    -- editors of one model take turns (the row lock lasts until commit), so that the check at commit
    -- sees every concurrent edit and two edits that are fine alone cannot combine into a broken model
    SELECT m.is_current, m.name, m.version INTO current_ok, mname, mversion FROM crm.dmn_model m
     WHERE m.tenant_id = NEW.tenant_id AND m.model_id = NEW.model_id
       FOR UPDATE;
    IF FOUND AND NOT current_ok THEN
        RAISE EXCEPTION 'version % of decision model "%" is not the current version and cannot change', mversion, mname
            USING ERRCODE = '55000',
                  HINT = 'Old versions are kept read-only for audit; edit the current version, or start a new one with crm.dmn_new_version().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.dmn_child_guard() IS 'Trigger: fills model_id of decision parts from decision_id and refuses changes to non-current model versions (not with row_security = off, as pg_restore runs, so that every version restores).';

CREATE FUNCTION crm.dmn_model_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
        RAISE EXCEPTION 'the name and version of decision model "%" version % cannot change', OLD.name, OLD.version
            USING ERRCODE = '55000',
                  HINT = 'Import or create a model under the new name instead.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.dmn_model_guard() IS 'Trigger: a model version keeps its name and number (audit).';

CREATE TRIGGER dmn_model_guard BEFORE UPDATE ON crm.dmn_model
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_model_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_item_definition
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_input_data
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_decision
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_input
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_output
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_rule
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();
CREATE TRIGGER dmn_guard BEFORE INSERT OR UPDATE ON crm.dmn_requirement
    FOR EACH ROW EXECUTE FUNCTION crm.dmn_child_guard();

-- ---------------------------------------------------------------------------------------------
-- Validation on write: at commit (or at SET CONSTRAINTS ... IMMEDIATE) every changed model is
-- compiled once; a bad cell aborts the transaction with the decision, rule and column named.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_validate_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_dmn_validate_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION crm.dmn_validate_trigger() IS 'Constraint trigger: compiles the changed model (once per model and transaction) and rejects it with the engine''s error (decision, rule, column, position). Skipped with row_security = off (pg_restore loads tables one by one).';

CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE ON crm.dmn_model
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_item_definition
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_input_data
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_decision
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_input
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_output
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_rule
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();
CREATE CONSTRAINT TRIGGER dmn_validate AFTER INSERT OR UPDATE OR DELETE ON crm.dmn_requirement
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm.dmn_validate_trigger();

-- ---------------------------------------------------------------------------------------------
-- Cache invalidation (pg_cron pattern): any statement changing a decision table queues a relcache
-- invalidation of crm.dmn_model; every backend's callback drops its compiled programs.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'crm_dmn_invalidate'
    LANGUAGE C;
COMMENT ON FUNCTION crm.dmn_invalidate() IS 'Statement trigger: invalidates every backend''s cache of compiled decision models (and scoring settings).';

CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_model
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_item_definition
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_input_data
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_decision
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_input
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_output
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_rule
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();
CREATE TRIGGER dmn_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.dmn_requirement
    FOR EACH STATEMENT EXECUTE FUNCTION crm.dmn_invalidate();

-- ---------------------------------------------------------------------------------------------
-- Versions and SQL authoring helpers
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_create_model(model text, namespace_uri text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.current_tenant();
    next_version integer;
    id bigint;
BEGIN
    IF model IS NULL OR model = '' THEN
        RAISE EXCEPTION 'a decision model needs a name'
            USING ERRCODE = '22023', HINT = 'Pass the model name, e.g. crm.dmn_create_model(''lead scoring'').';
    END IF;
    -- one writer per model name at a time, so that version numbers never collide
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('crm.dmn_model:' || t || ':' || model, 0));
    SELECT COALESCE(pg_catalog.max(m.version), 0) + 1 INTO next_version
      FROM crm.dmn_model m WHERE m.tenant_id = t AND m.name = model;
    UPDATE crm.dmn_model m SET is_current = false WHERE m.tenant_id = t AND m.name = model AND m.is_current;
    INSERT INTO crm.dmn_model (tenant_id, name, version, namespace_uri)
    VALUES (t, model, next_version, dmn_create_model.namespace_uri)
    RETURNING model_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION crm.dmn_create_model(text, text) IS 'Starts an empty new version of a decision model (version 1 if the name is new) and makes it current; returns its model_id. Fill it by inserting decisions, inputs, outputs and rules.';

CREATE FUNCTION crm.dmn_new_version(model text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.current_tenant();
    old_id bigint;
    new_id bigint;
BEGIN
    SELECT m.model_id INTO old_id FROM crm.dmn_model m
     WHERE m.tenant_id = t AND m.name = model AND m.is_current;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'decision model "%" does not exist', model
            USING ERRCODE = '42704', HINT = 'Create it with crm.dmn_create_model() or crm.dmn_import().';
    END IF;
    new_id := crm.dmn_create_model(model, (SELECT m.namespace_uri FROM crm.dmn_model m WHERE m.tenant_id = t AND m.model_id = old_id));
    UPDATE crm.dmn_model n SET dmn_version = o.dmn_version, origin = o.origin
      FROM crm.dmn_model o WHERE n.tenant_id = t AND n.model_id = new_id AND o.tenant_id = t AND o.model_id = old_id;
    INSERT INTO crm.dmn_item_definition (tenant_id, model_id, name, position, type_ref, allowed_values, is_collection, components)
    SELECT t, new_id, i.name, i.position, i.type_ref, i.allowed_values, i.is_collection, i.components
      FROM crm.dmn_item_definition i WHERE i.tenant_id = t AND i.model_id = old_id;
    INSERT INTO crm.dmn_input_data (tenant_id, model_id, name, position, xml_id, type_ref)
    SELECT t, new_id, i.name, i.position, i.xml_id, i.type_ref
      FROM crm.dmn_input_data i WHERE i.tenant_id = t AND i.model_id = old_id;
    INSERT INTO crm.dmn_decision (tenant_id, model_id, name, position, xml_id, type_ref, kind, literal, hit_policy, aggregation)
    SELECT t, new_id, d.name, d.position, d.xml_id, d.type_ref, d.kind, d.literal, d.hit_policy, d.aggregation
      FROM crm.dmn_decision d WHERE d.tenant_id = t AND d.model_id = old_id;
    -- decision parts follow their decision by name into the new version
    INSERT INTO crm.dmn_input (tenant_id, model_id, decision_id, position, xml_id, label, expr, type_ref, input_values)
    SELECT t, new_id, n.decision_id, i.position, i.xml_id, i.label, i.expr, i.type_ref, i.input_values
      FROM crm.dmn_input i
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = i.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE i.tenant_id = t AND i.model_id = old_id;
    INSERT INTO crm.dmn_output (tenant_id, model_id, decision_id, position, xml_id, name, label, type_ref, output_values, default_output)
    SELECT t, new_id, n.decision_id, p.position, p.xml_id, p.name, p.label, p.type_ref, p.output_values, p.default_output
      FROM crm.dmn_output p
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = p.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE p.tenant_id = t AND p.model_id = old_id;
    INSERT INTO crm.dmn_rule (tenant_id, model_id, decision_id, position, xml_id, input_entries, output_entries, annotation)
    SELECT t, new_id, n.decision_id, r.position, r.xml_id, r.input_entries, r.output_entries, r.annotation
      FROM crm.dmn_rule r
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = r.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE r.tenant_id = t AND r.model_id = old_id;
    INSERT INTO crm.dmn_requirement (tenant_id, model_id, decision_id, kind, required, position)
    SELECT t, new_id, n.decision_id, q.kind, q.required, q.position
      FROM crm.dmn_requirement q
      JOIN crm.dmn_decision o ON o.tenant_id = t AND o.decision_id = q.decision_id
      JOIN crm.dmn_decision n ON n.tenant_id = t AND n.model_id = new_id AND n.name = o.name
     WHERE q.tenant_id = t AND q.model_id = old_id;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION crm.dmn_new_version(text) IS 'Copies the current version of a decision model into a new current version (the old one stays read-only for audit) and returns the new model_id; edit the copy in SQL.';

CREATE FUNCTION crm.dmn_model_id(model text, version integer DEFAULT NULL) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT m.model_id FROM crm.dmn_model m
     WHERE m.tenant_id OPERATOR(pg_catalog.=) crm.current_tenant() AND m.name OPERATOR(pg_catalog.=) model
       AND (CASE WHEN dmn_model_id.version IS NULL THEN m.is_current
                 ELSE m.version OPERATOR(pg_catalog.=) dmn_model_id.version END);
END;
COMMENT ON FUNCTION crm.dmn_model_id(text, integer) IS 'The model_id of a decision model''s current version (or of the given version); NULL if there is none.';

CREATE FUNCTION crm.dmn_decision_id(model text, decision text) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT d.decision_id FROM crm.dmn_model m
      JOIN crm.dmn_decision d ON d.tenant_id OPERATOR(pg_catalog.=) m.tenant_id AND d.model_id OPERATOR(pg_catalog.=) m.model_id
     WHERE m.tenant_id OPERATOR(pg_catalog.=) crm.current_tenant() AND m.name OPERATOR(pg_catalog.=) model
       AND m.is_current AND d.name OPERATOR(pg_catalog.=) decision;
END;
COMMENT ON FUNCTION crm.dmn_decision_id(text, text) IS 'The decision_id of a decision in the current version of a model; NULL if there is none. For SQL authoring of inputs, outputs and rules.';

CREATE FUNCTION crm.dmn_model_json(model text, version integer DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint := crm.current_tenant();
    id bigint := crm.dmn_model_id(model, version);
    result jsonb;
BEGIN
    IF id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_build_object(
        'name', m.name, 'namespace_uri', m.namespace_uri,
        'item_definitions', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(i) - '{tenant_id,model_id}'::text[] ORDER BY i.position)
                               FROM crm.dmn_item_definition i WHERE i.tenant_id = t AND i.model_id = id),
        'input_data', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(i) - '{tenant_id,model_id}'::text[] ORDER BY i.position)
                         FROM crm.dmn_input_data i WHERE i.tenant_id = t AND i.model_id = id),
        'decisions', (SELECT pg_catalog.jsonb_agg((pg_catalog.to_jsonb(d) - '{tenant_id,model_id,decision_id}'::text[]) || jsonb_build_object(
                  'inputs', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.position)
                               FROM crm.dmn_input x WHERE x.tenant_id = t AND x.decision_id = d.decision_id),
                  'outputs', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.position)
                               FROM crm.dmn_output x WHERE x.tenant_id = t AND x.decision_id = d.decision_id),
                  'rules', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.position)
                             FROM crm.dmn_rule x WHERE x.tenant_id = t AND x.decision_id = d.decision_id),
                  'requirements', (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x) - '{tenant_id,model_id,decision_id}'::text[] ORDER BY x.kind, x.position)
                                    FROM crm.dmn_requirement x WHERE x.tenant_id = t AND x.decision_id = d.decision_id))
                  ORDER BY d.position)
                        FROM crm.dmn_decision d WHERE d.tenant_id = t AND d.model_id = id))
      INTO result
      FROM crm.dmn_model m WHERE m.tenant_id = t AND m.model_id = id;
    RETURN result;
END
$$;
COMMENT ON FUNCTION crm.dmn_model_json(text, integer) IS 'A model version (current, or the given one) as one JSON document: item definitions, input data, decisions with inputs, outputs, rules and requirements. Compare two versions to audit what changed.';

-- ---------------------------------------------------------------------------------------------
-- The front doors
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.dmn_import(doc xml) RETURNS text
    AS 'MODULE_PATHNAME', 'crm_dmn_import'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION crm.dmn_import(xml) IS 'Imports a DMN 1.1-1.5 document as a new current version of its model (definitions/@name, returned). All-or-nothing; hostile or malformed XML is refused with the element path.';

CREATE FUNCTION crm.dmn_export(model text, version integer DEFAULT NULL) RETURNS xml
    AS 'MODULE_PATHNAME', 'crm_dmn_export'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.dmn_export(text, integer) IS 'A decision model (current version, or the given one) as a DMN 1.5 document that crm.dmn_import reads back identically.';

CREATE FUNCTION crm.decide(model text, decision text, inputs jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'crm_decide'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.decide(text, text, jsonb) IS 'Evaluates a decision of the current version of a model with inputs keyed by input data name. One output: its value; several: an object; COLLECT (no aggregation), RULE ORDER, OUTPUT ORDER: an array; no match: null. Numbers are exact; dates and durations are ISO strings.';

CREATE FUNCTION crm.decide_row(model text, decision text, inputs record) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'crm_decide_row'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.decide_row(text, text, record) IS 'crm.decide with the inputs taken from a row (of a table, a view or ROW(...) AS ...), columns matched to input data by name; absent columns are null. Text, booleans and numbers go in directly, dates and times as ISO strings, jsonb as its value, one-dimensional arrays as lists, other types as their text.';

CREATE FUNCTION crm.dmn_cache_stats(OUT models integer, OUT hits bigint, OUT misses bigint, OUT invalidations bigint)
    AS 'MODULE_PATHNAME', 'crm_dmn_cache_stats'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION crm.dmn_cache_stats() IS 'This backend''s cache of compiled decision models: cached models, lookups served from it, compilations, and invalidations received.';

GRANT SELECT ON crm.dmn_model, crm.dmn_item_definition, crm.dmn_input_data, crm.dmn_decision, crm.dmn_input,
    crm.dmn_output, crm.dmn_rule, crm.dmn_requirement TO crm_rep;
GRANT INSERT, UPDATE, DELETE ON crm.dmn_item_definition, crm.dmn_input_data, crm.dmn_decision, crm.dmn_input,
    crm.dmn_output, crm.dmn_rule, crm.dmn_requirement TO crm_admin;
GRANT INSERT, DELETE, UPDATE (is_current, namespace_uri, dmn_version, origin) ON crm.dmn_model TO crm_admin;
REVOKE ALL ON FUNCTION crm.dmn_import(xml), crm.dmn_create_model(text, text), crm.dmn_new_version(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.dmn_import(xml), crm.dmn_create_model(text, text), crm.dmn_new_version(text) TO crm_admin;
REVOKE ALL ON FUNCTION crm.dmn_export(text, integer), crm.decide(text, text, jsonb), crm.decide_row(text, text, record),
    crm.dmn_model_id(text, integer),
    crm.dmn_decision_id(text, text), crm.dmn_cache_stats(), crm.dmn_model_json(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.dmn_export(text, integer), crm.decide(text, text, jsonb), crm.decide_row(text, text, record),
    crm.dmn_model_id(text, integer),
    crm.dmn_decision_id(text, text), crm.dmn_cache_stats(), crm.dmn_model_json(text, integer) TO crm_rep;
