-- Customer 360, masked: names (companies with a credit code excepted) and mobiles.
{{ config(alias='customer_360', materialized='synced', unique_key='customer_id', scope='customer_id') }}
select c.* replace ({{ mask_name('c.customer_name', 'n.customer_id is not null') }} as customer_name,
                    list_transform(c.mobiles, lambda m: {{ mask_mobile('m') }}) as mobiles)
from {{ ref('customer_360') }} as c
left join {{ ref('int_disclosed_names') }} as n on n.customer_id = c.customer_id and n.customer_name = c.customer_name
