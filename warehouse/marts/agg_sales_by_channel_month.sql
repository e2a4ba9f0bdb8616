-- Customers and revenue by lead channel, store, brand and month of sale.
CREATE OR REPLACE TABLE marts.agg_sales_by_channel_month AS
SELECT date_trunc('month', sale_date)::DATE AS month, lead_channel, store_code, brand,
       count(*) AS vehicles_sold, count(DISTINCT customer_id) AS customers,
       sum(deal_price)::DECIMAL(18, 2) AS vehicle_revenue, sum(discount)::DECIMAL(18, 2) AS discount_given,
       count(*) FILTER (WHERE purchase_type = '首购') AS first_purchases
FROM marts.fct_sales
GROUP BY ALL;

COMMENT ON TABLE marts.agg_sales_by_channel_month IS 'Sales by month, lead channel, store and brand.';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.month IS 'First day of the month of sale';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.lead_channel IS 'Lead channel of the purchase';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.store_code IS 'Selling store';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.brand IS 'Vehicle brand';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.vehicles_sold IS 'Vehicles sold';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.customers IS 'Distinct buying customers';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.vehicle_revenue IS 'Sum of deal prices, CNY';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.discount_given IS 'Sum of list price minus deal price, CNY';
COMMENT ON COLUMN marts.agg_sales_by_channel_month.first_purchases IS 'Sales that were the buyer''s first car (首购)';
