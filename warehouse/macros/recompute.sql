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

{#
  A staging model (stg_<source>, its config recompute='recompute_staged' and links= what its link
  joins on): its row for a record depends only on the record's current row and its link (the
  CustomerID in identity.customer_xref, or a lead's link in identity.lead_links). When the source's
  current table only gained newer deliveries since the warehouse file this build starts from was
  built (var new_deliveries, cdp/warehouse/build.py), the rows that may differ are those of the new
  deliveries (a record they carry replaces its older version) and those whose link changed: when
  the CustomerIDs only gained files since (var new_xref_files: a day's changed CustomerIDs are one
  more file of the keyed table), the source's records in those files, else every row's link compared;
  the same for the leads' links (var new_link_files: a day's re-linked leads are one more file).
#}
{% macro recompute_staged() %}
  {%- set source_name = model.name | replace('stg_', '', 1) -%}
  {%- set deliveries = var('new_deliveries', {}).get(source_name) -%}
  {% if deliveries is none %}{{ return(none) }}{% endif %}
  {%- set key = adapter.quote(config.require('unique_key')) -%}
  {%- set links = config.get('links') -%}
  {% set query %}
    select {{ key }} from {{ source('validated', source_name) }}
    where _delivery in ({% for d in deliveries %}'{{ d }}'{{ ', ' if not loop.last }}{% else %}null{% endfor %})
    {% if links == 'customer_xref' and var('new_xref_files', none) is not none %}
    {%- set files = var('new_xref_files') -%}
    {% if files %}
    union
    select record_key from {{ gained_files(files) }} where source = '{{ source_name }}'
    {% endif %}
    {% elif links == 'lead_links' and var('new_link_files', none) is not none %}
    {%- set files = var('new_link_files') -%}
    {% if files %}
    union
    select lead_no from {{ gained_files(files) }}
    {% endif %}
    {% elif links == 'customer_xref' %}
    union
    select t.{{ key }} from {{ this }} as t
    left join {{ source('identity', 'customer_xref') }} as x on x.source = '{{ source_name }}' and x.record_key = t.{{ key }}
    where t.customer_id is distinct from x.customer_id
    {% elif links == 'lead_links' %}
    union
    select t.{{ key }} from {{ this }} as t
    left join {{ source('identity', 'lead_links') }} as k on k.lead_no = t.{{ key }}
    where t.customer_id is distinct from k.customer_id or t.prospect_id is distinct from k.prospect_id
       or t.link_evidence is distinct from k.evidence
    {% elif links %}
      {% do exceptions.raise_compiler_error(this ~ ': links=' ~ links ~ ' is not customer_xref or lead_links') %}
    {% endif %}
  {% endset %}
  {{ return(query) }}
{% endmacro %}

{#
  int_customer_records: a record's row is its standardized row (identity.person_records, whose
  input_hash changes with the delivered fields and the standardizers' version) and its CustomerID.
  So: the records whose input_hash or CustomerID differs from the table's, new ones and gone ones
  (a record without a hash, e.g. written by hand, is always recomputed).

  When the standardized records only gained files since the file this build starts from was built
  (var new_record_files, cdp/warehouse/build.py: a day's records are one more file of a keyed table,
  cdp/state/store.py), a record whose row changed has a row in one of those, or is gone there: so
  the records of those files, and those whose CustomerID differs, without every record's hash
  compared. Those are the records of the files the CustomerIDs gained (var new_xref_files), when
  they only gained files too; else every record's CustomerID is compared.
#}
{% macro recompute_int_customer_records() %}
  {%- set files, xref = var('new_record_files', none), var('new_xref_files', none) -%}
  {% if files is not none %}
    {%- set parts = ["select source, record_key from " ~ this ~ " where false"] -%}
    {% if files %}{% do parts.append("select source, record_key from " ~ gained_files(files)) %}{% endif %}
    {% if xref %}{% do parts.append("select source, record_key from " ~ gained_files(xref)) %}{% endif %}
    {% if xref is none %}
      {% set compared %}
        select source, record_key
        from (select source, record_key, customer_id from {{ source('identity', 'customer_xref') }}) as x
        full join (select source, record_key, customer_id from {{ this }}) as t using (source, record_key)
        where x.customer_id is distinct from t.customer_id
      {% endset %}
      {% do parts.append(compared) %}
    {% endif %}
    {{ return(parts | join('\nunion\n')) }}
  {% endif %}
  {% set query %}
    select source, record_key
    from (select p.source, p.record_key, p.input_hash, x.customer_id
          from {{ source('identity', 'person_records') }} as p
          join {{ source('identity', 'customer_xref') }} as x using (source, record_key)) as p
    full join (select source, record_key, input_hash, customer_id from {{ this }}) as t using (source, record_key)
    where p.input_hash is null or p.input_hash is distinct from t.input_hash or p.customer_id is distinct from t.customer_id
  {% endset %}
  {{ return(query) }}
{% endmacro %}

{#
  fct_finance: a receipt's row is its staging row, a contract's row its staging row. So: the
  receipts and contracts whose staging sync changed them, a contract under both kinds (a contract
  whose type changed leaves its old kind's row).
#}
{% macro recompute_fct_finance() %}
  {% if not synced_changed(['stg_receipts', 'stg_contracts']) %}{{ return(none) }}{% endif %}
  {% set query %}
    select 'receipt' as record_kind, invoice_no as record_key from inputs.main.changed_keys__stg_receipts
    union all
    select kind, contract_no from inputs.main.changed_keys__stg_contracts, (values ('loan'), ('insurance')) as k(kind)
  {% endset %}
  {{ return(query) }}
{% endmacro %}

{#
  dim_vehicle: a car's row depends on the records that carry its VIN (their dates and customers)
  and on the fct_sales and fct_service rows of those records. So: the VINs of the records whose row
  changed, before and after (int_customer_records carries vin), and of the records whose sale or
  repair order changed.
#}
{% macro recompute_dim_vehicle() %}
  {% if not synced_changed(['int_customer_records', 'fct_sales', 'fct_service']) %}{{ return(none) }}{% endif %}
  {% set query %}
    select vin from inputs.main.changed_keys__int_customer_records where vin is not null
    union
    select r.vin from {{ ref('int_customer_records') }} as r
    where r.vin is not null
      and ((r.source = 'sales' and r.record_key in (select order_no from inputs.main.changed_keys__fct_sales))
           or (r.source = 'repair_orders' and r.record_key in (select ro_no from inputs.main.changed_keys__fct_service)))
  {% endset %}
  {{ return(query) }}
{% endmacro %}

{# Parquet files a keyed table gained (their paths), read as one: a day's changed rows. #}
{% macro gained_files(files) -%}
  read_parquet([{% for f in files %}'{{ f | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor %}], union_by_name = true)
{%- endmacro %}
