-- Every customer's household: the customers connected through household_links (any chain of links),
-- named after its lowest CustomerID (HH-<CustomerID>); a customer with no link is a household of one.
{{ config(materialized='synced', unique_key='customer_id') }}
WITH RECURSIVE edges AS (
    SELECT customer_id_a AS a, customer_id_b AS b FROM {{ ref('household_links') }}
    UNION SELECT customer_id_b, customer_id_a FROM {{ ref('household_links') }}
),
reach (customer_id, member) AS (
    SELECT DISTINCT a, a FROM edges
    UNION
    SELECT r.customer_id, e.b FROM reach AS r JOIN edges AS e ON e.a = r.member
),
households AS (SELECT customer_id, min(member) AS first_member, count(DISTINCT member) AS size FROM reach GROUP BY customer_id),
kinds AS (
    SELECT customer_id, string_agg(DISTINCT link_kind, ', ' ORDER BY link_kind) AS link_kinds
    FROM (SELECT customer_id_a AS customer_id, link_kind FROM {{ ref('household_links') }}
          UNION ALL SELECT customer_id_b, link_kind FROM {{ ref('household_links') }})
    GROUP BY customer_id
)
SELECT d.customer_id, 'HH-' || coalesce(h.first_member, d.customer_id) AS household_id,
       coalesce(h.size, 1) AS household_size, k.link_kinds
FROM {{ ref('dim_customer') }} AS d
LEFT JOIN households AS h USING (customer_id)
LEFT JOIN kinds AS k USING (customer_id)
