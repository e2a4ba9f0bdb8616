{#
  Uniqueness tests of synced models (macros/synced.sql) in an incremental build of the whole project
  read only the rows of the keys the model's sync changed (inputs.main.changed_keys__<model>): every
  other row is as it was in the published file, whose build passed the same test (every test is
  severity error: a failing build publishes nothing), and the rows of a duplicated key are all among
  the changed keys when one of them is. So a test whose columns are the model's unique_key checks
  the day's keys, not the 16M events of a million customers again. A full build, a selection, a
  model that did not sync, or a test of other columns reads the whole table.

  The same holds for a test of each row on its own (not_null_columns, accepted_values, between,
  matches_regex, does_not_match_regex): a row the sync left is as it was published, when it passed;
  a row the sync wrote is among the changed keys. Their parameters are constants: a test whose
  verdict on a row could change with the day (one reading as_of) must not read synced_changed_rows.
#}
{% macro synced_test_rows(model, columns) %}
  {%- set node = synced_test_node(model) -%}
  {%- if node is none or (synced_unique_key(node) | sort | list) != (columns | sort | list) -%}{{ return(model) }}{%- endif -%}
  {{ return(synced_rows_of(model, node)) }}
{% endmacro %}

{# The rows of the keys a synced model's sync changed in this incremental build (see above), or the
   whole table when it did not sync, or outside such a build. #}
{% macro synced_changed_rows(model) %}
  {%- set node = synced_test_node(model) -%}
  {{ return(model if node is none else synced_rows_of(model, node)) }}
{% endmacro %}

{# The synced model node whose table `model` is, in an incremental build of the whole project; else none. #}
{% macro synced_test_node(model) %}
  {%- set node = synced_node(model) if execute and var('touched_only', false) else none -%}
  {{ return(node if node is not none and node.config.materialized == 'synced' else none) }}
{% endmacro %}

{# The unique_key of a synced model's node, as a list. #}
{% macro synced_unique_key(node) %}
  {%- set keys = node.config.unique_key -%}
  {{ return([keys] if keys is string else keys) }}
{% endmacro %}

{# The rows of `model` (the table of `node`) whose keys its sync changed; the whole table when it did not sync. #}
{% macro synced_rows_of(model, node) %}
  {%- if not synced_changed([node.name]) -%}{{ return(model) }}{%- endif -%}
  {{ return('(select * from ' ~ model ~ ' as t where exists (select 1 from inputs.main.'
            ~ adapter.quote('changed_keys__' ~ node.name) ~ ' as k where ' ~ synced_match('k', 't', synced_unique_key(node)) ~ '))') }}
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

{# dbt's accepted_values test (the same rows), over synced_changed_rows. #}
{% macro default__test_accepted_values(model, column_name, values, quote=True) %}
with all_values as (
    select {{ column_name }} as value_field, count(*) as n_records
    from {{ synced_changed_rows(model) }}
    group by {{ column_name }}
)
select *
from all_values
where value_field not in (
    {% for value in values -%}
        {% if quote -%}'{{ value }}'{%- else -%}{{ value }}{%- endif -%}{%- if not loop.last -%},{%- endif %}
    {%- endfor %}
)
{% endmacro %}
