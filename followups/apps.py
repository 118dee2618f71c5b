from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("回访")

    def ready(self):
        from visits.events import visit_delivered

        from . import receivers

        visit_delivered.connect(receivers.schedule_post_service_call, dispatch_uid="post_service")
