-- seeds/survivorship.csv needs a rule for every golden-record attribute.
select attribute from (values ('customer_name'), ('mobile'), ('id_number'), ('city')) as golden(attribute)
except
select attribute from {{ ref('survivorship') }}
