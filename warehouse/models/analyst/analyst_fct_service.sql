-- Repair orders, masked: plates.
{{ config(alias='fct_service', materialized='synced', unique_key='ro_no', follows='fct_service') }}
select * replace ({{ mask_plate('plate') }} as plate) from {{ ref('fct_service') }}
