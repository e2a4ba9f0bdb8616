CREATE OR REPLACE TABLE marts.fct_complaints AS
SELECT complaint_no, customer_id, store_code, complaint_date, resolved_date, status,
       status = '处理中' AS is_open, vin, category
FROM staging.stg_complaints;

COMMENT ON TABLE marts.fct_complaints IS 'Complaints: one row per ticket, keyed by CustomerID.';
COMMENT ON COLUMN marts.fct_complaints.complaint_no IS 'Complaint ticket number';
COMMENT ON COLUMN marts.fct_complaints.customer_id IS 'Persistent CustomerID of the complainant';
COMMENT ON COLUMN marts.fct_complaints.store_code IS 'Store the complaint is about';
COMMENT ON COLUMN marts.fct_complaints.complaint_date IS 'Date lodged';
COMMENT ON COLUMN marts.fct_complaints.resolved_date IS 'Date resolved; NULL while open';
COMMENT ON COLUMN marts.fct_complaints.status IS 'Status as recorded (处理中 open, 已解决 resolved)';
COMMENT ON COLUMN marts.fct_complaints.is_open IS 'True while the complaint is unresolved';
COMMENT ON COLUMN marts.fct_complaints.vin IS 'VIN the complaint concerns, if given';
COMMENT ON COLUMN marts.fct_complaints.category IS 'Complaint category';
