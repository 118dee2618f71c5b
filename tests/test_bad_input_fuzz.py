"""Bad input never 500s (issue 15): a Schemathesis for the pages. Every URL pattern of the
project is requested as each role, a DMS token client and an anonymous visitor, with hostile
values in the query parameters its view reads (the fields of the forms a view builds from
``request.GET``, its ``request.GET.get("…")`` reads, the API's own schema, the admin's change
list parameters) and in names any page might read: dates no calendar arithmetic survives,
NUL, a lone surrogate (as a client would encode one; Django decodes it as U+FFFD), very
long text, negative and huge numbers. Nothing may answer 5xx. Then the key forms are
posted with NUL (and JSON with lone surrogates): a 400 or a form error, and nothing
written.

Sampling, to stay near a minute on two cores: each view is searched in depth once (one
hostile value per parameter, the others at values that reach the deep code: a custom
period, a date to report on), by the user who may see most; every other URL and role gets
the generic values in every parameter at once."""

import inspect
import json
import random
import re
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

import pytest
from django import forms
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from complaints import services as complaint_services
from complaints.models import Complaint
from customers.forms import CustomerEditForm
from customers.models import Customer, Vehicle
from followups import services as followup_services
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.api import conftest as api_fixtures
from tests.factories import (
    AppointmentFactory,
    UserFactory,
    api_key,
    contact_all_day,
    valid_vin,
)
from tests.surveys.conftest import make_delivered_visit
from tests.surveys.test_services import GOOD
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
dms_user, dms = api_fixtures.dms_user, api_fixtures.dms  # tests/api's DMS token client

ROLES = ["advisor", "agent", "manager", "admin"]
SURROGATE = "%ED%A0%80"  # U+D800 as a client encodes it (sent as it is, never re-quoted)
NUL = "\x00"
LONG = "长" * 3000
GENERIC = [NUL, SURROGATE, LONG, "-1", "1e309", "-99999999999999999999"]
KIND_VALUES = {
    "date": ["0001-01-01", "9999-12-30", "9999-12-31", "1999-12-31", "2101-01-01", "2024-02-30"],
    "datetime": [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59-12:00",
        "2024-13-01T00:00",
    ],
    "int": ["2147483648", "9" * 30, "NaN", "1.5"],
    "text": [LONG, "0001-01-01"],
}
# Names any page or endpoint might read, tried everywhere (all at once, a value at a time).
COMMON = [
    *("as_of", "start", "end", "date", "from", "to", "period", "preset", "updated_since"),
    *("page", "page_size", "cursor", "q", "status", "kind", "advisor", "agent", "owner"),
    *("within", "show", "band", "state", "tier", "customer", "vehicle", "visit", "task"),
    *("response", "next", "format", "lang", "_to_field", "o", "p", "e", "late", "comeback"),
    *("not_contacted", "due", "channel", "category", "severity", "overdue", "alerts_only"),
]
# Values that reach the deep code paths: a custom period, a date to report on.
BASELINE = {
    "preset": "custom",
    "start": "2024-01-01",
    "end": "2024-12-31",
    "as_of": "2024-06-30",
    "within": "30",
}
SLUGS = {
    "table": ["summary", "months", "advisors", "categories", "drivers", "bands", "tiers", "x"],
    "action": ["acknowledge", "x"],
    "token": ["not-a-token", NUL],
    "url": ["x/"],
}
ADMIN_NAMES = ["q", "o", "p", "e", "all", "_popup", "_to_field", "_changelist_filters"]
ADMIN_YEARS = ["0", "1", "9999", "10000", "2147483648", "9" * 30]


# ---------------------------------------------------------------- the shop


@pytest.fixture
def shop(db):
    """One of each record a URL can name, and a user per role."""
    contact_all_day()
    users = {role: UserFactory(role=role, username=f"fuzz-{role}") for role in ROLES}
    visit = make_delivered_visit(hours_ago=30)
    visit.advisor = users["advisor"]
    visit.save()
    task = followup_services.post_service_task_create(visit_id=visit.pk)
    response = survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="web",
        answers={**GOOD, "nps": 3},
        submitted_at=timezone.now(),
        require_required=False,
    )
    complaint = complaint_services.complaint_create(
        customer=visit.customer,
        by=users["manager"],
        category="overcharging",
        severity="medium",
        channel="phone",
        description="收费比报价高",
        visit=visit,
    )
    return {
        "users": users,
        "customer": visit.customer,
        "vehicle": visit.vehicle,
        "visit": visit,
        "task": task,
        "response": response,
        "complaint": complaint,
        "appointment": AppointmentFactory(vehicle=visit.vehicle),
    }


RECORD_OF_URL = {
    "customers": "customer",
    "visits": "visit",
    "followups": "task",
    "surveys": "response",
    "complaints": "complaint",
    "api:customer": "customer",
    "api:vehicle": "vehicle",
    "api:visit": "visit",
    "api:follow_up_task": "task",
    "api:survey_response": "response",
    "api:complaint": "complaint",
    "visits:appointment_cancel": "appointment",
}


def path_values(name: str, kwarg: str, shop) -> list:
    """Values for a URL's ``<…>`` parts: the ids of real records, slugs that exist and
    junk."""
    namespace, _, short = name.rpartition(":")
    if kwarg in SLUGS:
        return SLUGS[kwarg]
    if kwarg == "vehicle_pk":
        return [shop["vehicle"].pk]
    if kwarg == "app_label":
        return [Customer._meta.app_label]
    if kwarg == "content_type_id":
        return [ContentType.objects.get_for_model(Customer).pk]
    if namespace == "admin":
        for model in admin.site._registry:
            if short.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
                return [model._default_manager.values_list("pk", flat=True).first() or 1]
        return [shop["customer"].pk]
    record = RECORD_OF_URL.get(name) or RECORD_OF_URL.get(namespace)
    return [shop[record].pk if record else 1]


def url_patterns(resolver=None, namespace="", prefix=""):
    """(full name or None, route prefix, pattern) of every URL pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), prefix, entry


def urls_of(shop) -> list[tuple[str, object, str]]:
    """(url, view, name) for every pattern and each value of its path parts."""
    found = []
    for name, prefix, entry in url_patterns():
        regex = entry.pattern.regex
        if name is None:  # the admin's bare-id redirect and its catch-all
            route = prefix + str(entry.pattern)
            url = re.sub(r"<[^>]+>", "1", route.replace("(?P<url>.*)$", "x/"))
            found.append(("/" + url.lstrip("^"), entry.callback, route))
        elif regex.groups > len(regex.groupindex):  # positional groups (simple_history's)
            args = path_values(name, "object_id", shop) * regex.groups
            found.append((reverse(name, args=args), entry.callback, name))
        else:
            kwargs = list(regex.groupindex)
            for values in _product([path_values(name, kwarg, shop) for kwarg in kwargs]):
                url = reverse(name, kwargs=dict(zip(kwargs, values, strict=True)) or None)
                found.append((url, entry.callback, name))
    return found


def _product(choices):
    if not choices:
        yield ()
        return
    for first in choices[0]:
        for rest in _product(choices[1:]):
            yield (first, *rest)


# ---------------------------------------------------------------- the parameters


def _kind(field) -> str:
    if isinstance(field, forms.DateTimeField):
        return "datetime"
    if isinstance(field, forms.DateField):
        return "date"
    if isinstance(field, forms.IntegerField | forms.ModelChoiceField):
        return "int"
    return "text"


def page_parameters(view) -> dict[str, str]:
    """{name: kind} of the query parameters a page reads: every field of a form it builds
    from ``request.GET``, every ``request.GET.get("…")``, in its view's source and in the
    module's helpers it hands the request to."""
    view = getattr(view, "view_class", None) or view
    module = inspect.getmodule(view)
    if module is None or module.__name__.split(".")[0] in ("django", "drf_spectacular"):
        return {}
    source = inspect.getsource(view)
    for helper in set(re.findall(r"\b(\w+)\(\s*request\b", source)):
        if inspect.isfunction(getattr(module, helper, None)):
            source += inspect.getsource(getattr(module, helper))
    found = dict.fromkeys(re.findall(r"request\.GET\.get(?:list)?\(\s*\"(\w+)\"", source), "text")
    for form_name in set(re.findall(r"(\w+Form)\(\s*request\.GET", source)):
        found.update({n: _kind(f) for n, f in getattr(module, form_name).base_fields.items()})
    return found


def api_parameters() -> dict[str, dict[str, str]]:
    """Path (ids as ``{}``) → {query parameter: kind}, from the API's own OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, operations in schema["paths"].items():
        params = {}
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query":
                shape = parameter.get("schema", {})
                kind = {"date": "date", "date-time": "datetime"}.get(shape.get("format"))
                params[parameter["name"]] = kind or (
                    "int" if shape.get("type") == "integer" else "text"
                )
        found[re.sub(r"\{\w+\}", "{}", path)] = params
    return found


def admin_parameters(name: str) -> dict[str, str]:
    """A change list's own names and its list filters' (its date hierarchy is separate)."""
    params = dict.fromkeys(ADMIN_NAMES, "text")
    model_admin = _admin_of_changelist(name)
    for entry in model_admin.list_filter if model_admin else ():
        if isinstance(entry, str):
            field = model_admin.model._meta.get_field(entry.split("__")[0])
            kind = "date" if isinstance(field, models.DateField) else "text"
            params.update({f"{entry}__exact": kind, f"{entry}__gte": kind})
    return params


def _admin_of_changelist(name: str):
    for model, model_admin in admin.site._registry.items():
        if name == f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist":
            return model_admin
    return None


# ---------------------------------------------------------------- sending


def query_string(params: dict[str, str]) -> str:
    """URL-encoded, except the pre-encoded surrogate, which goes as a client sent it."""

    def encoded(text):
        return text if text == SURROGATE else quote(str(text), safe="")

    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in params.items())


class Fuzzer:
    def __init__(self):
        self.sent = 0
        self.statuses = Counter()
        self.server_errors = []

    def get(self, client, who: str, url: str, params: dict) -> int:
        answer = client.get(f"{url}?{query_string(params)}" if params else url)
        self.sent += 1
        self.statuses[f"{answer.status_code // 100}xx"] += 1
        if answer.status_code >= 500:
            self.server_errors.append((who, answer.status_code, url, params))
        return answer.status_code

    def deep(self, client, who: str, url: str, params: dict[str, str]) -> None:
        """One hostile value at a time, the other parameters at their baseline; every date
        at once (a period from and to the same far day); then the generic values in all of
        them and in every common name at once."""
        baseline = {name: BASELINE[name] for name in params if name in BASELINE}
        for name, kind in params.items():
            for value in KIND_VALUES[kind]:
                self.get(client, who, url, {**baseline, name: value})
        days = [name for name, kind in params.items() if kind == "date"]
        for value in KIND_VALUES["date"] if len(days) > 1 else ():
            self.get(client, who, url, {**baseline, **dict.fromkeys(days, value)})
        self.bundled(client, who, url, params, GENERIC, far_days=False)

    def bundled(self, client, who, url, params: dict[str, str], values, far_days=True) -> None:
        """Each value in every parameter and common name at once; then the farthest day in
        each date, the others at their baseline."""
        names = [*params, *(name for name in COMMON if name not in params)]
        for value in values:
            self.get(client, who, url, dict.fromkeys(names, value))
        for name, kind in params.items() if far_days else ():
            if kind in ("date", "datetime"):
                baseline = {n: BASELINE[n] for n in params if n in BASELINE}
                self.get(client, who, url, {**baseline, name: KIND_VALUES[kind][2]})

    def admin_changelist(self, client, url: str, name: str) -> None:
        """Django's own code: the generic values everywhere at once, the dates of its list
        filters, and its date hierarchy's years (which it turns into dates itself)."""
        self.bundled(client, "admin", url, admin_parameters(name), GENERIC[:3])
        hierarchy = _admin_of_changelist(name).date_hierarchy
        if hierarchy:
            for year in ADMIN_YEARS:
                self.get(client, "admin", url, {f"{hierarchy}__year": year})
            for month, day in (("12", "31"), ("13", "1"), ("1", "99")):
                parts = {"year": "9999", "month": month, "day": day}
                self.get(client, "admin", url, {f"{hierarchy}__{k}": v for k, v in parts.items()})


@pytest.fixture
def everyone(shop, dms, monkeypatch):
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {"user": "100000/min", "anon": "100000/min"}
    )
    found = {}
    for role, user in shop["users"].items():
        found[role] = Client(raise_request_exception=False)
        found[role].force_login(user)
    dms.raise_request_exception = False
    found["dms token"] = dms
    found["anonymous"] = Client(raise_request_exception=False)
    return found


def test_no_page_or_endpoint_answers_5xx_to_hostile_query_parameters(shop, everyone):
    api = api_parameters()
    fuzzer = Fuzzer()
    rng = random.Random(15)
    searched = set()
    urls = urls_of(shop)
    for url, view, name in urls:
        if name.startswith("admin:") or url.startswith("/admin/"):
            if name.endswith("_changelist"):
                fuzzer.admin_changelist(everyone["admin"], url, name)
            elif rng.random() < 0.2:  # the other admin views: a sample, generic values only
                fuzzer.bundled(everyone["admin"], "admin", url, {}, GENERIC[:2])
            continue
        if url.startswith("/api/"):
            params = api.get(re.sub(r"/\d+/", "/{}/", url), {})
            order = ["dms token", "admin", "manager", "advisor", "agent", "anonymous"]
        else:
            params = page_parameters(view)
            order = ["admin", "manager", "advisor", "agent", "anonymous", "dms token"]
        baseline = {name: BASELINE[name] for name in params if name in BASELINE}
        answers = {who: fuzzer.get(everyone[who], who, url, baseline) for who in order}
        # The search in depth goes to the first who may see the page; the others (and the
        # page's other URLs) get the generic values.
        first = next((who for who in order if answers[who] == 200), order[0])
        key = getattr(view, "view_class", view)
        if key in searched:
            fuzzer.bundled(everyone[first], first, url, params, GENERIC[:3])
        else:
            searched.add(key)
            fuzzer.deep(everyone[first], first, url, params)
        for who in order:
            if who != first and answers[who] == 200:
                fuzzer.bundled(everyone[who], who, url, {}, GENERIC[:2])
    print(f"\nbad-input fuzz: {fuzzer.sent} requests, {len(urls)} URLs, {dict(fuzzer.statuses)}")
    assert fuzzer.server_errors == [], fuzzer.server_errors[:10]
    assert fuzzer.statuses["5xx"] == 0


# ---------------------------------------------------------------- forms


def _written():
    return (Customer.objects.count(), Vehicle.objects.count(), Visit.objects.count())


@pytest.fixture
def check_in():
    """A check-in the desk may send (a test below proves it is accepted)."""
    promised = timezone.localtime() + timedelta(days=1)
    return {
        "customer_name": "王芳",
        "customer_phone": "13912345678",
        "plate": "粤B54321",
        "vin": valid_vin(424242),
        "brand": "大众",
        "model": "朗逸",
        "registration_date": "2020-05-01",
        "service_type": "maintenance",
        "concern": "保养",
        "odometer_km": "12000",
        "promised_at": promised.strftime("%Y-%m-%dT%H:%M"),
        "by_appointment": "0",
    }


def test_the_good_check_in_is_accepted(shop, everyone, check_in):
    answer = everyone["advisor"].post(reverse("visits:check_in"), check_in)
    assert answer.status_code == 302 and Visit.objects.filter(vehicle__plate="粤B54321").exists()


@pytest.mark.parametrize("value", [f"abc{NUL}", NUL])
def test_check_in_with_nul_in_any_field_is_a_400_and_writes_nothing(
    shop, everyone, check_in, value
):
    before = _written()
    for field in check_in:
        answer = everyone["advisor"].post(reverse("visits:check_in"), {**check_in, field: value})
        assert answer.status_code == 400, field
        assert "NUL" in answer.content.decode()
    assert _written() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("promised_at", "0001-01-01T00:00"),
        ("promised_at", "9999-12-31T23:59"),
        ("promised_at", "10000-01-01T00:00"),
        ("registration_date", "9999-12-31"),
        ("odometer_km", "9" * 30),
    ],
)
def test_check_in_with_a_date_outside_the_calendar_is_a_form_error(
    shop, everyone, check_in, field, value
):
    before = _written()
    answer = everyone["advisor"].post(reverse("visits:check_in"), {**check_in, field: value})
    assert answer.status_code in (200, 400) and "is-invalid" in answer.content.decode()
    assert _written() == before


def test_customer_edit_and_a_new_complaint_with_nul_write_nothing(shop, everyone):
    customer = shop["customer"]
    manager = everyone["manager"]
    edit = reverse("customers:edit", args=[customer.pk])
    good_edit = {
        name: value
        for name, value in CustomerEditForm.initial_for(customer).items()
        if value not in (None, False)
    }
    new_complaint = f"{reverse('complaints:create')}?customer={customer.pk}"
    good_complaint = {"channel": "phone", "category": "overcharging", "severity": "medium"}
    name, complaints = customer.name, Complaint.objects.count()
    for value in [f"李{NUL}雷", NUL]:
        for field in good_edit:
            assert manager.post(edit, {**good_edit, field: value}).status_code == 400, field
        for field in [*good_complaint, "description"]:
            complaint = {**good_complaint, "description": "等了很久", field: value}
            assert manager.post(new_complaint, complaint).status_code == 400, field
    customer.refresh_from_db()
    assert customer.name == name and Complaint.objects.count() == complaints
    # The same forms, sent well, are accepted: the refusals above were the NUL's.
    assert manager.post(edit, {**good_edit, "customer_name": "李雷"}).status_code == 302
    assert (
        manager.post(new_complaint, {**good_complaint, "description": "等了很久"}).status_code
        == 302
    )


def test_a_surrogate_in_a_form_body_arrives_as_replacement_characters(shop, everyone):
    """A lone surrogate cannot travel in a form body: its bytes are not UTF-8, and Django
    decodes them as U+FFFD (a browser sends the same), which is ordinary text."""
    customer = shop["customer"]
    good_edit = {
        name: value
        for name, value in CustomerEditForm.initial_for(customer).items()
        if value not in (None, False)
    }
    others = {name: value for name, value in good_edit.items() if name != "customer_name"}
    body = f"{query_string(others)}&customer_name={quote('李')}{SURROGATE}"
    answer = everyone["manager"].generic(
        "POST",
        reverse("customers:edit", args=[customer.pk]),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 302
    customer.refresh_from_db()
    assert customer.name.startswith("李\ufffd")


def test_the_hotline_api_refuses_nul_surrogates_and_far_dates_in_json(shop):
    hotline = APIClient(raise_request_exception=False)
    user = UserFactory(role="hotline_client", username="fuzz-hotline")
    hotline.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    good = {
        "external_id": "HL-1",
        "customer_phone": "13900000001",
        "category": "overcharging",
        "description": "收费比报价高",
    }
    shop["customer"].phone = "+8613900000001"
    shop["customer"].save()
    complaints = Complaint.objects.count()
    bad = [(field, value) for field in good for value in (NUL, "\ud800", f"x{NUL}", "x\udfff")]
    bad += [("received_at", value) for value in KIND_VALUES["datetime"]]
    for field, value in bad:
        body = json.dumps({**good, field: value})  # JSON may carry a lone surrogate
        answer = hotline.generic(
            "POST", "/api/v1/complaints/", body, content_type="application/json"
        )
        assert answer.status_code == 400, (field, value, answer.status_code)
    assert Complaint.objects.count() == complaints
    answer = hotline.post("/api/v1/complaints/", good, format="json")
    assert answer.status_code == 201
