"""Access by object, everywhere (issue 15, part 4): every URL that loads an object by id —
in its path or as a ``?customer=``/``?task=``… parameter — is requested by every role,
signed in, for an object of the shop. A role without the view's permission gets a 403
(never the page); a role with it is not refused; and the objects a role must not see even
with the permission (another agent's call, a survey comment for an advisor, another
client's complaint) are refused. A new URL with an id fails the completeness test until it
is added here."""

from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign
from complaints import services as complaint_services
from followups.models import FollowUpTask
from messaging.models import Message, SmsReply
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.factories import (
    AppointmentFactory,
    CustomerFactory,
    UserFactory,
    VehicleFactory,
    VisitFactory,
    api_key,
)
from tests.followups.test_services import due_task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROLES = ["advisor", "agent", "manager", "admin", "dms_client", "hotline_client", None]

# URL name → the object its <int:…> names. The view's own permission decides who may.
PAGES = {
    "customers:detail": "customer",
    "customers:edit": "customer",
    "customers:advisor": "customer",
    "customers:reveal_phone": "customer",
    "customers:reveal_phone_admin": "customer",
    "customers:vehicle_create": "customer",
    "customers:merge": "customer",
    "customers:vehicle_complete": "vehicle",
    "visits:detail": "visit",
    "visits:transition": "visit",
    "visits:deliver": "visit",
    "visits:cancel": "visit",
    "visits:promise_revise": "visit",
    "visits:print": "visit",
    "visits:extra_work": "visit",
    "visits:extra_work_answer": "visit",
    "visits:photo": "visit",
    "visits:appointment_create": "vehicle",
    "visits:appointment_cancel": "appointment",
    "followups:call": "task",
    "followups:outcome": "task",
    "followups:reveal_phone": "task",
    "followups:reassign": "task",
    "followups:cancel": "task",
    "surveys:detail": "response",
    "complaints:detail": "complaint",
    "complaints:action": "complaint",
    "complaints:complete": "complaint",
    "privacy:erase": "customer",
    "privacy:export": "customer",
    "messaging:retry": "message",
    "messaging:reply_handle": "reply",
    "campaigns:detail": "campaign",
    "campaigns:vins": "campaign",
    "campaigns:schedule": "campaign",
    "campaigns:close": "campaign",
}
# The API's detail routes → the object, and the roles that may read it.
STAFF_AND_DMS = {"advisor", "agent", "manager", "admin", "dms_client"}
API = {
    "api:customer": ("customer", STAFF_AND_DMS),
    "api:vehicle": ("vehicle", STAFF_AND_DMS),
    "api:visit": ("visit", STAFF_AND_DMS),
    "api:appointment": ("appointment", STAFF_AND_DMS),
    "api:follow_up_task": ("task", {"manager", "admin", "dms_client"}),
    "api:survey_response": ("response", {"manager", "admin", "dms_client"}),
    "api:message": ("message", {"manager", "admin", "dms_client"}),
    "api:complaint": ("complaint", STAFF_AND_DMS),  # the hotline: only its own (404 here)
}
# Form parameters that load an object: ?name=<id> on the complaint form.
PARAMETERS = {"customer": "customer", "visit": "visit", "response": "response", "task": "task"}
# Bulk actions whose form posts a list of ids (each loaded through the access helper).
BULK_POSTS = {"followups:team_bulk": "task"}
# A token, not an id (the status page's item and photo ids are checked against the token's
# visit: tests/visits/test_extra_work.py).
NOT_LOADED_BY_ID = {
    "surveys:survey",
    "surveys:thanks",
    "visits:status",
    "visits:status_answer",
    "visits:status_photo",
    # The SMS providers' reply pushes: the path's token is a shared secret (403 when wrong).
    "messaging:aliyun_reply",
    "messaging:tencent_reply",
    # The booking pages' links (issue 18): a signed reminder link, a manage link's token.
    "onlinebooking:from_link",
    "onlinebooking:manage",
    "onlinebooking:reschedule",
    "onlinebooking:cancel",
}
EXTRA_ARGS = {
    "complaints:action": {"action": "acknowledge"},
    "privacy:export": {"fmt": "json"},
    "visits:extra_work_answer": {"item_pk": 999999},
    "visits:photo": {"photo_pk": 999999},
}


def routes_with_ids():
    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(
                    pattern.url_patterns,
                    prefix + str(pattern.pattern),
                    pattern.namespace or namespace,
                )
            elif "<int:" in prefix + str(pattern.pattern) or "<str:token>" in str(pattern.pattern):
                yield f"{namespace}:{pattern.name}"

    return set(walk(get_resolver().url_patterns))


def test_every_url_with_an_id_is_in_the_matrix():
    assert routes_with_ids() == set(PAGES) | set(API) | NOT_LOADED_BY_ID


@pytest.fixture
def shop():
    customer = CustomerFactory(phone="+8613812345678", marketing_consent=True)
    vehicle = VehicleFactory(owner=customer)
    visit = VisitFactory(vehicle=vehicle, customer=customer)
    task = due_task()
    holder = UserFactory(role="agent", username="agent-holder")
    FollowUpTask.objects.filter(pk=task.pk).update(
        status="claimed", assigned_to=holder, lease_expires_at=timezone.now() + timedelta(hours=1)
    )
    response = survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="sms",
        answers={"rel_fixed_right": 1, "nps": 2, "comment": "师傅态度差，私人意见"},
        submitted_at=timezone.now(),
        require_required=False,
    )
    complaint = complaint_services.complaint_create(
        customer=customer,
        by=UserFactory(role="manager", username="taker"),
        category="attitude",
        severity="low",
        channel="walk_in",
        description="门店投诉",
    )
    message = Message.objects.create(
        purpose="maintenance_reminder",
        channel="sms",
        recipient=customer.phone,
        object_key="vehicle:1:2026-12-01",
        customer=customer,
        body="保养提醒",
        status=Message.Status.GAVE_UP,
        next_attempt_at=timezone.now(),
    )
    reply = SmsReply.objects.create(
        provider="aliyun",
        dedupe_key="matrix",
        phone=customer.phone,
        text="请问周六营业吗",
        received_at=timezone.now(),
        customer=customer,
        interpretation="other",
    )
    campaign = Campaign.objects.create(
        name="矩阵召回",
        kind="recall",
        audience="vin_list",
        channel="call",
        starts_at=timezone.now() + timedelta(days=1),
        ends_on=timezone.localdate() + timedelta(days=30),
    )
    return {
        "campaign": campaign,
        "reply": reply,
        "customer": customer,
        "vehicle": vehicle,
        "visit": visit,
        "appointment": AppointmentFactory(vehicle=vehicle, customer=customer),
        "task": FollowUpTask.objects.get(pk=task.pk),
        "response": response,
        "complaint": complaint,
        "message": message,
    }


def signed_in(client, role):
    user = UserFactory(role=role, username=f"matrix-{role or 'nobody'}")
    client.force_login(user)
    return user


def page_url(name, obj):
    kwargs = {"vehicle_pk" if name == "visits:appointment_create" else "pk": obj.pk}
    return reverse(name, kwargs={**kwargs, **EXTRA_ARGS.get(name, {})})


@pytest.mark.parametrize("role", ROLES)
def test_every_page_refuses_a_role_without_its_permission(client, shop, role):
    from django.urls import resolve

    user = signed_in(client, role)
    checked = 0
    for name, kind in PAGES.items():
        url = page_url(name, shop[kind])
        view = resolve(url).func.view_class
        allowed = user.has_perm(view.permission_required)
        status = client.get(url).status_code
        if allowed:
            assert status != 403 or name in OBJECT_LEVEL, (role, name, status)
        else:
            assert status == 403, (role, name, status)
        checked += 1
    assert checked == len(PAGES)


# Pages where the permission is not enough: the object decides (checked below).
OBJECT_LEVEL = {
    "followups:call",
    "followups:outcome",
    "followups:reveal_phone",
    "customers:reveal_phone_admin",
    "complaints:complete",  # its taker, assignee or a manager (below)
}


@pytest.mark.parametrize("role", ROLES)
def test_the_api_reads_back_each_object_only_for_its_roles(shop, role):
    user = UserFactory(role=role, username=f"api-{role or 'nobody'}")
    client = APIClient()
    if role in ("dms_client", "hotline_client"):
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    else:
        client.force_login(user)
    for name, (kind, readers) in API.items():
        status = client.get(reverse(name, args=[shop[kind].pk])).status_code
        if role in readers:
            assert status == 200, (role, name, status)
        elif role == "hotline_client" and name == "api:complaint":
            assert status == 404  # not one of its own complaints
        else:
            assert status == 403, (role, name, status)


def test_an_agent_sees_only_the_call_they_hold(client, shop):
    task = shop["task"]
    signed_in(client, "agent")  # not the holder
    for name in ("followups:call", "followups:reveal_phone"):
        method = client.post if name == "followups:reveal_phone" else client.get
        assert method(reverse(name, args=[task.pk])).status_code == 403, name
    answer = client.post(reverse("followups:outcome", args=[task.pk]), {"outcome": "reached"})
    assert answer.status_code in (302, 403)
    assert FollowUpTask.objects.get(pk=task.pk).status == "claimed"  # nothing recorded
    notes = client.get(f"{reverse('complaints:create')}?task={task.pk}")
    assert notes.status_code == 403


def test_the_complaint_form_loads_each_id_parameter_through_its_access_helper(client, shop):
    signed_in(client, "advisor")
    for parameter, kind in PARAMETERS.items():
        status = client.get(f"{reverse('complaints:create')}?{parameter}={shop[kind].pk}")
        status = status.status_code
        # An advisor takes complaints for customers and visits, but reads neither survey
        # comments nor agents' call notes.
        expected = 403 if parameter in ("response", "task") else 200
        assert status == expected, (parameter, status)
    page = client.get(f"{reverse('complaints:create')}?response={shop['response'].pk}")
    assert "私人意见" not in page.content.decode()
    junk = client.get(f"{reverse('complaints:create')}?customer=999999")
    assert junk.status_code in (200, 404)


def test_only_who_works_a_complaint_completes_its_registration(client, shop):
    url = reverse("complaints:complete", args=[shop["complaint"].pk])
    for role in ("advisor", "agent"):  # may see complaints, but this one is the taker's
        signed_in(client, role)
        assert client.get(url).status_code == 403, role
        assert client.post(url, {"category": "other", "severity": "low"}).status_code == 403
    signed_in(client, "manager")
    assert client.get(url).status_code == 200
    shop["complaint"].refresh_from_db()
    assert shop["complaint"].category == "attitude"


@pytest.mark.parametrize("role", ROLES)
def test_bulk_posts_refuse_a_role_without_their_permission(client, shop, role):
    """The team queue's bulk cancel, for a call an agent holds: a 403 for every role but
    the supervisors, and for them the call is left to its agent (reported, not cancelled)."""
    from django.urls import resolve

    user = signed_in(client, role)
    for name, kind in BULK_POSTS.items():
        view = resolve(reverse(name)).func.view_class
        data = {"task": [shop[kind].pk], "action": "cancel", "reason": "矩阵"}
        status = client.post(reverse(name), data).status_code
        expected = 302 if user.has_perm(view.permission_required) else 403
        assert status == expected, (role, name, status)
        assert FollowUpTask.objects.get(pk=shop[kind].pk).status == "claimed"


def test_the_admin_reveal_route_is_for_administrators_only(client, shop):
    signed_in(client, "manager")  # may reveal on the customer page, not through the admin
    url = reverse("customers:reveal_phone_admin", args=[shop["customer"].pk])
    assert client.post(url).status_code == 403


# Public, no login (the customer's WeChat browser): the customer id travels only inside a
# signed offer and a one-time state (messaging.binding), never as a bare id, so no role —
# signed in or not — can name a customer there (tests/messaging/test_wechat.py: the flow).
SIGNED_CUSTOMER = {"messaging:wechat_bind": "offer", "messaging:wechat_callback": "state"}


@pytest.mark.parametrize("role", ROLES)
def test_the_wechat_binding_takes_no_bare_customer_id(client, shop, role):
    if role is not None:
        signed_in(client, role)
    customer = shop["customer"]
    for name, parameter in SIGNED_CUSTOMER.items():
        answer = client.get(reverse(name), {parameter: str(customer.pk), "code": "X"})
        assert answer.status_code == 400, (role, name, answer.status_code)
    customer.refresh_from_db()
    assert customer.wechat_openid == "" and customer.wechat_bound_at is None
