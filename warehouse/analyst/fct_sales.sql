-- No personal data beyond IDs of cars and customers: passed through unchanged.
CREATE OR REPLACE VIEW analyst.fct_sales AS SELECT * FROM marts.fct_sales;
COMMENT ON VIEW analyst.fct_sales IS 'marts.fct_sales for analysts (no personal data to mask).';
