{#
  Masking rules (PIPL): what analysts see instead of personal data. Each macro renders a SQL
  expression; the analyst models apply them.
#}
{% macro mask_mobile(m) -%}
    CASE WHEN {{ m }} IS NULL THEN NULL WHEN length({{ m }}) = 11 THEN substr({{ m }}, 1, 3) || '****' || substr({{ m }}, 8, 4) ELSE '***' END
{%- endmacro %}

{% macro mask_id(id) -%}
    CASE WHEN {{ id }} IS NULL THEN NULL WHEN length({{ id }}) = 18 THEN substr({{ id }}, 1, 4) || repeat('*', 10) || substr({{ id }}, 15, 4) ELSE '***' END
{%- endmacro %}

{# Every name is masked to its first character (张伟 → 张*, 欧阳娜娜 → 欧***) unless `shown` is true:
   only for a company with a valid credit code (intermediate.int_disclosed_names). #}
{% macro mask_name(name, shown) -%}
    CASE WHEN {{ name }} IS NULL THEN NULL WHEN coalesce({{ shown }}, false) THEN {{ name }}
         ELSE substr({{ name }}, 1, 1) || repeat('*', greatest(length({{ name }}) - 1, 1)) END
{%- endmacro %}

{% macro mask_plate(p) -%}
    CASE WHEN {{ p }} IS NULL THEN NULL ELSE substr({{ p }}, 1, 2) || repeat('*', greatest(length({{ p }}) - 4, 1)) || substr({{ p }}, -2, 2) END
{%- endmacro %}

{# A full birth date in free text ('born 1990-03-07') becomes the birth year ('born 1990'). #}
{% macro birth_year_only(text) -%}
    regexp_replace({{ text }}, 'born ([0-9]{4})-[0-9]{2}-[0-9]{2}', 'born \1', 'g')
{%- endmacro %}
