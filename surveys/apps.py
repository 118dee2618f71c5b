from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("满意度调查")

    def ready(self):
        from django.db.models.signals import post_migrate

        from customers.events import contact_withdrawn
        from messaging.events import message_gave_up, message_retried
        from visits.events import visit_delivered

        from . import defaults, receivers

        visit_delivered.connect(receivers.schedule_invitation, dispatch_uid="survey_invitation")
        contact_withdrawn.connect(
            receivers.skip_refused_invitations, dispatch_uid="invitations_withdrawn"
        )
        message_gave_up.connect(
            receivers.invitation_not_delivered, dispatch_uid="invitation_not_delivered"
        )
        message_retried.connect(receivers.invitation_resent, dispatch_uid="invitation_resent")
        post_migrate.connect(defaults.after_migrate, sender=self, dispatch_uid="survey_default")
