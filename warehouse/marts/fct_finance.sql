-- Receipts and contracts in one fact: record_kind says which.
CREATE OR REPLACE TABLE marts.fct_finance AS
SELECT 'receipt' AS record_kind, invoice_no AS record_key, customer_id, store_code, invoice_date AS event_date,
       item AS product, amount, vin,
       NULL::VARCHAR AS bank, NULL::DECIMAL(18, 2) AS principal, NULL::BIGINT AS term_months,
       NULL::VARCHAR AS insurer, NULL::DECIMAL(18, 2) AS premium, NULL::DATE AS start_date, NULL::DATE AS end_date
FROM staging.stg_receipts
UNION ALL
SELECT CASE contract_type WHEN '贷款' THEN 'loan' ELSE 'insurance' END, contract_no, customer_id, store_code, start_date,
       contract_type, NULL::DECIMAL(18, 2), vin, bank, principal, term_months, insurer, premium, start_date, end_date
FROM staging.stg_contracts;

COMMENT ON TABLE marts.fct_finance IS 'Finance: receipts (amount = money received) and loan / insurance contracts (amount NULL: principal and premium are contract terms, the money shows up as receipts).';
COMMENT ON COLUMN marts.fct_finance.record_kind IS 'receipt, loan or insurance';
COMMENT ON COLUMN marts.fct_finance.record_key IS 'Invoice number (receipts) or contract / policy number';
COMMENT ON COLUMN marts.fct_finance.customer_id IS 'Persistent CustomerID of the payer / borrower / policy holder';
COMMENT ON COLUMN marts.fct_finance.store_code IS 'Store';
COMMENT ON COLUMN marts.fct_finance.event_date IS 'Receipt date, or contract start date';
COMMENT ON COLUMN marts.fct_finance.product IS 'Receipt item (购车款, 保险费, 贷款手续费, 精品附件, 延保) or contract type (贷款, 保险)';
COMMENT ON COLUMN marts.fct_finance.amount IS 'Money received, CNY (receipts only)';
COMMENT ON COLUMN marts.fct_finance.vin IS 'VIN the record concerns, as delivered';
COMMENT ON COLUMN marts.fct_finance.bank IS 'Lending bank (loans)';
COMMENT ON COLUMN marts.fct_finance.principal IS 'Loan principal, CNY (loans)';
COMMENT ON COLUMN marts.fct_finance.term_months IS 'Loan term in months (loans)';
COMMENT ON COLUMN marts.fct_finance.insurer IS 'Insurance company (policies)';
COMMENT ON COLUMN marts.fct_finance.premium IS 'Insurance premium, CNY (policies)';
COMMENT ON COLUMN marts.fct_finance.start_date IS 'Contract / policy start';
COMMENT ON COLUMN marts.fct_finance.end_date IS 'Contract / policy end: drives insurance renewal';
