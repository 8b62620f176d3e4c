-- The weighted policy through the decision engine: when a territory names a weight_model and
-- crm.decide(model, decision, inputs) exists, each candidate's weight is the model's 'weight'.
-- Without the engine installed, a stand-in crm.decide is created for this test (rolled back).
BEGIN;
SELECT plan(3);

CREATE TEMP TABLE engine AS SELECT to_regprocedure('crm.decide(text,text,jsonb)') IS NOT NULL AS present;
DO $$
BEGIN
    IF NOT (SELECT present FROM engine) THEN
        CREATE FUNCTION crm.decide(model text, decision text, inputs jsonb) RETURNS jsonb
            LANGUAGE sql AS
        $f$ SELECT CASE WHEN model = 'fmcg_weight' AND decision = 'weight'
                        THEN jsonb_build_object('weight', (inputs->>'fulfilment_rate')::numeric
                                                          * CASE WHEN (inputs->>'open_leads')::int < 1000 THEN 1 ELSE 0 END)
                        ELSE '0'::jsonb END $f$;
    END IF;
END
$$;

INSERT INTO crm.rep (employee_no, name, capacity) SELECT 'W' || g, 'rep ' || g, 1000 FROM generate_series(1, 3) g;
INSERT INTO crm.territory (code, name, fence, assignment_policy, weight_model) VALUES
  ('FM', 'fmcg', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))', 'weighted', 'fmcg_weight'),
  ('ZERO', 'zero', 'POLYGON((120 31, 121 31, 121 32, 120 32, 120 31))', 'weighted', 'no_such_model');
INSERT INTO crm.territory_rep (territory_id, rep_id) SELECT t.territory_id, r.rep_id FROM crm.territory t, crm.rep r;
INSERT INTO crm.rep_metric (rep_id, metric, value)
SELECT rep_id, 'fulfilment_rate', substr(employee_no, 2)::int FROM crm.rep;
-- built-in weights that would give the opposite shares: the model must win
INSERT INTO crm.dispatch_weight (metric, weight) VALUES ('fulfilment_rate', -1);

INSERT INTO crm.lead (external_ref, lon, lat) SELECT 'm' || g, 118.5, 32 FROM generate_series(1, 60) g;
INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('z', 120.5, 31.5);

SELECT CASE WHEN (SELECT present FROM engine) THEN skip('the decision engine is installed: its own tests cover models', 3)
       ELSE collect_tap(
         results_eq($$SELECT r.employee_no, count(*) FROM crm.lead l JOIN crm.rep r ON r.rep_id = l.owner_rep_id
                       WHERE l.external_ref LIKE 'm%' GROUP BY 1 ORDER BY 1$$,
                    $$VALUES ('W1'::text, 10::bigint), ('W2', 20), ('W3', 30)$$,
                    'weights from the decision model (1 : 2 : 3) set the shares'),
         is((SELECT reason FROM crm.lead_dispatch JOIN crm.lead USING (tenant_id, lead_id) WHERE external_ref = 'z'),
            'no rep with positive weight', 'a model scoring every rep 0 leaves the lead queued with its reason'),
         is((SELECT count(*) FROM crm.outbox WHERE topic = 'lead.assigned'), 60::bigint, 'one push per assigned lead'))
       END;

SELECT * FROM finish();
ROLLBACK;
