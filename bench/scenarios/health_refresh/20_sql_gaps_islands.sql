-- Plain SQL: the same profile figures by gaps-and-islands, written to a table.
CREATE TEMP TABLE sql_condition AS
WITH f AS (
    SELECT d.customer_id, c.condition, (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date AS s,
           (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date + d.days_supply - 1 AS e
      FROM crm.dispense d
      JOIN LATERAL (SELECT a.condition FROM crm.atc_condition_default a
                     WHERE d.atc_code LIKE a.atc_prefix || '%'
                     ORDER BY length(a.atc_prefix) DESC LIMIT 1) c ON true
     WHERE d.days_supply IS NOT NULL AND d.dispensed_at < timestamptz '2026-11-23 00:00+08'),
w AS (
    SELECT f.*, max(f.e) OVER (PARTITION BY f.customer_id, f.condition ORDER BY f.s, f.e
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
      FROM f),
isl AS (
    SELECT w.*, count(*) FILTER (WHERE w.prev_end IS NULL OR w.s > w.prev_end + 1)
                 OVER (PARTITION BY w.customer_id, w.condition ORDER BY w.s, w.e) AS island
      FROM w),
i AS (
    SELECT customer_id, condition, island, min(s) AS s, max(e) AS e, count(*) AS fills,
           count(DISTINCT s) AS dates
      FROM isl GROUP BY 1, 2, 3)
SELECT customer_id, condition, min(s) AS first_fill, max(e) + 1 AS next_refill,
       greatest(0, date '2026-11-22' - (max(e) + 1)) AS days_overdue,
       round(sum(greatest(0, least(e, date '2026-11-22') - greatest(s, greatest(date '2026-11-22' - 364, first_s)) + 1))::numeric
             / (date '2026-11-22' - greatest(date '2026-11-22' - 364, min(s)) + 1), 4) AS pdc_365
  FROM (SELECT i.*, min(i.s) OVER (PARTITION BY i.customer_id, i.condition) AS first_s FROM i) i
 GROUP BY customer_id, condition
HAVING sum(dates) >= 2 OR max(e - s + 1) >= 28;

CREATE TEMP TABLE sql_customer AS
SELECT d.customer_id, count(*) AS lines, min(d.dispensed_at) AS first_purchase, max(d.dispensed_at) AS last_purchase,
       count(DISTINCT (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date) AS visits,
       sum(d.price) AS spend, avg(d.promo::int) AS promo_share,
       mode() WITHIN GROUP (ORDER BY d.store_id) AS preferred_store,
       mode() WITHIN GROUP (ORDER BY d.channel) AS preferred_channel
  FROM crm.dispense d
 WHERE d.dispensed_at < timestamptz '2026-11-23 00:00+08'
 GROUP BY d.customer_id;
