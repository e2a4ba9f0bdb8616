-- No personal data beyond customer and prospect IDs: marts.fct_lead_events as it is.
{{ config(alias='fct_lead_events', materialized='synced', unique_key='event_no', follows='fct_lead_events') }}
select * from {{ ref('fct_lead_events') }}
