{{ config(materialized='synced', unique_key='complaint_no', follows='stg_complaints') }}
SELECT complaint_no, customer_id, store_code, complaint_date, resolved_date, status,
       status = '处理中' AS is_open, vin, category
FROM {{ ref('stg_complaints') }}
