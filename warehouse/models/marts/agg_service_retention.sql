-- Service retention: of the cars sold in each year, the share serviced in our stores in each year after sale.
WITH sold AS (
    SELECT upper(vin) AS vin, min(sale_date) AS sale_date FROM {{ ref('fct_sales') }} WHERE vin IS NOT NULL GROUP BY 1
),
visits AS (
    SELECT DISTINCT s.vin, s.sale_date, floor(datediff('day', s.sale_date, f.open_date) / 365.25)::INT + 1 AS years_after_sale
    FROM sold AS s JOIN {{ ref('fct_service') }} AS f ON upper(f.vin) = s.vin AND f.open_date >= s.sale_date
),
cohorts AS (SELECT year(sale_date) AS sale_year, count(*) AS cars_sold FROM sold GROUP BY 1),
years AS (  -- only years after sale that have fully elapsed by the as-of date
    SELECT c.sale_year, c.cars_sold, y.years_after_sale
    FROM cohorts AS c, range(1, 9) AS y(years_after_sale)
    WHERE make_date(c.sale_year + y.years_after_sale, 12, 31) <= {{ as_of() }}
)
SELECT y.sale_year, y.years_after_sale, y.cars_sold,
       count(DISTINCT v.vin) AS cars_serviced,
       (count(DISTINCT v.vin) / y.cars_sold)::DOUBLE AS retention
FROM years AS y
LEFT JOIN visits AS v ON year(v.sale_date) = y.sale_year AND v.years_after_sale = y.years_after_sale
GROUP BY y.sale_year, y.years_after_sale, y.cars_sold
ORDER BY y.sale_year, y.years_after_sale
