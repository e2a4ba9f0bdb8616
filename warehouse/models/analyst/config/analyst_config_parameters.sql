-- Every mart parameter with its meaning (seeds/parameters.csv).
{{ config(alias='parameters') }}
select * from {{ ref('parameters') }}
