"""PostgreSQL compares text by locale, so a plain btree index cannot serve ``LIKE 'x%'``.
A ``varchar_pattern_ops`` index lets the search box match a name prefix fast; SQLite
needs nothing extra."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS customer_name_prefix_idx "
    "ON customers_customer (name varchar_pattern_ops)"
)
DROP = "DROP INDEX IF EXISTS customer_name_prefix_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
