-- Golden record per CustomerID. Survivorship: name = most frequent spelling as delivered (ties: most
-- recent); mobile = latest valid mobile; ID number = from the most trusted source (sales > contracts
-- > receipts), latest; gender / birth date from the chosen ID number, else the most frequent gender.
CREATE OR REPLACE TABLE marts.dim_customer AS
WITH rec AS (
    SELECT x.customer_id, p.*, trim(p.name_raw) AS spelling,
           CASE p.source WHEN 'sales' THEN 1 WHEN 'contracts' THEN 2 WHEN 'receipts' THEN 3 ELSE 9 END AS id_trust
    FROM identity.person_records AS p JOIN identity.customer_xref AS x USING (source, record_key)
),
spellings AS (
    SELECT customer_id, spelling, count(*) AS n, max(event_date) AS last_date, arg_max(source, event_date) AS from_source
    FROM rec WHERE spelling IS NOT NULL GROUP BY customer_id, spelling
),
best_name AS (
    SELECT customer_id, arg_max(spelling, (n, last_date, spelling)) AS customer_name,
           arg_max(from_source, (n, last_date, spelling)) AS name_source
    FROM spellings GROUP BY customer_id
),
best_id AS (
    SELECT customer_id, arg_min(id_number, (id_trust, -epoch(event_date), id_number)) AS id_number,
           arg_min(source, (id_trust, -epoch(event_date), id_number)) AS id_number_source,
           arg_min(id_kind, (id_trust, -epoch(event_date), id_number)) AS id_kind
    FROM rec WHERE id_number IS NOT NULL GROUP BY customer_id
),
summary AS (
    SELECT customer_id,
           arg_max(mobile, event_date) FILTER (WHERE mobile IS NOT NULL) AS mobile,
           arg_max(source, event_date) FILTER (WHERE mobile IS NOT NULL) AS mobile_source,
           mode(gender) AS gender_mode, arg_max(city, event_date) FILTER (WHERE city IS NOT NULL) AS city,
           bool_or(is_company) AS is_company, min(event_date) AS first_seen, max(event_date) AS last_seen,
           count(*) AS record_count, list(DISTINCT source ORDER BY source) AS sources
    FROM rec GROUP BY customer_id
)
SELECT s.customer_id, n.customer_name, n.name_source,
       CASE WHEN s.is_company OR i.id_kind = 'uscc' THEN 'company' ELSE 'person' END AS customer_kind,
       s.mobile, s.mobile_source, i.id_number, i.id_number_source,
       CASE WHEN i.id_kind = 'resident' THEN CASE WHEN substr(i.id_number, 17, 1)::INT % 2 = 1 THEN 'M' ELSE 'F' END
            ELSE s.gender_mode END AS gender,
       CASE WHEN i.id_kind = 'resident' THEN strptime(substr(i.id_number, 7, 8), '%Y%m%d')::DATE END AS birth_date,
       s.city, s.first_seen, s.last_seen, s.record_count, s.sources
FROM summary AS s LEFT JOIN best_name AS n USING (customer_id) LEFT JOIN best_id AS i USING (customer_id);

COMMENT ON TABLE marts.dim_customer IS 'Golden record: one row per CustomerID with the source of each surviving value. Restricted: raw mobile and ID number (analysts use the masked views).';
COMMENT ON COLUMN marts.dim_customer.customer_id IS 'Persistent CustomerID';
COMMENT ON COLUMN marts.dim_customer.customer_name IS 'Most frequent spelling of the name as delivered (ties: most recent)';
COMMENT ON COLUMN marts.dim_customer.name_source IS 'Source of the latest record carrying the chosen spelling';
COMMENT ON COLUMN marts.dim_customer.customer_kind IS 'person or company (fleet)';
COMMENT ON COLUMN marts.dim_customer.mobile IS 'Latest valid mainland mobile (canonical 11 digits). PII';
COMMENT ON COLUMN marts.dim_customer.mobile_source IS 'Source the mobile was taken from';
COMMENT ON COLUMN marts.dim_customer.id_number IS 'Valid resident ID or credit code from the most trusted source. Sensitive PII';
COMMENT ON COLUMN marts.dim_customer.id_number_source IS 'Source the ID number was taken from';
COMMENT ON COLUMN marts.dim_customer.gender IS 'M / F: from the ID number, else the most frequent recorded gender';
COMMENT ON COLUMN marts.dim_customer.birth_date IS 'Birth date from the resident ID number';
COMMENT ON COLUMN marts.dim_customer.city IS 'Latest city parsed from an address';
COMMENT ON COLUMN marts.dim_customer.first_seen IS 'Date of the earliest record';
COMMENT ON COLUMN marts.dim_customer.last_seen IS 'Date of the latest record';
COMMENT ON COLUMN marts.dim_customer.record_count IS 'Source records resolved to this customer';
COMMENT ON COLUMN marts.dim_customer.sources IS 'Sources the customer appears in';
