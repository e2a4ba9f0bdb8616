-- The validated leads with their link: a CustomerID when the lead joined a customer, else only the
-- persistent prospect ID (cdp/identity/leads.py). Restricted: raw PII.
select k.customer_id, k.prospect_id, k.evidence as link_evidence, s.* exclude (_load_id)
from {{ source('validated', 'leads') }} as s
left join {{ source('identity', 'lead_links') }} as k
  on k.lead_no = s.lead_no
-- a daily build: only the new deliveries' rows and the records whose link changed (macros/recompute.sql)
where {{ in_recompute('s.lead_no') }}
