-- Sales and service advisors: volume, revenue, discounts, repeat customers, complaints.
WITH sales AS (
    SELECT sales_advisor AS advisor, store_code, 'sales' AS role, count(*) AS transactions,
           count(DISTINCT customer_id) AS customers, sum(deal_price)::DECIMAL(18, 2) AS revenue,
           avg(discount / nullif(list_price, 0))::DOUBLE AS avg_discount_share
    FROM {{ ref('fct_sales') }} GROUP BY ALL
),
service AS (
    SELECT service_advisor AS advisor, store_code, 'service' AS role, count(*) AS transactions,
           count(DISTINCT customer_id) AS customers, sum(revenue)::DECIMAL(18, 2) AS revenue,
           NULL::DOUBLE AS avg_discount_share
    FROM {{ ref('fct_service') }} GROUP BY ALL
),
complaints AS (  -- complaints on a service customer at the advisor's store in the 30 days after a visit
    SELECT s.service_advisor AS advisor, s.store_code, count(DISTINCT c.complaint_no) AS complaints
    FROM {{ ref('fct_service') }} AS s JOIN {{ ref('fct_complaints') }} AS c
      ON c.customer_id = s.customer_id AND c.store_code = s.store_code
     AND c.complaint_date BETWEEN s.open_date AND s.open_date + INTERVAL 30 DAY
    GROUP BY ALL
)
SELECT a.*, CASE WHEN a.role = 'service' THEN coalesce(c.complaints, 0) END AS complaints_within_30_days
FROM (SELECT * FROM sales UNION ALL SELECT * FROM service) AS a
LEFT JOIN complaints AS c ON a.role = 'service' AND c.advisor = a.advisor AND c.store_code = a.store_code
