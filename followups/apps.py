from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("回访")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from visits.events import visit_delivered

        from . import receivers, selectors
        from .models import FollowUpPolicy

        visit_delivered.connect(receivers.schedule_post_service_call, dispatch_uid="post_service")
        post_save.connect(
            selectors.clear_policy_cache, sender=FollowUpPolicy, dispatch_uid="clear_policy"
        )
        post_delete.connect(
            selectors.clear_policy_cache, sender=FollowUpPolicy, dispatch_uid="del_policy"
        )
