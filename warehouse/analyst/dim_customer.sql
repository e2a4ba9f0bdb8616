CREATE OR REPLACE VIEW analyst.dim_customer AS
SELECT customer_id, mask_name(customer_name, customer_kind) AS customer_name, customer_kind,
       mask_mobile(mobile) AS mobile, mask_id(id_number) AS id_number, gender, year(birth_date) AS birth_year,
       city, first_seen, last_seen, record_count, sources
FROM marts.dim_customer;
COMMENT ON VIEW analyst.dim_customer IS 'Golden record for analysts: names, mobiles and ID numbers masked, birth year only.';
