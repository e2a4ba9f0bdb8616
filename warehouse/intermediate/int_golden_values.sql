-- The surviving value of each golden-record attribute per customer, chosen by the rules in
-- warehouse/survivorship.yaml (config.survivorship, config.source_trust). Restricted: raw PII.
CREATE OR REPLACE TABLE intermediate.int_golden_values AS
WITH rec AS (
    SELECT x.customer_id, p.source, p.event_date,
           trim(p.name_raw) AS customer_name, p.mobile, p.id_number, p.city
    FROM identity.person_records AS p JOIN identity.customer_xref AS x USING (source, record_key)
),
candidates AS (  -- one row per recorded value; UNPIVOT drops empty values
    UNPIVOT rec ON customer_name, mobile, id_number, city INTO NAME attribute VALUE value
),
scored AS (
    SELECT c.*, count(*) OVER (PARTITION BY c.customer_id, c.attribute, c.value) AS frequency,
           coalesce(t.trust_rank, 1000) AS trust_rank, r.rule
    FROM candidates AS c
    JOIN config.survivorship AS r USING (attribute)
    LEFT JOIN config.source_trust AS t ON t.attribute = c.attribute AND t.source = c.source
),
ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY customer_id, attribute
        ORDER BY CASE rule WHEN 'most_frequent' THEN -frequency WHEN 'most_trusted' THEN trust_rank ELSE 0 END,
                 event_date DESC NULLS LAST, value) AS pick
    FROM scored
)
SELECT customer_id, attribute, value, source, rule, frequency
FROM ranked WHERE pick = 1;

COMMENT ON TABLE intermediate.int_golden_values IS 'Surviving value per customer and attribute under warehouse/survivorship.yaml. Restricted: raw PII.';
COMMENT ON COLUMN intermediate.int_golden_values.customer_id IS 'Persistent CustomerID';
COMMENT ON COLUMN intermediate.int_golden_values.attribute IS 'Golden-record attribute (customer_name, mobile, id_number, city)';
COMMENT ON COLUMN intermediate.int_golden_values.value IS 'The surviving value';
COMMENT ON COLUMN intermediate.int_golden_values.source IS 'Source of the record the value was taken from';
COMMENT ON COLUMN intermediate.int_golden_values.rule IS 'Survivorship rule applied (most_frequent, latest, most_trusted)';
COMMENT ON COLUMN intermediate.int_golden_values.frequency IS 'Records of the customer carrying this value';
