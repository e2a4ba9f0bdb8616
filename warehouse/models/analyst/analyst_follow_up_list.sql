-- No personal data beyond customer and prospect IDs: marts.follow_up_list as it is.
{{ config(alias='follow_up_list', materialized='synced', unique_key='lead_no', follows='follow_up_list') }}
select * from {{ ref('follow_up_list') }}
