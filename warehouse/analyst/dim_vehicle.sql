-- No personal data beyond IDs of cars and customers: passed through unchanged.
CREATE OR REPLACE VIEW analyst.dim_vehicle AS SELECT * FROM marts.dim_vehicle;
COMMENT ON VIEW analyst.dim_vehicle IS 'marts.dim_vehicle for analysts (no personal data to mask).';
