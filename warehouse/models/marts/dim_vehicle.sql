-- One row per valid VIN seen in any source. Its owners before and after a change are touched customers
-- (their 360 lists the car: macros/synced.sql). A daily build recomputes only the cars whose records,
-- sales or repair orders changed (macros/recompute.sql).
{{ config(materialized='synced', unique_key='vin', touches='owner_customer_id', recompute='recompute_dim_vehicle') }}
WITH rec AS (
    SELECT vin, source, record_key, event_date, customer_id
    FROM {{ ref('int_customer_records') }}
    WHERE vin IS NOT NULL AND {{ in_recompute('vin') }}
),
sold AS (
    SELECT r.vin, min(s.sale_date) AS first_sale_date, arg_max(s.brand, (s.sale_date, s.order_no)) AS brand,
           arg_max(s.series, (s.sale_date, s.order_no)) AS series, arg_max(s.model, (s.sale_date, s.order_no)) AS model
    FROM rec AS r JOIN {{ ref('fct_sales') }} AS s ON r.source = 'sales' AND s.order_no = r.record_key
    GROUP BY r.vin
),
seen AS (
    SELECT vin,
           arg_max(customer_id, (event_date, source, record_key))
               FILTER (WHERE source IN ('sales', 'contracts', 'receipts') AND event_date IS NOT NULL) AS buyer_customer_id,
           arg_max(customer_id, (event_date, record_key))
               FILTER (WHERE source = 'repair_orders' AND event_date IS NOT NULL) AS last_service_customer_id,
           min(event_date) AS first_seen_date, max(event_date) AS last_seen_date
    FROM rec GROUP BY vin
),
odo AS (
    SELECT r.vin, arg_max(f.odometer_km, (f.open_date, f.ro_no)) FILTER (WHERE f.open_date IS NOT NULL) AS latest_odometer_km, max(f.open_date) AS last_service_date,
           count(*) AS service_visits
    FROM rec AS r JOIN {{ ref('fct_service') }} AS f ON r.source = 'repair_orders' AND f.ro_no = r.record_key
    GROUP BY r.vin
)
SELECT seen.vin, sold.brand, sold.series, sold.model, sold.first_sale_date,
       coalesce(seen.buyer_customer_id, seen.last_service_customer_id) AS owner_customer_id,
       seen.last_service_customer_id, odo.latest_odometer_km, odo.last_service_date,
       coalesce(odo.service_visits, 0) AS service_visits, seen.first_seen_date, seen.last_seen_date
FROM seen LEFT JOIN sold USING (vin) LEFT JOIN odo USING (vin)
