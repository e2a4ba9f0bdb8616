-- Service retention: of the cars sold in each year, the share serviced in our stores in each year after sale.
CREATE OR REPLACE TABLE marts.agg_service_retention AS
WITH sold AS (
    SELECT upper(vin) AS vin, min(sale_date) AS sale_date FROM marts.fct_sales WHERE vin IS NOT NULL GROUP BY 1
),
visits AS (
    SELECT DISTINCT s.vin, s.sale_date, floor(datediff('day', s.sale_date, f.open_date) / 365.25)::INT + 1 AS years_after_sale
    FROM sold AS s JOIN marts.fct_service AS f ON upper(f.vin) = s.vin AND f.open_date >= s.sale_date
),
cohorts AS (SELECT year(sale_date) AS sale_year, count(*) AS cars_sold FROM sold GROUP BY 1),
years AS (  -- only years after sale that have fully elapsed by the as-of date
    SELECT c.sale_year, c.cars_sold, y.years_after_sale
    FROM cohorts AS c, range(1, 9) AS y(years_after_sale)
    WHERE make_date(c.sale_year + y.years_after_sale, 12, 31) <= getvariable('as_of')
)
SELECT y.sale_year, y.years_after_sale, y.cars_sold,
       count(DISTINCT v.vin) AS cars_serviced,
       (count(DISTINCT v.vin) / y.cars_sold)::DOUBLE AS retention
FROM years AS y
LEFT JOIN visits AS v ON year(v.sale_date) = y.sale_year AND v.years_after_sale = y.years_after_sale
GROUP BY y.sale_year, y.years_after_sale, y.cars_sold
ORDER BY y.sale_year, y.years_after_sale;

COMMENT ON TABLE marts.agg_service_retention IS 'Share of cars sold in a year that came back for service in each later year (year 1 = the year of sale counted from the sale date).';
COMMENT ON COLUMN marts.agg_service_retention.sale_year IS 'Year the cars were sold';
COMMENT ON COLUMN marts.agg_service_retention.years_after_sale IS '1 = first year after the sale date, 2 = second year …';
COMMENT ON COLUMN marts.agg_service_retention.cars_sold IS 'Cars (valid VINs) sold that year';
COMMENT ON COLUMN marts.agg_service_retention.cars_serviced IS 'Of those, cars with at least one repair order in that year after sale';
COMMENT ON COLUMN marts.agg_service_retention.retention IS 'cars_serviced / cars_sold';
