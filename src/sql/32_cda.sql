-- ---------------------------------------------------------------------------------------------
-- 32_cda.sql: clinical documents (HL7 CDA R2: C-CDA, CDA-CH-EMED, WS/T 500 西药处方).
-- The reader is src/core/cda_*.c over libxml2 (no entities, no network); docs/cda.md.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.cda_extract(doc xml)
    RETURNS TABLE (kind text, code text, code_system text, code_system_name text, display text,
                   alt_code text, alt_code_system text, start_date date, end_date date,
                   supplied_on date, dose_value numeric, dose_unit text, daily_dose numeric,
                   quantity numeric, quantity_unit text, route text, days_supply integer,
                   days_supply_source text, days_supply_note text, document_kind text,
                   document_date date)
    AS 'MODULE_PATHNAME', 'crm_cda_extract'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.cda_extract(xml) IS 'Medication lines and diagnoses of an HL7 CDA R2 document (C-CDA, CDA-CH-EMED, WS/T 500 西药处方 C0004), one row each: kind (medication | diagnosis), the code chosen (the element''s own code, else its first translation) with its system OID and name, display, alt_code / alt_code_system (a further translation: ICD-10 for diagnoses, ATC for drugs), start/end dates, supplied_on (date of a dispense), dose_value and dose_unit, daily_dose (in dose_unit per day), quantity and quantity_unit, route, and the derived days_supply with days_supply_source (explicit | supply | interval, NULL when not derivable) and days_supply_note (how, or why not), plus the document''s kind and date. Entity declarations, network access and nesting deeper than 200 elements are refused with SQLSTATE 2200M. Rules: docs/cda.md.';

CREATE TABLE crm.cda_import (
    tenant_id     bigint      NOT NULL DEFAULT crm.current_tenant(),
    cda_import_id bigint      GENERATED ALWAYS AS IDENTITY,
    document_id   text,
    document_kind text        NOT NULL,
    document_date date,
    customer_id   bigint      NOT NULL,
    store_id      bigint,
    lines         integer     NOT NULL CHECK (lines >= 0),
    imported_by   name        NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, cda_import_id),
    UNIQUE (tenant_id, document_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.cda_import IS 'One row per clinical document loaded by crm.import_cda: which document, for which customer, how many dispensing lines, by whom and when. A document id is loaded once per tenant. Health data: readable by crm_health_reader and crm_admin only.';
COMMENT ON COLUMN crm.cda_import.document_id IS 'ClinicalDocument/id as root^extension (or root); NULL for fragments without an id, which are not checked for repeats.';
COMMENT ON COLUMN crm.cda_import.document_kind IS 'WS/T 500 | CDA-CH-EMED | C-CDA | CDA | CDA fragment, as recognised by crm.cda_extract.';
COMMENT ON COLUMN crm.cda_import.document_date IS 'The document''s effectiveTime (its date).';
COMMENT ON COLUMN crm.cda_import.lines IS 'Medication lines written to crm.dispense (source cda).';
COMMENT ON COLUMN crm.cda_import.imported_by IS 'The role that called crm.import_cda.';
CREATE INDEX cda_import_customer_idx ON crm.cda_import (tenant_id, customer_id);
SELECT crm.setup_tenant_table('crm.cda_import');
GRANT SELECT ON crm.cda_import TO crm_health_reader, crm_admin;

CREATE FUNCTION crm.import_cda(customer_id bigint, doc xml, store_id bigint DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'crm_import_cda'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION crm.import_cda(bigint, xml, bigint) IS 'Loads the medication lines of a clinical document into crm.dispense (source cda) for a pseudonymised customer of the current tenant, optionally at a store; returns the number of lines loaded. code_system from the code''s OID (ATC, RxNorm, NDC, GTIN, else other), atc_code from an ATC translation when the code is not ATC, dispensed_at = the dispense date, else the start date, else the document date (00:00 China Standard Time), days_supply as derived by crm.cda_extract (NULL beyond 400 days). Each call is recorded in crm.cda_import; a document id already imported for the tenant is refused (23505). All or nothing: a line without a drug code or date, an unknown customer or store, a repeated document or bad XML loads nothing. Only crm_health_reader and crm_admin may call it.';

REVOKE ALL ON FUNCTION crm.import_cda(bigint, xml, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.import_cda(bigint, xml, bigint) TO crm_health_reader, crm_admin;
REVOKE ALL ON FUNCTION crm.cda_extract(xml) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.cda_extract(xml) TO crm_health_reader, crm_admin;
