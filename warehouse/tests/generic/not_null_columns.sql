{# Rows where any of `columns` is null, naming which: one test per model instead of a not_null node
   per column (each dbt node costs ~30 ms of dbt's own Python per build, whatever the data). #}
{% test not_null_columns(model, columns) %}
select null_columns, count(*) as occurrences
from (
    select concat_ws(', '{% for column in columns %}, case when {{ column }} is null then '{{ column }}' end{% endfor %}) as null_columns
    from {{ model }}
)
where null_columns <> ''
group by null_columns
{% endtest %}
