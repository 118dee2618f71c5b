from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopCalendarConfig(AppConfig):
    name = "shopcalendar"
    verbose_name = _("营业时间与休息日")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import selectors
        from .models import Holiday, ShopCalendar

        for model in (ShopCalendar, Holiday):
            post_save.connect(
                selectors.clear_cache, sender=model, dispatch_uid=f"calendar_save_{model.__name__}"
            )
            post_delete.connect(
                selectors.clear_cache, sender=model, dispatch_uid=f"calendar_del_{model.__name__}"
            )
