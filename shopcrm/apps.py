from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopcrmConfig(AppConfig):
    name = "shopcrm"
    verbose_name = _("shopcrm")
