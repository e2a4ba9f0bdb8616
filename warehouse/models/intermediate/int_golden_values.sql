-- The surviving value of each golden-record attribute per customer: a correction the person asked
-- for (privacy.corrections, `cdp subject correct`; the latest per attribute) first, whatever the
-- sources deliver later; else the value chosen by the rules in seeds/survivorship.csv (and the trust
-- order in seeds/source_trust.csv). A correction follows its customer into a merge (int_corrections).
-- A daily build recomputes the touched customers only (scope, macros/synced.sql). Restricted: raw PII.
{{ config(materialized='synced', unique_key=['customer_id', 'attribute'], scope='customer_id') }}
with rec as (
    select customer_id, source, record_key, event_date, trim(name_raw) as customer_name, mobile, id_number, city
    from {{ ref('int_customer_records') }}
    where {{ in_scope('customer_id') }}
),
candidates as (  -- one row per recorded value; UNPIVOT drops empty values
    unpivot rec on customer_name, mobile, id_number, city into name attribute value value
),
scored as (
    select c.*, count(*) over (partition by c.customer_id, c.attribute, c.value) as frequency,
           coalesce(t.trust_rank, 1000) as trust_rank, r.rule
    from candidates as c
    join {{ ref('survivorship') }} as r using (attribute)
    left join {{ ref('source_trust') }} as t on t.attribute = c.attribute and t.source = c.source
),
corrected as (
    select customer_id, attribute, value,
           row_number() over (partition by customer_id, attribute order by corrected_at desc, correction_id desc) as pick
    from {{ ref('int_corrections') }}
    where {{ in_scope('customer_id') }}
),
ranked as (
    select *, row_number() over (
        partition by customer_id, attribute
        order by case rule when 'most_frequent' then -frequency when 'most_trusted' then trust_rank else 0 end,
                 event_date desc nulls last, value, source, record_key) as pick
    from scored
)
select r.customer_id, r.attribute, r.value, r.source, r.rule, r.frequency
from ranked as r
where r.pick = 1
  and not exists (select 1 from corrected as c where c.pick = 1 and c.customer_id = r.customer_id and c.attribute = r.attribute)
union all
select c.customer_id, c.attribute, c.value, 'correction' as source, 'correction' as rule, 1 as frequency
from corrected as c
where c.pick = 1 and c.customer_id in (select customer_id from rec)
