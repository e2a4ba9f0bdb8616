-- Lifetime value: history by stream plus the BG/NBD + Gamma-Gamma forecast of service value
-- (models.service_clv, fitted by cdp/value/clv.py), and a grade from value and frequency. A customer
-- the model gave no forecast (no service history, or a fit that did not converge) counts 0 in
-- service_clv_12m and says so in service_forecast.
-- Parameters (seeds/parameters.csv, config.customer_ltv; defaults in brackets): vehicle margin
-- vehicle_margin_rate of the deal price [8%]; grades by value percentile among customers: platinum
-- the top platinum_share [5%], gold up to gold_share [20%], silver up to silver_share [50%], standard
-- the rest; a customer with gold_visits_12m [4]+ service visits in the last 12 months is at least
-- gold (frequency earns the tier too).
{{ config(materialized='synced', unique_key='customer_id') }}
WITH params AS (SELECT * FROM {{ ref('config_customer_ltv') }}),
recent AS (
    SELECT customer_id, count(*) AS visits_12m FROM {{ ref('fct_service') }}
    WHERE open_date > {{ as_of() }} - INTERVAL 12 MONTH GROUP BY customer_id
),
value AS (
    SELECT c.customer_id,
           (c.vehicle_revenue * p.vehicle_margin_rate)::DECIMAL(18, 2) AS vehicle_margin,
           c.service_revenue, c.finance_revenue,
           coalesce(m.expected_visits_12m, 0) AS expected_visits_12m,
           coalesce(m.service_clv_12m, 0)::DECIMAL(18, 2) AS service_clv_12m,
           CASE WHEN m.customer_id IS NULL THEN 'no_service_history'
                WHEN m.service_clv_12m IS NULL THEN 'unavailable'
                ELSE 'forecast' END AS service_forecast,
           coalesce(r.visits_12m, 0) AS visits_12m
    FROM {{ ref('customer_360') }} AS c CROSS JOIN params AS p
    LEFT JOIN {{ source('models', 'service_clv') }} AS m USING (customer_id) LEFT JOIN recent AS r USING (customer_id)
),
ranked AS (
    SELECT *, (vehicle_margin + service_revenue + finance_revenue + service_clv_12m)::DECIMAL(18, 2) AS ltv,
           percent_rank() OVER (ORDER BY vehicle_margin + service_revenue + finance_revenue + service_clv_12m DESC,
                                customer_id) AS value_rank
    FROM value
)
SELECT r.customer_id, r.vehicle_margin, r.service_revenue, r.finance_revenue,
       (r.vehicle_margin + r.service_revenue + r.finance_revenue)::DECIMAL(18, 2) AS historical_value,
       r.expected_visits_12m, r.service_clv_12m, r.service_forecast, r.ltv, r.visits_12m,
       CASE WHEN r.value_rank < p.platinum_share THEN 'platinum'
            WHEN r.value_rank < p.gold_share OR r.visits_12m >= p.gold_visits_12m THEN 'gold'
            WHEN r.value_rank < p.silver_share THEN 'silver'
            ELSE 'standard' END AS grade,
       h.household_id, h.household_size,
       sum(r.ltv) OVER (PARTITION BY h.household_id)::DECIMAL(18, 2) AS household_ltv,
       sum(r.vehicle_margin + r.service_revenue + r.finance_revenue) OVER (PARTITION BY h.household_id)::DECIMAL(18, 2)
         AS household_historical_value
FROM ranked AS r CROSS JOIN params AS p
LEFT JOIN {{ ref('dim_household') }} AS h USING (customer_id)
