-- No personal data beyond customer and prospect IDs: marts.agg_funnel as it is.
{{ config(alias='agg_funnel') }}
select * from {{ ref('agg_funnel') }}
