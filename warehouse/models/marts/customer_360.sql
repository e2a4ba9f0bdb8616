-- Everything about a customer on one row.
-- A daily build recomputes the touched customers only (scope, macros/synced.sql).
{{ config(materialized='synced', unique_key='customer_id', scope='customer_id') }}
WITH contact AS (
    SELECT customer_id, list(DISTINCT mobile ORDER BY mobile) FILTER (WHERE mobile IS NOT NULL) AS mobiles,
           mode(store_code ORDER BY store_code) AS preferred_store
    FROM {{ ref('int_customer_records') }} WHERE {{ in_scope('customer_id') }}
    GROUP BY customer_id
),
bought AS (
    SELECT s.customer_id, count(*) AS purchases, sum(s.deal_price) AS vehicle_revenue,
           min(s.sale_date) AS first_purchase_date, max(s.sale_date) AS last_purchase_date,
           arg_min(s.lead_channel, (s.sale_date, s.order_no)) AS first_lead_channel,
           arg_max(s.sales_advisor, (s.sale_date, s.order_no)) AS sales_advisor
    FROM {{ ref('fct_sales') }} AS s WHERE {{ in_scope('s.customer_id') }} GROUP BY s.customer_id
),
vehicles AS (
    SELECT s.customer_id,
           list(DISTINCT v.vin ORDER BY v.vin) FILTER (WHERE v.owner_customer_id = s.customer_id) AS vehicles_owned,
           list(DISTINCT v.vin ORDER BY v.vin) FILTER (WHERE v.owner_customer_id <> s.customer_id) AS vehicles_owned_before,
           max(v.latest_odometer_km) FILTER (WHERE v.owner_customer_id = s.customer_id) AS max_latest_odometer_km
    FROM {{ ref('fct_sales') }} AS s JOIN {{ ref('dim_vehicle') }} AS v ON v.vin = upper(s.vin)
    WHERE {{ in_scope('s.customer_id') }}
    GROUP BY s.customer_id
),
serviced AS (
    SELECT customer_id, count(*) AS service_visits, sum(revenue) AS service_revenue, max(open_date) AS last_visit_date,
           arg_max(service_advisor, (open_date, ro_no)) AS service_advisor
    FROM {{ ref('fct_service') }} WHERE {{ in_scope('customer_id') }} GROUP BY customer_id
),
finance AS (
    SELECT customer_id,
           sum(amount) FILTER (WHERE record_kind = 'receipt' AND product <> '购车款') AS finance_revenue,
           count(*) FILTER (WHERE record_kind = 'loan') AS loans,
           count(*) FILTER (WHERE record_kind = 'insurance') AS insurance_policies,
           max(end_date) FILTER (WHERE record_kind = 'insurance') AS latest_policy_end
    FROM {{ ref('fct_finance') }} WHERE {{ in_scope('customer_id') }} GROUP BY customer_id
),
complaints AS (
    SELECT customer_id, count(*) FILTER (WHERE is_open) AS complaints_open,
           count(*) FILTER (WHERE NOT is_open) AS complaints_resolved
    FROM {{ ref('fct_complaints') }} WHERE {{ in_scope('customer_id') }} GROUP BY customer_id
)
SELECT d.customer_id, d.customer_name, d.customer_kind, c.mobiles, c.preferred_store,
       coalesce(v.vehicles_owned, []) AS vehicles_owned, coalesce(v.vehicles_owned_before, []) AS vehicles_owned_before,
       v.max_latest_odometer_km,
       coalesce(b.purchases, 0) AS purchases, coalesce(b.vehicle_revenue, 0)::DECIMAL(18, 2) AS vehicle_revenue,
       b.first_purchase_date, b.last_purchase_date,
       coalesce(sv.service_visits, 0) AS service_visits, coalesce(sv.service_revenue, 0)::DECIMAL(18, 2) AS service_revenue,
       sv.last_visit_date,
       coalesce(f.finance_revenue, 0)::DECIMAL(18, 2) AS finance_revenue, coalesce(f.loans, 0) AS loans,
       coalesce(f.insurance_policies, 0) AS insurance_policies, f.latest_policy_end,
       coalesce(cp.complaints_open, 0) AS complaints_open, coalesce(cp.complaints_resolved, 0) AS complaints_resolved,
       b.first_lead_channel, b.sales_advisor, sv.service_advisor
FROM {{ ref('dim_customer') }} AS d
LEFT JOIN contact AS c USING (customer_id) LEFT JOIN bought AS b USING (customer_id)
LEFT JOIN vehicles AS v USING (customer_id) LEFT JOIN serviced AS sv USING (customer_id)
LEFT JOIN finance AS f USING (customer_id) LEFT JOIN complaints AS cp USING (customer_id)
