CREATE OR REPLACE VIEW analyst.customer_360 AS
SELECT * REPLACE (mask_name(customer_name, customer_kind) AS customer_name,
                  list_transform(mobiles, lambda m: mask_mobile(m)) AS mobiles)
FROM marts.customer_360;
COMMENT ON VIEW analyst.customer_360 IS 'Customer 360 for analysts: names and mobiles masked.';
