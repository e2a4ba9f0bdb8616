{# Values of the column outside [min_value, max_value] (NULLs pass); of a synced model, in an incremental build
   only its changed rows (macros/synced_tests.sql). #}
{% test between(model, column_name, min_value, max_value) %}
select *
from {{ synced_test_rows(model) }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}
