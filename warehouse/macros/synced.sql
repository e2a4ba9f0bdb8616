{#
  materialized='synced' (with a unique_key): a table that a build brings in line with the model's
  query by writing only what differs. A daily build starts from copies of the published files
  (cdp/warehouse/build.py); rewriting every row of a 4-million-row fact table costs far more than
  reading it, so this compares instead:

    changed = the query's rows EXCEPT the table's rows       (new or different rows, exact: no hash)
    delete the table's rows whose key is in changed or no longer in the query
    insert changed

  The table then holds exactly the query's rows: the same set a fresh build makes, whatever the
  delivery, a merge of CustomerIDs, a retention run or an edited model changed (only row order
  may differ). With no table yet (a full build), or when the query's columns or types differ from
  the table's, it is created as a plain table, with its docs. A sync leaves the comments the
  table already has: builds go in full whenever a project file changed (build.py).
#}
{% materialization synced, adapter="duckdb" %}
  {%- set existing = load_cached_relation(this) -%}
  {%- set target = this.incorporate(type='table') -%}
  {%- set keys = config.require('unique_key') -%}
  {%- set keys = [keys] if keys is string else keys -%}
  {%- set query = api.Relation.create(identifier=this.identifier ~ '__dbt_query', type='view') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set sync = existing is not none and existing.is_table and not should_full_refresh() -%}
  {% if sync %}
    {% call statement('query view') %}create or replace temp view {{ query }} as ({{ sql }}){% endcall %}
    {% set sync = synced_columns(query, target) %}
  {% endif %}

  {% if sync %}
    {%- set changed = api.Relation.create(identifier=this.identifier ~ '__dbt_changed', type='table') -%}
    {% call statement('sync: what differs') %}
      create or replace temp table {{ changed }} as select * from {{ query }} except select * from {{ target }};
      delete from {{ target }} as t where exists (select 1 from {{ changed }} as c where {{ synced_match('c', 't', keys) }});
      delete from {{ target }} as t where not exists (select 1 from {{ query }} as q where {{ synced_match('q', 't', keys) }})
    {% endcall %}
    {% call statement('main', fetch_result=True) %}insert into {{ target }} by name select * from {{ changed }}{% endcall %}
    {%- set written = load_result('main').table.rows[0][0] -%}
    {% do store_raw_result('main', message='INSERT ' ~ written, code='INSERT', rows_affected=written) %}
    {% call statement('sync: clean up') %}drop table {{ changed }}; drop view {{ query }}{% endcall %}
  {% else %}
    {% if existing is not none %}
      {% call statement('drop view') %}drop view if exists {{ query }}{% endcall %}
      {% do adapter.drop_relation(existing) %}
    {% endif %}
    {% call statement('main') %}{{ create_table_as(False, target, sql) }}{% endcall %}
    {% do persist_docs(target, model) %}
  {% endif %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{# True when the query's columns (names, order and types) are the table's. #}
{% macro synced_columns(query, target) %}
  {% set columns %}
    select column_name, data_type from duckdb_columns()
    where database_name = '{{ target.database }}' and schema_name = '{{ target.schema }}' and table_name = '{{ target.identifier }}'
    order by column_index
  {% endset %}
  {% set theirs = run_query(columns).rows | map('list') | list %}
  {% set mine = run_query('select column_name, column_type from (describe ' ~ query ~ ')').rows | map('list') | list %}
  {{ return(mine == theirs) }}
{% endmacro %}

{% macro synced_match(left, right, keys) -%}
  {%- for key in keys -%}
    {{ left }}.{{ adapter.quote(key) }} is not distinct from {{ right }}.{{ adapter.quote(key) }}{{ ' and ' if not loop.last }}
  {%- endfor -%}
{%- endmacro %}
