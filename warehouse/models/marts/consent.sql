-- Current consent per customer and purpose: the latest event wins (date, then time of day, then
-- record number, so a withdrawal recorded in the same minute as a form wins), with its evidence.
-- Every customer has a row per purpose; without any record the state is not_recorded. A daily build
-- recomputes the touched customers only (scope, macros/synced.sql).
{{ config(materialized='synced', unique_key=['customer_id', 'purpose'], scope='customer_id') }}
WITH events AS (
    SELECT s.customer_id, p.purpose, s.decision, s.consent_date, s.consent_time, s.consent_no, s.consent_channel,
           s.consent_occasion, s.store_code, s._source_file, s._source_row, s._delivery
    FROM {{ ref('stg_consents') }} AS s JOIN {{ ref('consent_purposes') }} AS p ON p.label = s.purpose
    WHERE {{ in_scope('s.customer_id') }}
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY customer_id, purpose
                                 ORDER BY consent_date DESC, consent_time DESC NULLS LAST, consent_no DESC) AS pick,
           count(*) OVER (PARTITION BY customer_id, purpose) AS events
    FROM events
)
SELECT d.customer_id, p.purpose, p.label AS purpose_label,
       CASE r.decision WHEN '同意' THEN 'given' WHEN '拒绝' THEN 'refused' WHEN '撤回' THEN 'withdrawn'
            ELSE 'not_recorded' END AS state,
       coalesce(r.decision = '同意', false) AS may_use,
       r.consent_date AS decided_on, r.consent_time AS decided_at, r.consent_channel AS channel,
       r.consent_occasion AS occasion, r.store_code,
       r.consent_no AS evidence_consent_no, r._source_file AS evidence_file, r._source_row AS evidence_row,
       r._delivery AS evidence_delivery, coalesce(r.events, 0) AS events
FROM {{ ref('dim_customer') }} AS d
CROSS JOIN {{ ref('consent_purposes') }} AS p
LEFT JOIN ranked AS r ON r.customer_id = d.customer_id AND r.purpose = p.purpose AND r.pick = 1
WHERE {{ in_scope('d.customer_id') }}
