-- No personal data beyond IDs of cars and customers: passed through unchanged.
CREATE OR REPLACE VIEW analyst.fct_complaints AS SELECT * FROM marts.fct_complaints;
COMMENT ON VIEW analyst.fct_complaints IS 'marts.fct_complaints for analysts (no personal data to mask).';
