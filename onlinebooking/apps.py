from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnlineBookingConfig(AppConfig):
    name = "onlinebooking"
    verbose_name = _("在线预约")

    def ready(self):
        from . import tasks  # noqa: F401 (registers the tasks)
