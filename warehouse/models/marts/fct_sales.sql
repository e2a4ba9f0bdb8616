-- One row per vehicle sold.
{{ config(materialized='synced', unique_key='order_no', follows='stg_sales') }}
SELECT order_no, customer_id, store_code, sale_date, vin, brand, series, model, trim, colour,
       list_price, deal_price, (list_price - deal_price)::DECIMAL(18, 2) AS discount,
       payment_method, lead_channel, purchase_type, sales_advisor
FROM {{ ref('stg_sales') }}
