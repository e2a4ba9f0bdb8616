-- The validated complaints rows with the resolved CustomerID. Restricted: raw PII.
select x.customer_id, s.* exclude (_load_id)
from {{ source('validated', 'complaints') }} as s
left join {{ source('identity', 'customer_xref') }} as x
  on x.source = 'complaints' and x.record_key = s.complaint_no
-- a daily build: only the new deliveries' rows and the records whose link changed (macros/recompute.sql)
where {{ in_recompute('s.complaint_no') }}
