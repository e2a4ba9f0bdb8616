-- RFM on after-sales activity with purchases weighted in (purchases are years apart, service is frequent).
-- R = days since the last service visit or purchase; F = service visits + purchase_weight × purchases;
-- M = service revenue + vehicle_margin_rate × vehicle revenue (margin proxy). Scores 1-5 by quintile (5 = best).
-- Parameters: seeds/parameters.csv (config.customer_rfm; the margin rate is customer_ltv's).
-- Segments, first rule that applies:
--   new        first activity within the last new_days days
--   core       R >= 4, F >= 4, M >= 4
--   potential  F >= 4, M >= 4, R <= 3   (valuable but not recent: win them back first)
--   at_risk    R <= 2 and (F >= 3 or M >= 3)
--   sleeping   R <= 2, F <= 2, M <= 2
--   regular    everyone else
{{ config(materialized='synced', unique_key='customer_id') }}
WITH params AS (SELECT r.*, l.vehicle_margin_rate FROM {{ ref('config_customer_rfm') }} AS r, {{ ref('config_customer_ltv') }} AS l),
base AS (
    SELECT c.customer_id,
           greatest(c.last_visit_date, c.last_purchase_date) AS last_activity,
           least(c.first_purchase_date, d.first_seen) AS first_activity,
           c.service_visits + p.purchase_weight * c.purchases AS frequency,
           (c.service_revenue + p.vehicle_margin_rate * c.vehicle_revenue)::DECIMAL(18, 2) AS monetary
    FROM {{ ref('customer_360') }} AS c JOIN {{ ref('dim_customer') }} AS d USING (customer_id), params AS p
),
scored AS (
    SELECT *, datediff('day', last_activity, {{ as_of() }}) AS recency_days,
           ntile(5) OVER (ORDER BY last_activity NULLS FIRST, customer_id) AS r_score,
           ntile(5) OVER (ORDER BY frequency, customer_id) AS f_score,
           ntile(5) OVER (ORDER BY monetary, customer_id) AS m_score
    FROM base
)
SELECT s.customer_id, s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score,
       s.r_score::VARCHAR || s.f_score::VARCHAR || s.m_score::VARCHAR AS rfm_cell,
       CASE WHEN s.first_activity > {{ as_of() }} - to_days(p.new_days) THEN 'new'
            WHEN s.r_score >= 4 AND s.f_score >= 4 AND s.m_score >= 4 THEN 'core'
            WHEN s.f_score >= 4 AND s.m_score >= 4 THEN 'potential'
            WHEN s.r_score <= 2 AND (s.f_score >= 3 OR s.m_score >= 3) THEN 'at_risk'
            WHEN s.r_score <= 2 AND s.f_score <= 2 AND s.m_score <= 2 THEN 'sleeping'
            ELSE 'regular' END AS segment
FROM scored AS s, params AS p
