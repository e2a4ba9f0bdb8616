{#
  post-hook of the analyst models: every column the model's YAML leaves undocumented takes the
  comment of the same column in the model it selects from, so analyst.duckdb is fully commented
  without repeating the marts' docs.
#}
{% macro inherit_column_comments() %}
  {% if not execute %}{{ return('') }}{% endif %}
  {% set parents = [] %}
  {% for node in model.depends_on.nodes if node.startswith('model.') or node.startswith('seed.') %}
    {% do parents.append(node) %}
  {% endfor %}
  {% if parents | length != 1 %}
    {{ return('') }}
  {% endif %}
  {% set parent = graph.nodes[parents[0]] %}
  {% set parent_relation = api.Relation.create(database=parent.database, schema=parent.schema, identifier=parent.alias) %}
  {% set documented = model.columns.keys() | list %}
  {% set query %}
    select mine.column_name, theirs.comment
    from duckdb_columns() as mine
    join duckdb_columns() as theirs
      on theirs.database_name = '{{ parent_relation.database }}' and theirs.schema_name = '{{ parent_relation.schema }}'
     and theirs.table_name = '{{ parent_relation.identifier }}' and theirs.column_name = mine.column_name
    where mine.database_name = '{{ this.database }}' and mine.schema_name = '{{ this.schema }}'
      and mine.table_name = '{{ this.identifier }}' and theirs.comment is not null
  {% endset %}
  {% set statements = [] %}
  {% for row in run_query(query).rows if row[0] not in documented %}
    {% do statements.append('comment on column ' ~ this ~ '.' ~ adapter.quote(row[0]) ~ ' is ' ~ duckdb_escape_comment(row[1])) %}
  {% endfor %}
  {{ return(statements | join(';\n')) }}
{% endmacro %}
