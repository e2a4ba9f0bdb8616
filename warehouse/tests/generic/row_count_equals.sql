{# The model has as many rows as `compare_model` (rows matching `compare_where`). #}
{% test row_count_equals(model, compare_model, compare_where='true') %}
with mine as (select count(*) as n from {{ model }}),
     other as (select count(*) as n from {{ compare_model }} where {{ compare_where }})
select mine.n as model_rows, other.n as compare_rows
from mine, other
where mine.n <> other.n
{% endtest %}
