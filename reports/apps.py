from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报表")

    def ready(self):
        from django.db import connections
        from django.db.models.signals import post_migrate

        from . import daily

        post_migrate.connect(
            lambda sender, using="default", **kwargs: daily.ensure_triggers(connections[using]),
            sender=self,
            dispatch_uid="report_triggers",
            weak=False,
        )
