-- Rebate tier maths through SQL: crm.rebate_amount and the errors of malformed tiers.
\set VERBOSITY default
SET client_min_messages = warning;
\set sap '[{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}]'

-- the SAP worked example, the thresholds, both modes
SELECT b AS basis, crm.rebate_amount(b, :'sap') AS retroactive,
       crm.rebate_amount(b, :'sap', 'progressive') AS progressive
  FROM unnest(ARRAY[-500, 0, 4999.99, 5000, 7000, 19999.99, 20000, 27000, 1000000.005]::numeric[]) b;

-- fixed amounts, an upper bound on the last band, half-fen rounding
SELECT crm.rebate_amount(6000, '[{"min": 1000, "amount": 50}, {"min": 5000, "amount": 300.5}]') AS fixed_retro,
       crm.rebate_amount(6000, '[{"min": 1000, "amount": 50}, {"min": 5000, "amount": 300.5}]', 'progressive') AS fixed_prog,
       crm.rebate_amount(5000, '[{"min": 0, "max": 1000, "rate": 0.1}]', 'progressive') AS bounded,
       crm.rebate_amount(0.25, '[{"min": 0, "rate": 0.02}]') AS half_fen_up,
       crm.rebate_amount(0.24, '[{"min": 0, "rate": 0.02}]') AS below_half;

-- one per-dealer line through the C core: tier, multiplier band, payout cap, netting
SELECT * FROM crm.rebate_calc(27000, 27000, :'sap', 'retroactive', 1.05,
                              '[{"min": 0, "rate": 0.5}, {"min": 0.8, "rate": 1}, {"min": 1.0001, "rate": 1.2}]', 1200, 140);

-- malformed tiers name the tier, with SQLSTATE and hint
\set VERBOSITY default
SELECT crm.rebate_amount(1, '[{"min": 0, "max": 100, "rate": 0.01}, {"min": 50, "rate": 0.02}]');
SELECT crm.rebate_amount(1, '[{"min": 0, "max": 100, "rate": 0.01}, {"min": 150, "rate": 0.02}]');
SELECT crm.rebate_amount(1, '[{"min": 100, "rate": 0.01}, {"min": 50, "rate": 0.02}]');
SELECT crm.rebate_amount(1, '[{"min": 0, "rate": -0.01}]');
SELECT crm.rebate_amount(1, '[{"min": 0, "rate": 0.01, "amount": 5}]');
SELECT crm.rebate_amount(1, '[{"min": 0}]');
SELECT crm.rebate_amount(1, '[{"min": "0", "rate": 0.01}]');
SELECT crm.rebate_amount(1, '[{"min": 0, "rate": 0.01}, "x"]');
SELECT crm.rebate_amount(1, '{"min": 0, "rate": 0.01}');
SELECT crm.rebate_amount(1, '[]');
SELECT crm.rebate_amount(1, '[{"min": 0, "rat": 0.01}]');
SELECT crm.rebate_amount(1, '[{"min": 0, "rate": 0.01}]', 'marginal');
