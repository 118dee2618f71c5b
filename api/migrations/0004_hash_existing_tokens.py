"""Every DRF token (kept in clear) becomes a hashed ApiToken with the same key, so a DMS
configured with it goes on working; the clear copies are deleted."""

import hashlib

from django.db import migrations


def hash_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("api", "ApiToken")
    for token in Token.objects.all():
        made = ApiToken.objects.create(
            user_id=token.user_id,
            digest=hashlib.sha256(token.key.encode()).hexdigest(),
            prefix=token.key[:8],
        )
        ApiToken.objects.filter(pk=made.pk).update(created_at=token.created)
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_api_token"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]
    operations = [migrations.RunPython(hash_tokens, migrations.RunPython.noop)]
