-- One row per lead: who it is (customer or prospect), how far it got in the funnel (first date of each
-- follow-up kind), the car its customer bought within attribution_days at any store of the group, and its
-- touch position among the leads before that purchase (first / last touch attribution, cost-free).
-- A daily build recomputes only the leads whose row may differ (recompute, macros/recompute.sql).
{{ config(materialized='synced', unique_key='lead_no', recompute='recompute_fct_leads') }}
WITH params AS (SELECT * FROM {{ ref('config_funnel') }}),
leads AS (SELECT * FROM {{ ref('stg_leads') }} WHERE {{ in_recompute('lead_no') }}),
events AS (
    SELECT lead_no,
           min(event_date) FILTER (WHERE event_type <> '战败') AS contacted_date,
           min(event_date) FILTER (WHERE event_type = '到店') AS visited_date,
           min(event_date) FILTER (WHERE event_type = '试驾') AS test_drive_date,
           min(event_date) FILTER (WHERE event_type = '报价') AS quoted_date,
           min(event_date) FILTER (WHERE event_type = '下订') AS ordered_date,
           min(event_date) FILTER (WHERE event_type = '战败') AS lost_date,
           arg_min(lost_reason, (event_date, event_no)) FILTER (WHERE event_type = '战败') AS lost_reason,
           max(event_date) AS last_event_date, count(*) AS events
    FROM {{ ref('stg_lead_events') }} WHERE {{ in_recompute('lead_no') }} GROUP BY lead_no
),
deliveries AS (  -- the first car the lead's customer bought on or after the lead, within the window
    SELECT l.lead_no, l.lead_date, arg_min(s.order_no, (s.sale_date, s.order_no)) AS delivery_order_no,
           min(s.sale_date) AS delivery_date, arg_min(s.store_code, (s.sale_date, s.order_no)) AS delivery_store_code
    FROM leads AS l CROSS JOIN params AS p
    JOIN {{ ref('fct_sales') }} AS s
      ON s.customer_id = l.customer_id AND s.sale_date >= l.lead_date
     AND s.sale_date <= l.lead_date + to_days(p.attribution_days)
    GROUP BY l.lead_no, l.lead_date
),
touches AS (  -- first and last touch among the leads that led to the same car (ranked there only: most leads led to none)
    SELECT lead_no,
           row_number() OVER (PARTITION BY delivery_order_no ORDER BY lead_date, lead_no) = 1 AS first_touch,
           row_number() OVER (PARTITION BY delivery_order_no ORDER BY lead_date DESC, lead_no DESC) = 1 AS last_touch
    FROM deliveries
),
joined AS (
    SELECT l.lead_no, l.platform_lead_id, l.store_code, l.lead_date, date_trunc('month', l.lead_date)::DATE AS lead_month,
           l.lead_channel, l.sub_channel, l.intended_brand, l.intended_series, l.intent_grade, l.sales_advisor,
           l.customer_id, l.prospect_id, coalesce(l.customer_id, l.prospect_id) AS party_id, l.link_evidence,
           e.contacted_date, e.visited_date, e.test_drive_date, e.quoted_date, e.ordered_date, e.lost_date, e.lost_reason,
           e.last_event_date, coalesce(e.events, 0) AS events,
           d.delivery_order_no, d.delivery_date, d.delivery_store_code,
           coalesce(t.first_touch, false) AS first_touch, coalesce(t.last_touch, false) AS last_touch
    FROM leads AS l
    LEFT JOIN events AS e USING (lead_no)
    LEFT JOIN deliveries AS d USING (lead_no)
    LEFT JOIN touches AS t USING (lead_no)
)
SELECT * EXCLUDE (first_touch, last_touch),
       delivery_store_code IS NOT NULL AND delivery_store_code <> store_code AS delivered_elsewhere,
       CASE WHEN ordered_date >= lead_date THEN datediff('day', lead_date, ordered_date) END AS days_to_order,
       datediff('day', lead_date, delivery_date) AS days_to_delivery,
       first_touch, last_touch
FROM joined
