-- The thresholds of marts.customer_ltv: one row, a column per parameter in seeds/parameters.csv.
{{ config(alias='customer_ltv', post_hook="{{ parameter_comments('customer_ltv', ref('parameters')) }}") }}
{{ parameter_table('customer_ltv', ref('parameters')) }}
