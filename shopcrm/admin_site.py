from functools import cache, update_wrapper

from django.contrib import admin
from django.contrib.admin import apps as admin_apps
from django.contrib.admin.options import IncorrectLookupParameters
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

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every model admin, ours and the libraries', gets the bounded date hierarchy."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, BoundedDateHierarchy):
            admin_class = type(
                admin_class.__name__,
                (BoundedDateHierarchy, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)


class BoundedDateHierarchy:
    """The change list's date hierarchy builds dates from ``?<field>__year=…&…__month=…``
    itself and catches only a ValueError from the first of them: a year past 9999 or a
    huge number overflowed into a 500. Any of those is an incorrect lookup, which the admin
    answers with its usual redirect to ``?e=1``."""

    def get_changelist(self, request, **kwargs):
        return _bounded(super().get_changelist(request, **kwargs))


@cache
def _bounded(changelist):
    class Bounded(changelist):
        def get_filters(self, request):
            try:
                return super().get_filters(request)
            except (OverflowError, ValueError) as error:
                raise IncorrectLookupParameters(error) from error

    Bounded.__name__ = Bounded.__qualname__ = changelist.__name__
    return Bounded


class ShopAdminConfig(admin_apps.AdminConfig):
    default_site = "shopcrm.admin_site.ShopAdminSite"
