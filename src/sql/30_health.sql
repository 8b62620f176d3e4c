
-- ---------------------------------------------------------------------------------------------
-- 30_health.sql: health data. Dispensing / purchase lines, drug code mapping to ATC, ATC to
-- chronic condition classes (shipped defaults + tenant overrides), household links, loyalty events.
-- Profiles, tags and care actions: 32_health_profile.sql, 33_health_rules.sql; protection
-- (pseudonyms, consent, access log, BI views): 34_health_privacy.sql. See docs/health.md.
-- ---------------------------------------------------------------------------------------------

-- Drug codes of other systems (RxNorm, GTIN barcodes, a chain's own SKUs, NMPA approval numbers)
-- mapped to WHO ATC codes.
CREATE TABLE crm.drug_code_map (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    code_system text        NOT NULL
                CHECK (code_system IN ('rxnorm', 'ndc', 'gtin', 'sku', 'nmpa', 'nhsa', 'other')),
    code        text        NOT NULL CHECK (code <> ''),
    atc_code    text        NOT NULL CHECK (atc_code ~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$'),
    drug_name   text,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, code_system, code)
);
COMMENT ON TABLE crm.drug_code_map IS 'Maps drug codes of other code systems (RxNorm, NDC, GTIN barcodes, chain SKUs, NMPA approval numbers 国药准字, NHSA 医保药品编码) to WHO ATC codes; crm.dispense resolves atc_code through it.';
COMMENT ON COLUMN crm.drug_code_map.code_system IS 'rxnorm | ndc | gtin | sku | nmpa | nhsa | other';
COMMENT ON COLUMN crm.drug_code_map.code IS 'The code in that system, exactly as it appears on dispensing lines.';
COMMENT ON COLUMN crm.drug_code_map.atc_code IS 'WHO ATC code (any level, usually the 7-character substance level, e.g. C09CA01 losartan).';

-- The shipped reference data: ATC prefixes of the common chronic condition classes. A view over
-- constant rows, so it is part of the extension itself (CREATE EXTENSION recreates it, pg_dump does
-- not need to carry it); tenants override or extend it in crm.atc_condition_override.
CREATE VIEW crm.atc_condition_default (atc_prefix, condition, condition_name, adherence_threshold) AS
VALUES ('C02', 'hypertension', '高血压 hypertension', 0.80),
       ('C03', 'hypertension', '高血压 hypertension', 0.80),
       ('C07', 'hypertension', '高血压 hypertension', 0.80),
       ('C08', 'hypertension', '高血压 hypertension', 0.80),
       ('C09', 'hypertension', '高血压 hypertension', 0.80),
       ('A10', 'diabetes', '糖尿病 diabetes', 0.80),
       ('C10', 'dyslipidemia', '血脂异常 dyslipidemia (lipid-modifying agents)', 0.80),
       ('R03', 'asthma_copd', '哮喘/慢阻肺 asthma / COPD', 0.80),
       ('H03', 'thyroid', '甲状腺疾病 thyroid disease', 0.80),
       ('B01', 'anticoagulation', '抗凝/抗血小板 antithrombotic therapy', 0.80),
       ('M04', 'gout', '痛风 gout', 0.80),
       ('M05', 'osteoporosis', '骨质疏松 osteoporosis', 0.80),
       ('N06A', 'depression', '抑郁症 depression', 0.80),
       ('N03', 'epilepsy', '癫痫 epilepsy', 0.80),
       ('N04', 'parkinson', '帕金森病 Parkinson''s disease', 0.80),
       ('N06D', 'dementia', '痴呆 dementia', 0.80),
       ('N05A', 'psychosis', '精神分裂症等 psychosis', 0.80),
       ('S01E', 'glaucoma', '青光眼 glaucoma', 0.80),
       ('G04C', 'bph', '前列腺增生 benign prostatic hyperplasia', 0.80),
       ('C01D', 'angina', '心绞痛 angina (nitrates)', 0.80),
       ('J05AE', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AF', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AG', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AJ', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('J05AR', 'hiv', '艾滋病 HIV (antiretrovirals)', 0.90),
       ('L01', 'oncology', '肿瘤 cancer (antineoplastic agents)', 0.80),
       ('L02', 'oncology', '肿瘤 cancer (endocrine therapy)', 0.80);
COMMENT ON VIEW crm.atc_condition_default IS 'Shipped reference data: ATC prefix → chronic condition class with its adherence threshold (PDC ≥ 0.80, 0.90 for antiretrovirals). The longest matching prefix wins. Tenants override rows in crm.atc_condition_override.';

CREATE TABLE crm.atc_condition_override (
    tenant_id           bigint      NOT NULL DEFAULT crm.current_tenant(),
    atc_prefix          text        NOT NULL CHECK (atc_prefix ~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$'),
    condition           text        CHECK (condition ~ '^[a-z][a-z0-9_]*$'),
    condition_name      text,
    adherence_threshold numeric(3,2) NOT NULL DEFAULT 0.80 CHECK (adherence_threshold > 0 AND adherence_threshold <= 1),
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, atc_prefix)
);
COMMENT ON TABLE crm.atc_condition_override IS 'Tenant overrides of crm.atc_condition_default: a row with a new prefix adds a class, a row with a shipped prefix replaces it, a row with condition NULL switches the shipped prefix off.';
COMMENT ON COLUMN crm.atc_condition_override.condition IS 'Condition key (lower case, e.g. hypertension); NULL disables the shipped mapping of this prefix.';
COMMENT ON COLUMN crm.atc_condition_override.adherence_threshold IS 'PDC at or above which a customer counts as adherent for this class.';

CREATE VIEW crm.atc_condition AS
SELECT o.tenant_id, o.atc_prefix, o.condition, o.condition_name, o.adherence_threshold, 'tenant'::text AS origin
  FROM crm.atc_condition_override o
 WHERE o.condition IS NOT NULL
UNION ALL
SELECT (SELECT crm.current_tenant()), d.atc_prefix, d.condition, d.condition_name, d.adherence_threshold, 'shipped'
  FROM crm.atc_condition_default d
 WHERE NOT EXISTS (SELECT 1 FROM crm.atc_condition_override o
                    WHERE o.atc_prefix OPERATOR(pg_catalog.=) d.atc_prefix);
ALTER VIEW crm.atc_condition SET (security_invoker = true);
COMMENT ON VIEW crm.atc_condition IS 'The ATC → condition mapping in force for the current tenant: its overrides plus the shipped defaults it did not override (origin says which).';

-- ---------------------------------------------------------------------------------------------
-- Dispensing and purchase lines. Contract shared with the clinical-document import (crm.import_cda
-- inserts here with source = 'cda'); see docs/health.md.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.dispense (
    tenant_id   bigint        NOT NULL DEFAULT crm.current_tenant(),
    dispense_id bigint        GENERATED ALWAYS AS IDENTITY,
    customer_id bigint        NOT NULL,
    store_id    bigint,
    drug_code   text          NOT NULL CHECK (drug_code <> ''),
    code_system text          NOT NULL DEFAULT 'atc'
                CHECK (code_system IN ('atc', 'rxnorm', 'ndc', 'gtin', 'sku', 'nmpa', 'nhsa', 'other')),
    atc_code    text          CHECK (atc_code ~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$'),
    drug_name   text,
    quantity    numeric       CHECK (quantity > 0),
    days_supply integer       CHECK (days_supply > 0 AND days_supply <= 400),
    dispensed_at timestamptz  NOT NULL,
    channel     text          CHECK (channel ~ '^[a-z][a-z0-9_]*$'),
    promo       boolean       NOT NULL DEFAULT false,
    price       numeric(12,2) CHECK (price >= 0),
    source      text          NOT NULL DEFAULT 'pos' CHECK (source IN ('pos', 'cda', 'import', 'app')),
    created_at  timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, dispense_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.dispense IS 'Medication dispensing and purchase lines (处方调剂/购药记录) per customer: health data, readable only by crm_health_reader. Each insert, update or delete refreshes that customer''s crm.health_profile.';
COMMENT ON COLUMN crm.dispense.drug_code IS 'The drug as the source system codes it (an ATC code, RxNorm CUI, GTIN barcode, chain SKU, ...).';
COMMENT ON COLUMN crm.dispense.code_system IS 'atc | rxnorm | ndc | gtin | sku | nmpa | nhsa | other: the system of drug_code.';
COMMENT ON COLUMN crm.dispense.atc_code IS 'WHO ATC code: drug_code itself for code_system atc, otherwise resolved through crm.drug_code_map on insert when not given; NULL when unknown (the line then counts for spend and visits, not for conditions).';
COMMENT ON COLUMN crm.dispense.quantity IS 'Units dispensed (packs, tablets, ...), as the source reports them.';
COMMENT ON COLUMN crm.dispense.days_supply IS 'Days the dispensed quantity lasts at the prescribed dose (1-400); NULL for non-chronic purchases.';
COMMENT ON COLUMN crm.dispense.dispensed_at IS 'When the drug was dispensed or bought; its day in China Standard Time is the fill date.';
COMMENT ON COLUMN crm.dispense.channel IS 'Sales channel, lower case: store, app, o2o (外卖), wechat, dtp, ...';
COMMENT ON COLUMN crm.dispense.promo IS 'Bought on promotion (price sensitivity).';
COMMENT ON COLUMN crm.dispense.price IS 'Amount paid for the line, in yuan.';
COMMENT ON COLUMN crm.dispense.source IS 'pos | cda (clinical document import) | import | app';
CREATE INDEX dispense_customer_idx ON crm.dispense (tenant_id, customer_id, dispensed_at);
CREATE INDEX dispense_store_idx ON crm.dispense (tenant_id, store_id);

CREATE FUNCTION crm.dispense_resolve_atc() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.atc_code IS NULL THEN
        IF NEW.code_system = 'atc' THEN
            IF NEW.drug_code !~ '^[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?$' THEN
                RAISE EXCEPTION 'drug_code "%" is not an ATC code', NEW.drug_code
                    USING ERRCODE = '22023',
                          HINT = 'ATC codes look like C09CA01; give the right code_system for other codes.';
            END IF;
            NEW.atc_code := NEW.drug_code;
        ELSE
            SELECT m.atc_code, COALESCE(NEW.drug_name, m.drug_name)
              INTO NEW.atc_code, NEW.drug_name
              FROM crm.drug_code_map m
             WHERE m.tenant_id = NEW.tenant_id AND m.code_system = NEW.code_system
               AND m.code = NEW.drug_code;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.dispense_resolve_atc() IS 'Trigger: fills crm.dispense.atc_code from drug_code (code_system atc) or from crm.drug_code_map when not given.';
CREATE TRIGGER dispense_resolve_atc BEFORE INSERT OR UPDATE OF drug_code, code_system, atc_code ON crm.dispense
    FOR EACH ROW EXECUTE FUNCTION crm.dispense_resolve_atc();

-- ---------------------------------------------------------------------------------------------
-- Household links and loyalty events
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.household_link (
    tenant_id           bigint      NOT NULL DEFAULT crm.current_tenant(),
    customer_id         bigint      NOT NULL,
    related_customer_id bigint      NOT NULL,
    relation            text        NOT NULL
                        CHECK (relation IN ('spouse', 'parent', 'child', 'sibling', 'grandparent',
                                            'grandchild', 'caregiver', 'other')),
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, customer_id, related_customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, related_customer_id) REFERENCES crm.customer (tenant_id, customer_id) ON DELETE CASCADE,
    CHECK (customer_id <> related_customer_id)
);
COMMENT ON TABLE crm.household_link IS 'Family links between customers: related_customer_id is the customer''s <relation> (e.g. customer 7, related 8, spouse: 8 is 7''s spouse). crm.household_member reads them in both directions.';
COMMENT ON COLUMN crm.household_link.relation IS 'spouse | parent | child | sibling | grandparent | grandchild | caregiver | other: what the related customer is to the customer.';

CREATE VIEW crm.household_member AS
SELECT l.tenant_id, l.customer_id, l.related_customer_id AS member_id, l.relation
  FROM crm.household_link l
UNION
SELECT l.tenant_id, l.related_customer_id, l.customer_id,
       CASE l.relation WHEN 'parent' THEN 'child' WHEN 'child' THEN 'parent'
                       WHEN 'grandparent' THEN 'grandchild' WHEN 'grandchild' THEN 'grandparent'
                       WHEN 'caregiver' THEN 'other' ELSE l.relation END
  FROM crm.household_link l
UNION
SELECT a.tenant_id, a.customer_id, b.customer_id, 'household'
  FROM crm.customer a
  JOIN crm.customer b ON b.tenant_id OPERATOR(pg_catalog.=) a.tenant_id
                     AND b.household_id OPERATOR(pg_catalog.=) a.household_id
                     AND b.customer_id OPERATOR(pg_catalog.<>) a.customer_id
 WHERE NOT EXISTS (SELECT 1 FROM crm.household_link x
                    WHERE x.tenant_id OPERATOR(pg_catalog.=) a.tenant_id
                      AND ((x.customer_id OPERATOR(pg_catalog.=) a.customer_id
                            AND x.related_customer_id OPERATOR(pg_catalog.=) b.customer_id)
                        OR (x.customer_id OPERATOR(pg_catalog.=) b.customer_id
                            AND x.related_customer_id OPERATOR(pg_catalog.=) a.customer_id)));
ALTER VIEW crm.household_member SET (security_invoker = true);
COMMENT ON VIEW crm.household_member IS 'Every customer''s family members: explicit links in both directions (relation seen from the customer), plus other members of the same crm.household as relation household.';

CREATE TABLE crm.loyalty_event (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    event_id    bigint      GENERATED ALWAYS AS IDENTITY,
    customer_id bigint      NOT NULL,
    store_id    bigint,
    kind        text        NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'expire', 'signup', 'tier_change')),
    points      integer     NOT NULL DEFAULT 0,
    occurred_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    note        text,
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES crm.customer (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.loyalty_event IS 'Loyalty programme events (积分): points earned, redeemed, adjusted or expired; the balance is their sum.';
COMMENT ON COLUMN crm.loyalty_event.kind IS 'earn | redeem | adjust | expire | signup | tier_change';
COMMENT ON COLUMN crm.loyalty_event.points IS 'Signed change of the points balance (redeem and expire are negative).';
CREATE INDEX loyalty_event_customer_idx ON crm.loyalty_event (tenant_id, customer_id, occurred_at);

SELECT crm.setup_tenant_table('crm.drug_code_map');
SELECT crm.setup_tenant_table('crm.atc_condition_override');
SELECT crm.setup_tenant_table('crm.dispense');
SELECT crm.setup_tenant_table('crm.household_link');
SELECT crm.setup_tenant_table('crm.loyalty_event');

-- Dispensing lines are health data: written by the store systems (crm_manager and up), read only by
-- crm_health_reader. Reference data is readable by every crm role.
GRANT SELECT ON crm.atc_condition_default, crm.atc_condition TO crm_rep, crm_health_reader;
GRANT SELECT ON crm.drug_code_map, crm.atc_condition_override TO crm_rep, crm_health_reader;
GRANT INSERT, UPDATE, DELETE ON crm.drug_code_map, crm.atc_condition_override TO crm_admin;
GRANT INSERT ON crm.dispense TO crm_manager;
GRANT UPDATE (store_id, drug_code, code_system, atc_code, drug_name, quantity, days_supply, dispensed_at,
              channel, promo, price) ON crm.dispense TO crm_admin;
GRANT DELETE ON crm.dispense TO crm_admin;
GRANT SELECT (tenant_id, dispense_id, source, created_at) ON crm.dispense TO crm_admin;
GRANT SELECT ON crm.dispense TO crm_health_reader;
GRANT SELECT, INSERT, DELETE ON crm.household_link TO crm_manager;
GRANT SELECT ON crm.household_member TO crm_manager;
GRANT SELECT, INSERT ON crm.loyalty_event TO crm_manager;
GRANT SELECT ON crm.household_link, crm.household_member, crm.loyalty_event TO crm_health_reader;
