{#
  on-run-start: one view per dbt source over the Parquet files that hold it today, in the
  in-memory database `inputs` (never published). The var `inputs` maps "<source>.<table>" to the
  query over its files (cdp/warehouse/inputs.py). A source with no file yet is an empty view of the
  columns its YAML declares with a data_type; a source without them must have files.
#}
{% macro create_input_views() %}
  {% if execute %}
    {% set inputs = var('inputs', {}) %}
    {% set statements = [] %}
    {% for node in graph.sources.values() %}
      {% set name = node.source_name ~ '.' ~ node.name %}
      {% set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.identifier) %}
      {% set query = inputs.get(name) %}
      {% set typed = node.columns.values() | selectattr('data_type') | list %}
      {% do statements.append('create schema if not exists ' ~ node.database ~ '.' ~ node.schema) %}
      {% if query %}
        {% do statements.append('create or replace view ' ~ relation ~ ' as ' ~ query) %}
      {% elif typed %}
        {% do statements.append('create or replace view ' ~ relation ~ ' as select '
            ~ typed_nulls(typed) ~ ' where false') %}
      {% elif not node.meta.get('optional') %}
        {% do exceptions.raise_compiler_error('input ' ~ name ~ ' has no Parquet file: run the asset that writes it first'
            ~ ' (cdp/warehouse/inputs.py lists where each input lives)') %}
      {% endif %}
    {% endfor %}
    {{ return(statements | join(';\n')) }}
  {% endif %}
{% endmacro %}

{% macro typed_nulls(columns) -%}
  {%- for column in columns -%} NULL::{{ column.data_type }} AS {{ column.name }}{{ ', ' if not loop.last }} {%- endfor -%}
{%- endmacro %}
