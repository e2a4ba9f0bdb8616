-- Every CustomerID that identity resolution gave a record has its golden record.
{{ config(meta={'dagster': {'ref': {'name': 'dim_customer'}}}) }}
select distinct customer_id from {{ source('identity', 'customer_xref') }}
except
select customer_id from {{ ref('dim_customer') }}
