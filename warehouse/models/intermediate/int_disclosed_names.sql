-- Customers whose name analysts may see in full: companies only. Every other name is masked.
-- A company has to prove it twice: a valid unified social credit code on one of its records
-- (id_kind 'uscc') AND a surviving name that is a company name — flagged is_company on a record
-- carrying that very name, and carrying one of the standardizer's company-name markers
-- (公司, 集团, 有限 …). A person whose mistyped resident ID happens to pass the credit-code check,
-- or whose name is merely long ("赵玉娟女士"), stays masked.
{{ config(materialized='synced', unique_key='customer_id', scope='customer_id') }}
with golden as (
    select customer_id, value as customer_name
    from {{ ref('int_golden_values') }} where attribute = 'customer_name' and {{ in_scope('customer_id') }}
),
records as (  -- only a credit code or a company flag is evidence: the other records change no verdict
    select customer_id, trim(name_raw) as customer_name, is_company, id_kind
    from {{ ref('int_customer_records') }} where {{ in_scope('customer_id') }} and (id_kind = 'uscc' or is_company)
),
evidence as (
    select g.customer_id, g.customer_name,
           bool_or(r.id_kind = 'uscc') as has_credit_code,
           bool_or(r.is_company and r.customer_name = g.customer_name) as flagged_company_name
    from golden as g join records as r using (customer_id)
    group by g.customer_id, g.customer_name
)
select customer_id, customer_name
from evidence
where has_credit_code and flagged_company_name and cdp_has_company_marker(customer_name)
