-- The golden record, masked: names (companies with a credit code excepted), mobiles, ID numbers; birth year only.
-- A person's ID number (sensitive personal information) appears, masked, only with their consent for
-- purpose sensitive_id (marts.consent); a company's credit code is not personal and stays.
{{ config(alias='dim_customer', materialized='synced', unique_key='customer_id') }}
select d.customer_id, {{ mask_name('d.customer_name', 'n.customer_id is not null') }} as customer_name, d.customer_kind,
       {{ mask_mobile('d.mobile') }} as mobile, case when d.customer_kind = 'company' or i.may_use then {{ mask_id('d.id_number') }} end as id_number,
       d.id_number is not null and not (d.customer_kind = 'company' or coalesce(i.may_use, false)) as id_number_withheld, d.gender,
       year(d.birth_date) as birth_year, d.city, d.first_seen, d.last_seen, d.record_count, d.sources
from {{ ref('dim_customer') }} as d
left join {{ ref('int_disclosed_names') }} as n on n.customer_id = d.customer_id and n.customer_name = d.customer_name
left join {{ ref('consent') }} as i on i.customer_id = d.customer_id and i.purpose = 'sensitive_id'
