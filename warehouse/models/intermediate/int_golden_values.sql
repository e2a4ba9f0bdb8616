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
-- The rule picks, per customer and attribute, the first record in the order (rule key, event date
-- latest first, value, source, record key), the rule key being the value's frequency (most_frequent),
-- the record's source trust (most_trusted) or none (latest). Computed as two aggregations, not a
-- window over every recorded value: each value's count and its first record, then the first value.
-- The same rows as a row_number() over every recorded value, without sorting them all.
per_value as (
    select c.customer_id, c.attribute, c.value, any_value(r.rule) as rule, count(*) as frequency,
           min({'by_record': case r.rule when 'most_trusted' then coalesce(t.trust_rank, 1000) else 0 end,
                'latest_first': coalesce(date '9999-12-31' - c.event_date, 2147483647),  -- no date: last
                'source': c.source, 'record_key': c.record_key}) as first_record
    from candidates as c
    join {{ ref('survivorship') }} as r using (attribute)
    left join {{ ref('source_trust') }} as t on t.attribute = c.attribute and t.source = c.source
    group by c.customer_id, c.attribute, c.value
),
picked as (
    select customer_id, attribute,
           arg_min({'value': value, 'source': first_record.source, 'rule': rule, 'frequency': frequency},
                   {'by_value': case rule when 'most_frequent' then -frequency else 0 end,
                    'by_record': first_record.by_record, 'latest_first': first_record.latest_first, 'value': value,
                    'source': first_record.source, 'record_key': first_record.record_key}) as chosen
    from per_value
    group by customer_id, attribute
),
corrected as (
    select customer_id, attribute, value,
           row_number() over (partition by customer_id, attribute order by corrected_at desc, correction_id desc) as pick
    from {{ ref('int_corrections') }}
    where {{ in_scope('customer_id') }}
),
survived as (
    select customer_id, attribute, chosen.value as value, chosen.source as source, chosen.rule as rule,
           chosen.frequency as frequency
    from picked
)
select r.customer_id, r.attribute, r.value, r.source, r.rule, r.frequency
from survived as r
where not exists (select 1 from corrected as c where c.pick = 1 and c.customer_id = r.customer_id and c.attribute = r.attribute)
union all
select c.customer_id, c.attribute, c.value, 'correction' as source, 'correction' as rule, 1 as frequency
from corrected as c
where c.pick = 1 and c.customer_id in (select customer_id from rec)
