-- :scale customers, 20 dispensing lines each, 200 stores; deterministic (arithmetic on the ids).
SET crm_health.as_of = '2026-11-22';
INSERT INTO crm.store (code, name, city)
SELECT 'B' || s, '门店 ' || s, (ARRAY['南京','苏州','杭州','宁波'])[1 + s % 4] FROM generate_series(1, 200) s;
INSERT INTO crm.customer (member_no) SELECT 'B' || i FROM generate_series(1, :scale) i;
ALTER TABLE crm.dispense DISABLE TRIGGER dispense_profile_insert;
ALTER TABLE crm.dispense DISABLE TRIGGER dispense_resolve_atc;
INSERT INTO crm.dispense (customer_id, store_id, drug_code, code_system, atc_code, days_supply, dispensed_at,
                          channel, promo, price)
SELECT i, 1 + (i * 31 + k % 4) % 200, atc, 'atc', atc, days,
       timestamptz '2025-12-01 09:00+08' + ((k - 1) * 16 + i % 11 + (i * k) % 5 - 2) * interval '1 day'
                                         + ((i * k) % 12) * interval '1 hour',
       (ARRAY['store', 'store', 'app', 'o2o'])[1 + (i + k) % 4], (i * k) % 5 = 0, 10 + (i * k) % 90
  FROM generate_series(1, :scale) i, generate_series(1, 20) k,
       LATERAL (SELECT CASE WHEN i % 5 < 3 AND k % 3 <> 0
                            THEN (ARRAY['C09CA01','C08CA01','A10BA02','C10AA05','C07AB02','R03AK06'])[1 + (i + (k % 2) * 3) % 6]
                            ELSE (ARRAY['N02BE01','R05CB01','A11JA01','J01CA04'])[1 + (i + k) % 4] END AS atc,
                       CASE WHEN i % 5 < 3 AND k % 3 <> 0 THEN CASE WHEN (i + k) % 4 = 0 THEN 60 ELSE 30 END
                            WHEN (i + k) % 4 = 3 THEN 7 END AS days) x
 ORDER BY 7;
ALTER TABLE crm.dispense ENABLE TRIGGER dispense_profile_insert;
ALTER TABLE crm.dispense ENABLE TRIGGER dispense_resolve_atc;
