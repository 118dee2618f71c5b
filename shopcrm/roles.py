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
HOTLINE_CLIENT = "hotline_client"

# Token clients: they reach the API only and never sign in to pages (shopcrm.login).
API_ONLY_ROLES = frozenset({DMS_CLIENT, HOTLINE_CLIENT})

ROLE_LABELS = {
    ADVISOR: _("服务顾问"),
    AGENT: _("回访专员"),
    MANAGER: _("售后经理"),
    ADMIN: _("系统管理员"),
    DMS_CLIENT: _("DMS 接口"),
    HOTLINE_CLIENT: _("厂家热线接口"),
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

_COMPLAINTS = ["complaints.view_complaint", "complaints.add_complaint"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADVISOR: [*_VIEW_RECORDS, *_DESK, *_COMPLAINTS, "reports.view_own_scorecard"],
    # Agents see records with masked phones; revealing comes with the call they hold.
    AGENT: [
        *_VIEW_RECORDS,
        "followups.view_followuptask",
        "followups.work_queue",
        *_COMPLAINTS,
    ],
    MANAGER: _VIEW_RECORDS
    + _DESK
    + [
        "customers.merge_customer",
        # When an advisor leaves, their customers move to others in bulk (issue 19).
        "customers.reassign_customers",
        "customers.view_phonereveal",
        "followups.view_followuptask",
        "followups.supervise_queue",
        "surveys.view_surveyresponse",
        "surveys.export_surveyresponse",
        *_COMPLAINTS,
        "complaints.manage_complaint",
        "complaints.export_complaint",
        "reports.view_reports",
        # Campaigns (issue 19): create, follow and end them.
        "campaigns.manage_campaign",
        # PIPL requests: erase a customer's personal data, export everything held about them.
        "privacy.erase_customer",
        "privacy.export_customer_data",
        "messaging.retry_message",
        # The outbox read back through the API (what was sent to whom, recipients masked).
        "messaging.view_message",
        # Customers' SMS replies that are not a command, or from unknown numbers (issue 18).
        "messaging.handle_smsreply",
    ],
    ADMIN: ["*"],
    # Token clients reach only the API: the sync endpoints and the read-back.
    DMS_CLIENT: ["api.sync_dms", "api.read_api"],
    # The OEM hotline integration creates complaints through the API and reads them back.
    HOTLINE_CLIENT: ["complaints.create_via_api"],
}


def _existing_permissions(Permission, codes: list[str]) -> list:
    """The permissions named by ``codes`` that exist yet. An early migration runs before a
    later app's permissions exist; that app's own migration grants them."""
    found = []
    for code in codes:
        app_label, codename = code.split(".")
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            found.append(permission)
    return found


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
        group.permissions.set(_existing_permissions(Permission, codes))


def grant_role_permissions(apps=None) -> None:
    """Add each role's listed permissions (all of them to admin) without taking any away:
    for migrations that introduce new permissions after an administrator may have
    adjusted the roles."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        if codes == ["*"]:
            group.permissions.add(*Permission.objects.all())
            continue
        group.permissions.add(*_existing_permissions(Permission, codes))


def create_permissions_now(apps) -> None:
    """Permissions are normally created after all migrations; data migrations that hand
    them to roles need them at once."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def user_roles(user) -> list[str]:
    if not user.is_authenticated:
        return []
    return sorted(group.name for group in user.groups.all())


def create_missing_roles(sender, **kwargs) -> None:
    """post_migrate receiver: the role groups exist whenever the schema does, and the
    admin role holds every permission, including those of apps migrated after the roles."""
    from django.contrib.auth.models import Group, Permission

    sync_roles(only_missing=True)
    Group.objects.get(name=ADMIN).permissions.add(*Permission.objects.all())
