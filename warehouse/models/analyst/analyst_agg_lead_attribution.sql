-- No personal data beyond customer and prospect IDs: marts.agg_lead_attribution as it is.
{{ config(alias='agg_lead_attribution') }}
select * from {{ ref('agg_lead_attribution') }}
