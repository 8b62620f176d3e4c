-- The chain: 康宁大药房 (a fictional pharmacy chain) with 48 stores in 12 cities of Jiangsu and
-- Zhejiang, 30 reps, 240 loyalty members in households, and the day's visit leads.
-- Everything is derived from generate_series and fixed tables: the same data on every run.
\echo
\echo '================ 1. The chain: stores, reps, customers and today''s leads ================'

INSERT INTO crm.tenant (tenant_id, name) VALUES (1, '康宁大药房连锁 (演示)');

CREATE TEMP TABLE demo_city (n int, province text, city text, lon float8, lat float8);
INSERT INTO demo_city VALUES
 (1, '江苏', '南京', 118.7969, 32.0603), (2, '江苏', '苏州', 120.5853, 31.2989),
 (3, '江苏', '无锡', 120.3119, 31.4912), (4, '江苏', '常州', 119.9741, 31.8112),
 (5, '江苏', '南通', 120.8943, 31.9802), (6, '江苏', '扬州', 119.4129, 32.3942),
 (7, '浙江', '杭州', 120.1551, 30.2741), (8, '浙江', '宁波', 121.5503, 29.8746),
 (9, '浙江', '温州', 120.6994, 27.9943), (10, '浙江', '绍兴', 120.5802, 30.0302),
 (11, '浙江', '嘉兴', 120.7555, 30.7461), (12, '浙江', '金华', 119.6474, 29.0791);

-- four stores per city, spread on a small fixed pattern around the centre; one DTP pharmacy each
INSERT INTO crm.store (code, name, kind, province, city, district, lon, lat, srs, opened_on)
SELECT pg_catalog.format('%s-%s', c.n, s),
       c.city || (ARRAY['中心店', '新区店', '火车站店', '特药药房'])[s],
       CASE WHEN s = 4 THEN 'dtp_pharmacy' ELSE 'pharmacy' END,
       c.province, c.city, (ARRAY['主城区', '新区', '站前', '医院旁'])[s],
       round((c.lon + (ARRAY[0.0, 0.045, -0.038, 0.012])[s])::numeric, 5),
       round((c.lat + (ARRAY[0.0, -0.031, 0.027, 0.019])[s])::numeric, 5),
       'wgs84', date '2015-03-01' + (c.n * 97 + s * 31) % 2900
  FROM demo_city c, generate_series(1, 4) s;

-- reps: a manager per province, then two or three reps per city; every third rep oncology-trained
INSERT INTO crm.rep (employee_no, name, skills, capacity)
VALUES ('M-JS', '周建国', '{oncology,dtp,licensed_pharmacist}', 10),
       ('M-ZJ', '吴海燕', '{oncology,dtp,licensed_pharmacist}', 10);
INSERT INTO crm.rep (employee_no, name, manager_id, skills, capacity)
SELECT pg_catalog.format('R%s%s', lpad(c.n::text, 2, '0'), k),
       (ARRAY['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '孙', '朱', '徐', '马'])[1 + (c.n * 7 + k * 5) % 12] ||
       (ARRAY['伟', '芳', '敏', '静', '磊', '洋', '婷', '勇', '娟', '涛', '霞', '鹏', '丽', '杰'])[1 + (c.n * 3 + k * 11) % 14],
       (SELECT r.rep_id FROM crm.rep r WHERE r.employee_no = CASE WHEN c.province = '江苏' THEN 'M-JS' ELSE 'M-ZJ' END),
       CASE WHEN (c.n + k) % 3 = 0 THEN '{oncology,dtp}'::text[]
            WHEN (c.n + k) % 3 = 1 THEN '{licensed_pharmacist}'::text[]
            ELSE '{}'::text[] END,
       (ARRAY[8, 12, 15])[k]
  FROM demo_city c, generate_series(1, CASE WHEN c.n % 4 = 0 THEN 3 ELSE 2 END) k;

-- households of one to three members, 240 loyalty members registered at their nearest store
INSERT INTO crm.household (label)
SELECT '家庭 ' || h FROM generate_series(1, 120) h;
INSERT INTO crm.customer (member_no, display_name, household_id, home_store_id)
SELECT 'VIP' || lpad(i::text, 6, '0'),
       (ARRAY['王', '李', '张', '刘', '陈', '杨', '黄', '周', '吴', '徐'])[1 + i % 10] ||
       CASE WHEN i % 2 = 0 THEN '女士' ELSE '先生' END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + (i * 7) % 120 END,
       (SELECT s.store_id FROM crm.store s ORDER BY s.store_id OFFSET (i * 13) % 48 LIMIT 1)
  FROM generate_series(1, 240) i;

-- the day's leads: clinics, community health stations and DTP patients asking for visits
INSERT INTO crm.lead (external_ref, source, channel, lead_type, company_name, contact_name, province, city,
                      lon, lat, srs, required_skills, attributes, created_at)
SELECT pg_catalog.format('MP-20261122-%s', lpad(i::text, 4, '0')),
       (ARRAY['wechat', 'web', 'phone', 'referral', 'walk_in', 'event'])[1 + i % 6],
       (ARRAY['小程序', '官网', '400热线', '医生推荐', '门店', '学术会议'])[1 + i % 6],
       CASE WHEN i % 7 = 0 THEN 'dtp' ELSE 'visit' END,
       c.city || (ARRAY['社区卫生服务中心', '第一人民医院', '中医诊所', '康复医院', '口腔诊所', '体检中心'])[1 + i % 6],
       (ARRAY['赵', '钱', '孙', '李', '周', '吴', '郑', '王'])[1 + i % 8] || (ARRAY['主任', '医生', '药师', '经理'])[1 + i % 4],
       c.province, c.city,
       round((c.lon + ((i * 37) % 100 - 50) / 1500.0)::numeric, 5),
       round((c.lat + ((i * 53) % 100 - 50) / 1500.0)::numeric, 5),
       CASE WHEN i % 3 = 0 THEN 'gcj02' ELSE 'wgs84' END,
       CASE WHEN i % 7 = 0 THEN '{oncology}'::text[] ELSE '{}'::text[] END,
       jsonb_build_object('company_size', (ARRAY['small', 'medium', 'large'])[1 + i % 3],
                          'licence_on_file', i % 4 <> 0,
                          'beds', (i * 17) % 300),
       timestamptz '2026-11-22 08:00:00+08' + (i * 7) * interval '1 minute'
  FROM generate_series(1, 72) i
  JOIN demo_city c ON c.n = 1 + (i * 5) % 12;

SELECT c.province AS "省", c.city AS "城市",
       count(DISTINCT s.store_id) AS "门店", count(DISTINCT s.store_id) FILTER (WHERE s.kind = 'dtp_pharmacy') AS "特药药房",
       (SELECT count(*) FROM crm.rep r WHERE r.employee_no LIKE 'R' || lpad(c.n::text, 2, '0') || '%') AS "代表",
       (SELECT count(*) FROM crm.lead l WHERE l.city = c.city) AS "今日线索"
  FROM demo_city c JOIN crm.store s ON s.city = c.city
 GROUP BY c.n, c.province, c.city ORDER BY c.n;

\echo 'Leads today by source (crm.lead_funnel, the view BI tools read):'
SELECT source AS "来源", sum(leads) AS "线索" FROM crm.lead_funnel GROUP BY 1 ORDER BY 2 DESC, 1;
