-- No personal data beyond IDs of cars and customers: passed through unchanged.
CREATE OR REPLACE VIEW analyst.fct_finance AS SELECT * FROM marts.fct_finance;
COMMENT ON VIEW analyst.fct_finance IS 'marts.fct_finance for analysts (no personal data to mask).';
