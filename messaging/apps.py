from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("消息")

    def ready(self):
        # The outbox queues its send task by name (the tasks module imports the services):
        # registered here in every process, so it runs eagerly where Celery is eager.
        from customers.events import contact_withdrawn

        from . import services, tasks  # noqa: F401

        contact_withdrawn.connect(
            lambda sender, *, customer_ids, **kwargs: services.message_cancel_refused(
                customer_ids=customer_ids
            ),
            dispatch_uid="outbox_contact_withdrawn",
            weak=False,
        )
