-- Golden record per CustomerID. Which value survives is decided by warehouse/survivorship.yaml
-- (applied in intermediate.int_golden_values); gender and birth date follow the chosen resident ID,
-- else the most frequent recorded gender.
CREATE OR REPLACE TABLE marts.dim_customer AS
WITH golden AS (
    SELECT customer_id,
           any_value(value) FILTER (WHERE attribute = 'customer_name') AS customer_name,
           any_value(source) FILTER (WHERE attribute = 'customer_name') AS name_source,
           any_value(value) FILTER (WHERE attribute = 'mobile') AS mobile,
           any_value(source) FILTER (WHERE attribute = 'mobile') AS mobile_source,
           any_value(value) FILTER (WHERE attribute = 'id_number') AS id_number,
           any_value(source) FILTER (WHERE attribute = 'id_number') AS id_number_source,
           any_value(value) FILTER (WHERE attribute = 'city') AS city
    FROM intermediate.int_golden_values GROUP BY customer_id
),
rec AS (
    SELECT x.customer_id, p.*
    FROM identity.person_records AS p JOIN identity.customer_xref AS x USING (source, record_key)
),
id_kinds AS (
    SELECT DISTINCT id_number, id_kind FROM identity.person_records WHERE id_number IS NOT NULL
),
summary AS (
    SELECT customer_id, mode(gender) AS gender_mode,
           bool_or(is_company) AS is_company, min(event_date) AS first_seen, max(event_date) AS last_seen,
           count(*) AS record_count, list(DISTINCT source ORDER BY source) AS sources
    FROM rec GROUP BY customer_id
)
SELECT s.customer_id, g.customer_name, g.name_source,
       CASE WHEN s.is_company OR k.id_kind = 'uscc' THEN 'company' ELSE 'person' END AS customer_kind,
       g.mobile, g.mobile_source, g.id_number, g.id_number_source,
       CASE WHEN k.id_kind = 'resident' THEN CASE WHEN substr(g.id_number, 17, 1)::INT % 2 = 1 THEN 'M' ELSE 'F' END
            ELSE s.gender_mode END AS gender,
       CASE WHEN k.id_kind = 'resident' THEN strptime(substr(g.id_number, 7, 8), '%Y%m%d')::DATE END AS birth_date,
       g.city, s.first_seen, s.last_seen, s.record_count, s.sources
FROM summary AS s LEFT JOIN golden AS g USING (customer_id) LEFT JOIN id_kinds AS k USING (id_number);

COMMENT ON TABLE marts.dim_customer IS 'Golden record: one row per CustomerID with the source of each surviving value. Restricted: raw mobile and ID number (analysts use the masked views).';
COMMENT ON COLUMN marts.dim_customer.customer_id IS 'Persistent CustomerID';
COMMENT ON COLUMN marts.dim_customer.customer_name IS 'Name as delivered, chosen by the customer_name rule in warehouse/survivorship.yaml (default: most frequent spelling, ties: most recent)';
COMMENT ON COLUMN marts.dim_customer.name_source IS 'Source of the record the name was taken from';
COMMENT ON COLUMN marts.dim_customer.customer_kind IS 'person or company (fleet)';
COMMENT ON COLUMN marts.dim_customer.mobile IS 'Valid mainland mobile (canonical 11 digits) chosen by the mobile rule (default: latest). PII';
COMMENT ON COLUMN marts.dim_customer.mobile_source IS 'Source the mobile was taken from';
COMMENT ON COLUMN marts.dim_customer.id_number IS 'Valid resident ID or credit code chosen by the id_number rule (default: most trusted source, then latest). Sensitive PII';
COMMENT ON COLUMN marts.dim_customer.id_number_source IS 'Source the ID number was taken from';
COMMENT ON COLUMN marts.dim_customer.gender IS 'M / F: from the ID number, else the most frequent recorded gender';
COMMENT ON COLUMN marts.dim_customer.birth_date IS 'Birth date from the resident ID number';
COMMENT ON COLUMN marts.dim_customer.city IS 'City parsed from an address, chosen by the city rule (default: latest)';
COMMENT ON COLUMN marts.dim_customer.first_seen IS 'Date of the earliest record';
COMMENT ON COLUMN marts.dim_customer.last_seen IS 'Date of the latest record';
COMMENT ON COLUMN marts.dim_customer.record_count IS 'Source records resolved to this customer';
COMMENT ON COLUMN marts.dim_customer.sources IS 'Sources the customer appears in';
