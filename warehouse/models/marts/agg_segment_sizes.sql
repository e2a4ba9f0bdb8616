-- Segment sizes over time, one snapshot per as-of date: earlier snapshots (kept in
-- models.segment_history) plus this build's, which replaces any earlier one of the same as-of
-- date — re-running a delivery, or rebuilding after an erasure, leaves one snapshot: the latest.
SELECT run_id, as_of, built_at, segment, customers FROM {{ source('models', 'segment_history') }}
WHERE as_of <> {{ as_of() }}
UNION ALL
SELECT {{ run_id() }}, {{ as_of() }}, now()::TIMESTAMP, segment, count(*)
FROM {{ ref('customer_rfm') }} GROUP BY segment
ORDER BY as_of, built_at, segment
