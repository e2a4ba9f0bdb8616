-- Segments exported for marketing, masked: name and mobile as analysts see them.
{{ config(alias='campaign_segments', materialized='synced', unique_key='customer_id') }}
select c.customer_id, c.segment, c.rfm_cell, c.grade, c.purpose, c.consent_state, c.may_contact,
       {{ mask_name('c.customer_name', 'n.customer_id is not null') }} as customer_name, {{ mask_mobile('c.mobile') }} as mobile,
       c.city, c.household_id, c.household_letter
from {{ ref('campaign_segments') }} as c
left join {{ ref('int_disclosed_names') }} as n on n.customer_id = c.customer_id and n.customer_name = c.customer_name
