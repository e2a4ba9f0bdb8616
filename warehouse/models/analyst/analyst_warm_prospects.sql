-- No personal data beyond customer and prospect IDs: marts.warm_prospects as it is.
{{ config(alias='warm_prospects') }}
select * from {{ ref('warm_prospects') }}
