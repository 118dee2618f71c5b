"""Bad input never 500s (issue 15), case by case: days outside the shop's calendar are a
400 with a message on report pages, filter pages and the API; NUL and lone surrogates in a
query parameter or form field are a 400 before any view; the admin's date hierarchy turns
impossible years into its "incorrect lookup" redirect. (tests/test_bad_input_fuzz.py sends
such values to every URL.)"""

import json
from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.test import RequestFactory
from django.urls import reverse

from api.serializers import DAY_PATTERN
from customers.sync import CUSTOMER_RECORD, VEHICLE_RECORD
from followups import services as followup_services
from shopcalendar.rules import FIRST_DAY, LAST_DAY, check_day
from shopcrm import sync
from shopcrm.middleware import RefuseUnstorableInputMiddleware
from surveys.sync import SURVEY_RESPONSE_RECORD
from tests.api import conftest as api_fixtures
from tests.api.conftest import post
from tests.api.test_sync import customer, vehicle, visit
from tests.factories import CustomerFactory, UserFactory
from visits.sync import APPOINTMENT_RECORD, VISIT_RECORD, WORK_ITEM_RECORD

OUT_OF_RANGE = "日期须在 2000-01-01 到 2100-12-31 之间。"
UNSTORABLE = "请求中含有无法处理的字符"


# ---------------------------------------------------------------- the calendar's days


pytestmark = pytest.mark.django_db
dms_user, dms = api_fixtures.dms_user, api_fixtures.dms  # tests/api's DMS token client


def test_the_days_a_filter_may_name():
    for day in (FIRST_DAY, LAST_DAY, date(2026, 11, 29), datetime(2100, 12, 31, 23, 59), None):
        check_day(day)
    for day in (date(1, 1, 1), date(1999, 12, 31), date(2101, 1, 1), datetime(9999, 12, 31)):
        with pytest.raises(ValidationError) as refused:
            check_day(day)
        assert refused.value.messages == [OUT_OF_RANGE]


def test_the_schema_pattern_says_the_same_range():
    import re

    pattern = re.compile(DAY_PATTERN)
    assert pattern.search(FIRST_DAY.isoformat()) and pattern.search(LAST_DAY.isoformat())
    assert not pattern.search("1999-12-31") and not pattern.search("2101-01-01")
    assert not pattern.search("0001-01-01") and not pattern.search("9999-12-31")


FAR_PAGES = [
    ("reports:dashboard", {"preset": "custom", "start": "9999-12-30", "end": "9999-12-31"}),
    ("reports:dashboard", {"preset": "custom", "start": "0001-01-01", "end": "0001-01-02"}),
    ("reports:visits", {"preset": "custom", "start": "2024-01-01", "end": "9999-12-31"}),
    ("reports:customers", {"as_of": "0001-01-01"}),
    ("reports:vehicles", {"as_of": "0001-01-01"}),
    ("reports:service_due", {"as_of": "9999-12-31"}),
    ("reports:service_due_csv", {"as_of": "0001-01-01"}),
    ("surveys:list", {"end": "9999-12-31"}),
    ("complaints:list", {"start": "0001-01-01", "end": "9999-12-31"}),
]


@pytest.mark.parametrize(("name", "query"), FAR_PAGES)
def test_a_far_day_on_a_page_is_a_400_with_the_message(manager_client, name, query):
    """Each of these answered 500 (OverflowError or ValueError) before."""
    answer = manager_client.get(reverse(name), query)
    assert answer.status_code == 400
    assert OUT_OF_RANGE in answer.content.decode()


def test_a_far_day_on_an_export_is_refused_with_a_message(manager_client):
    query = {"preset": "custom", "start": "9999-12-30", "end": "9999-12-31"}
    answer = manager_client.get(reverse("reports:export_csv", args=["summary"]), query)
    assert answer.status_code == 302  # back to the dashboard, which says why
    for name in ("surveys:export_csv", "complaints:export_csv"):
        assert manager_client.get(reverse(name), {"end": "9999-12-31"}).status_code == 302


FAR_API = [
    ("/api/v1/reports/summary/", {"start": "9999-12-30", "end": "9999-12-31"}, "start"),
    ("/api/v1/reports/complaint-categories/", {"start": "2024-01-01", "end": "9999-12-31"}, "end"),
    ("/api/v1/reports/lost-reasons/", {"start": "2024-01-01", "end": "9999-12-31"}, "end"),
    ("/api/v1/reports/churn/", {"as_of": "0001-01-01"}, "as_of"),
    ("/api/v1/reports/segments/", {"as_of": "0001-01-01"}, "as_of"),
    ("/api/v1/visits/", {"delivered_to": "9999-12-31"}, "delivered_to"),
    ("/api/v1/visits/", {"checked_in_from": "1999-12-31"}, "checked_in_from"),
    ("/api/v1/complaints/", {"received_to": "9999-12-31"}, "received_to"),
    ("/api/v1/survey-responses/", {"submitted_to": "9999-12-31"}, "submitted_to"),
    ("/api/v1/customers/", {"updated_since": "0001-01-01T00:00:00"}, "updated_since"),
    ("/api/v1/vehicles/", {"updated_since": "9999-12-31T23:59:59"}, "updated_since"),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("url", "query", "field"), FAR_API)
def test_a_far_day_in_the_api_is_a_400_naming_the_parameter(manager_client, url, query, field):
    answer = manager_client.get(url, query)
    assert answer.status_code == 400
    assert answer.json()[field] == [OUT_OF_RANGE]


def test_a_period_of_the_calendar_s_last_days_still_works(manager_client):
    query = {"preset": "custom", "start": "2100-12-30", "end": "2100-12-31"}
    assert manager_client.get(reverse("reports:dashboard"), query).status_code == 200
    answer = manager_client.get(
        "/api/v1/reports/summary/", {"start": "2000-01-01", "end": "2000-01-31"}
    )
    assert answer.status_code == 200


def test_a_typed_promise_outside_the_calendar_is_a_form_error(client, db):
    client.force_login(UserFactory(role="advisor", username="bad-input-advisor"))
    answer = client.post(reverse("visits:check_in"), {"promised_at": "9999-12-31T23:59"})
    assert answer.status_code in (200, 400) and OUT_OF_RANGE in answer.content.decode()


# ---------------------------------------------------------------- NUL and surrogates


@pytest.mark.postgres
def test_nul_in_a_search_is_a_400_page_not_a_database_error(manager_client):
    """PostgreSQL refuses NUL in text: the search answered 500 (DataError) before."""
    CustomerFactory(name="王芳")
    answer = manager_client.get("/search/?q=%E7%8E%8B%00")
    assert answer.status_code == 400
    assert UNSTORABLE in answer.content.decode()
    assert manager_client.get("/search/?q=%E7%8E%8B").status_code == 200


@pytest.mark.postgres
def test_nul_in_an_api_filter_is_a_json_400(manager_client):
    answer = manager_client.get("/api/v1/customers/?external_id=%00")
    assert answer.status_code == 400
    assert UNSTORABLE in answer.json()["detail"]


def test_nul_in_a_parameter_name_or_a_posted_field_is_a_400(manager_client):
    assert manager_client.get("/complaints/?%00=1").status_code == 400
    customer = CustomerFactory()
    answer = manager_client.post(
        reverse("customers:edit", args=[customer.pk]), {"customer_name": "李\x00雷"}
    )
    assert answer.status_code == 400 and UNSTORABLE in answer.content.decode()
    customer.refresh_from_db()
    assert "\x00" not in customer.name


def test_an_anonymous_visitor_gets_the_400_too(client, db):
    assert client.get("/s/some-token/?x=%00").status_code == 400


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "\x00"])
def test_the_middleware_refuses_what_no_text_column_holds(db, method, value):
    """Django decodes a query string or form body as UTF-8 with replacement, so a lone
    surrogate cannot arrive over HTTP today; the middleware refuses one all the same."""
    request = RequestFactory().generic(method, "/search/")
    request.user = UserFactory(username="bad-input-user")
    params = QueryDict(mutable=True)
    params.update({"q": value})
    setattr(request, method, params)
    reached = []
    middleware = RefuseUnstorableInputMiddleware(lambda r: reached.append(r) or HttpResponse())
    assert middleware(request).status_code == 400 and reached == []
    api = RequestFactory().generic(method, "/api/v1/customers/")
    setattr(api, method, params)
    answer = middleware(api)
    assert answer.status_code == 400
    assert UNSTORABLE in json.loads(answer.content)["detail"]


def test_the_middleware_lets_ordinary_text_through(db):
    request = RequestFactory().get("/search/", {"q": "粤B12345 \ufffd 😀"})
    answer = RefuseUnstorableInputMiddleware(lambda r: HttpResponse("ok"))(request)
    assert answer.status_code == 200


# ---------------------------------------------------------------- the admin


@pytest.mark.parametrize(
    "query",
    [
        {"created_at__year": "2147483648"},
        {"created_at__year": "9" * 30},
        {"created_at__year": "9999"},
        {"created_at__year": "9999", "created_at__month": "12", "created_at__day": "31"},
    ],
)
def test_the_admin_date_hierarchy_calls_an_impossible_year_an_incorrect_lookup(client, db, query):
    """Django catches only a ValueError of the first date it builds: these were 500s."""
    client.force_login(UserFactory(role="admin", username="bad-input-admin"))
    CustomerFactory()
    answer = client.get("/admin/customers/customer/", query)
    assert answer.status_code == 302 and answer["Location"].endswith("?e=1")


# ---------------------------------------------------------------- the DMS sync


@pytest.mark.postgres
@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00", "9999-12-31T23:59:59-12:00", "1999-12-31T23:00:00+08:00"]
)
def test_a_synced_moment_outside_the_calendar_is_a_record_error(dms, manager_client, moment):
    """Stored, such a moment came back from PostgreSQL as a DataError: the dashboard, the
    read-back and the reminder and win-back sweeps answered 500 (or failed) from then on."""
    post(dms, "customers", [customer(1)])
    post(dms, "vehicles", [vehicle(1)])
    record = visit(1, status="delivered", checked_in_at=moment, delivered_at=moment)
    answer = post(dms, "visits", [record, visit(2, vehicle_n=1)])
    assert answer.status_code == 200
    body = answer.json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["errors"][0]["errors"] == {
        "checked_in_at": [OUT_OF_RANGE],
        "delivered_at": [OUT_OF_RANGE],
    }
    assert manager_client.get(reverse("reports:dashboard")).status_code == 200
    assert manager_client.get(reverse("reports:customers")).status_code == 200
    assert dms.get("/api/v1/visits/").status_code == 200
    followup_services.reminder_create_due()
    followup_services.win_back_create_due()


def test_every_synced_moment_is_checked_against_the_calendar():
    declarations = (
        CUSTOMER_RECORD,
        VEHICLE_RECORD,
        VISIT_RECORD,
        WORK_ITEM_RECORD,
        SURVEY_RESPONSE_RECORD,
        APPOINTMENT_RECORD,
    )
    for declaration in declarations:
        for field in declaration.fields:
            if isinstance(field, sync.Moment):
                assert field.check is check_day, (declaration.model.__name__, field.name)
