from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("满意度调查")

    def ready(self):
        from visits.events import visit_delivered

        from . import receivers

        visit_delivered.connect(receivers.schedule_invitation, dispatch_uid="survey_invitation")
