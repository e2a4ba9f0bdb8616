-- Lost leads (战败) by store, channel and reason, and how many of them bought in the group all the same.
SELECT store_code, lead_channel, lost_reason,
       count(*) AS lost_leads,
       count(delivery_date) AS bought_in_the_group_later,
       count(*) FILTER (WHERE delivered_elsewhere) AS bought_at_another_store
FROM {{ ref('fct_leads') }}
WHERE lost_date IS NOT NULL
GROUP BY ALL
ORDER BY ALL
