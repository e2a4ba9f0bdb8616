-- Warm prospects for campaigns: people (customers or prospects) whose latest visit or test drive was
-- between warm_no_order_days and warm_lookback_days ago and who have ordered nothing and bought no car
-- since. One row per person (party_id). A customer who refused or withdrew the list's purpose
-- (seeds/campaign_purposes.csv, list warm_prospects) is left out; the others carry may_contact (a
-- prospect has signed no consent form yet: not_recorded). household_letter marks one person per household.
{{ config(materialized='synced', unique_key='party_id') }}
WITH params AS (SELECT * FROM {{ ref('config_funnel') }}),
visits AS (  -- the leads that got to a visit or a test drive, with its date; a person whose latest visit is in
             -- the window has one in it or after it: only their leads are grouped
    SELECT *, greatest(visited_date, test_drive_date) AS visit_date FROM {{ ref('fct_leads') }}
    WHERE coalesce(visited_date, test_drive_date) IS NOT NULL
      AND party_id IN (SELECT l.party_id FROM {{ ref('fct_leads') }} AS l CROSS JOIN params AS c
                       WHERE greatest(l.visited_date, l.test_drive_date) > {{ as_of() }} - to_days(c.warm_lookback_days))
),
parties AS (  -- the lead of the latest visit (on a tie, the larger lead number) with its store, advisor and series
    SELECT party_id, any_value(customer_id) AS customer_id, min(prospect_id) AS prospect_id,
           max(visit_date) AS last_visit_date, bool_or(test_drive_date IS NOT NULL) AS test_drove,
           arg_max_null(lead_no, (visit_date, lead_no)) AS lead_no,
           arg_max_null(store_code, (visit_date, lead_no)) AS store_code,
           arg_max_null(sales_advisor, (visit_date, lead_no)) AS sales_advisor,
           arg_max_null(intended_series, (visit_date, lead_no)) AS intended_series,
           count(*) AS leads
    FROM visits
    GROUP BY party_id
),
warm AS (
    SELECT p.* FROM parties AS p CROSS JOIN params AS c
    WHERE p.last_visit_date <= {{ as_of() }} - to_days(c.warm_no_order_days)
      AND p.last_visit_date > {{ as_of() }} - to_days(c.warm_lookback_days)
      AND NOT EXISTS (SELECT 1 FROM {{ ref('fct_leads') }} AS l
                      WHERE l.party_id = p.party_id AND (l.ordered_date IS NOT NULL OR l.delivery_date IS NOT NULL))
      AND NOT EXISTS (SELECT 1 FROM {{ ref('fct_sales') }} AS s
                      WHERE s.customer_id = p.customer_id AND s.sale_date >= p.last_visit_date)
),
listed AS (
    SELECT w.*, cp.purpose, coalesce(c.state, 'not_recorded') AS consent_state, coalesce(c.may_use, false) AS may_contact
    FROM warm AS w
    LEFT JOIN {{ ref('campaign_purposes') }} AS cp ON cp.list = 'warm_prospects'
    LEFT JOIN {{ ref('consent') }} AS c ON c.customer_id = w.customer_id AND c.purpose = cp.purpose
    WHERE coalesce(c.state, 'not_recorded') NOT IN ('refused', 'withdrawn')
)
SELECT w.party_id, w.customer_id, w.prospect_id, h.household_id, w.last_visit_date, w.test_drove, w.lead_no,
       w.store_code, w.sales_advisor, w.intended_series, w.leads, w.purpose, w.consent_state, w.may_contact,
       h.household_id IS NULL
         OR row_number() OVER (PARTITION BY h.household_id
                               ORDER BY w.may_contact DESC, w.last_visit_date DESC, w.party_id) = 1 AS household_letter
FROM listed AS w LEFT JOIN {{ ref('dim_household') }} AS h USING (customer_id)
