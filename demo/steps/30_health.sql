-- Health profiles and care: a year of dispensing for the chain's members, the profiles the
-- extension keeps, tags and care actions from decision tables, and what BI may see.
-- Deterministic: everything derives from the member number.
\echo
\echo '================ 3. Health profiles, tags and care actions ================'
SET crm_health.as_of = '2026-11-22';

-- the chain's own SKUs for its best sellers, mapped to ATC
INSERT INTO crm.drug_code_map (code_system, code, atc_code, drug_name) VALUES
    ('sku', 'KN-LOS-50', 'C09CA01', '氯沙坦钾片 50mg×7'),
    ('sku', 'KN-AML-5', 'C08CA01', '苯磺酸氨氯地平片 5mg×7'),
    ('sku', 'KN-MET-500', 'A10BA02', '盐酸二甲双胍片 0.5g×20'),
    ('sku', 'KN-ATO-20', 'C10AA05', '阿托伐他汀钙片 20mg×7'),
    ('sku', 'KN-PARA', 'N02BE01', '对乙酰氨基酚片'),
    ('sku', 'KN-OSI-80', 'L01EB04', '甲磺酸奥希替尼片 80mg×30');

-- spouses: the first two members of every household
INSERT INTO crm.household_link (customer_id, related_customer_id, relation)
SELECT m[1], m[2], 'spouse'
  FROM (SELECT array_agg(customer_id ORDER BY customer_id) m FROM crm.customer
         WHERE household_id IS NOT NULL GROUP BY household_id) h
 WHERE array_length(m, 1) >= 2;

-- consent: most members agreed to tagging, care outreach and household sharing; 2/3 to coupons
SELECT count(*) AS "同意记录" FROM (
    SELECT crm.grant_consent(c.customer_id, p, 'APP-2026-' || c.member_no)
      FROM crm.customer c, unnest(ARRAY['health_tagging', 'care_outreach', 'household_sharing']) p
     WHERE c.customer_id % 10 <> 7
    UNION ALL
    SELECT crm.grant_consent(c.customer_id, 'marketing', 'APP-2026-' || c.member_no)
      FROM crm.customer c WHERE c.customer_id % 3 <> 0) g;

-- a year of dispensing at the member's home store: every 4th member treats hypertension (every 8th
-- stopped buying in the summer), every 6th diabetes (90-day packs), every 9th cholesterol; every
-- 40th buys an oncology drug at the city's DTP pharmacy; everybody buys some OTC medicine.
INSERT INTO crm.dispense (customer_id, store_id, drug_code, code_system, quantity, days_supply, dispensed_at, channel, promo, price)
SELECT c.customer_id, c.home_store_id, x.sku, 'sku', x.qty, x.days,
       timestamptz '2025-12-01 10:00+08' + x.day * interval '1 day' + (c.customer_id % 9) * interval '1 hour',
       CASE WHEN (c.customer_id + x.day) % 5 = 0 THEN 'app' ELSE 'store' END,
       (c.customer_id + x.day) % 7 = 0, x.price
  FROM crm.customer c
  CROSS JOIN LATERAL (
      SELECT 'KN-LOS-50' AS sku, 4 AS qty, 28 AS days, k * (28 + c.customer_id % 5) + c.customer_id % 13 AS day, 39.80 AS price
        FROM generate_series(0, 12) k
       WHERE c.customer_id % 4 = 0 AND (c.customer_id % 8 <> 0 OR k <= 7)
      UNION ALL
      SELECT 'KN-AML-5', 4, 28, k * 30 + 3 + c.customer_id % 11, 26.50
        FROM generate_series(0, 11) k WHERE c.customer_id % 12 = 0 AND (c.customer_id % 8 <> 0 OR k <= 7)
      UNION ALL
      SELECT 'KN-MET-500', 9, 90, k * (90 + c.customer_id % 25) + c.customer_id % 17, 58.00
        FROM generate_series(0, 3) k WHERE c.customer_id % 6 = 0
      UNION ALL
      SELECT 'KN-ATO-20', 4, 28, k * 35 + c.customer_id % 19, 45.60
        FROM generate_series(0, 9) k WHERE c.customer_id % 9 = 0
      UNION ALL
      SELECT 'KN-OSI-80', 1, 30, k * 30 + 20, 5100.00
        FROM generate_series(0, 10) k WHERE c.customer_id % 40 = 0
      UNION ALL
      SELECT 'KN-PARA', 1, NULL, 17 + k * (61 + c.customer_id % 37), 12.80
        FROM generate_series(0, 4) k) x
 WHERE x.day <= 355;
-- the oncology patients buy at the city's DTP pharmacy (特药药房)
UPDATE crm.dispense d SET channel = 'dtp',
       store_id = (SELECT s.store_id FROM crm.store s JOIN crm.store h ON h.city = s.city
                    WHERE h.store_id = d.store_id AND s.kind = 'dtp_pharmacy')
 WHERE d.drug_code = 'KN-OSI-80';
INSERT INTO crm.loyalty_event (customer_id, store_id, kind, points, occurred_at)
SELECT d.customer_id, d.store_id, 'earn', floor(d.price)::int, d.dispensed_at FROM crm.dispense d;

\echo 'Profiles kept by the trigger: chronic conditions, adherence (PDC over 365 days) and refill gaps:'
SELECT c AS "慢病", count(*) AS "患者",
       count(*) FILTER (WHERE (p.condition_detail -> c ->> 'adherent')::boolean) AS "依从(PDC≥80%)",
       round(avg((p.condition_detail -> c ->> 'pdc_365')::numeric), 3) AS "平均PDC",
       count(*) FILTER (WHERE (p.condition_detail -> c ->> 'days_overdue')::int >= 90) AS "断药≥90天"
  FROM crm.health_profile p, unnest(p.conditions) c
 GROUP BY c ORDER BY 2 DESC;

\echo 'One member''s profile (crm.health_profile_of: the read is logged):'
SELECT customer_id AS "会员", conditions AS "慢病", household_conditions AS "家人慢病", max_days_overdue AS "断药天数",
       min_pdc_365 AS "最低PDC", visits_365d AS "到店天数", spend_365 AS "年消费", spend_tier AS "消费层级",
       price_sensitivity AS "价格敏感", preferred_channel AS "偏好渠道", loyalty_points AS "积分"
  FROM crm.health_profile_of(8);

-- tags and care actions are decision tables: business users add rules, not code
BEGIN;
SELECT crm.dmn_create_model('health tags') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position)
SELECT :m, n, p FROM unnest(ARRAY['hypertension', 'household_conditions', 'spend_365', 'preferred_channel',
                                  'non_adherent_count']) WITH ORDINALITY AS x(n, p);
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy) VALUES (:m, 'tags', 1, 'COLLECT');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT crm.dmn_decision_id('health tags', 'tags'), 'input', n, p
  FROM unnest(ARRAY['hypertension', 'household_conditions', 'spend_365', 'preferred_channel',
                    'non_adherent_count']) WITH ORDINALITY AS x(n, p);
INSERT INTO crm.dmn_input (decision_id, position, expr)
SELECT crm.dmn_decision_id('health tags', 'tags'), p, e
  FROM unnest(ARRAY['hypertension.days_overdue', 'list contains(household_conditions, "diabetes")',
                    'spend_365', 'preferred_channel', 'non_adherent_count']) WITH ORDINALITY AS x(e, p);
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref)
VALUES (crm.dmn_decision_id('health tags', 'tags'), 1, 'tag', 'string');
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation) VALUES
    (crm.dmn_decision_id('health tags', 'tags'), 1, ARRAY['>= 90', '-', '-', '-', '-'],
     ARRAY['"hypertension_refill_gap_90d"'], '降压药断药超过90天'),
    (crm.dmn_decision_id('health tags', 'tags'), 2, ARRAY['-', 'true', '-', '-', '-'],
     ARRAY['"diabetic_household"'], '家中有糖尿病患者'),
    (crm.dmn_decision_id('health tags', 'tags'), 3, ARRAY['-', '-', '>= 5000', '"dtp"', '-'],
     ARRAY['"high_value_dtp"'], '特药高价值客户'),
    (crm.dmn_decision_id('health tags', 'tags'), 4, ARRAY['-', '-', '-', '-', '>= 1'],
     ARRAY['"chronic_non_adherent"'], '慢病依从性不足');

SELECT crm.dmn_create_model('health care') AS m \gset
INSERT INTO crm.dmn_input_data (model_id, name, position) VALUES (:m, 'hypertension', 1), (:m, 'diabetes', 2);
INSERT INTO crm.dmn_decision (model_id, name, position, hit_policy) VALUES (:m, 'care actions', 1, 'COLLECT'),
                                                                       (:m, 'coupons', 2, 'COLLECT');
INSERT INTO crm.dmn_requirement (decision_id, kind, required, position)
SELECT crm.dmn_decision_id('health care', d), 'input', n, p
  FROM unnest(ARRAY['care actions', 'coupons']) d,
       unnest(ARRAY['hypertension', 'diabetes']) WITH ORDINALITY AS x(n, p);
INSERT INTO crm.dmn_input (decision_id, position, expr)
SELECT crm.dmn_decision_id('health care', d), p, e
  FROM unnest(ARRAY['care actions', 'coupons']) d,
       unnest(ARRAY['hypertension.days_overdue', 'diabetes.adherent']) WITH ORDINALITY AS x(e, p);
INSERT INTO crm.dmn_output (decision_id, position, name, type_ref)
SELECT crm.dmn_decision_id('health care', d), p, n, 'string'
  FROM unnest(ARRAY['care actions', 'coupons']) d,
       unnest(ARRAY['action', 'target', 'period', 'note']) WITH ORDINALITY AS x(n, p);
INSERT INTO crm.dmn_rule (decision_id, position, input_entries, output_entries, annotation) VALUES
    (crm.dmn_decision_id('health care', 'care actions'), 1, ARRAY['>= 90', '-'],
     ARRAY['"clinic_invite"', '"self"', '"month"', '"社区医院高血压复诊邀请"'], '降压药断药三个月：邀请复诊'),
    (crm.dmn_decision_id('health care', 'care actions'), 2, ARRAY['[30..90)', '-'],
     ARRAY['"pharmacist_call"', '"self"', '"month"', '"药师电话随访"'], '降压药断药一个月：药师随访'),
    (crm.dmn_decision_id('health care', 'care actions'), 3, ARRAY['-', 'false'],
     ARRAY['"refill_reminder"', '"self"', '"month"', '"二甲双胍续药提醒"'], '降糖药依从性不足：续药提醒'),
    (crm.dmn_decision_id('health care', 'coupons'), 1, ARRAY['>= 90', '-'],
     ARRAY['"coupon"', '"spouse"', '"quarter"', '"血糖仪8折券"'], '高血压断药者的配偶：血糖仪优惠券');
INSERT INTO crm.health_rule_set (kind, model, decision, purpose) VALUES
    ('tag', 'health tags', 'tags', 'health_tagging'),
    ('care', 'health care', 'care actions', 'care_outreach'),
    ('care', 'health care', 'coupons', 'marketing');
COMMIT;

-- the nightly job: rebuild the profiles (tags follow), then the care rules
CALL crm.refresh_health_profiles();
SELECT crm.run_care_rules() AS "新关怀任务";
SELECT crm.run_care_rules() AS "再次运行（幂等）";

\echo 'Tags, each with the rule that produced it:'
SELECT tag AS "标签", count(*) AS "会员", min(rule) AS "规则"
  FROM crm.customer_tag GROUP BY tag ORDER BY 2 DESC;

\echo 'Care actions for chronic customers and their families (announced in crm.outbox):'
SELECT k.action AS "动作", k.relation AS "对象", k.period_start AS "周期", count(*) AS "任务",
       count(DISTINCT k.store_id) AS "门店", min(k.note) AS "内容"
  FROM crm.care_task k GROUP BY 1, 2, 3 ORDER BY 4 DESC;
SELECT k.care_task_id AS "任务", c.display_name AS "会员", k.action AS "动作", k.relation AS "对象",
       k.subject_customer_id AS "源自会员", s.name AS "门店", k.rule AS "规则"
  FROM crm.care_task k JOIN crm.customer c ON c.customer_id = k.customer_id
  LEFT JOIN crm.store s ON s.store_id = k.store_id
 ORDER BY k.care_task_id LIMIT 6;
SELECT topic, count(*) AS "消息" FROM crm.outbox WHERE topic = 'care.task_created' GROUP BY 1;

\echo 'A member withdraws consent for health tagging: the tags go at once, and the access is on record:'
SELECT crm.withdraw_consent(8, 'health_tagging') AS "撤回";
SELECT count(*) AS "会员8的标签" FROM crm.customer_tag WHERE customer_id = 8;
SELECT action AS "操作", object AS "函数", customer_id AS "会员", row_count AS "行数" FROM crm.health_access_log ORDER BY log_id;

\echo 'What BI sees (crm.health_condition_stats: no group under k = 5 members, small sub-counts hidden):'
UPDATE crm.tenant SET settings = settings || '{"health_k_min": 5}';
SELECT province AS "省", city AS "城市", condition AS "慢病", customers AS "患者", adherent_customers AS "依从",
       overdue_90_customers AS "断药≥90天", avg_pdc_365 AS "平均PDC"
  FROM crm.health_condition_stats ORDER BY 1, 2, 4 DESC;
SELECT tag AS "标签", customers AS "会员" FROM crm.health_tag_stats ORDER BY 2 DESC;
