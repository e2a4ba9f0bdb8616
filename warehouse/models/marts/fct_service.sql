-- One row per repair order.
{{ config(materialized='synced', unique_key='ro_no', follows='stg_repair_orders') }}
SELECT ro_no, customer_id, store_code, open_date, close_date, vin, plate, odometer_km, service_type,
       labour_amount, parts_amount,
       (coalesce(labour_amount, 0) + coalesce(parts_amount, 0))::DECIMAL(18, 2) AS revenue,
       service_advisor
FROM {{ ref('stg_repair_orders') }}
