from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopcrmConfig(AppConfig):
    name = "shopcrm"
    verbose_name = _("shopcrm")

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from .auth import connect_signals
        from .library_labels import relabel_axes
        from .roles import create_missing_roles

        connect_signals()
        relabel_axes()

        # post_migrate is sent once per app with models; listen to the last one, when every
        # app's permissions exist (auth creates them in its own receiver, connected earlier).
        last_app = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(create_missing_roles, sender=last_app, dispatch_uid="shopcrm_roles")
