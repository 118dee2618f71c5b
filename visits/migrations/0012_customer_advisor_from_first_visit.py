"""Every customer with visits gets the advisor of their first visit (issue 19: a customer's
own advisor is set at their first visit); customers already assigned keep theirs."""

from django.db import migrations

FIRST_ADVISOR = """
UPDATE customers_customer SET advisor_id = (
    SELECT v.advisor_id FROM visits_visit v
    WHERE v.customer_id = customers_customer.id AND v.advisor_id IS NOT NULL
    ORDER BY v.checked_in_at, v.id LIMIT 1
)
WHERE advisor_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0011_appointment_updated_index"),
        ("customers", "0009_advisor_and_value_tier"),
    ]

    operations = [migrations.RunSQL(FIRST_ADVISOR, migrations.RunSQL.noop, elidable=True)]
