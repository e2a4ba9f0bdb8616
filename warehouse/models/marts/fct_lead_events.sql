-- One row per follow-up event, with its funnel stage and who the lead is. A daily build recomputes only
-- the events whose row or lead changed (recompute, macros/recompute.sql).
{{ config(materialized='synced', unique_key='event_no', recompute='recompute_fct_lead_events') }}
SELECT e.event_no, e.lead_no, e.store_code, e.event_date, e.event_type,
       CASE e.event_type WHEN '电话' THEN 'call' WHEN '到店' THEN 'visit' WHEN '试驾' THEN 'test_drive'
                         WHEN '报价' THEN 'quote' WHEN '下订' THEN 'order' WHEN '战败' THEN 'lost' END AS stage,
       e.sales_advisor, e.lost_reason, l.party_id, l.customer_id, l.prospect_id, l.lead_channel, l.sub_channel,
       l.lead_no IS NOT NULL AS lead_loaded
FROM {{ ref('stg_lead_events') }} AS e
LEFT JOIN {{ ref('fct_leads') }} AS l USING (lead_no)
WHERE {{ in_recompute('e.event_no') }}
