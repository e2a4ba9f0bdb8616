{#
  Reconciliation: the sum of `expression` over the model (rows matching `where`) equals the sum
  of `compare_expression` over `compare_model` (rows matching `compare_where`), to the cent.
  Returns one row with both sums when they differ.
#}
{% test sum_reconciles(model, expression, compare_model, compare_expression, where_clause='true', compare_where='true') %}
with mart as (select coalesce(sum({{ expression }}), 0)::DECIMAL(38, 2) as total from {{ model }} where {{ where_clause }}),
     other as (select coalesce(sum({{ compare_expression }}), 0)::DECIMAL(38, 2) as total from {{ compare_model }} where {{ compare_where }})
select mart.total as model_total, other.total as compare_total
from mart, other
where mart.total <> other.total
{% endtest %}
