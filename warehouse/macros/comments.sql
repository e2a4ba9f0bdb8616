{#
  post-hook of the analyst models: every column the model's YAML leaves undocumented takes the
  comment of the same column in the table it copies — the parent model or seed with the same
  alias (analyst_customer_360 copies marts.customer_360) — so analyst.duckdb is fully commented
  without repeating the marts' docs.
#}
{% macro inherit_column_comments() %}
  {% if not execute %}{{ return('') }}{% endif %}
  {% set parents = [] %}
  {% for unique_id in model.depends_on.nodes if unique_id in graph.nodes and graph.nodes[unique_id].alias == this.identifier %}
    {% do parents.append(graph.nodes[unique_id]) %}
  {% endfor %}
  {% if parents | length != 1 %}
    {% do exceptions.raise_compiler_error(model.name ~ ': no single parent named ' ~ this.identifier ~ ' to take column comments from') %}
  {% endif %}
  {% set parent = parents[0] %}
  {% set documented = model.columns.keys() | list %}
  {% set query %}
    select mine.column_name, theirs.comment
    from duckdb_columns() as mine
    join duckdb_columns() as theirs
      on theirs.database_name = '{{ parent.database }}' and theirs.schema_name = '{{ parent.schema }}'
     and theirs.table_name = '{{ parent.alias }}' and theirs.column_name = mine.column_name
    where mine.database_name = '{{ this.database }}' and mine.schema_name = '{{ this.schema }}'
      and mine.table_name = '{{ this.identifier }}' and theirs.comment is not null
  {% endset %}
  {% set statements = [] %}
  {% for row in run_query(query).rows if row[0] not in documented %}
    {% do statements.append('comment on column ' ~ this ~ '.' ~ adapter.quote(row[0]) ~ ' is ' ~ duckdb_escape_comment(row[1])) %}
  {% endfor %}
  {{ return(statements | join(';\n')) }}
{% endmacro %}
