-- Staging: validated finance receipts with the resolved customer_id. Restricted: holds raw PII.
CREATE OR REPLACE TABLE staging.stg_receipts AS
SELECT x.customer_id, s.* EXCLUDE (_load_id)
FROM source.receipts AS s
LEFT JOIN identity.customer_xref AS x ON x.source = 'receipts' AND x.record_key = s.invoice_no;

COMMENT ON TABLE staging.stg_receipts IS 'Validated finance receipts (typed per assets/dictionary.yaml) joined to identity.customer_xref. Restricted: raw PII.';
COMMENT ON COLUMN staging.stg_receipts.customer_id IS 'Persistent CustomerID from identity.customer_xref';
