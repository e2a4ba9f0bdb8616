-- The validated receipts rows with the resolved CustomerID. Restricted: raw PII.
select x.customer_id, s.* exclude (_load_id)
from {{ source('validated', 'receipts') }} as s
left join {{ source('identity', 'customer_xref') }} as x
  on x.source = 'receipts' and x.record_key = s.invoice_no
-- a daily build: only the new deliveries' rows and the records whose link changed (macros/recompute.sql)
where {{ in_recompute('s.invoice_no') }}
