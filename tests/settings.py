"""Test settings: the real settings, with fast hashing, a local cache and eager Celery.

The database is whatever DATABASE_URL says (PostgreSQL in CI); tests that need
PostgreSQL, Redis or Chromium declare it with a marker (see conftest.py).
"""

from shopcrm.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
LANGUAGE_CODE = "zh-hans"
MESSAGING_BACKENDS = dict.fromkeys(("sms", "wechat", "email"), "messaging.backends.LocmemBackend")
# Tests make far more requests a minute from 127.0.0.1 than a customer (one test lowers it).
SURVEY_PAGE_RATE = 100_000
# A configured Official Account (the locmem sender stands in for it); the WeChat tests point
# the real sender at their fake server (tests/messaging/fake_wechat.py).
WECHAT_APP_ID = "wx-test-app"
WECHAT_APP_SECRET = "test-secret"
WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens: a test that forgets the fake fails
WECHAT_AUTHORIZE_URL = "http://127.0.0.1:9/connect/oauth2/authorize"
