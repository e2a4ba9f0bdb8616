-- The thresholds of the funnel marts: one row, a column per parameter in seeds/parameters.csv.
{{ config(alias='funnel', post_hook="{{ parameter_comments('funnel', ref('parameters')) }}") }}
{{ parameter_table('funnel', ref('parameters')) }}
