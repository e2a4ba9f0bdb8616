-- Customer tags; the age-band evidence keeps the birth year only.
{{ config(alias='customer_tags') }}
select * replace ({{ birth_year_only('evidence') }} as evidence) from {{ ref('customer_tags') }}
