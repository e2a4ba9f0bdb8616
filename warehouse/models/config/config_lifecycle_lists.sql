-- The thresholds of marts.lifecycle_lists: one row, a column per parameter in seeds/parameters.csv.
{{ config(alias='lifecycle_lists', post_hook="{{ parameter_comments('lifecycle_lists', ref('parameters')) }}") }}
{{ parameter_table('lifecycle_lists', ref('parameters')) }}
