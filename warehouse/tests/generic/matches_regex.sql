{# Values of the column that do not fully match `pattern` (NULLs pass). #}
{% test matches_regex(model, column_name, pattern) %}
select *
from {{ model }}
where {{ column_name }} is not null and not regexp_full_match({{ column_name }}::varchar, '{{ pattern }}')
{% endtest %}
