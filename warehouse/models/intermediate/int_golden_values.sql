-- The surviving value of each golden-record attribute per customer, chosen by the rules in
-- seeds/survivorship.csv (and the trust order in seeds/source_trust.csv). Restricted: raw PII.
with rec as (
    select x.customer_id, p.source, p.event_date,
           trim(p.name_raw) as customer_name, p.mobile, p.id_number, p.city
    from {{ source('identity', 'person_records') }} as p
    join {{ source('identity', 'customer_xref') }} as x using (source, record_key)
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
ranked as (
    select *, row_number() over (
        partition by customer_id, attribute
        order by case rule when 'most_frequent' then -frequency when 'most_trusted' then trust_rank else 0 end,
                 event_date desc nulls last, value) as pick
    from scored
)
select customer_id, attribute, value, source, rule, frequency
from ranked where pick = 1
