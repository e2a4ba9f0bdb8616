-- No personal data beyond customer and prospect IDs: marts.dim_household as it is.
{{ config(alias='dim_household', materialized='synced', unique_key='customer_id', follows='dim_household') }}
select * from {{ ref('dim_household') }}
