-- Every resolved identity record with its CustomerID: the columns of identity.person_records the
-- marts read, joined once. Synced: a daily build compares only the records whose standardized row
-- (its input_hash) or CustomerID differs from the table's (macros/recompute.sql), writes those that
-- changed or moved to another customer, and records their customers (old and new) as touched
-- (macros/synced.sql), and the VINs of those records, old and new (dim_vehicle recomputes those cars).
-- Restricted: raw PII.
{{ config(materialized='synced', unique_key=['source', 'record_key'], touches='customer_id', carries=['vin'],
          recompute='recompute_int_customer_records') }}
select x.customer_id, p.source, p.record_key, p.store_code, p.event_date, p.name_raw, p.name, p.is_company,
       p.mobile, p.id_number, p.id_kind, p.gender, p.vin, p.address, p.address_key, p.city, p.input_hash
from {{ source('identity', 'person_records') }} as p
join {{ source('identity', 'customer_xref') }} as x using (source, record_key)
where {{ in_recompute(['p.source', 'p.record_key']) }}
