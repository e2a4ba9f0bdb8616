-- The thresholds that built the follow_up_list marts (config.follow_up_list).
{{ config(alias='follow_up_list') }}
select * from {{ ref('config_follow_up_list') }}
