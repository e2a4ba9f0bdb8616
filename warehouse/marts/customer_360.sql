-- Everything about a customer on one row.
CREATE OR REPLACE TABLE marts.customer_360 AS
WITH contact AS (
    SELECT x.customer_id, list(DISTINCT p.mobile ORDER BY p.mobile) FILTER (WHERE p.mobile IS NOT NULL) AS mobiles,
           mode(p.store_code) AS preferred_store
    FROM identity.person_records AS p JOIN identity.customer_xref AS x USING (source, record_key)
    GROUP BY x.customer_id
),
bought AS (
    SELECT s.customer_id, count(*) AS purchases, sum(s.deal_price) AS vehicle_revenue,
           min(s.sale_date) AS first_purchase_date, max(s.sale_date) AS last_purchase_date,
           arg_min(s.lead_channel, s.sale_date) AS first_lead_channel, arg_max(s.sales_advisor, s.sale_date) AS sales_advisor
    FROM marts.fct_sales AS s GROUP BY s.customer_id
),
vehicles AS (
    SELECT s.customer_id,
           list(DISTINCT v.vin) FILTER (WHERE v.owner_customer_id = s.customer_id) AS vehicles_owned,
           list(DISTINCT v.vin) FILTER (WHERE v.owner_customer_id <> s.customer_id) AS vehicles_owned_before,
           max(v.latest_odometer_km) FILTER (WHERE v.owner_customer_id = s.customer_id) AS max_latest_odometer_km
    FROM marts.fct_sales AS s JOIN marts.dim_vehicle AS v ON v.vin = upper(s.vin)
    GROUP BY s.customer_id
),
serviced AS (
    SELECT customer_id, count(*) AS service_visits, sum(revenue) AS service_revenue, max(open_date) AS last_visit_date,
           arg_max(service_advisor, open_date) AS service_advisor
    FROM marts.fct_service GROUP BY customer_id
),
finance AS (
    SELECT customer_id,
           sum(amount) FILTER (WHERE record_kind = 'receipt' AND product <> '购车款') AS finance_revenue,
           count(*) FILTER (WHERE record_kind = 'loan') AS loans,
           count(*) FILTER (WHERE record_kind = 'insurance') AS insurance_policies,
           max(end_date) FILTER (WHERE record_kind = 'insurance') AS latest_policy_end
    FROM marts.fct_finance GROUP BY customer_id
),
complaints AS (
    SELECT customer_id, count(*) FILTER (WHERE is_open) AS complaints_open,
           count(*) FILTER (WHERE NOT is_open) AS complaints_resolved
    FROM marts.fct_complaints GROUP BY customer_id
)
SELECT d.customer_id, d.customer_name, d.customer_kind, c.mobiles, c.preferred_store,
       coalesce(v.vehicles_owned, []) AS vehicles_owned, coalesce(v.vehicles_owned_before, []) AS vehicles_owned_before,
       v.max_latest_odometer_km,
       coalesce(b.purchases, 0) AS purchases, coalesce(b.vehicle_revenue, 0)::DECIMAL(18, 2) AS vehicle_revenue,
       b.first_purchase_date, b.last_purchase_date,
       coalesce(sv.service_visits, 0) AS service_visits, coalesce(sv.service_revenue, 0)::DECIMAL(18, 2) AS service_revenue,
       sv.last_visit_date,
       coalesce(f.finance_revenue, 0)::DECIMAL(18, 2) AS finance_revenue, coalesce(f.loans, 0) AS loans,
       coalesce(f.insurance_policies, 0) AS insurance_policies, f.latest_policy_end,
       coalesce(cp.complaints_open, 0) AS complaints_open, coalesce(cp.complaints_resolved, 0) AS complaints_resolved,
       b.first_lead_channel, b.sales_advisor, sv.service_advisor
FROM marts.dim_customer AS d
LEFT JOIN contact AS c USING (customer_id) LEFT JOIN bought AS b USING (customer_id)
LEFT JOIN vehicles AS v USING (customer_id) LEFT JOIN serviced AS sv USING (customer_id)
LEFT JOIN finance AS f USING (customer_id) LEFT JOIN complaints AS cp USING (customer_id);

COMMENT ON TABLE marts.customer_360 IS 'Customer 360: contact points, vehicles, purchases, service, finance and complaints per CustomerID. Restricted: raw mobiles.';
COMMENT ON COLUMN marts.customer_360.customer_id IS 'Persistent CustomerID';
COMMENT ON COLUMN marts.customer_360.customer_name IS 'Golden-record name (see dim_customer)';
COMMENT ON COLUMN marts.customer_360.customer_kind IS 'person or company';
COMMENT ON COLUMN marts.customer_360.mobiles IS 'Every distinct valid mobile seen for the customer. PII';
COMMENT ON COLUMN marts.customer_360.preferred_store IS 'Store with most of the customer''s records';
COMMENT ON COLUMN marts.customer_360.vehicles_owned IS 'VINs bought here of which the customer is the current registered owner';
COMMENT ON COLUMN marts.customer_360.vehicles_owned_before IS 'VINs bought here now registered to someone else';
COMMENT ON COLUMN marts.customer_360.max_latest_odometer_km IS 'Highest latest odometer among vehicles owned now, km';
COMMENT ON COLUMN marts.customer_360.purchases IS 'Vehicles bought';
COMMENT ON COLUMN marts.customer_360.vehicle_revenue IS 'Sum of deal prices, CNY';
COMMENT ON COLUMN marts.customer_360.first_purchase_date IS 'First vehicle purchase';
COMMENT ON COLUMN marts.customer_360.last_purchase_date IS 'Latest vehicle purchase';
COMMENT ON COLUMN marts.customer_360.service_visits IS 'Repair orders in the customer''s name';
COMMENT ON COLUMN marts.customer_360.service_revenue IS 'Labour + parts over those repair orders, CNY';
COMMENT ON COLUMN marts.customer_360.last_visit_date IS 'Latest repair order';
COMMENT ON COLUMN marts.customer_360.finance_revenue IS 'Receipts other than vehicle payments (insurance, loan fees, accessories, extended warranty), CNY';
COMMENT ON COLUMN marts.customer_360.loans IS 'Loan contracts';
COMMENT ON COLUMN marts.customer_360.insurance_policies IS 'Insurance policies';
COMMENT ON COLUMN marts.customer_360.latest_policy_end IS 'End of the latest insurance policy: renewal date';
COMMENT ON COLUMN marts.customer_360.complaints_open IS 'Unresolved complaints';
COMMENT ON COLUMN marts.customer_360.complaints_resolved IS 'Resolved complaints';
COMMENT ON COLUMN marts.customer_360.first_lead_channel IS 'Lead channel of the first purchase';
COMMENT ON COLUMN marts.customer_360.sales_advisor IS 'Sales advisor of the latest purchase';
COMMENT ON COLUMN marts.customer_360.service_advisor IS 'Service advisor of the latest repair order';
