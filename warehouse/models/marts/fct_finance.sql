-- Receipts and contracts in one fact: record_kind says which. A daily build recomputes only the
-- receipts and contracts whose staging rows changed (macros/recompute.sql).
{{ config(materialized='synced', unique_key=['record_kind', 'record_key'], recompute='recompute_fct_finance') }}
SELECT 'receipt' AS record_kind, invoice_no AS record_key, customer_id, store_code, invoice_date AS event_date,
       item AS product, amount, vin,
       NULL::VARCHAR AS bank, NULL::DECIMAL(18, 2) AS principal, NULL::BIGINT AS term_months,
       NULL::VARCHAR AS insurer, NULL::DECIMAL(18, 2) AS premium, NULL::DATE AS start_date, NULL::DATE AS end_date
FROM {{ ref('stg_receipts') }}
WHERE {{ in_recompute(["'receipt'", 'invoice_no']) }}
UNION ALL
SELECT CASE contract_type WHEN '贷款' THEN 'loan' ELSE 'insurance' END, contract_no, customer_id, store_code, start_date,
       contract_type, NULL::DECIMAL(18, 2), vin, bank, principal, term_months, insurer, premium, start_date, end_date
FROM {{ ref('stg_contracts') }}
WHERE {{ in_recompute(["CASE contract_type WHEN '贷款' THEN 'loan' ELSE 'insurance' END", 'contract_no']) }}
