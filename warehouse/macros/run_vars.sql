{# The business date and the run, passed by cdp/warehouse/build.py as vars. #}
{% macro as_of() -%}
    {%- if var('as_of') -%} DATE '{{ var('as_of') }}' {%- else -%} current_date {%- endif -%}
{%- endmacro %}

{% macro run_id() -%}
    '{{ var('run_id') | replace("'", "''") }}'
{%- endmacro %}
