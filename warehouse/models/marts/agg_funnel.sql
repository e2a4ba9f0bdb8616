-- The sales funnel: leads reaching each stage, by lead month, store, channel, sub-channel and advisor.
-- A stage counts leads with at least one event of that kind (stages need not be passed in order);
-- delivery is a car bought by the lead's customer at any store of the group within attribution_days.
SELECT lead_month, store_code, lead_channel, sub_channel, sales_advisor,
       count(*) AS leads,
       count(contacted_date) AS contacted,
       count(visited_date) AS visited,
       count(test_drive_date) AS test_drives,
       count(quoted_date) AS quoted,
       count(ordered_date) AS orders,
       count(delivery_date) AS deliveries,
       count(*) FILTER (WHERE delivered_elsewhere) AS delivered_at_another_store,
       count(lost_date) AS lost,
       count(customer_id) AS linked_to_customers,
       avg(days_to_order) AS avg_days_to_order,
       avg(days_to_delivery) AS avg_days_to_delivery
FROM {{ ref('fct_leads') }}
GROUP BY ALL
ORDER BY ALL
