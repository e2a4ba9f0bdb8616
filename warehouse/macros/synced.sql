{#
  materialized='synced' (with a unique_key): a table that a build brings in line with the model's
  query by writing only what differs. A daily build starts from copies of the published files
  (cdp/warehouse/build.py); rewriting every row of a 4-million-row fact table costs far more than
  reading it, so this compares instead (the query computed once, into a temporary table):

    changed = the query's rows EXCEPT the table's rows       (new or different rows, exact: no hash)
    delete the table's rows whose key is in changed or no longer in the query
    insert changed

  The table then holds exactly the query's rows: the same set a fresh build makes, whatever the
  delivery, a merge of CustomerIDs, a retention run or an edited model changed (only row order
  may differ). With no table yet (a full build), or when the query's columns or types differ from
  the table's, it is created as a plain table, with its docs. A sync leaves the comments the
  table already has: builds go in full whenever a project file changed (build.py).

  Touched customers. A synced model with touches='<column>' records, when it syncs, the values of
  that column (CustomerIDs) in the rows it deletes and inserts — the customers whose inputs
  changed — in the build's table inputs.main.touched_customers. A synced model with
  scope='customer_id', whose rows for a customer depend only on that customer's inputs, then
  recomputes the touched customers alone: its query is limited to them (in_scope() in the model
  narrows its inputs early; the limit here is what makes it right) and only their rows are
  compared. Only an incremental build of the whole project does this (var touched_only, set by
  build.py): a selection may hold an edited model. It recomputes everyone when no touches model
  synced before it, or one of them had to be created whole (inputs.main.touched_everyone).
#}
{% materialization synced, adapter="duckdb" %}
  {%- set existing = load_cached_relation(this) -%}
  {%- set target = this.incorporate(type='table') -%}
  {%- set keys = config.require('unique_key') -%}
  {%- set keys = [keys] if keys is string else keys -%}
  {%- set scope = config.get('scope') -%}
  {%- set touches = config.get('touches') -%}
  {%- set scoped = scope and synced_scoped() -%}
  {%- set query = api.Relation.create(identifier=this.identifier ~ '__dbt_query', type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set sync = existing is not none and existing.is_table and not should_full_refresh() -%}
  {% if sync %}
    {% call statement('query') %}
      create or replace temp table {{ query }} as
      select * from ({{ sql }}) {% if scoped %} where {{ adapter.quote(scope) }} in (select customer_id from inputs.main.touched_customers) {% endif %}
    {% endcall %}
    {% set sync = synced_columns(query, target) %}
  {% endif %}

  {% if sync %}
    {%- set changed = api.Relation.create(identifier=this.identifier ~ '__dbt_changed', type='table') -%}
    {%- set touched = api.Relation.create(identifier=this.identifier ~ '__dbt_touched', type='table') -%}
    {%- set old = target if not scoped else '(select * from ' ~ target ~ ' where ' ~ adapter.quote(scope) ~ ' in (select customer_id from inputs.main.touched_customers))' -%}
    {% call statement('sync: what differs') %}
      create or replace temp table {{ changed }} as select * from {{ query }} except select * from {{ old }} as o;
      {% if touches %}
        create or replace temp table {{ touched }} as
        select {{ adapter.quote(touches) }} as customer_id from {{ changed }} where {{ adapter.quote(touches) }} is not null
        union
        select {{ adapter.quote(touches) }} from {{ target }} as t
        where {{ adapter.quote(touches) }} is not null
          and (exists (select 1 from {{ changed }} as c where {{ synced_match('c', 't', keys) }})
               or not exists (select 1 from {{ query }} as q where {{ synced_match('q', 't', keys) }}));
      {% endif %}
      delete from {{ target }} as t where exists (select 1 from {{ changed }} as c where {{ synced_match('c', 't', keys) }});
      delete from {{ target }} as t where {{ synced_in_scope('t', scope) if scoped else 'true' }}
        and not exists (select 1 from {{ query }} as q where {{ synced_match('q', 't', keys) }})
    {% endcall %}
    {% call statement('main', fetch_result=True) %}insert into {{ target }} by name select * from {{ changed }}{% endcall %}
    {%- set written = load_result('main').table.rows[0][0] -%}
    {% do store_raw_result('main', message='INSERT ' ~ written ~ (' (touched customers only)' if scoped else ''),
                           code='INSERT', rows_affected=written) %}
    {% call statement('sync: clean up') %}drop table {{ changed }}; drop table {{ query }}{% endcall %}
  {% else %}
    {% if scoped %}
      {% do exceptions.raise_compiler_error(this ~ ': its columns changed in an incremental build, which recomputes only '
          ~ 'the touched customers; build the warehouse in full (cdp run --full-warehouse)') %}
    {% endif %}
    {% if existing is not none %}
      {% call statement('drop query') %}drop table if exists {{ query }}{% endcall %}
      {% do adapter.drop_relation(existing) %}
    {% endif %}
    {% call statement('main') %}{{ create_table_as(False, target, sql) }}{% endcall %}
    {% do persist_docs(target, model) %}
  {% endif %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {% if touches and sync %}  {# the build's own in-memory database: written after the model's commit (one database a transaction) #}
    {% call statement('touched customers', auto_begin=False) %}
      create table if not exists inputs.main.touched_customers (customer_id varchar);
      insert into inputs.main.touched_customers select customer_id from {{ touched }};
      drop table {{ touched }}
    {% endcall %}
  {% elif touches and existing is not none %}  {# created whole: which customers changed is unknown #}
    {% call statement('touched everyone', auto_begin=False) %}
      create table if not exists inputs.main.touched_everyone as select 1 as everyone
    {% endcall %}
  {% endif %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{# True when the model recomputes the touched customers only (see above). #}
{% macro synced_scoped() %}
  {% if not execute or should_full_refresh() or not var('touched_only', false) %}{{ return(false) }}{% endif %}
  {%- set existing = load_cached_relation(this) -%}
  {% if existing is none or not existing.is_table %}{{ return(false) }}{% endif %}
  {% set found = run_query("select table_name from duckdb_tables() where database_name = 'inputs' and schema_name = 'main'"
                           ~ " and table_name in ('touched_customers', 'touched_everyone')").columns[0].values() | list %}
  {{ return('touched_customers' in found and 'touched_everyone' not in found) }}
{% endmacro %}

{# In a scope='customer_id' model: `column in (the touched customers)` when it recomputes only them, else true. #}
{% macro in_scope(column) -%}
  {%- if config.get('scope') and synced_scoped() -%}
    {{ column }} in (select customer_id from inputs.main.touched_customers)
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{% macro synced_in_scope(alias, scope) -%}
  {{ alias }}.{{ adapter.quote(scope) }} in (select customer_id from inputs.main.touched_customers)
{%- endmacro %}

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
