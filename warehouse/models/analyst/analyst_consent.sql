-- Consent per customer and purpose for analysts: the state and how it was recorded; no personal data.
{{ config(alias='consent', materialized='synced', unique_key=['customer_id', 'purpose'], follows='consent') }}
select customer_id, purpose, purpose_label, state, may_use, decided_on, channel, occasion, store_code, events
from {{ ref('consent') }}
