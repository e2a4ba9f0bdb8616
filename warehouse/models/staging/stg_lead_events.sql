-- The validated follow-up events of the leads. Restricted: raw PII. Its changed keys carry the
-- events' leads, old and new (fct_leads recomputes those leads: macros/recompute.sql).
{{ config(carries=['lead_no']) }}
select s.* exclude (_load_id)
from {{ source('validated', 'lead_events') }} as s
-- a daily build: only the new deliveries' rows and the records whose link changed (macros/recompute.sql)
where {{ in_recompute('s.event_no') }}
