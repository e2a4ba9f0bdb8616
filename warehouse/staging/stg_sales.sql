-- Staging: validated sales ledger, one row per vehicle sold with the resolved customer_id. Restricted: holds raw PII.
CREATE OR REPLACE TABLE staging.stg_sales AS
SELECT x.customer_id, s.* EXCLUDE (_load_id)
FROM source.sales AS s
LEFT JOIN identity.customer_xref AS x ON x.source = 'sales' AND x.record_key = s.order_no;

COMMENT ON TABLE staging.stg_sales IS 'Validated sales ledger, one row per vehicle sold (typed per assets/dictionary.yaml) joined to identity.customer_xref. Restricted: raw PII.';
COMMENT ON COLUMN staging.stg_sales.customer_id IS 'Persistent CustomerID from identity.customer_xref';
