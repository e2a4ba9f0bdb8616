-- The thresholds that built lifecycle_lists (config.lifecycle_lists).
{{ config(alias='lifecycle_lists') }}
select * from {{ ref('config_lifecycle_lists') }}
