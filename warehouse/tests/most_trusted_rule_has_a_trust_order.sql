-- An attribute under rule most_trusted needs its sources ranked in seeds/source_trust.csv.
{{ config(meta={'dagster': {'ref': {'name': 'survivorship'}}}) }}
select s.attribute from {{ ref('survivorship') }} as s
where s.rule = 'most_trusted'
  and not exists (select 1 from {{ ref('source_trust') }} as t where t.attribute = s.attribute)
