-- The validated sales rows with the resolved CustomerID. Restricted: raw PII.
select x.customer_id, s.* exclude (_load_id)
from {{ source('validated', 'sales') }} as s
left join {{ source('identity', 'customer_xref') }} as x
  on x.source = 'sales' and x.record_key = s.order_no
