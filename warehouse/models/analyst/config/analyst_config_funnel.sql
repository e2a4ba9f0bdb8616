-- The thresholds that built the funnel marts (config.funnel).
{{ config(alias='funnel') }}
select * from {{ ref('config_funnel') }}
