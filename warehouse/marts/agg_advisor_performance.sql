-- Sales and service advisors: volume, revenue, discounts, repeat customers, complaints.
CREATE OR REPLACE TABLE marts.agg_advisor_performance AS
WITH sales AS (
    SELECT sales_advisor AS advisor, store_code, 'sales' AS role, count(*) AS transactions,
           count(DISTINCT customer_id) AS customers, sum(deal_price)::DECIMAL(18, 2) AS revenue,
           avg(discount / nullif(list_price, 0))::DOUBLE AS avg_discount_share
    FROM marts.fct_sales GROUP BY ALL
),
service AS (
    SELECT service_advisor AS advisor, store_code, 'service' AS role, count(*) AS transactions,
           count(DISTINCT customer_id) AS customers, sum(revenue)::DECIMAL(18, 2) AS revenue,
           NULL::DOUBLE AS avg_discount_share
    FROM marts.fct_service GROUP BY ALL
),
complaints AS (  -- complaints on a service customer at the advisor's store in the 30 days after a visit
    SELECT s.service_advisor AS advisor, s.store_code, count(DISTINCT c.complaint_no) AS complaints
    FROM marts.fct_service AS s JOIN marts.fct_complaints AS c
      ON c.customer_id = s.customer_id AND c.store_code = s.store_code
     AND c.complaint_date BETWEEN s.open_date AND s.open_date + INTERVAL 30 DAY
    GROUP BY ALL
)
SELECT a.*, CASE WHEN a.role = 'service' THEN coalesce(c.complaints, 0) END AS complaints_within_30_days
FROM (SELECT * FROM sales UNION ALL SELECT * FROM service) AS a
LEFT JOIN complaints AS c ON a.role = 'service' AND c.advisor = a.advisor AND c.store_code = a.store_code;

COMMENT ON TABLE marts.agg_advisor_performance IS 'Advisor performance per store: sales advisors on vehicle sales, service advisors on repair orders.';
COMMENT ON COLUMN marts.agg_advisor_performance.advisor IS 'Advisor name as recorded';
COMMENT ON COLUMN marts.agg_advisor_performance.store_code IS 'Store';
COMMENT ON COLUMN marts.agg_advisor_performance.role IS 'sales or service';
COMMENT ON COLUMN marts.agg_advisor_performance.transactions IS 'Vehicles sold (sales) or repair orders (service)';
COMMENT ON COLUMN marts.agg_advisor_performance.customers IS 'Distinct customers served';
COMMENT ON COLUMN marts.agg_advisor_performance.revenue IS 'Deal prices (sales) or labour + parts (service), CNY';
COMMENT ON COLUMN marts.agg_advisor_performance.avg_discount_share IS 'Mean discount as a share of list price (sales only)';
COMMENT ON COLUMN marts.agg_advisor_performance.complaints_within_30_days IS 'Complaints by the advisor''s service customers at that store within 30 days of a visit (service only)';
