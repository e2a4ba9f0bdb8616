{#
  materialized='synced' (with a unique_key): a table that a build brings in line with the model's
  query by writing only what differs. A daily build starts from the files the last publish
  replaced, or copies of the published ones (cdp/warehouse/standby.py, build.py). Comparing a big table with its query costs about what rewriting it does
  in DuckDB; what a sync buys is knowing which keys and customers changed, so that the models below
  it recompute only those (touches, scope, follows). The query is computed once, into a temporary
  table:

    changed = the query's rows EXCEPT the table's rows       (new or different rows, exact: no hash)
    delete the table's rows whose key is in changed or no longer in the query
    insert changed

  The table then holds exactly the query's rows: the same set a fresh build makes, whatever the
  delivery, a merge of CustomerIDs, a retention run or an edited model changed (only row order
  may differ). With no table yet (a full build), or when the query's columns or types differ from
  the table's, it is created as a plain table, with its docs. A sync leaves the comments the
  table already has: builds go in full whenever a project file changed (build.py).

  No ORDER BY in a synced model: a sync inserts the rows that changed after those it kept, so no
  row order survives a daily build, and sorting a full build's rows only costs (fct_lead_events'
  16.6M rows at a million customers: 12.4-32.7 s with its ORDER BY, 6.6-9.7 s without, in a /tmp
  probe). Whoever reads a table in an order says so in the query.

  Touched customers. A synced model with touches='<column>' records, when it syncs, the values of
  that column (CustomerIDs) in the rows it deletes and inserts — the customers whose inputs
  changed — in the build's table inputs.main.touched_customers. A synced model with
  scope='customer_id', whose rows for a customer depend only on that customer's inputs, then
  recomputes the touched customers alone: its query is limited to them (in_scope() in the model
  narrows its inputs early; the limit here is what makes it right) and only their rows are
  compared. A model of pairs of customers, whose row for a pair depends only on the two
  customers' inputs, says scope=['customer_id_a', 'customer_id_b']: the rows with a touched
  customer on either side are recomputed. Only an incremental build of the whole project does
  this (var touched_only, set by build.py): a selection may hold an edited model. It recomputes everyone when no touches model
  synced before it, or one of them had to be created whole (each touches model that ran has a row
  in inputs.main.touches saying which).

  Copies. Every sync records the keys it changed (inserted, deleted) in
  inputs.main.changed_keys__<model>. A model whose row for a key depends only on another model's row
  for the same key (a fact projected from its staging table, an analyst copy of a mart) says
  follows='<that model>' and, when that model synced in this incremental build, recomputes those
  keys only. Unless it touches or carries, their rows are then replaced, not compared first: the
  keys it changed are the followed model's (a row that came out the same is written again), and the
  comparison's two reads of the table's rows for those keys are saved. A model may also say
  carries=['<column>', ...]: its changed_keys table then holds those columns too, from the rows it
  deleted and inserted (the events' lead_no, say: which leads an event delivery changed, the old and
  the new one).

  Recomputed keys. A model whose rows for a key depend on a known set of other rows (a lead's row on
  its events, its customer's sales and that customer's other leads) says recompute='<macro>': the
  macro (macros/recompute.sql) returns a query of the keys whose rows may differ in this build, from
  the changed_keys, carried columns and touched customers of the models before it, or none when it
  cannot tell (one of them was created whole). The model narrows its inputs to those keys early
  (in_recompute() in the model), and only their rows are compared; the keys are kept in a
  temporary table while it syncs.

  The table's rows, read once. When the limit is a condition on the key alone (recompute and follows
  limits, a scope whose columns are all in the unique_key), every row of a key that differs lies within
  it: the rows within it are read once, with their rowids, into a temporary table, and what differs,
  what vanished, the carried and touched values and the rows to delete come from that, not from a scan
  of the table each. On a million customers' 16.6M lead events and a 1% recompute, the statements of a
  sync took 0.46-0.51 s against 1.02-1.12 s (a /tmp probe of its statements on a copy of the warehouse file).
#}
{% materialization synced, adapter="duckdb" %}
  {%- set existing = load_cached_relation(this) -%}
  {%- set target = this.incorporate(type='table') -%}
  {%- set keys = config.require('unique_key') -%}
  {%- set keys = [keys] if keys is string else keys -%}
  {%- set scope, touches, follows = config.get('scope'), config.get('touches'), config.get('follows') -%}
  {%- set carries = config.get('carries', []) -%}
  {%- set scoped = scope and synced_scoped() -%}
  {%- set followed = follows and not scoped and synced_followed(follows) -%}
  {%- set recomputed = not scoped and not followed and synced_recompute_query() is not none -%}
  {%- set query = synced_temp('query') -%}
  {%- set limit = 'scope' if scoped else ('follows' if followed else ('recompute' if recomputed else none)) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- set sync = existing is not none and existing.is_table and not should_full_refresh() -%}
  {% if sync and recomputed %}
    {% call statement('recompute') %}
      create or replace temp table {{ synced_recompute_table() }} as {{ synced_recompute_query() }}
    {% endcall %}
  {% endif %}
  {% if sync %}
    {% call statement('query') %}
      create or replace temp table {{ query }} as
      select * from ({{ sql }}) as q {% if limit %} where {{ synced_limit('q', limit, scope, keys, follows) }} {% endif %}
    {% endcall %}
    {% set sync = synced_columns(query, target) %}
  {% endif %}

  {% if sync %}
    {%- set changed, vanished, differing = synced_temp('changed'), synced_temp('vanished'), synced_temp('keys') -%}
    {%- set listed = synced_keys(keys) -%}
    {%- set copied = followed and not touches and not carries -%}
    {% if copied %}  {#- a copy: the followed keys' rows replaced, not compared first; the query's rows are what changed -#}
      {%- set changed = query -%}
      {% call statement('sync: the followed keys') %}
        create or replace temp table {{ differing }} as
        select {{ listed }} from inputs.main.{{ adapter.quote('changed_keys__' ~ follows) }};
        delete from {{ target }} as t where exists (select 1 from {{ differing }} as k where {{ synced_match('k', 't', keys) }})
      {% endcall %}
    {% else %}
    {%- set by_key = limit and (limit != 'scope' or ([scope] if scope is string else scope) | reject('in', keys) | list | length == 0) -%}
    {%- set old = synced_temp('old') if by_key else target -%}
    {%- set within = none if by_key else (synced_limit('t', limit, scope, keys, follows) if limit else none) -%}
    {% call statement('sync: what differs') %}
      {% if by_key %}  {#- the table's rows for the limited keys, read once (see above) -#}
        create or replace temp table {{ old }} as
        select rowid as __cdp_rowid, * from {{ target }} as t where {{ synced_limit('t', limit, scope, keys, follows) }};
      {% endif %}
      create or replace temp table {{ changed }} as
      select * from {{ query }} except select * {{ 'exclude (__cdp_rowid)' if by_key }} from {{ old }} as t {% if within %} where {{ within }} {% endif %};
      create or replace temp table {{ vanished }} as
      select {{ listed }} from {{ old }} as t
      where {{ within or 'true' }} and not exists (select 1 from {{ query }} as q where {{ synced_match('q', 't', keys) }});
      create or replace temp table {{ differing }} as select {{ listed }} from {{ changed }} union select {{ listed }} from {{ vanished }};
      {% if carries %}  {#- the keys with the carried columns of their old and new rows -#}
        {%- set carried = listed ~ ', ' ~ synced_keys(carries) %}
        create or replace temp table {{ synced_temp('carried') }} as
        select {{ carried }} from {{ changed }}
        union
        select {{ carried }} from {{ old }} as t where exists (select 1 from {{ differing }} as k where {{ synced_match('k', 't', keys) }});
      {% endif %}
      {% if touches %}
        create or replace temp table {{ synced_temp('touched') }} as
        select {{ adapter.quote(touches) }} as customer_id from {{ changed }} where {{ adapter.quote(touches) }} is not null
        union
        select {{ adapter.quote(touches) }} from {{ old }} as t
        where {{ adapter.quote(touches) }} is not null and exists (select 1 from {{ differing }} as k where {{ synced_match('k', 't', keys) }});
      {% endif %}
      {% if by_key %}
        delete from {{ target }} where rowid in
          (select t.__cdp_rowid from {{ old }} as t where exists (select 1 from {{ differing }} as k where {{ synced_match('k', 't', keys) }}));
        drop table {{ old }}
      {% else %}
        delete from {{ target }} as t where exists (select 1 from {{ differing }} as k where {{ synced_match('k', 't', keys) }})
      {% endif %}
    {% endcall %}
    {% endif %}
    {% call statement('main', fetch_result=True) %}insert into {{ target }} by name select * from {{ changed }}{% endcall %}
    {%- set written = load_result('main').table.rows[0][0] -%}
    {%- set limited = ' (touched customers only)' if scoped else (' (' ~ ('copied: ' if copied else '') ~ 'keys ' ~ follows
                      ~ ' changed only)' if followed else (' (keys recomputed only)' if recomputed else '')) -%}
    {% do store_raw_result('main', message='INSERT ' ~ written ~ limited, code='INSERT', rows_affected=written) %}
    {% call statement('sync: clean up') %}
      drop table {{ query }}{% if not copied %}; drop table {{ changed }}; drop table {{ vanished }}{% endif %}
      {%- if recomputed %}; drop table {{ synced_recompute_table() }}{% endif %}
    {% endcall %}
  {% else %}
    {% if limit %}
      {% do exceptions.raise_compiler_error(this ~ ': its columns changed in an incremental build, which recomputes only '
          ~ 'what changed; build the warehouse in full (cdp run --full-warehouse)') %}
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
  {#- the build's own in-memory database, written after the model's commit (one database a transaction) -#}
  {% if sync %}
    {% call statement('what changed', auto_begin=False) %}
      create or replace table inputs.main.{{ adapter.quote('changed_keys__' ~ model.name) }} as
      select * from {{ synced_temp('carried') if carries else differing }};
      drop table {{ differing }}{% if carries %}; drop table {{ synced_temp('carried') }}{% endif %}
      {% if touches %};
        insert into inputs.main.touched_customers select customer_id from {{ synced_temp('touched') }};
        insert into inputs.main.touches values ('{{ model.name }}', false);
        drop table {{ synced_temp('touched') }}
      {% endif %}
    {% endcall %}
  {% elif touches %}  {# created whole: which customers changed is unknown #}
    {% call statement('touched everyone', auto_begin=False) %}
      insert into inputs.main.touches values ('{{ model.name }}', true)
    {% endcall %}
  {% endif %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{# A temporary table of this model's sync. #}
{% macro synced_temp(name) -%}
  {{ return(api.Relation.create(identifier=this.identifier ~ '__dbt_' ~ name, type='table')) }}
{%- endmacro %}

{% macro synced_keys(keys) -%}
  {%- for key in keys -%} {{ adapter.quote(key) }}{{ ', ' if not loop.last }} {%- endfor -%}
{%- endmacro %}

{#- The rows a limited sync recomputes, as a condition on a row alias: the touched customers (scope),
    or the keys the followed model's sync changed (follows). -#}
{% macro synced_limit(alias, limit, scope, keys, follows) -%}
  {%- if limit == 'scope' -%}
    ({% for column in ([scope] if scope is string else scope) -%}
       {{ alias }}.{{ adapter.quote(column) }} in (select customer_id from inputs.main.touched_customers){{ ' or ' if not loop.last }}
     {%- endfor %})
  {%- elif limit == 'recompute' -%}
    exists (select 1 from {{ synced_recompute_table() }} as f where {{ synced_match('f', alias, keys) }})
  {%- else -%}
    exists (select 1 from inputs.main.{{ adapter.quote('changed_keys__' ~ follows) }} as f where {{ synced_match('f', alias, keys) }})
  {%- endif -%}
{%- endmacro %}

{# True when the model may recompute only the keys `follows` (the model it copies) changed in this build. #}
{% macro synced_followed(follows) %}
  {{ return(synced_incremental() and synced_changed([follows])) }}
{% endmacro %}

{# An incremental build of the whole project, and this model's table already there. #}
{% macro synced_incremental() %}
  {% if not execute or should_full_refresh() or not var('touched_only', false) %}{{ return(false) }}{% endif %}
  {%- set existing = load_cached_relation(this) -%}
  {{ return(existing is not none and existing.is_table) }}
{% endmacro %}


{# True when the model recomputes the touched customers only (see above). #}
{% macro synced_scoped() %}
  {{ return(synced_incremental() and synced_touched()) }}
{% endmacro %}

{# True when every model named synced in this incremental build: its changed_keys table is there. #}
{% macro synced_changed(models) %}
  {% set wanted = [] %}
  {% for name in models %}{% do wanted.append("'changed_keys__" ~ name ~ "'") %}{% endfor %}
  {% set found = run_query("select count(*) from duckdb_tables() where database_name = 'inputs' and schema_name = 'main'"
                           ~ " and table_name in (" ~ wanted | join(', ') ~ ")").columns[0].values() | list %}
  {{ return(found[0] == models | length) }}
{% endmacro %}

{# True when the touched customers of this build are known: a touches model synced, none was created whole. #}
{% macro synced_touched() %}
  {% set known = run_query("select count(*) filter (where not everyone) > 0 and count(*) filter (where everyone) = 0"
                           ~ " from inputs.main.touches").columns[0].values() | list %}
  {{ return(known[0]) }}
{% endmacro %}

{#
  on-run-start: the build's tables of touched customers, in the in-memory database `inputs`, made
  before any model runs. Models add rows to them (inserts, which models running on other threads
  may make at the same time; creating a table there from two threads would conflict).
#}
{% macro create_sync_tables() %}
  create table inputs.main.touched_customers (customer_id varchar);
  create table inputs.main.touches (model varchar, everyone boolean)
{% endmacro %}

{# A recompute='<macro>' model's keys to recompute in this build: the macro's query, or none (recompute all). #}
{% macro synced_recompute_query() %}
  {%- set name = config.get('recompute') -%}
  {% if not name or not synced_incremental() %}{{ return(none) }}{% endif %}
  {{ return(context[name]()) }}
{% endmacro %}

{% macro synced_recompute_table() -%}
  {{ synced_temp('recompute') }}
{%- endmacro %}

{# In a recompute='<macro>' model: true for the keys recomputed (`columns`: the unique_key's columns as
   the model's input names them, one or a list), or true everywhere when it recomputes every key. #}
{% macro in_recompute(columns) -%}
  {%- set keys = config.require('unique_key') -%}
  {%- set keys = [keys] if keys is string else keys -%}
  {%- set columns = [columns] if columns is string else columns -%}
  {%- if execute and columns | length != keys | length -%}
    {% do exceptions.raise_compiler_error(this ~ ': in_recompute() needs one column per unique_key column ' ~ keys) %}
  {%- endif -%}
  {%- if synced_recompute_query() is none -%}
    true
  {%- elif keys | length == 1 -%}
    {{ columns[0] }} in (select {{ adapter.quote(keys[0]) }} from {{ synced_recompute_table() }})
  {%- else -%}
    exists (select 1 from {{ synced_recompute_table() }} as f where
    {%- for key in keys %} f.{{ adapter.quote(key) }} = {{ columns[loop.index0] }}{{ ' and' if not loop.last }}{% endfor %})
  {%- endif -%}
{%- endmacro %}

{# In a scope='customer_id' model: `column in (the touched customers)` when it recomputes only them, else true. #}
{% macro in_scope(column) -%}
  {%- if config.get('scope') and synced_scoped() -%}
    {{ column }} in (select customer_id from inputs.main.touched_customers)
  {%- else -%}
    true
  {%- endif -%}
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
