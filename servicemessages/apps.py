from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceMessagesConfig(AppConfig):
    name = "servicemessages"
    verbose_name = _("维修进度通知")

    def ready(self):
        from visits import events

        from . import receivers, tasks  # noqa: F401 (registers the tasks)

        events.visit_checked_in.connect(receivers.on_checked_in, dispatch_uid="sm_checked_in")
        events.visit_ready.connect(receivers.on_ready, dispatch_uid="sm_ready")
        events.visit_delivered.connect(receivers.on_delivered, dispatch_uid="sm_delivered")
        events.promise_revised.connect(receivers.on_promise_revised, dispatch_uid="sm_revised")
        events.extra_work_requested.connect(
            receivers.on_extra_work_requested, dispatch_uid="sm_extra_work"
        )
