{# Rows whose combination of `columns` occurs more than once (no dbt_utils: the project installs no packages);
   of a synced model's unique_key, in an incremental build only its changed keys (macros/synced_tests.sql). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ synced_test_rows(model, columns) }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
