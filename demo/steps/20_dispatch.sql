-- Dispatch: the day's visit leads of 00_chain go to the reps of the territory they fall in.
-- Territories come from 15_territories.sql (geo-fences of the chain's cities); should that step be
-- absent, a 12 km circle around each city's central store stands in for them.
\echo
\echo '================ 20. Dispatch: territories, qualified reps, working hours, SLA ================'

INSERT INTO crm.territory (code, name, fence, sla_seconds, assignment_policy)
SELECT 'CITY-' || s.code, s.city, crm.geofence_circle(s.lon, s.lat, 12000, s.srs), 300,
       CASE WHEN s.province = '江苏' THEN 'round_robin' ELSE 'least_loaded' END
  FROM crm.store s
 WHERE s.code LIKE '%-1' AND NOT EXISTS (SELECT 1 FROM crm.territory);

-- every city rep (R<city><k>) serves the territories that contain the city's central store;
-- oncology-trained reps also serve the territories around their city's DTP pharmacy (e.g. a
-- check-in circle that comes before the city)
INSERT INTO crm.territory_rep (territory_id, rep_id)
SELECT DISTINCT t.territory_id, r.rep_id
  FROM crm.rep r
  JOIN crm.store s ON s.code = ltrim(substr(r.employee_no, 2, 2), '0') || '-1'
                   OR (s.code = ltrim(substr(r.employee_no, 2, 2), '0') || '-4' AND 'oncology' = ANY (r.skills))
 CROSS JOIN LATERAL crm.locate(s.lon, s.lat, s.srs) t
 WHERE r.employee_no LIKE 'R%'
ON CONFLICT DO NOTHING;

-- Zhejiang balances by load, Jiangsu takes turns
UPDATE crm.territory t SET assignment_policy = 'least_loaded'
  FROM crm.store s
 WHERE s.code LIKE '%-1' AND s.province = '浙江' AND crm.geofence_contains(t.fence, s.lon, s.lat, s.srs);

-- the province managers escalate; licensed pharmacists need a valid licence on file
UPDATE crm.territory t SET manager_rep_id = m.rep_id
  FROM crm.store s, crm.rep m
 WHERE t.manager_rep_id IS NULL AND crm.geofence_contains(t.fence, s.lon, s.lat, s.srs) AND s.code LIKE '%-1'
   AND m.employee_no = CASE WHEN s.province = '江苏' THEN 'M-JS' ELSE 'M-ZJ' END;
INSERT INTO crm.licensed_skill (skill, description) VALUES ('licensed_pharmacist', '执业药师');
INSERT INTO crm.rep_licence (rep_id, skill, licence_no, valid_from, valid_until)
SELECT r.rep_id, 'licensed_pharmacist', 'ZYYS-' || r.employee_no, date '2023-01-01',
       CASE WHEN r.rep_id % 2 = 0 THEN date '2027-12-31' ELSE date '2026-06-30' END
  FROM crm.rep r WHERE 'licensed_pharmacist' = ANY (r.skills);

-- working hours (China Standard Time): Monday to Saturday 08:30-17:30; on Sundays only the first rep
-- of each city is on duty, 08:30-12:00 (2026-11-22 is a Sunday)
INSERT INTO crm.rep_hours (rep_id, weekday, starts, ends)
SELECT r.rep_id, d, time '08:30', time '17:30' FROM crm.rep r, generate_series(1, 6) d WHERE r.employee_no LIKE 'R%';
INSERT INTO crm.rep_hours (rep_id, weekday, starts, ends)
SELECT r.rep_id, 7, time '08:30', time '12:00' FROM crm.rep r WHERE r.employee_no LIKE 'R%1';

-- the leads arrived before the territories existed: dispatch each as of the time it came in
SELECT count(*) AS "重新派单线索" FROM (
    SELECT crm.dispatch(l.lead_id, l.created_at) FROM crm.lead l
     WHERE l.status IN ('new', 'unassigned') ORDER BY l.created_at, l.lead_id) s;

\echo '-- per city: assigned, and why the others are waiting'
SELECT l.province AS "省", l.city AS "城市", count(*) AS "线索",
       count(*) FILTER (WHERE l.status = 'assigned') AS "已派",
       count(*) FILTER (WHERE d.reason = 'outside working hours') AS "非工作时间",
       count(*) FILTER (WHERE d.reason = 'no qualified rep') AS "无资质代表",
       count(*) FILTER (WHERE d.reason = 'all at capacity') AS "满负荷",
       count(*) FILTER (WHERE d.reason = 'no territory') AS "无片区"
  FROM crm.lead l JOIN crm.lead_dispatch d USING (tenant_id, lead_id)
 GROUP BY 1, 2 ORDER BY 1, 2;

\echo '-- the queue (crm.dispatch_queue): first five'
SELECT external_ref, lead_type, city, reason FROM crm.dispatch_queue ORDER BY created_at, lead_id LIMIT 5;

\echo '-- rep load (crm.dispatch_rep_load): the busiest five'
SELECT employee_no AS "工号", name AS "代表", capacity AS "容量", open_leads AS "在手", assigned_total AS "今日派单"
  FROM crm.dispatch_rep_load WHERE assigned_total > 0 ORDER BY open_leads DESC, employee_no LIMIT 5;

\echo '-- a rep confirms; at 17:00 the rest are overdue: the next rep first, then the manager'
SELECT crm.ack(l.lead_id) IS NOT NULL AS "确认"
  FROM crm.lead l WHERE l.status = 'assigned' ORDER BY l.lead_id LIMIT 1;
SELECT action AS "动作", count(*) AS "线索"
  FROM crm.escalate_overdue(timestamptz '2026-11-22 17:00+08') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS "再次运行 (幂等)" FROM crm.escalate_overdue(timestamptz '2026-11-22 17:00+08');
SELECT topic AS "推送主题", count(*) AS "条数" FROM crm.outbox WHERE topic LIKE 'lead.%' GROUP BY 1 ORDER BY 1;

\echo '-- Monday 09:00: the queue is retried (crm.dispatch_pending, every minute from pg_cron)'
SELECT crm.dispatch_pending(500, timestamptz '2026-11-23 09:00+08') AS "补派";
SELECT coalesce(reason, 'assigned') AS "结果", count(*) AS "线索"
  FROM crm.lead_dispatch GROUP BY 1 ORDER BY 1;
