-- Today's follow-ups per advisor: open leads (no order, no lost verdict, no car bought, not older than
-- max_open_days) whose last contact is at least their grade's cadence ago (A daily, B every 3 days …,
-- seeds/parameters.csv). days_overdue ranks the advisor's day.
{{ config(materialized='synced', unique_key='lead_no') }}
WITH params AS (SELECT * FROM {{ ref('config_follow_up_list') }}),
open_leads AS (
    SELECT l.*, coalesce(l.last_event_date, l.lead_date) AS last_contact_date,
           CASE l.intent_grade WHEN 'A' THEN p.grade_a_days WHEN 'B' THEN p.grade_b_days ELSE p.grade_c_days END AS cadence_days
    FROM {{ ref('fct_leads') }} AS l CROSS JOIN params AS p
    WHERE l.ordered_date IS NULL AND l.lost_date IS NULL AND l.delivery_date IS NULL
      AND l.lead_date > {{ as_of() }} - to_days(p.max_open_days) AND l.lead_date <= {{ as_of() }}
)
SELECT {{ as_of() }} AS follow_up_date, sales_advisor, store_code, lead_no, party_id, customer_id, prospect_id,
       intent_grade, cadence_days, last_contact_date,
       datediff('day', last_contact_date, {{ as_of() }}) - cadence_days AS days_overdue,
       lead_channel, intended_series
FROM open_leads
WHERE last_contact_date + to_days(cadence_days) <= {{ as_of() }}
