"""The permission matrix: every role against every page, allowed or 403 (never a 500)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.factories import AppointmentFactory, CustomerFactory, UserFactory, VisitFactory

pytestmark = pytest.mark.django_db

ROLES = ["advisor", "agent", "manager", "admin", "dms_client", "hotline_client"]
STAFF = {"advisor", "agent", "manager", "admin"}
DESK = {"advisor", "manager", "admin"}

# (name, method, url builder, roles allowed)
PAGES = [
    ("home", "get", lambda o: reverse("home"), set(ROLES)),
    ("search", "get", lambda o: reverse("customers:search") + "?q=粤B", STAFF),
    ("customer_create", "get", lambda o: reverse("customers:create"), DESK),
    (
        "customer_detail",
        "get",
        lambda o: reverse("customers:detail", args=[o["customer"].pk]),
        STAFF,
    ),
    (
        "reveal_phone",
        "post",
        lambda o: reverse("customers:reveal_phone", args=[o["customer"].pk]),
        DESK,
    ),
    (
        "vehicle_create",
        "get",
        lambda o: reverse("customers:vehicle_create", args=[o["customer"].pk]),
        DESK,
    ),
    (
        "merge",
        "get",
        lambda o: reverse("customers:merge", args=[o["customer"].pk]),
        {"manager", "admin"},
    ),
    # Personal data (PIPL): erasing a customer and exporting what is held about them.
    (
        "customer_erase",
        "get",
        lambda o: reverse("privacy:erase", args=[o["customer"].pk]),
        {"manager", "admin"},
    ),
    (
        "customer_data_export",
        "post",
        lambda o: reverse("privacy:export", args=[o["customer"].pk, "json"]),
        {"manager", "admin"},
    ),
    ("board", "get", lambda o: reverse("visits:board"), STAFF),
    ("check_in", "get", lambda o: reverse("visits:check_in"), DESK),
    ("visit_detail", "get", lambda o: reverse("visits:detail", args=[o["visit"].pk]), STAFF),
    ("visit_print", "get", lambda o: reverse("visits:print", args=[o["visit"].pk]), STAFF),
    (
        "visit_transition",
        "post",
        lambda o: reverse("visits:transition", args=[o["visit"].pk]),
        DESK,
    ),
    ("visit_deliver", "post", lambda o: reverse("visits:deliver", args=[o["visit"].pk]), DESK),
    ("visit_cancel", "post", lambda o: reverse("visits:cancel", args=[o["visit"].pk]), DESK),
    ("queue", "get", lambda o: reverse("followups:queue"), {"agent", "admin"}),
    ("next_call", "post", lambda o: reverse("followups:next"), {"agent", "admin"}),
    # Issue 16, bug 6: agents saw the team's calls and got a 403 on every row.
    ("team_queue", "get", lambda o: reverse("followups:team"), {"manager", "admin"}),
    ("survey_responses", "get", lambda o: reverse("surveys:list"), {"manager", "admin"}),
    (
        "survey_response",
        "get",
        lambda o: reverse("surveys:detail", args=[o["response"].pk]),
        {"manager", "admin"},
    ),
    ("survey_export", "get", lambda o: reverse("surveys:export_csv"), {"manager", "admin"}),
    ("complaints", "get", lambda o: reverse("complaints:list"), STAFF),
    ("my_complaints", "get", lambda o: reverse("complaints:mine"), STAFF),
    (
        "complaint_create",
        "get",
        lambda o: reverse("complaints:create") + f"?customer={o['customer'].pk}",
        STAFF,
    ),
    (
        "complaint_detail",
        "get",
        lambda o: reverse("complaints:detail", args=[o["complaint"].pk]),
        STAFF,
    ),
    (
        "complaint_assign",
        "post",
        lambda o: reverse("complaints:action", args=[o["complaint"].pk, "assign"]),
        {"manager", "admin"},
    ),
    ("complaint_export", "get", lambda o: reverse("complaints:export_csv"), {"manager", "admin"}),
    ("notifications", "get", lambda o: reverse("complaints:notifications"), set(ROLES)),
    ("dashboard", "get", lambda o: reverse("reports:dashboard"), {"manager", "admin"}),
    ("report_customers", "get", lambda o: reverse("reports:customers"), {"manager", "admin"}),
    ("report_visits", "get", lambda o: reverse("reports:visits"), {"manager", "admin"}),
    (
        "report_export",
        "get",
        lambda o: reverse("reports:export_csv", args=["categories"]),
        {"manager", "admin"},
    ),
    ("admin", "get", lambda o: reverse("admin:index"), {"admin"}),
    ("admin_customers", "get", lambda o: reverse("admin:customers_customer_changelist"), {"admin"}),
    # The shop's hours and holidays (the shop calendar since issue 14: the role keeps them).
    (
        "admin_shop_hours",
        "get",
        lambda o: reverse("admin:shopcalendar_shopcalendar_changelist"),
        {"admin"},
    ),
    (
        "admin_holidays",
        "get",
        lambda o: reverse("admin:shopcalendar_holiday_changelist"),
        {"admin"},
    ),
]


@pytest.fixture
def objects():
    customer = CustomerFactory()
    visit = VisitFactory(vehicle__owner=customer)
    appointment = AppointmentFactory(vehicle=visit.vehicle)
    response = survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="web",
        answers={"rel_fixed_right": 5},
        submitted_at=timezone.now(),
        require_required=False,
    )
    complaint = complaint_services.complaint_create(
        customer=customer,
        by=UserFactory(role="advisor", username="complaint-owner"),
        category="attitude",
        severity="low",
        channel="walk_in",
        description="态度不好",
    )
    return {
        "customer": customer,
        "visit": visit,
        "appointment": appointment,
        "response": response,
        "complaint": complaint,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("page", "method", "url", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_role_against_page(client, objects, role, page, method, url, allowed):
    client.force_login(UserFactory(role=role, username=f"{role}-user"))
    response = getattr(client, method)(url(objects))
    if role in allowed:
        # 400 is a form error on an empty POST: the role reached the action.
        assert response.status_code in (200, 302, 400), f"{role} should reach {page}"
        if response.status_code == 302:
            assert "/accounts/login/" not in response["Location"]
            assert "/admin/login/" not in response["Location"]
    else:
        assert response.status_code == 403, f"{role} must get 403 on {page}"


@pytest.mark.parametrize(("page", "method", "url", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_is_sent_to_login(client, objects, page, method, url, allowed):
    response = getattr(client, method)(url(objects))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("advisor", ["今日看板", "接车", "新建客户"], ["系统管理", "回访队列", "团队回访"]),
        ("agent", ["今日看板", "回访队列"], ["接车</a>", "新建客户", "团队回访", "系统管理"]),
        ("manager", ["今日看板", "接车", "新建客户", "团队回访"], ["系统管理", "回访队列"]),
        ("admin", ["今日看板", "接车", "系统管理"], []),
    ],
)
def test_navigation_shows_each_role_only_what_it_may_use(client, role, visible, hidden):
    client.force_login(UserFactory(role=role, username=f"{role}-nav"))
    body = client.get(reverse("customers:search")).content.decode()
    nav = body.split('id="mainnav"')[1].split("</ul>")[0]
    for label in visible:
        assert label in nav
    for label in hidden:
        assert label not in nav


def test_the_roles_exist_with_their_permissions():
    from django.contrib.auth.models import Group

    groups = {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()}
        for g in Group.objects.prefetch_related("permissions__content_type")
    }
    assert set(groups) == set(ROLES)
    assert "customers.reveal_phone" in groups["advisor"]
    assert "customers.reveal_phone" not in groups["agent"]
    assert "customers.merge_customer" in groups["manager"]
    assert "customers.merge_customer" not in groups["advisor"]
    assert groups["dms_client"] == {"api.sync_dms", "api.read_api"}
    assert groups["hotline_client"] == {"complaints.create_via_api"}
    # The admin role holds every permission the migrations created, the shop calendar's
    # (issue 14) included: a migration that adds a model grants its permissions.
    from django.contrib.auth.models import Permission

    every = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.all()}
    assert "shopcalendar.change_shopcalendar" in every
    assert groups["admin"] == every
