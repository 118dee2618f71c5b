"""The Celery app: the clock of shopcrm. PostgreSQL stays the truth (DESIGN.md)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopcrm.settings")

app = Celery("shopcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
