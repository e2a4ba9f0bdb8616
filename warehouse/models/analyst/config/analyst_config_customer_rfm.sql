-- The thresholds that built customer_rfm (config.customer_rfm).
{{ config(alias='customer_rfm') }}
select * from {{ ref('config_customer_rfm') }}
