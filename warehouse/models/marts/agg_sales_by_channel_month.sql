-- Customers and revenue by lead channel, store, brand and month of sale.
SELECT date_trunc('month', sale_date)::DATE AS month, lead_channel, store_code, brand,
       count(*) AS vehicles_sold, count(DISTINCT customer_id) AS customers,
       sum(deal_price)::DECIMAL(18, 2) AS vehicle_revenue, sum(discount)::DECIMAL(18, 2) AS discount_given,
       count(*) FILTER (WHERE purchase_type = '首购') AS first_purchases
FROM {{ ref('fct_sales') }}
GROUP BY ALL
