-- No personal data beyond the IDs of cars and customers: marts.fct_complaints as it is.
{{ config(alias='fct_complaints', materialized='synced', unique_key='complaint_no', follows='fct_complaints') }}
select * from {{ ref('fct_complaints') }}
