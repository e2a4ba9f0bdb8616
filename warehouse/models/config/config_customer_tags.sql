-- The thresholds of marts.customer_tags: one row, a column per parameter in seeds/parameters.csv.
{{ config(alias='customer_tags', post_hook="{{ parameter_comments('customer_tags', ref('parameters')) }}") }}
{{ parameter_table('customer_tags', ref('parameters')) }}
