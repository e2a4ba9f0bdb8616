-- Golden record per CustomerID. Which value survives is decided by seeds/survivorship.csv
-- (applied in intermediate.int_golden_values); gender and birth date follow the chosen resident ID,
-- else the most frequent recorded gender.
{{ config(materialized='synced', unique_key='customer_id', scope='customer_id') }}
WITH golden AS (
    SELECT customer_id,
           any_value(value) FILTER (WHERE attribute = 'customer_name') AS customer_name,
           any_value(source) FILTER (WHERE attribute = 'customer_name') AS name_source,
           any_value(value) FILTER (WHERE attribute = 'mobile') AS mobile,
           any_value(source) FILTER (WHERE attribute = 'mobile') AS mobile_source,
           any_value(value) FILTER (WHERE attribute = 'id_number') AS id_number,
           any_value(source) FILTER (WHERE attribute = 'id_number') AS id_number_source,
           any_value(value) FILTER (WHERE attribute = 'city') AS city
    FROM {{ ref('int_golden_values') }} WHERE {{ in_scope('customer_id') }} GROUP BY customer_id
),
rec AS (
    SELECT * FROM {{ ref('int_customer_records') }} WHERE {{ in_scope('customer_id') }}
),
id_kinds AS (
    SELECT DISTINCT id_number, id_kind FROM rec WHERE id_number IS NOT NULL  -- the kind is the number's: its own records tell
),
summary AS (
    SELECT customer_id, mode(gender ORDER BY gender) AS gender_mode,
           avg(is_company::INT) > 0.5 AS is_company, min(event_date) AS first_seen, max(event_date) AS last_seen,
           count(*) AS record_count, list(DISTINCT source ORDER BY source) AS sources
    FROM rec GROUP BY customer_id
)
SELECT s.customer_id, g.customer_name, g.name_source,
       CASE WHEN s.is_company THEN 'company' ELSE 'person' END AS customer_kind,
       g.mobile, g.mobile_source, g.id_number, g.id_number_source,
       CASE WHEN k.id_kind = 'resident' THEN CASE WHEN substr(g.id_number, 17, 1)::INT % 2 = 1 THEN 'M' ELSE 'F' END
            ELSE s.gender_mode END AS gender,
       CASE WHEN k.id_kind = 'resident' THEN strptime(substr(g.id_number, 7, 8), '%Y%m%d')::DATE END AS birth_date,
       g.city, s.first_seen, s.last_seen, s.record_count, s.sources
FROM summary AS s LEFT JOIN golden AS g USING (customer_id) LEFT JOIN id_kinds AS k USING (id_number)
