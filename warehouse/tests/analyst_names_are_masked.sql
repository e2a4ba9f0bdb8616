-- In analyst.duckdb a name is shown in full only for a company with a valid credit code and a
-- company name (intermediate.int_disclosed_names); any other name shows its first character only.
{{ config(meta={'dagster': {'ref': {'name': 'analyst_dim_customer'}}}) }}
select 'dim_customer' as mart, a.customer_id, a.customer_name
from {{ ref('analyst_dim_customer') }} as a
where a.customer_name is not null and a.customer_name not similar to '.\*+'
  and a.customer_id not in (select customer_id from {{ ref('int_disclosed_names') }})
union all
select 'customer_360', a.customer_id, a.customer_name
from {{ ref('analyst_customer_360') }} as a
where a.customer_name is not null and a.customer_name not similar to '.\*+'
  and a.customer_id not in (select customer_id from {{ ref('int_disclosed_names') }})
