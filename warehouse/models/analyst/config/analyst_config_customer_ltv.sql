-- The thresholds that built customer_ltv (config.customer_ltv).
{{ config(alias='customer_ltv') }}
select * from {{ ref('config_customer_ltv') }}
