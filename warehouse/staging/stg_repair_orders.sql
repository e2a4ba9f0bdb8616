-- Staging: validated after-sales repair orders with the resolved customer_id. Restricted: holds raw PII.
CREATE OR REPLACE TABLE staging.stg_repair_orders AS
SELECT x.customer_id, s.* EXCLUDE (_load_id)
FROM source.repair_orders AS s
LEFT JOIN identity.customer_xref AS x ON x.source = 'repair_orders' AND x.record_key = s.ro_no;

COMMENT ON TABLE staging.stg_repair_orders IS 'Validated after-sales repair orders (typed per assets/dictionary.yaml) joined to identity.customer_xref. Restricted: raw PII.';
COMMENT ON COLUMN staging.stg_repair_orders.customer_id IS 'Persistent CustomerID from identity.customer_xref';
