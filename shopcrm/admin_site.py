from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin import apps as admin_apps
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _


class ShopAdminSite(admin.AdminSite):
    """The Django admin for administrators. A signed-in user without admin rights gets a
    plain 403 (as everywhere else), not a second login form."""

    site_header = _("shopcrm 系统管理")
    site_title = _("shopcrm 系统管理")
    index_title = _("用户、角色与基础数据")

    def _refuse_signed_in_non_staff(self, request):
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def wrapper(request, *args, **kwargs):
            self._refuse_signed_in_non_staff(request)
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, inner)

    def login(self, request, extra_context=None):
        self._refuse_signed_in_non_staff(request)
        return super().login(request, extra_context)


class ShopAdminConfig(admin_apps.AdminConfig):
    default_site = "shopcrm.admin_site.ShopAdminSite"
