-- The golden record, masked: names (companies with a credit code excepted), mobiles, ID numbers; birth year only.
{{ config(alias='dim_customer') }}
select d.customer_id, {{ mask_name('d.customer_name', 'n.customer_id is not null') }} as customer_name, d.customer_kind,
       {{ mask_mobile('d.mobile') }} as mobile, {{ mask_id('d.id_number') }} as id_number, d.gender,
       year(d.birth_date) as birth_year, d.city, d.first_seen, d.last_seen, d.record_count, d.sources
from {{ ref('dim_customer') }} as d
left join {{ ref('int_disclosed_names') }} as n on n.customer_id = d.customer_id and n.customer_name = d.customer_name
