-- ---------------------------------------------------------------------------------------------
-- 40_rebate.sql: dealer rebates (经销商返利). Dealers and their purchase/return lines, promotion
-- targets, tiered rebate programs, exact settlement runs with interim netting, a per-tenant
-- multi-level approval chain with segregation of duties, an immutable audit trail, BI views.
-- The tier maths is C (src/core/rebate.c); see docs/rebates.md.
-- ---------------------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- Dealers, transactions, promotion targets
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.dealer (
    tenant_id  bigint      NOT NULL DEFAULT crm.current_tenant(),
    dealer_id  bigint      GENERATED ALWAYS AS IDENTITY,
    code       text        NOT NULL CHECK (code <> ''),
    name       text        NOT NULL,
    level      text        NOT NULL CHECK (level <> ''),
    region     text        NOT NULL CHECK (region <> ''),
    city       text,
    status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
    store_id   bigint,
    attributes jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, dealer_id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, store_id) REFERENCES crm.store (tenant_id, store_id)
);
COMMENT ON TABLE crm.dealer IS 'Dealers and distributors (经销商) a maker sells through; the parties of rebate programs.';
COMMENT ON COLUMN crm.dealer.code IS 'The company''s dealer number, unique per tenant.';
COMMENT ON COLUMN crm.dealer.level IS 'Dealer level as the tenant grades them, e.g. 一级 / 二级 or A / B / C; programs may be limited to levels.';
COMMENT ON COLUMN crm.dealer.region IS 'Sales region or province (e.g. 江苏); programs may be limited to regions.';
COMMENT ON COLUMN crm.dealer.status IS 'active | suspended | terminated; only active dealers take part in rebate runs.';
COMMENT ON COLUMN crm.dealer.store_id IS 'The dealer''s outlet in crm.store (kind dealer_outlet), if it has one.';
COMMENT ON COLUMN crm.dealer.attributes IS 'Free-form attributes, passed to an eligibility decision as inputs.';
SELECT crm.setup_tenant_table('crm.dealer');

CREATE TABLE crm.dealer_txn (
    tenant_id  bigint        NOT NULL DEFAULT crm.current_tenant(),
    txn_id     bigint        GENERATED ALWAYS AS IDENTITY,
    dealer_id  bigint        NOT NULL,
    txn_date   date          NOT NULL,
    kind       text          NOT NULL CHECK (kind IN ('purchase', 'return')),
    doc_no     text,
    sku        text          NOT NULL,
    category   text,
    quantity   numeric(16,3) NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    amount     numeric(16,2) NOT NULL CHECK (amount >= 0),
    promotion  text,
    created_at timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, txn_id),
    FOREIGN KEY (tenant_id, dealer_id) REFERENCES crm.dealer (tenant_id, dealer_id)
);
COMMENT ON TABLE crm.dealer_txn IS 'Dealer purchase and return lines (进货 / 退货), one per document line; the input of rebate runs.';
COMMENT ON COLUMN crm.dealer_txn.kind IS 'purchase | return. Amounts and quantities are positive for both; returns are subtracted.';
COMMENT ON COLUMN crm.dealer_txn.amount IS 'Line amount in yuan (含税 as the tenant books it), positive.';
COMMENT ON COLUMN crm.dealer_txn.quantity IS 'Quantity in the SKU''s unit (case, box), positive.';
COMMENT ON COLUMN crm.dealer_txn.category IS 'Product category; programs may be limited to categories.';
COMMENT ON COLUMN crm.dealer_txn.promotion IS 'Promotion code the line was bought under, if any; counts toward that promotion''s targets.';
CREATE INDEX dealer_txn_date_idx ON crm.dealer_txn (tenant_id, txn_date);
CREATE INDEX dealer_txn_dealer_idx ON crm.dealer_txn (tenant_id, dealer_id, txn_date);
SELECT crm.setup_tenant_table('crm.dealer_txn');

CREATE TABLE crm.dealer_target (
    tenant_id       bigint        NOT NULL DEFAULT crm.current_tenant(),
    target_id       bigint        GENERATED ALWAYS AS IDENTITY,
    dealer_id       bigint        NOT NULL,
    promotion       text          NOT NULL,
    period_start    date          NOT NULL,
    period_end      date          NOT NULL,
    target_amount   numeric(16,2) NOT NULL CHECK (target_amount > 0),
    achieved_amount numeric(16,2) CHECK (achieved_amount >= 0),
    PRIMARY KEY (tenant_id, target_id),
    UNIQUE (tenant_id, dealer_id, promotion, period_start, period_end),
    FOREIGN KEY (tenant_id, dealer_id) REFERENCES crm.dealer (tenant_id, dealer_id),
    CHECK (period_end >= period_start)
);
COMMENT ON TABLE crm.dealer_target IS 'Promotion targets per dealer and period (促销目标); achievement drives a program''s multiplier.';
COMMENT ON COLUMN crm.dealer_target.achieved_amount IS 'Achievement reported from outside (e.g. sell-out); when null it is computed as net purchases under the promotion in the period.';
SELECT crm.setup_tenant_table('crm.dealer_target');

-- ---------------------------------------------------------------------------------------------
-- Tier maths (C)
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION crm.rebate_amount(basis numeric, tiers jsonb, mode text DEFAULT 'retroactive')
    RETURNS numeric
    AS 'MODULE_PATHNAME', 'crm_rebate_amount'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_amount(numeric, jsonb, text) IS 'Rebate of one basis under tiers like [{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}] (min inclusive, optional max exclusive, rate or fixed amount); mode retroactive (whole basis at the tier reached) or progressive (each band at its rate). Exact, rounded once to the fen half away from zero.';

CREATE FUNCTION crm.rebate_tiers_check(tiers jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'crm_rebate_tiers_check'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_tiers_check(jsonb) IS 'True for a well-formed tier table; otherwise raises an error naming the tier (22023, 22P02 or 42804).';

CREATE TYPE crm.rebate_calc_result AS (
    tier_no      integer,
    tier_min     numeric,
    rate         numeric,
    fixed_amount numeric,
    tier_amount  numeric,
    multiplier   numeric,
    gross        numeric,
    capped       boolean,
    payable      numeric
);
COMMENT ON TYPE crm.rebate_calc_result IS 'One dealer''s rebate: tier reached (1-based, null if none), its minimum, rate or fixed amount, amount before multiplier, multiplier, gross after multiplier and payout cap, whether the cap applied, payable = gross - settled.';

CREATE FUNCTION crm.rebate_calc(qualifying numeric, measured numeric, tiers jsonb, mode text,
                                achievement numeric, bands jsonb, cap_payout numeric, settled numeric)
    RETURNS crm.rebate_calc_result
    AS 'MODULE_PATHNAME', 'crm_rebate_calc'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_calc(numeric, numeric, jsonb, text, numeric, jsonb, numeric, numeric) IS 'The C core of a rebate line: tier chosen by qualifying (4 decimals), rate applied to measured (fen), times the multiplier band reached by achievement (1 when achievement or bands are null, 0 below the first band), cut at cap_payout, minus settled. One rounding to the fen.';

CREATE TYPE crm.rebate_line_result AS (
    qualifying   numeric,
    measured     numeric,
    achievement  numeric,
    tier_no      integer,
    tier_min     numeric,
    rate         numeric,
    fixed_amount numeric,
    tier_amount  numeric,
    multiplier   numeric,
    gross        numeric,
    capped       boolean,
    payable      numeric,
    explanation  jsonb
);
COMMENT ON TYPE crm.rebate_line_result IS 'One dealer''s rebate line as crm.compute_rebates stores it, with its explanation.';

CREATE FUNCTION crm.rebate_line(basis text, mode text, tiers jsonb, bands jsonb, cap_measured numeric,
                                cap_payout numeric, purchases numeric, returns numeric, net_quantity numeric,
                                reference_net numeric, target numeric, achieved numeric, settled numeric)
    RETURNS crm.rebate_line_result
    AS 'MODULE_PATHNAME', 'crm_rebate_line'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm.rebate_line(text, text, jsonb, jsonb, numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) IS 'The C core of crm.compute_rebates for one dealer: measured value (net amount or net quantity, cut at cap_measured), qualifying value (the measured value, or growth percent over reference_net rounded to 2 decimals), achievement = achieved / target rounded to 4 decimals and its multiplier band, tier maths, payout cap, payable = gross - settled, and the machine-readable explanation of every step.';

-- ---------------------------------------------------------------------------------------------
-- Programs and the approval chain
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.rebate_program (
    tenant_id            bigint        NOT NULL DEFAULT crm.current_tenant(),
    program_id           bigint        GENERATED ALWAYS AS IDENTITY,
    code                 text          NOT NULL CHECK (code <> ''),
    name                 text          NOT NULL,
    basis                text          NOT NULL DEFAULT 'net_amount'
                         CHECK (basis IN ('net_amount', 'quantity', 'growth')),
    mode                 text          NOT NULL DEFAULT 'retroactive'
                         CHECK (mode IN ('retroactive', 'progressive')),
    tiers                jsonb         NOT NULL CHECK (crm.rebate_tiers_check(tiers)),
    multiplier_bands     jsonb         CHECK (crm.rebate_tiers_check(multiplier_bands)
                                              AND NOT multiplier_bands OPERATOR(pg_catalog.@?) '$[*] ? (exists (@.amount))'),
    promotion            text,
    cap_measured         numeric(16,2) CHECK (cap_measured >= 0),
    cap_payout           numeric(16,2) CHECK (cap_payout >= 0),
    period_type          text          NOT NULL DEFAULT 'month' CHECK (period_type IN ('month', 'quarter', 'year')),
    cumulative           boolean       NOT NULL DEFAULT false,
    valid_from           date          NOT NULL,
    valid_to             date          NOT NULL,
    eligible_levels      text[],
    eligible_regions     text[],
    eligible_categories  text[],
    eligibility_model    text,
    eligibility_decision text,
    reference_offset     interval      NOT NULL DEFAULT '1 year',
    active               boolean       NOT NULL DEFAULT true,
    created_at           timestamptz   NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, program_id),
    UNIQUE (tenant_id, code),
    CHECK (valid_to >= valid_from),
    CHECK (basis <> 'growth' OR mode = 'retroactive'),
    CHECK ((eligibility_model IS NULL) = (eligibility_decision IS NULL)),
    CHECK ((multiplier_bands IS NULL) OR promotion IS NOT NULL)
);
COMMENT ON TABLE crm.rebate_program IS 'Rebate programs (返利政策): basis, tiers, mode, multiplier, caps, eligibility, effective dates and settlement period.';
COMMENT ON COLUMN crm.rebate_program.basis IS 'net_amount (purchases - returns, yuan) | quantity (units purchased - returned; rates are yuan per unit) | growth (tiers on growth percent of net purchases over the reference period, rates on net purchases).';
COMMENT ON COLUMN crm.rebate_program.mode IS 'retroactive (the whole volume at the tier reached, SAP style) | progressive (each band at its own rate). Growth programs are retroactive.';
COMMENT ON COLUMN crm.rebate_program.tiers IS 'Tier table: [{"min": 5000, "rate": 0.02}, {"min": 20000, "max": null, "rate": 0.04}]; min inclusive, max exclusive, rate or fixed "amount".';
COMMENT ON COLUMN crm.rebate_program.multiplier_bands IS 'Promotion-achievement multiplier as tiers on the achievement ratio whose rate is the factor, e.g. [{"min":0,"rate":0.5},{"min":0.8,"rate":1},{"min":1.0001,"rate":1.2}]. Null = no multiplier.';
COMMENT ON COLUMN crm.rebate_program.promotion IS 'Promotion code whose dealer targets (crm.dealer_target) give the achievement for the multiplier.';
COMMENT ON COLUMN crm.rebate_program.cap_measured IS 'Cap on the measured value (net purchases or quantity) per dealer and run, before the tiers.';
COMMENT ON COLUMN crm.rebate_program.cap_payout IS 'Cap on the gross rebate per dealer and run, in yuan.';
COMMENT ON COLUMN crm.rebate_program.period_type IS 'month | quarter | year: the settlement period of a run (calendar aligned).';
COMMENT ON COLUMN crm.rebate_program.cumulative IS 'When true the basis accumulates from valid_from to the period end and earlier approved settlements are netted (interim settlements, SAP style); when false every period stands alone.';
COMMENT ON COLUMN crm.rebate_program.eligible_levels IS 'Dealer levels taking part; null = all.';
COMMENT ON COLUMN crm.rebate_program.eligible_regions IS 'Dealer regions taking part; null = all.';
COMMENT ON COLUMN crm.rebate_program.eligible_categories IS 'Product categories counted in the basis; null = all.';
COMMENT ON COLUMN crm.rebate_program.eligibility_model IS 'Decision model deciding eligibility per dealer through crm.decide(model, decision, inputs).';
COMMENT ON COLUMN crm.rebate_program.reference_offset IS 'Growth basis: the reference period is the run''s period shifted back by this interval (default the same period last year).';
SELECT crm.setup_tenant_table('crm.rebate_program');

CREATE TABLE crm.rebate_approval_level (
    tenant_id bigint        NOT NULL DEFAULT crm.current_tenant(),
    level_no  integer       NOT NULL CHECK (level_no BETWEEN 1 AND 9),
    role_name name          NOT NULL,
    min_total numeric(16,2) NOT NULL DEFAULT 0 CHECK (min_total >= 0),
    label     text,
    PRIMARY KEY (tenant_id, level_no)
);
COMMENT ON TABLE crm.rebate_approval_level IS 'The tenant''s approval chain for rebate runs: levels in ascending order, each approved by a member of its role; a level with min_total applies only to runs paying at least that much. Empty = one level, role crm_admin.';
COMMENT ON COLUMN crm.rebate_approval_level.role_name IS 'Database role whose members approve this level (e.g. a 区域经理, 财务 or 总监 group role granted crm_manager).';
COMMENT ON COLUMN crm.rebate_approval_level.min_total IS 'The level is required only when the run''s total payable is at least this amount (yuan).';
SELECT crm.setup_tenant_table('crm.rebate_approval_level');

-- ---------------------------------------------------------------------------------------------
-- Runs, lines, approvals, audit trail
-- ---------------------------------------------------------------------------------------------
CREATE TABLE crm.rebate_run (
    tenant_id        bigint        NOT NULL DEFAULT crm.current_tenant(),
    run_id           bigint        GENERATED ALWAYS AS IDENTITY,
    program_id       bigint        NOT NULL,
    period_start     date          NOT NULL,
    period_end       date          NOT NULL,
    basis_start      date          NOT NULL,
    settlement       text          NOT NULL CHECK (settlement IN ('interim', 'final')),
    status           text          NOT NULL DEFAULT 'calculated'
                     CHECK (status IN ('calculated', 'pending', 'approved', 'rejected', 'superseded')),
    program_snapshot jsonb         NOT NULL,
    dealers          integer,
    total_gross      numeric(16,2),
    total_settled    numeric(16,2),
    total_payable    numeric(16,2),
    approval_chain   jsonb,
    approved_levels  integer       NOT NULL DEFAULT 0,
    created_by       name          NOT NULL DEFAULT CURRENT_USER,
    created_at       timestamptz   NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_xact     xid8          NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    submitted_by     name,
    submitted_at     timestamptz,
    decided_by       name,
    decided_at       timestamptz,
    superseded_by    bigint,
    PRIMARY KEY (tenant_id, run_id),
    FOREIGN KEY (tenant_id, program_id) REFERENCES crm.rebate_program (tenant_id, program_id),
    CHECK (period_end >= period_start AND basis_start <= period_start)
);
COMMENT ON TABLE crm.rebate_run IS 'A rebate settlement run of one program and period (返利结算): calculated -> pending -> approved | rejected, or calculated -> superseded by a newer run. Immutable once submitted.';
COMMENT ON COLUMN crm.rebate_run.basis_start IS 'First day counted in the basis: valid_from for cumulative programs, else period_start.';
COMMENT ON COLUMN crm.rebate_run.settlement IS 'interim (a cumulative program before its last period) | final.';
COMMENT ON COLUMN crm.rebate_run.status IS 'calculated | pending (submitted, in approval) | approved | rejected | superseded.';
COMMENT ON COLUMN crm.rebate_run.program_snapshot IS 'The program as it was when the run was computed (tiers, mode, bands, caps).';
COMMENT ON COLUMN crm.rebate_run.total_payable IS 'Sum of the lines'' payable, to the fen (checked by trigger).';
COMMENT ON COLUMN crm.rebate_run.approval_chain IS 'The levels this run needs, frozen at submission: [{"level":1,"role":"...","label":"..."}].';
COMMENT ON COLUMN crm.rebate_run.approved_levels IS 'How many levels of approval_chain have approved so far.';
COMMENT ON COLUMN crm.rebate_run.created_by IS 'current_user of the session that computed the run.';
COMMENT ON COLUMN crm.rebate_run.created_xact IS 'Transaction that computed the run: only it may add lines and set totals.';
COMMENT ON COLUMN crm.rebate_run.submitted_by IS 'current_user that submitted the run for approval.';
COMMENT ON COLUMN crm.rebate_run.decided_by IS 'current_user that made the final decision (last approval, rejection) or computed the superseding run.';
CREATE UNIQUE INDEX rebate_run_active_idx ON crm.rebate_run (tenant_id, program_id, period_start, period_end)
    WHERE status IN ('calculated', 'pending');
CREATE INDEX rebate_run_program_idx ON crm.rebate_run (tenant_id, program_id, period_end) WHERE status = 'approved';
SELECT crm.setup_tenant_table('crm.rebate_run');

CREATE TABLE crm.rebate_line (
    tenant_id      bigint        NOT NULL DEFAULT crm.current_tenant(),
    run_id         bigint        NOT NULL,
    dealer_id      bigint        NOT NULL,
    purchases      numeric(16,2) NOT NULL,
    returns        numeric(16,2) NOT NULL,
    net_amount     numeric(16,2) NOT NULL,
    net_quantity   numeric(16,3) NOT NULL,
    reference_net  numeric(16,2),
    qualifying     numeric,
    measured       numeric       NOT NULL,
    achievement    numeric,
    tier_no        integer,
    rate           numeric,
    fixed_amount   numeric(16,2),
    tier_amount    numeric(16,2) NOT NULL,
    multiplier     numeric       NOT NULL,
    gross          numeric(16,2) NOT NULL,
    capped         boolean       NOT NULL,
    settled        numeric(16,2) NOT NULL,
    payable        numeric(16,2) NOT NULL,
    explanation    jsonb         NOT NULL,
    PRIMARY KEY (tenant_id, run_id, dealer_id)
    -- run_id and dealer_id are checked once per statement by trigger rebate_line_guard, not by
    -- per-row foreign keys (two key-share lookups per line were a sixth of a 10k-dealer run);
    -- runs are never deleted and dealer deletes are refused while lines name them.
);
COMMENT ON TABLE crm.rebate_line IS 'One dealer''s rebate in a run, with every step of its computation. Written only by the transaction that computed the run; never updated. run_id and dealer_id reference crm.rebate_run and crm.dealer (checked per statement by trigger).';
COMMENT ON COLUMN crm.rebate_line.qualifying IS 'The value that selected the tier: net amount, net quantity or growth percent (2 decimals; null without reference purchases).';
COMMENT ON COLUMN crm.rebate_line.measured IS 'The value the rate applies to: net amount or net quantity (after cap_measured).';
COMMENT ON COLUMN crm.rebate_line.achievement IS 'Promotion achievement ratio (4 decimals) feeding the multiplier; null when the program has none or the dealer has no target.';
COMMENT ON COLUMN crm.rebate_line.tier_no IS 'Tier reached (1-based); null when below the first tier.';
COMMENT ON COLUMN crm.rebate_line.tier_amount IS 'Rebate from the tiers before the multiplier and the payout cap.';
COMMENT ON COLUMN crm.rebate_line.gross IS 'Rebate earned for the whole basis: tier maths x multiplier, cut at the payout cap, rounded once to the fen.';
COMMENT ON COLUMN crm.rebate_line.settled IS 'Already settled: payable of approved earlier runs of the same program that this basis includes.';
COMMENT ON COLUMN crm.rebate_line.payable IS 'gross - settled; negative means the dealer owes back (clawback).';
COMMENT ON COLUMN crm.rebate_line.explanation IS 'Machine-readable explanation of every step (inputs, tier, multiplier, cap, netting).';
CREATE INDEX rebate_line_dealer_idx ON crm.rebate_line (tenant_id, dealer_id);
SELECT crm.setup_tenant_table('crm.rebate_line');

CREATE TABLE crm.rebate_approval (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    approval_id bigint      GENERATED ALWAYS AS IDENTITY,
    run_id      bigint      NOT NULL,
    level_no    integer     NOT NULL,
    decision    text        NOT NULL CHECK (decision IN ('approved', 'rejected')),
    actor       name        NOT NULL DEFAULT CURRENT_USER,
    comment     text,
    decided_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (tenant_id, approval_id),
    UNIQUE (tenant_id, run_id, level_no),
    FOREIGN KEY (tenant_id, run_id) REFERENCES crm.rebate_run (tenant_id, run_id)
);
COMMENT ON TABLE crm.rebate_approval IS 'Decisions on submitted runs, one per level; actor is always the current_user that inserted the row. Immutable.';
SELECT crm.setup_tenant_table('crm.rebate_approval');

CREATE TABLE crm.rebate_run_event (
    tenant_id   bigint      NOT NULL DEFAULT crm.current_tenant(),
    event_id    bigint      GENERATED ALWAYS AS IDENTITY,
    run_id      bigint      NOT NULL,
    event       text        NOT NULL CHECK (event IN ('calculated', 'submitted', 'level_approved', 'approved',
                                                      'rejected', 'superseded')),
    from_status text,
    to_status   text        NOT NULL,
    level_no    integer,
    actor       name        NOT NULL,
    comment     text,
    at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES crm.rebate_run (tenant_id, run_id)
);
COMMENT ON TABLE crm.rebate_run_event IS 'Audit trail of rebate runs: every state change and approval, who and when. Append-only (trigger).';
CREATE INDEX rebate_run_event_run_idx ON crm.rebate_run_event (tenant_id, run_id);
SELECT crm.setup_tenant_table('crm.rebate_run_event');
