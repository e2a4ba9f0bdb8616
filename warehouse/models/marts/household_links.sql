-- Evidence that two person customers belong to one household: a shared mobile, a shared address
-- (with the same surname: a family), or one paying for a car registered to the other. Customers are
-- never merged: a link only groups them (marts.dim_household). Restricted: shared_value is raw PII.
-- A daily build recomputes the pairs with a touched customer on either side (scope, macros/synced.sql):
-- their records, kind, cars and receipts are all a pair's row depends on.
{{ config(materialized='synced', unique_key=['customer_id_a', 'customer_id_b', 'link_kind'],
          scope=['customer_id_a', 'customer_id_b']) }}
WITH persons AS (SELECT customer_id FROM {{ ref('dim_customer') }} WHERE customer_kind = 'person'),
every_record AS (  -- what a pair can share: a mobile or an address
    SELECT r.customer_id, r.source, r.record_key, r.mobile, r.address_key, r.address, r.name
    FROM {{ ref('int_customer_records') }} AS r
    JOIN persons USING (customer_id)
    WHERE r.mobile IS NOT NULL OR r.address_key IS NOT NULL
),
{% if config.get('scope') and synced_scoped() %}
touched AS (SELECT mobile, address_key FROM every_record WHERE {{ in_scope('customer_id') }}),
-- a touched customer's pairs share one of its mobiles or addresses: only those records pair up. Found
-- among the records before they meet the persons (materialized: the join then takes the few found, not
-- a million customers' 16M records): 2.5 -> 1.8 s at a million customers (/tmp probe of the query).
sharing AS MATERIALIZED (
    SELECT customer_id, source, record_key, mobile, address_key, address, name
    FROM {{ ref('int_customer_records') }}
    WHERE mobile IN (SELECT mobile FROM touched) OR address_key IN (SELECT address_key FROM touched)
),
chosen AS (SELECT * FROM sharing JOIN persons USING (customer_id)),
{% else %}
chosen AS (SELECT * FROM every_record),
{% endif %}
records AS (  -- the surname of the records left, for those with an address (a family shares it)
    SELECT customer_id, source || ':' || record_key AS record, mobile, address_key, address,
           CASE WHEN address_key IS NULL OR NOT regexp_full_match(name, '[\x{4e00}-\x{9fff}]{2,4}') THEN NULL
                WHEN left(name, 2) IN ('欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '令狐',
                                       '长孙', '宇文', '司徒', '夏侯', '端木', '轩辕') AND length(name) > 2 THEN left(name, 2)
                ELSE left(name, 1) END AS surname
    FROM chosen
),
-- Pairs are made of each customer's distinct mobiles and addresses (with the first record carrying
-- each), not of its records: a customer's records repeat its mobile, and a join of the records made
-- every pair of them. The same links, evidence included.
mobiles AS (
    SELECT customer_id, mobile, min(record) AS record FROM records WHERE mobile IS NOT NULL GROUP BY customer_id, mobile
),
addresses AS (
    SELECT customer_id, address_key, surname, min(address) AS address, min(record) AS record
    FROM records WHERE address_key IS NOT NULL GROUP BY customer_id, address_key, surname
),
by_mobile AS (
    SELECT a.customer_id AS customer_id_a, b.customer_id AS customer_id_b, 'shared_mobile' AS link_kind,
           min(a.mobile) AS shared_value, min(a.record) || ' ~ ' || min(b.record) AS evidence
    FROM mobiles AS a JOIN mobiles AS b ON a.mobile = b.mobile AND a.customer_id < b.customer_id
    GROUP BY 1, 2, 3  -- one link per pair and kind, however many mobiles they share
),
by_address AS (
    SELECT a.customer_id AS customer_id_a, b.customer_id AS customer_id_b,
           CASE WHEN bool_or(a.surname = b.surname) THEN 'same_surname_address' ELSE 'shared_address' END AS link_kind,
           min(a.address) AS shared_value, min(a.record) || ' ~ ' || min(b.record) AS evidence
    FROM addresses AS a JOIN addresses AS b ON a.address_key = b.address_key AND a.customer_id < b.customer_id
    GROUP BY a.customer_id, b.customer_id
),
by_payment AS (  -- a receipt for a car paid by another person than its registered owner
    SELECT least(f.customer_id, v.owner_customer_id) AS customer_id_a, greatest(f.customer_id, v.owner_customer_id) AS customer_id_b,
           'paid_for_car' AS link_kind, min(f.vin) AS shared_value,
           'receipts:' || min(f.record_key) || ' pays for ' || arg_min(v.owner_customer_id, f.record_key) AS evidence
    FROM {{ ref('fct_finance') }} AS f
    JOIN {{ ref('dim_vehicle') }} AS v USING (vin)
    JOIN persons AS p1 ON p1.customer_id = f.customer_id
    JOIN persons AS p2 ON p2.customer_id = v.owner_customer_id
    WHERE f.record_kind = 'receipt' AND f.product = '购车款' AND f.customer_id <> v.owner_customer_id
    GROUP BY 1, 2, 3
)
SELECT * FROM by_mobile UNION ALL SELECT * FROM by_address UNION ALL SELECT * FROM by_payment
