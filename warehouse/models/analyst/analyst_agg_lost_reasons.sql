-- No personal data beyond customer and prospect IDs: marts.agg_lost_reasons as it is.
{{ config(alias='agg_lost_reasons') }}
select * from {{ ref('agg_lost_reasons') }}
