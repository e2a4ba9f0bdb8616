-- No personal data beyond the IDs of cars and customers: marts.agg_advisor_performance as it is.
{{ config(alias='agg_advisor_performance') }}
select * from {{ ref('agg_advisor_performance') }}
