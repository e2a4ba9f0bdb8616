-- The funnel counts what the follow-up log says: per stage, the leads agg_funnel counts equal the
-- distinct loaded leads with such an event in fct_lead_events. Returns the stages that differ.
with funnel as (
    select sum(contacted) as contacted, sum(visited) as visit, sum(test_drives) as test_drive,
           sum(quoted) as quote, sum(orders) as "order", sum(lost) as lost
    from {{ ref('agg_funnel') }}
),
funnel_long as (unpivot funnel on contacted, visit, test_drive, quote, "order", lost into name stage value leads),
events as (
    select stage, count(distinct lead_no) as leads from {{ ref('fct_lead_events') }} where lead_loaded and stage <> 'call' group by stage
    union all
    select 'contacted', count(distinct lead_no) from {{ ref('fct_lead_events') }} where lead_loaded and stage <> 'lost'
)
select f.stage, f.leads as funnel_leads, coalesce(e.leads, 0) as event_leads
from funnel_long as f left join events as e using (stage)
where f.leads <> coalesce(e.leads, 0)
