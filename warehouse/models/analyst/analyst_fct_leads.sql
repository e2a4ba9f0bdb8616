-- No personal data beyond customer and prospect IDs: marts.fct_leads as it is.
{{ config(alias='fct_leads', materialized='synced', unique_key='lead_no', follows='fct_leads') }}
select * from {{ ref('fct_leads') }}
