-- One row per vehicle sold.
CREATE OR REPLACE TABLE marts.fct_sales AS
SELECT order_no, customer_id, store_code, sale_date, vin, brand, series, model, trim, colour,
       list_price, deal_price, (list_price - deal_price)::DECIMAL(18, 2) AS discount,
       payment_method, lead_channel, purchase_type, sales_advisor
FROM staging.stg_sales;

COMMENT ON TABLE marts.fct_sales IS 'Vehicle sales: one row per vehicle sold, keyed by CustomerID.';
COMMENT ON COLUMN marts.fct_sales.order_no IS 'Sales order number (record key in the sales ledger)';
COMMENT ON COLUMN marts.fct_sales.customer_id IS 'Persistent CustomerID of the buyer';
COMMENT ON COLUMN marts.fct_sales.store_code IS 'Selling store';
COMMENT ON COLUMN marts.fct_sales.sale_date IS 'Date of sale';
COMMENT ON COLUMN marts.fct_sales.vin IS 'VIN as delivered (may be invalid; see dim_vehicle for valid VINs)';
COMMENT ON COLUMN marts.fct_sales.brand IS 'Vehicle brand';
COMMENT ON COLUMN marts.fct_sales.series IS 'Vehicle series';
COMMENT ON COLUMN marts.fct_sales.model IS 'Model year / variant';
COMMENT ON COLUMN marts.fct_sales.trim IS 'Trim level';
COMMENT ON COLUMN marts.fct_sales.colour IS 'Body colour';
COMMENT ON COLUMN marts.fct_sales.list_price IS 'Manufacturer suggested retail price, CNY';
COMMENT ON COLUMN marts.fct_sales.deal_price IS 'Transaction price, CNY: vehicle revenue';
COMMENT ON COLUMN marts.fct_sales.discount IS 'list_price - deal_price, CNY';
COMMENT ON COLUMN marts.fct_sales.payment_method IS 'Full payment (全款) or loan (贷款)';
COMMENT ON COLUMN marts.fct_sales.lead_channel IS 'Channel of first contact for this purchase';
COMMENT ON COLUMN marts.fct_sales.purchase_type IS 'First purchase (首购), additional car (增购) or replacement (换购)';
COMMENT ON COLUMN marts.fct_sales.sales_advisor IS 'Sales advisor';
