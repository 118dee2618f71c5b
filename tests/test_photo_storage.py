"""Work-item photos are stored through Django's storage API: local files under the data
directory by default, an S3-compatible bucket (django-storages) when SHOPCRM_S3_BUCKET is
set (issue 17)."""

import os
import subprocess
import sys

from django.conf import settings


def storage_of(env_extra: dict, tmp_path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SHOPCRM_S3_BUCKET"}
    env.update(DJANGO_SETTINGS_MODULE="shopcrm.settings", SHOPCRM_DATA_DIR=str(tmp_path))
    env.update(env_extra)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.files.storage import storages;"
            " s = storages['default']; print(type(s).__module__,"
            " getattr(s, 'bucket_name', ''), getattr(s, 'location', ''))",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_photos_are_local_files_by_default(tmp_path):
    assert storage_of({}, tmp_path).startswith("django.core.files.storage.filesystem")
    assert str(tmp_path / "media") in storage_of({}, tmp_path)


def test_photos_go_to_a_bucket_when_one_is_configured(tmp_path):
    found = storage_of(
        {"SHOPCRM_S3_BUCKET": "shop-photos", "SHOPCRM_S3_ENDPOINT_URL": "http://127.0.0.1:9"},
        tmp_path,
    )
    assert found.startswith("storages.backends.s3") and "shop-photos" in found
