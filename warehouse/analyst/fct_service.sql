CREATE OR REPLACE VIEW analyst.fct_service AS SELECT * REPLACE (mask_plate(plate) AS plate) FROM marts.fct_service;
COMMENT ON VIEW analyst.fct_service IS 'Repair orders for analysts: plates masked.';
