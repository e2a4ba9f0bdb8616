-- Staging: validated after-sales complaints with the resolved customer_id. Restricted: holds raw PII.
CREATE OR REPLACE TABLE staging.stg_complaints AS
SELECT x.customer_id, s.* EXCLUDE (_load_id)
FROM source.complaints AS s
LEFT JOIN identity.customer_xref AS x ON x.source = 'complaints' AND x.record_key = s.complaint_no;

COMMENT ON TABLE staging.stg_complaints IS 'Validated after-sales complaints (typed per assets/dictionary.yaml) joined to identity.customer_xref. Restricted: raw PII.';
COMMENT ON COLUMN staging.stg_complaints.customer_id IS 'Persistent CustomerID from identity.customer_xref';
