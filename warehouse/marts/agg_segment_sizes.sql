-- Segment sizes per run, over time: earlier runs (kept in models.segment_history) plus this run.
CREATE OR REPLACE TABLE marts.agg_segment_sizes AS
SELECT run_id, as_of, built_at, segment, customers FROM models.segment_history
WHERE run_id <> getvariable('run_id')
UNION ALL
SELECT getvariable('run_id'), getvariable('as_of'), now()::TIMESTAMP, segment, count(*)
FROM marts.customer_rfm GROUP BY segment
ORDER BY as_of, built_at, segment;

COMMENT ON TABLE marts.agg_segment_sizes IS 'RFM segment sizes per run: the trend of core, potential, at-risk, sleeping and new customers.';
COMMENT ON COLUMN marts.agg_segment_sizes.run_id IS 'Run that built the warehouse';
COMMENT ON COLUMN marts.agg_segment_sizes.as_of IS 'Business date of that run';
COMMENT ON COLUMN marts.agg_segment_sizes.built_at IS 'When the run built the marts';
COMMENT ON COLUMN marts.agg_segment_sizes.segment IS 'RFM segment (see marts.customer_rfm)';
COMMENT ON COLUMN marts.agg_segment_sizes.customers IS 'Customers in the segment in that run';
