from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("报表")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import states

        post_migrate.connect(states.after_migrate, sender=self, dispatch_uid="report_triggers")
