-- Household links without the shared mobile or address itself (kind and evidence records only).
{{ config(alias='household_links', materialized='synced', unique_key=['customer_id_a', 'customer_id_b', 'link_kind'], follows='household_links') }}
select * exclude (shared_value) from {{ ref('household_links') }}
