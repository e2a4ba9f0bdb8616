{#
  The keys a recompute='<macro>' model recomputes in an incremental build (macros/synced.sql): a
  query of every key whose row may differ from the published one, or none when that cannot be
  told (a model it reads from was created whole in this build: everything is recomputed).
#}

{#
  fct_leads: a lead's row depends on its own staging row (its link to a customer included), its
  events, its customer's sales (the delivery it led to) and that customer's other leads (first and
  last touch share the delivery). So: the leads whose row or events changed, and every lead of
  their customers and of the touched customers (whose sales or leads changed, old and new owners).
  Every lead of a customer in the set is in it, so the touch order is computed among the right leads.
#}
{% macro recompute_fct_leads() %}
  {% if not (synced_changed(['stg_leads', 'stg_lead_events']) and synced_touched()) %}{{ return(none) }}{% endif %}
  {% set query %}
    with changed as (
        select lead_no from inputs.main.changed_keys__stg_leads
        union
        select lead_no from inputs.main.changed_keys__stg_lead_events where lead_no is not null
    ),
    customers as (
        select customer_id from inputs.main.touched_customers
        union
        select customer_id from {{ ref('stg_leads') }} where lead_no in (select lead_no from changed) and customer_id is not null
    )
    select lead_no from changed
    union
    select lead_no from {{ ref('stg_leads') }} where customer_id in (select customer_id from customers)
  {% endset %}
  {{ return(query) }}
{% endmacro %}

{#
  fct_lead_events: an event's row depends on its staging row and its lead's row in fct_leads.
#}
{% macro recompute_fct_lead_events() %}
  {% if not synced_changed(['stg_lead_events', 'fct_leads']) %}{{ return(none) }}{% endif %}
  {% set query %}
    select event_no from inputs.main.changed_keys__stg_lead_events
    union
    select event_no from {{ ref('stg_lead_events') }} where lead_no in (select lead_no from inputs.main.changed_keys__fct_leads)
  {% endset %}
  {{ return(query) }}
{% endmacro %}
