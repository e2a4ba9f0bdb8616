-- The validated follow-up events of the leads. Restricted: raw PII.
select s.* exclude (_load_id)
from {{ source('validated', 'lead_events') }} as s
