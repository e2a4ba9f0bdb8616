-- One row per valid VIN seen in any source.
CREATE OR REPLACE TABLE marts.dim_vehicle AS
WITH rec AS (
    SELECT p.vin, p.source, p.record_key, p.event_date, x.customer_id
    FROM identity.person_records AS p
    JOIN identity.customer_xref AS x USING (source, record_key)
    WHERE p.vin IS NOT NULL
),
sold AS (
    SELECT r.vin, min(s.sale_date) AS first_sale_date, arg_max(s.brand, s.sale_date) AS brand,
           arg_max(s.series, s.sale_date) AS series, arg_max(s.model, s.sale_date) AS model
    FROM rec AS r JOIN marts.fct_sales AS s ON r.source = 'sales' AND s.order_no = r.record_key
    GROUP BY r.vin
),
seen AS (
    SELECT vin,
           arg_max(customer_id, event_date) FILTER (WHERE source IN ('sales', 'contracts', 'receipts')) AS buyer_customer_id,
           arg_max(customer_id, event_date) FILTER (WHERE source = 'repair_orders') AS last_service_customer_id,
           min(event_date) AS first_seen_date, max(event_date) AS last_seen_date
    FROM rec GROUP BY vin
),
odo AS (
    SELECT r.vin, arg_max(f.odometer_km, f.open_date) AS latest_odometer_km, max(f.open_date) AS last_service_date,
           count(*) AS service_visits
    FROM rec AS r JOIN marts.fct_service AS f ON r.source = 'repair_orders' AND f.ro_no = r.record_key
    GROUP BY r.vin
)
SELECT seen.vin, sold.brand, sold.series, sold.model, sold.first_sale_date,
       coalesce(seen.buyer_customer_id, seen.last_service_customer_id) AS owner_customer_id,
       seen.last_service_customer_id, odo.latest_odometer_km, odo.last_service_date,
       coalesce(odo.service_visits, 0) AS service_visits, seen.first_seen_date, seen.last_seen_date
FROM seen LEFT JOIN sold USING (vin) LEFT JOIN odo USING (vin);

COMMENT ON TABLE marts.dim_vehicle IS 'Vehicles: one row per valid VIN (ISO 3779 check digit) seen in any source.';
COMMENT ON COLUMN marts.dim_vehicle.vin IS 'Valid, upper-cased VIN';
COMMENT ON COLUMN marts.dim_vehicle.brand IS 'Brand from the latest sale of this VIN';
COMMENT ON COLUMN marts.dim_vehicle.series IS 'Series from the latest sale';
COMMENT ON COLUMN marts.dim_vehicle.model IS 'Model from the latest sale';
COMMENT ON COLUMN marts.dim_vehicle.first_sale_date IS 'First sale of this VIN in our stores';
COMMENT ON COLUMN marts.dim_vehicle.owner_customer_id IS 'Registered owner: customer on the latest sales / finance record, else on the latest repair order';
COMMENT ON COLUMN marts.dim_vehicle.last_service_customer_id IS 'Customer who brought the car in most recently (may be a driver or a later owner)';
COMMENT ON COLUMN marts.dim_vehicle.latest_odometer_km IS 'Odometer at the latest repair order, km';
COMMENT ON COLUMN marts.dim_vehicle.last_service_date IS 'Date of the latest repair order';
COMMENT ON COLUMN marts.dim_vehicle.service_visits IS 'Repair orders on this VIN';
COMMENT ON COLUMN marts.dim_vehicle.first_seen_date IS 'Earliest record of this VIN';
COMMENT ON COLUMN marts.dim_vehicle.last_seen_date IS 'Latest record of this VIN';
