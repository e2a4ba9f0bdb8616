-- RFM segments and value grades as marketing gets them for segment campaigns: customers who refused
-- or withdrew the campaign purpose (seeds/campaign_purposes.csv, list rfm_segment) are left out;
-- the others carry their consent state and may_contact, with the golden contact details;
-- household_letter marks one member per household and segment (one who may be contacted first).
{{ config(materialized='synced', unique_key='customer_id') }}
WITH purpose AS (SELECT purpose FROM {{ ref('campaign_purposes') }} WHERE list = 'rfm_segment')
SELECT r.customer_id, r.segment, r.rfm_cell, l.grade, p.purpose,
       coalesce(c.state, 'not_recorded') AS consent_state, coalesce(c.may_use, false) AS may_contact,
       d.customer_name, d.mobile, d.city, h.household_id,
       h.household_id IS NULL
         OR row_number() OVER (PARTITION BY r.segment, h.household_id
                               ORDER BY coalesce(c.may_use, false) DESC, r.customer_id) = 1 AS household_letter
FROM {{ ref('customer_rfm') }} AS r
LEFT JOIN {{ ref('dim_household') }} AS h USING (customer_id)
JOIN {{ ref('dim_customer') }} AS d USING (customer_id)
LEFT JOIN {{ ref('customer_ltv') }} AS l USING (customer_id)
CROSS JOIN purpose AS p
LEFT JOIN {{ ref('consent') }} AS c ON c.customer_id = r.customer_id AND c.purpose = p.purpose
WHERE coalesce(c.state, 'not_recorded') NOT IN ('refused', 'withdrawn')
