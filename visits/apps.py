from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("预约与工单")

    def ready(self):
        from . import events

        events.visit_delivered.connect(events.log_visit_delivered, dispatch_uid="log_delivered")
