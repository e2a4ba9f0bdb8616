-- No personal data beyond the IDs of cars and customers: marts.customer_ltv as it is.
{{ config(alias='customer_ltv') }}
select * from {{ ref('customer_ltv') }}
