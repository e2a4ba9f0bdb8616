-- Golden-record corrections on a person's request (privacy.corrections, `cdp subject correct`) with
-- the CustomerID they apply to now: a correction follows its customer into a merge. Synced: the
-- customers of a new or moved correction are touched (macros/synced.sql). Restricted: raw PII.
{{ config(materialized='synced', unique_key='correction_id', touches='customer_id') }}
select c.correction_id, coalesce(m.merged_into, c.customer_id) as customer_id, c.attribute, c.value, c.corrected_at
from {{ source('privacy', 'corrections') }} as c
left join {{ source('identity', 'customers') }} as m on m.customer_id = c.customer_id and m.status = 'retired'
