from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import ROLE_LABELS

# (label, url name, permission): the navigation shows a role only what it may use.
NAVIGATION = [
    (_("今日看板"), "visits:board", "visits.view_visit"),
    (_("接车"), "visits:check_in", "visits.add_visit"),
    (_("新建客户"), "customers:create", "customers.add_customer"),
    (_("回访队列"), "followups:queue", "followups.work_queue"),
    # The supervisors' page: an agent could open none of its calls (only the one they hold).
    (_("团队回访"), "followups:team", "followups.supervise_queue"),
    (_("满意度"), "surveys:list", "surveys.view_surveyresponse"),
    (_("投诉"), "complaints:list", "complaints.view_complaint"),
    (_("仪表盘"), "reports:dashboard", "reports.view_reports"),
    # Managers' occasional pages (each advisor's customers, campaigns, issue 19) are in the
    # user menu (templates/base.html): the top bar holds a role's daily pages on one row.
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "shop_name": settings.SHOP_NAME}
    items = [
        {"label": label, "url": reverse(name), "active": request.path == reverse(name)}
        for label, name, permission in NAVIGATION
        if user.has_perm(permission)
    ]
    roles = [ROLE_LABELS.get(group.name, group.name) for group in user.groups.all()]
    return {
        "nav_items": items,
        "can_search": user.has_perm("customers.view_customer"),
        "can_admin": user.is_staff,
        "user_roles": roles,
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
        "shop_name": settings.SHOP_NAME,
    }
