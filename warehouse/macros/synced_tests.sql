{#
  Uniqueness tests of synced models (macros/synced.sql) in an incremental build of the whole project
  read only the rows of the keys the model's sync changed (inputs.main.changed_keys__<model>): every
  other row is as it was in the published file, whose build passed the same test (every test is
  severity error: a failing build publishes nothing), and the rows of a duplicated key are all among
  the changed keys when one of them is. So a test whose columns are the model's unique_key checks
  the day's keys, not the 16M events of a million customers again. A full build, a selection, a
  model that did not sync, or a test of other columns reads the whole table.

  Tests of each row on their own (not_null_columns, accepted_values, between, matches_regex,
  does_not_match_regex) read the whole table: narrowed to the changed keys the same way, the 1M
  day's tests took as long (28.5 and 34.3 s of dbt time against 28.2 and 25.8 s,
  docs/performance-log.md, stop 62), a column's scan costing DuckDB about what the join does.
#}
{% macro synced_test_rows(model, columns) %}
  {%- set node = synced_node(model) if execute and var('touched_only', false) else none -%}
  {%- if node is none or node.config.materialized != 'synced' -%}{{ return(model) }}{%- endif -%}
  {%- set keys = node.config.unique_key -%}
  {%- set keys = [keys] if keys is string else keys -%}
  {%- if (keys | sort | list) != (columns | sort | list) or not synced_changed([node.name]) -%}{{ return(model) }}{%- endif -%}
  {{ return('(select * from ' ~ model ~ ' as t where exists (select 1 from inputs.main.'
            ~ adapter.quote('changed_keys__' ~ node.name) ~ ' as k where ' ~ synced_match('k', 't', keys) ~ '))') }}
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
