-- No personal data beyond the IDs of cars and customers: marts.agg_service_retention as it is.
{{ config(alias='agg_service_retention') }}
select * from {{ ref('agg_service_retention') }}
