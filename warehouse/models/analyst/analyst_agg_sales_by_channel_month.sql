-- No personal data beyond the IDs of cars and customers: marts.agg_sales_by_channel_month as it is.
{{ config(alias='agg_sales_by_channel_month') }}
select * from {{ ref('agg_sales_by_channel_month') }}
