{#
  The one-row parameter table of a mart (config.<mart>): a column per row of seeds/parameters.csv
  for that mart, INTEGER when the value is written without a decimal point, else DOUBLE. The
  mart's SQL reads it as its `params` CTE; analysts see which thresholds built a list.
#}
{% macro parameter_table(mart, parameters) %}
  {% if not execute %}
    {{ return('select 1 as parsing') }}
  {% endif %}
  {% set columns = [] %}
  {% for row in parameter_rows(mart, parameters) %}
    {% set number = modules.re.fullmatch('-?[0-9]+([.][0-9]+)?', (row['value'] or '') | trim) %}
    {% if not modules.re.fullmatch('[a-z][a-z0-9_]*', row['parameter'] or '') or not number %}
      {% do exceptions.raise_compiler_error('seeds/parameters.csv: ' ~ mart ~ '.' ~ row['parameter']
          ~ ": needs a snake_case name and a numeric 'value', got " ~ (row['value'] | string)) %}
    {% endif %}
    {% do columns.append(number.group(0) ~ '::' ~ ('DOUBLE' if number.group(1) else 'INTEGER') ~ ' AS ' ~ row['parameter']) %}
  {% endfor %}
  {% if not columns %}
    {% do exceptions.raise_compiler_error('seeds/parameters.csv: no parameters for mart ' ~ mart) %}
  {% endif %}
  {{ return('select ' ~ columns | join(', ')) }}
{% endmacro %}

{# post-hook: each parameter column commented with its meaning from the seed. #}
{% macro parameter_comments(mart, parameters) %}
  {% if execute %}
    {% set statements = [] %}
    {% for row in parameter_rows(mart, parameters) %}
      {% do statements.append('comment on column ' ~ this ~ '.' ~ row['parameter'] ~ ' is '
          ~ duckdb_escape_comment(row['meaning'] or '')) %}
    {% endfor %}
    {{ return(statements | join(';\n')) }}
  {% endif %}
{% endmacro %}

{% macro parameter_rows(mart, parameters) %}
  {% set rows = run_query("select parameter, value, meaning from " ~ parameters ~ " where mart = '" ~ mart ~ "'") %}
  {{ return(rows.rows) }}
{% endmacro %}
