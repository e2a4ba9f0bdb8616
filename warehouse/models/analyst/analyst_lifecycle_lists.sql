-- Lifecycle lists; birthdays keep the birth year and month only (reason and due date).
{{ config(alias='lifecycle_lists') }}
select * replace ({{ birth_year_only('reason') }} as reason,
                  case when list = 'birthday_this_month' then date_trunc('month', due_date)::DATE else due_date end as due_date)
from {{ ref('lifecycle_lists') }}
