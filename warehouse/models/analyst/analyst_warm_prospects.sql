-- No personal data beyond customer and prospect IDs: marts.warm_prospects as it is.
{{ config(alias='warm_prospects', materialized='synced', unique_key='party_id', follows='warm_prospects') }}
select * from {{ ref('warm_prospects') }}
