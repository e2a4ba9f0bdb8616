-- The thresholds that built customer_tags (config.customer_tags).
{{ config(alias='customer_tags') }}
select * from {{ ref('config_customer_tags') }}
