-- Lists that drive daily work: one row per customer × list (× vehicle where the list is about a car).
CREATE OR REPLACE TABLE marts.lifecycle_lists AS
WITH params AS (SELECT * FROM config.lifecycle_lists),  -- thresholds: warehouse/parameters.yaml
owned AS (
    SELECT v.*, v.latest_odometer_km / greatest(datediff('day', v.first_sale_date, v.last_service_date), 1) AS km_per_day
    FROM marts.dim_vehicle AS v WHERE v.owner_customer_id IS NOT NULL
),
lists AS (
    SELECT o.owner_customer_id AS customer_id, 'maintenance_due' AS list, o.vin,
           'about ' || round(o.km_per_day * datediff('day', o.last_service_date, getvariable('as_of'))) || ' km and '
             || datediff('day', o.last_service_date, getvariable('as_of')) || ' days since the last service on '
             || o.last_service_date AS reason,
           least(o.last_service_date + to_days(p.service_interval_days),
                 o.last_service_date + to_days(ceil(p.service_interval_km / greatest(o.km_per_day, 1))::INT)) AS due_date
    FROM owned AS o, params AS p
    WHERE o.last_service_date IS NOT NULL
      AND (datediff('day', o.last_service_date, getvariable('as_of')) >= p.service_interval_days
           OR o.km_per_day * datediff('day', o.last_service_date, getvariable('as_of')) >= p.service_interval_km)
    UNION ALL
    SELECT o.owner_customer_id, 'trade_in_candidate', o.vin,
           'bought ' || o.first_sale_date || ', ' || o.latest_odometer_km || ' km', getvariable('as_of')
    FROM owned AS o, params AS p
    WHERE o.first_sale_date <= getvariable('as_of') - to_years(p.trade_in_years) AND o.latest_odometer_km >= p.trade_in_km
    UNION ALL
    SELECT c.customer_id, 'churn_warning', NULL,
           c.complaints_open || ' open complaint(s), last visit ' || c.last_visit_date, getvariable('as_of')
    FROM marts.customer_360 AS c, params AS p
    WHERE c.complaints_open > 0
      AND c.last_visit_date <= getvariable('as_of') - to_days(p.churn_days_without_visit)
    UNION ALL
    SELECT d.customer_id, 'sleeping', NULL, 'no record since ' || d.last_seen, getvariable('as_of')
    FROM marts.dim_customer AS d, params AS p
    WHERE d.last_seen <= getvariable('as_of') - to_days(p.sleeping_days)
    UNION ALL
    SELECT f.customer_id, 'insurance_renewal_due', f.vin, 'policy ' || f.record_key || ' ends ' || f.end_date, f.end_date
    FROM marts.fct_finance AS f, params AS p
    WHERE f.record_kind = 'insurance'
      AND f.end_date BETWEEN getvariable('as_of') AND getvariable('as_of') + to_days(p.renewal_window_days)
    UNION ALL
    SELECT customer_id, 'birthday_this_month', NULL, 'born ' || birth_date,
           make_date(year(getvariable('as_of')), month(birth_date), day(birth_date))
    FROM marts.dim_customer
    WHERE birth_date IS NOT NULL AND month(birth_date) = month(getvariable('as_of'))
      AND NOT (month(birth_date) = 2 AND day(birth_date) = 29)
)
SELECT * FROM lists ORDER BY list, customer_id, vin;

COMMENT ON TABLE marts.lifecycle_lists IS 'Daily work lists: maintenance due, trade-in candidates, churn warning, sleeping, insurance renewal due, birthdays this month. Thresholds: warehouse/parameters.yaml, published as config.lifecycle_lists.';
COMMENT ON COLUMN marts.lifecycle_lists.customer_id IS 'Persistent CustomerID (for vehicle lists: the registered owner)';
COMMENT ON COLUMN marts.lifecycle_lists.list IS 'maintenance_due, trade_in_candidate, churn_warning, sleeping, insurance_renewal_due, birthday_this_month';
COMMENT ON COLUMN marts.lifecycle_lists.vin IS 'The vehicle concerned, for vehicle lists';
COMMENT ON COLUMN marts.lifecycle_lists.reason IS 'Why the customer is on the list';
COMMENT ON COLUMN marts.lifecycle_lists.due_date IS 'When the action is due (maintenance: service_interval_km or service_interval_days after the last service, whichever comes first; renewal: policy end)';
