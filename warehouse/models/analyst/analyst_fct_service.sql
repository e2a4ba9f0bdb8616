-- Repair orders, masked: plates.
{{ config(alias='fct_service') }}
select * replace ({{ mask_plate('plate') }} as plate) from {{ ref('fct_service') }}
