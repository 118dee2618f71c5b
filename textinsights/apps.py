from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TextInsightsConfig(AppConfig):
    name = "textinsights"
    verbose_name = _("评论分析")
