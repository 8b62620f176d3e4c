-- Plain SQL: the same profile figures with window functions (gaps and islands), written to tables.
-- Same-drug early refills shift forward as PQA requires, without recursion: for fills k of one drug
-- in date order with supplies n and running supply total S, the shifted supply ends on
-- S_k - 1 + max over j <= k of (date_j - S_(j-1)).
CREATE TEMP TABLE sql_condition AS
WITH f AS (
    SELECT d.customer_id, c.condition, d.atc_code AS drug, (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date AS s,
           d.days_supply AS n
      FROM crm.dispense d
      JOIN LATERAL (SELECT a.condition FROM crm.atc_condition_default a
                     WHERE d.atc_code LIKE a.atc_prefix || '%'
                     ORDER BY length(a.atc_prefix) DESC LIMIT 1) c ON true
     WHERE d.days_supply IS NOT NULL AND d.dispensed_at < timestamptz '2026-11-23 00:00+08'),
cum AS (
    SELECT f.*, sum(f.n) OVER w - f.n AS s_prev
      FROM f WINDOW w AS (PARTITION BY f.customer_id, f.condition, f.drug ORDER BY f.s ROWS UNBOUNDED PRECEDING)),
shifted AS (
    SELECT customer_id, condition, s AS fill,
           max(s - s_prev::int) OVER w + (s_prev + n - 1)::int AS e, n
      FROM cum WINDOW w AS (PARTITION BY customer_id, condition, drug ORDER BY s ROWS UNBOUNDED PRECEDING)),
spans AS (
    SELECT customer_id, condition, fill, e - n + 1 AS s, e FROM shifted),
w AS (
    SELECT spans.*, max(e) OVER (PARTITION BY customer_id, condition ORDER BY s, e
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end,
           min(fill) OVER (PARTITION BY customer_id, condition) AS first_fill
      FROM spans),
isl AS (
    SELECT w.*, count(*) FILTER (WHERE prev_end IS NULL OR s > prev_end + 1)
                 OVER (PARTITION BY customer_id, condition ORDER BY s, e) AS island
      FROM w),
i AS (
    SELECT customer_id, condition, island, min(first_fill) AS first_fill, min(s) AS s, max(e) AS e,
           count(*) AS fills, count(DISTINCT fill) AS dates, max(e - s + 1) AS longest
      FROM isl GROUP BY 1, 2, 3),
per AS (
    SELECT customer_id, condition, min(first_fill) AS first_fill, max(e) + 1 AS next_refill,
           sum(dates) AS dates, max(longest) AS longest,
           sum(greatest(0, least(e, date '2026-11-22') - greatest(s, date '2026-11-22' - 89, first_fill) + 1)) AS cov90,
           sum(greatest(0, least(e, date '2026-11-22') - greatest(s, date '2026-11-22' - 179, first_fill) + 1)) AS cov180,
           sum(greatest(0, least(e, date '2026-11-22') - greatest(s, date '2026-11-22' - 364, first_fill) + 1)) AS cov365
      FROM i GROUP BY 1, 2)
SELECT customer_id, condition, first_fill, next_refill,
       greatest(0, date '2026-11-22' - next_refill) AS days_overdue,
       round(cov90::numeric / (date '2026-11-22' - greatest(date '2026-11-22' - 89, first_fill) + 1), 4) AS pdc_90,
       round(cov180::numeric / (date '2026-11-22' - greatest(date '2026-11-22' - 179, first_fill) + 1), 4) AS pdc_180,
       round(cov365::numeric / (date '2026-11-22' - greatest(date '2026-11-22' - 364, first_fill) + 1), 4) AS pdc_365
  FROM per
 WHERE dates >= 2 OR longest >= 28;

CREATE TEMP TABLE sql_customer AS
SELECT d.customer_id, count(*) AS lines, min(d.dispensed_at) AS first_purchase, max(d.dispensed_at) AS last_purchase,
       count(DISTINCT (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date)
           FILTER (WHERE d.dispensed_at >= timestamptz '2026-08-25 00:00+08') AS visits_90d,
       count(DISTINCT (d.dispensed_at AT TIME ZONE 'Asia/Shanghai')::date) AS visits_365d,
       sum(d.price) AS spend_365, round(avg(d.promo::int), 3) AS promo_share,
       mode() WITHIN GROUP (ORDER BY d.store_id) AS preferred_store,
       mode() WITHIN GROUP (ORDER BY d.channel) AS preferred_channel
  FROM crm.dispense d
 WHERE d.dispensed_at >= timestamptz '2025-11-23 00:00+08' AND d.dispensed_at < timestamptz '2026-11-23 00:00+08'
 GROUP BY d.customer_id;
