-- Staging: validated loan contracts and insurance policies with the resolved customer_id. Restricted: holds raw PII.
CREATE OR REPLACE TABLE staging.stg_contracts AS
SELECT x.customer_id, s.* EXCLUDE (_load_id)
FROM source.contracts AS s
LEFT JOIN identity.customer_xref AS x ON x.source = 'contracts' AND x.record_key = s.contract_no;

COMMENT ON TABLE staging.stg_contracts IS 'Validated loan contracts and insurance policies (typed per assets/dictionary.yaml) joined to identity.customer_xref. Restricted: raw PII.';
COMMENT ON COLUMN staging.stg_contracts.customer_id IS 'Persistent CustomerID from identity.customer_xref';
