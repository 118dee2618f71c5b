from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("消息")

    def ready(self):
        # The outbox queues its send task by name (the tasks module imports the services):
        # registered here in every process, so it runs eagerly where Celery is eager.
        from . import tasks  # noqa: F401
