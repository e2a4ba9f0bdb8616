{#
  Tests of synced models (macros/synced.sql) in an incremental build of the whole project read only
  the rows of the keys the model's sync changed (inputs.main.changed_keys__<model>): every other row
  is as it was in the published file, whose build passed the same test (every test is severity
  error: a failing build publishes nothing; a project change, tests included, builds in full).

  - A row-level test (not_null_columns, accepted_values, between, matches_regex,
    does_not_match_regex) checks each row alone: the changed rows are all it must read.
  - A uniqueness test whose columns are the model's unique_key: the rows of a duplicated key are
    all among the changed keys when one of them is.
  - A relationships test: a row that did not change can only lose its parent when the parent's key
    went, and then that key is among the parent's changed keys. So it reads the changed rows and
    the rows pointing at a changed parent key, when the parent is a synced model keyed by the
    field it points at; else (a seed, a table built whole) every row.

  So the day's build checks the day's rows, not the 16M events of a million customers again. A
  full build, a selection, a model that did not sync, or another test reads the whole table.
#}
{% macro synced_test_rows(model, columns=none) %}
  {%- set node = synced_test_node(model) -%}
  {%- if node is none -%}{{ return(model) }}{%- endif -%}
  {%- set keys = synced_node_keys(node) -%}
  {%- if columns is not none and (keys | sort | list) != (columns | sort | list) -%}{{ return(model) }}{%- endif -%}
  {{ return('(select * from ' ~ model ~ ' as t where ' ~ synced_changed_row(node, 't') ~ ')') }}
{% endmacro %}

{# The rows a relationships test from `model`.`column_name` to `to`.`field` reads (see above). #}
{% macro synced_relationship_rows(model, column_name, to, field) %}
  {%- set node, parent = synced_test_node(model), synced_test_node(to) -%}
  {%- if node is none or parent is none or synced_node_keys(parent) != [field] -%}{{ return(model) }}{%- endif -%}
  {{ return('(select * from ' ~ model ~ ' as t where ' ~ synced_changed_row(node, 't') ~ ' or t.' ~ column_name
            ~ ' in (select ' ~ adapter.quote(field) ~ ' from inputs.main.' ~ adapter.quote('changed_keys__' ~ parent.name) ~ '))') }}
{% endmacro %}

{# The synced model node whose table `relation` is, when it synced in this incremental build (none otherwise). #}
{% macro synced_test_node(relation) %}
  {%- set node = synced_node(relation) if execute and var('touched_only', false) else none -%}
  {%- if node is none or node.config.materialized != 'synced' or not synced_changed([node.name]) -%}{{ return(none) }}{%- endif -%}
  {{ return(node) }}
{% endmacro %}

{# A synced node's unique_key as a list. #}
{% macro synced_node_keys(node) %}
  {%- set keys = node.config.unique_key -%}
  {{ return([keys] if keys is string else keys) }}
{% endmacro %}

{# A condition: the row `alias` of the node's table has a key its sync changed. #}
{% macro synced_changed_row(node, alias) %}
  {{ return('exists (select 1 from inputs.main.' ~ adapter.quote('changed_keys__' ~ node.name) ~ ' as k where '
            ~ synced_match('k', alias, synced_node_keys(node)) ~ ')') }}
{% endmacro %}

{# The model node whose table `relation` is (none: not a model's table). #}
{% macro synced_node(relation) %}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.relation_name == (relation | string) -%}
    {{ return(node) }}
  {%- endfor -%}
  {{ return(none) }}
{% endmacro %}

{# dbt's unique test (the same rows), over synced_test_rows. #}
{% macro default__test_unique(model, column_name) %}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ synced_test_rows(model, [column_name]) }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endmacro %}

{# dbt's accepted_values test (the same rows), over synced_test_rows. #}
{% macro default__test_accepted_values(model, column_name, values, quote=True) %}
with all_values as (
    select {{ column_name }} as value_field, count(*) as n_records
    from {{ synced_test_rows(model) }}
    group by {{ column_name }}
)
select *
from all_values
where value_field not in (
    {%- for value in values -%}
        {%- if quote -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}{%- if not loop.last -%}, {% endif -%}
    {%- endfor -%}
)
{% endmacro %}

{# dbt's relationships test (the same rows), over synced_relationship_rows. #}
{% macro default__test_relationships(model, column_name, to, field) %}
with child as (
    select {{ column_name }} as from_field
    from {{ synced_relationship_rows(model, column_name, to, field) }}
    where {{ column_name }} is not null
),
parent as (
    select {{ field }} as to_field
    from {{ to }}
)
select from_field
from child
left join parent on child.from_field = parent.to_field
where parent.to_field is null
{% endmacro %}
