"""The roles of shopcrm: Django groups and the permissions each one holds.

A data migration creates the groups from ``ROLE_PERMISSIONS``; later apps extend the
table and add a migration that calls ``sync_roles`` again. Pages and the API check
permissions (``app.codename``), never group names, so an administrator can adjust a role
in the admin without touching code.
"""

from django.utils.translation import gettext_lazy as _

ADVISOR = "advisor"
AGENT = "agent"
MANAGER = "manager"
ADMIN = "admin"
DMS_CLIENT = "dms_client"

ROLE_LABELS = {
    ADVISOR: _("服务顾问"),
    AGENT: _("回访专员"),
    MANAGER: _("售后经理"),
    ADMIN: _("系统管理员"),
    DMS_CLIENT: _("DMS 接口"),
}

_VIEW_RECORDS = [
    "customers.view_customer",
    "customers.view_vehicle",
    "visits.view_visit",
    "visits.view_appointment",
]
_DESK = [
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_vehicle",
    "customers.change_vehicle",
    "customers.reveal_phone",
    "visits.add_visit",
    "visits.change_visit",
    "visits.add_appointment",
    "visits.change_appointment",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADVISOR: _VIEW_RECORDS + _DESK,
    # Agents see records with masked phones; revealing comes with the call they hold.
    AGENT: list(_VIEW_RECORDS),
    MANAGER: _VIEW_RECORDS + _DESK + ["customers.merge_customer", "customers.view_phonereveal"],
    ADMIN: ["*"],
    # Token clients reach only the API; their permissions come with the DMS sync issue.
    DMS_CLIENT: [],
}


def sync_roles(apps=None, *, only_missing: bool = False) -> None:
    """Create the groups and give each exactly its permissions (idempotent).

    ``only_missing`` creates absent groups and leaves existing ones as an administrator
    may have adjusted them (used after every migrate, and after a test flush).
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, created = Group.objects.get_or_create(name=role)
        if only_missing and not created:
            continue
        if codes == ["*"]:
            group.permissions.set(Permission.objects.all())
            continue
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


def user_roles(user) -> list[str]:
    if not user.is_authenticated:
        return []
    return sorted(group.name for group in user.groups.all())


def create_missing_roles(sender, **kwargs) -> None:
    """post_migrate receiver: the role groups exist whenever the schema does."""
    sync_roles(only_missing=True)
