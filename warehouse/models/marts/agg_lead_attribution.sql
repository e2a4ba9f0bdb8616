-- Cost-free attribution of cars sold to leads: each car bought within attribution_days of a lead by the
-- lead's customer credits the first and the last lead before it, by channel and sub-channel; and how
-- many of those cars another store of the group sold (lead-to-sale attribution across stores).
SELECT lead_channel, sub_channel,
       count(*) FILTER (WHERE first_touch) AS first_touch_sales,
       count(*) FILTER (WHERE last_touch) AS last_touch_sales,
       count(*) FILTER (WHERE last_touch AND delivered_elsewhere) AS last_touch_sales_at_another_store,
       count(DISTINCT delivery_order_no) AS sales_touched,
       count(*) AS leads
FROM {{ ref('fct_leads') }}
GROUP BY ALL
ORDER BY ALL
