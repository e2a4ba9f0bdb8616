-- The thresholds of marts.customer_rfm: one row, a column per parameter in seeds/parameters.csv.
{{ config(alias='customer_rfm', post_hook="{{ parameter_comments('customer_rfm', ref('parameters')) }}") }}
{{ parameter_table('customer_rfm', ref('parameters')) }}
