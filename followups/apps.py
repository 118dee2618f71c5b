from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("回访")

    def ready(self):
        from django.db import connections
        from django.db.models.signals import post_delete, post_migrate, post_save

        from customers.events import contact_withdrawn
        from visits.events import appointments_missed, extra_work_answered, visit_delivered

        from . import receivers, selectors, states
        from .models import FollowUpPolicy

        visit_delivered.connect(receivers.schedule_post_service_call, dispatch_uid="post_service")
        contact_withdrawn.connect(receivers.cancel_refused_calls, dispatch_uid="calls_withdrawn")
        extra_work_answered.connect(
            receivers.call_about_recommended_work, dispatch_uid="recommended_work"
        )
        appointments_missed.connect(
            receivers.call_about_missed_appointments, dispatch_uid="missed_appointments"
        )
        post_save.connect(
            selectors.clear_policy_cache, sender=FollowUpPolicy, dispatch_uid="clear_policy"
        )
        post_delete.connect(
            selectors.clear_policy_cache, sender=FollowUpPolicy, dispatch_uid="del_policy"
        )
        # The change-logging triggers exist whenever the schema does (SQLite drops them when
        # a migration rebuilds a table).
        post_migrate.connect(
            lambda sender, using="default", **kwargs: states.ensure_triggers(connections[using]),
            sender=self,
            dispatch_uid="state_triggers",
            weak=False,
        )
