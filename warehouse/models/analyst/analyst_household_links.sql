-- Household links without the shared mobile or address itself (kind and evidence records only).
{{ config(alias='household_links') }}
select * exclude (shared_value) from {{ ref('household_links') }}
