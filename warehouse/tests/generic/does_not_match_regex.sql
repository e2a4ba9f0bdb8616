{# Values of the column in which `pattern` occurs anywhere. #}
{% test does_not_match_regex(model, column_name, pattern) %}
select *
from {{ model }}
where regexp_matches({{ column_name }}::varchar, '{{ pattern }}')
{% endtest %}
