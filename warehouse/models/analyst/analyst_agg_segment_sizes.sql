-- No personal data beyond the IDs of cars and customers: marts.agg_segment_sizes as it is.
{{ config(alias='agg_segment_sizes') }}
select * from {{ ref('agg_segment_sizes') }}
