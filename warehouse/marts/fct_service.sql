-- One row per repair order.
CREATE OR REPLACE TABLE marts.fct_service AS
SELECT ro_no, customer_id, store_code, open_date, close_date, vin, plate, odometer_km, service_type,
       labour_amount, parts_amount,
       (coalesce(labour_amount, 0) + coalesce(parts_amount, 0))::DECIMAL(18, 2) AS revenue,
       service_advisor
FROM staging.stg_repair_orders;

COMMENT ON TABLE marts.fct_service IS 'After-sales service: one row per repair order, keyed by CustomerID of the person who brought the car.';
COMMENT ON COLUMN marts.fct_service.ro_no IS 'Repair order number';
COMMENT ON COLUMN marts.fct_service.customer_id IS 'Persistent CustomerID of the person on the repair order (owner or driver)';
COMMENT ON COLUMN marts.fct_service.store_code IS 'Servicing store';
COMMENT ON COLUMN marts.fct_service.open_date IS 'Date the car came in';
COMMENT ON COLUMN marts.fct_service.close_date IS 'Date the order was closed';
COMMENT ON COLUMN marts.fct_service.vin IS 'VIN as delivered';
COMMENT ON COLUMN marts.fct_service.plate IS 'Licence plate as delivered';
COMMENT ON COLUMN marts.fct_service.odometer_km IS 'Odometer at intake, km';
COMMENT ON COLUMN marts.fct_service.service_type IS 'Maintenance, repair, body & paint, warranty, recall, detailing';
COMMENT ON COLUMN marts.fct_service.labour_amount IS 'Labour charged, CNY';
COMMENT ON COLUMN marts.fct_service.parts_amount IS 'Parts charged, CNY';
COMMENT ON COLUMN marts.fct_service.revenue IS 'labour_amount + parts_amount, CNY: service revenue';
COMMENT ON COLUMN marts.fct_service.service_advisor IS 'Service advisor';
