-- The thresholds of the follow_up_list marts: one row, a column per parameter in seeds/parameters.csv.
{{ config(alias='follow_up_list', post_hook="{{ parameter_comments('follow_up_list', ref('parameters')) }}") }}
{{ parameter_table('follow_up_list', ref('parameters')) }}
