from django.db import models
from django.utils.translation import gettext_lazy as _


class Report(models.Model):
    """No table: the holder of the reports permission (managers and token clients)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", _("可查看报表和仪表盘"))]

    def __str__(self):
        return str(_("报表"))
