"""Erasure (PIPL): the customer is anonymised in every table, history included; visits,
answers and complaints stay as anonymous statistics; the erasure is recorded; and a dump of
the whole database afterwards holds neither the name nor the phone."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection

from api.models import IdempotencyRecord
from complaints.models import Complaint, ComplaintEvent
from customers.models import Customer, PhoneReveal, Vehicle
from followups.models import CallAttempt, FollowUpTask
from messaging.models import Message
from privacy import selectors, services
from privacy.inventory import ERASED_TEXT
from privacy.models import ErasureRecord, Via
from shopcrm.errors import DomainError
from surveys.models import Answer, SurveyResponse
from tests.factories import CustomerFactory
from tests.privacy.conftest import EXTERNAL_ID, NAME, PHONE, SECRETS
from visits.models import Appointment, Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def database_text() -> dict[str, str]:
    """Every row of every table of the test database, as text, by table."""
    dump = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT t::text FROM {quoted} AS t")  # noqa: S608 (table names)
            dump[table] = "\n".join(row[0] for row in cursor.fetchall())
    return dump


def tables_holding(secret: str) -> list[str]:
    return sorted(table for table, text in database_text().items() if secret in text)


def test_before_the_erasure_the_data_is_everywhere(everywhere):
    """The fixture really puts the name and phone in the places erasure must reach."""
    assert set(tables_holding(NAME)) >= {
        "customers_customer",
        "customers_historicalcustomer",
        "visits_appointment",
        "visits_visit",
        "visits_historicalvisit",
        "followups_followuptask",
        "followups_historicalfollowuptask",
        "followups_callattempt",
        "surveys_answer",
        "complaints_complaint",
        "complaints_complaintevent",
        "messaging_message",
        "messaging_smsreply",
        "customers_phonereveal",
        "api_idempotencyrecord",
        "django_admin_log",
    }
    assert "customers_historicalcustomer" in tables_holding(PHONE)


def test_after_the_erasure_no_table_holds_the_name_or_the_phone(everywhere):
    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    dump = database_text()
    found = {
        secret: sorted(table for table, text in dump.items() if secret in text)
        for secret in SECRETS
    }
    # The erasure record keeps the DMS number (to ask the DMS to erase its copy), and only it.
    assert found.pop(EXTERNAL_ID) == ["privacy_erasurerecord"]
    assert {secret: tables for secret, tables in found.items() if tables} == {}


def test_the_customer_is_anonymised_and_may_not_be_contacted(everywhere):
    customer = everywhere.customer
    services.customer_erase(customer=customer, by=everywhere.manager)
    customer.refresh_from_db()
    assert customer.name == f"已删除客户 #{customer.pk}"
    assert customer.phone == f"#{customer.pk}-erased"
    assert (customer.phone2, customer.email, customer.wechat_openid) == ("", "", "")
    assert customer.external_id is None
    assert customer.do_not_contact and not customer.marketing_consent
    duplicate = Customer.objects.get(pk=everywhere.duplicate.pk)
    assert duplicate.name == f"已删除客户 #{duplicate.pk}" and duplicate.merged_into == customer
    vehicle = Vehicle.objects.get(pk=everywhere.vehicle.pk)
    assert vehicle.plate == "" and vehicle.vin == f"ERASED{vehicle.pk:011d}"
    # The latest history row says who erased it, and holds nothing of the customer.
    latest = customer.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user == everywhere.manager
    assert latest.history_change_reason == services.ERASED_REASON


def test_planned_work_is_cancelled_and_every_text_is_wiped(everywhere):
    customer = everywhere.customer
    services.customer_erase(customer=customer, by=everywhere.manager)
    assert set(Message.objects.filter(customer=customer).values_list("status", flat=True)) <= {
        Message.Status.CANCELLED,
        Message.Status.SENT,
    }
    assert not FollowUpTask.objects.filter(customer=customer, status__in=FollowUpTask.OPEN)
    assert set(Visit.objects.values_list("concern", "walkaround_notes")) == {("", "")}
    assert set(Appointment.objects.values_list("notes", flat=True)) == {""}
    assert set(FollowUpTask.objects.values_list("reason", "outcome_note")) == {("", "")}
    assert set(CallAttempt.objects.values_list("notes", flat=True)) == {""}
    assert set(Answer.objects.values_list("text", flat=True)) == {""}
    # Two complaints: the one the call's issue became (issue 16, bug 11), and the walk-in.
    assert set(Complaint.objects.values_list("description", flat=True)) == {ERASED_TEXT}
    complaint = Complaint.objects.exclude(resolution="").get()
    assert complaint.description == complaint.resolution == complaint.corrective_action
    assert set(ComplaintEvent.objects.values_list("text", flat=True)) == {""}
    assert set(PhoneReveal.objects.values_list("context", flat=True)) == {""}
    # The stored answer that quoted the name is gone; the sync's plain counts stay.
    assert list(IdempotencyRecord.objects.values_list("endpoint", flat=True)) == ["customers"]
    assert NAME not in str(IdempotencyRecord.objects.get().response)
    entry = LogEntry.objects.get()
    assert (entry.object_repr, entry.user) == (f"#{customer.pk}", everywhere.manager)


def test_the_erasure_sends_nothing_and_plans_nothing(
    everywhere, django_capture_on_commit_callbacks
):
    from messaging.backends import LocmemBackend

    LocmemBackend.outbox.clear()
    counts = (Message.objects.count(), FollowUpTask.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    assert (Message.objects.count(), FollowUpTask.objects.count()) == counts
    assert LocmemBackend.outbox == []


def test_statistics_stay(everywhere):
    """Ids, dates, scores and amounts are untouched."""
    before = {
        "visit": list(Visit.objects.values_list("pk", "status", "delivered_at", "total_amount")),
        "responses": list(SurveyResponse.objects.values_list("pk", "csi", "nps_score", "visit")),
        "answers": list(Answer.objects.values_list("pk", "value", "points")),
        "complaints": list(
            Complaint.objects.values_list("pk", "category", "status", "received_at", "resolved_at")
        ),
        "calls": list(CallAttempt.objects.values_list("pk", "outcome", "started_at")),
    }
    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    after = {
        "visit": list(Visit.objects.values_list("pk", "status", "delivered_at", "total_amount")),
        "responses": list(SurveyResponse.objects.values_list("pk", "csi", "nps_score", "visit")),
        "answers": list(Answer.objects.values_list("pk", "value", "points")),
        "complaints": list(
            Complaint.objects.values_list("pk", "category", "status", "received_at", "resolved_at")
        ),
        "calls": list(CallAttempt.objects.values_list("pk", "outcome", "started_at")),
    }
    assert after == before


def test_the_erasure_is_recorded_without_the_name_or_phone(everywhere):
    record = services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    assert ErasureRecord.objects.get() == record
    assert record.customer == everywhere.customer and record.erased_by == everywhere.manager
    assert record.external_id == EXTERNAL_ID and record.via == Via.BROWSER
    assert record.merged_customers == [{"id": everywhere.duplicate.pk, "external_id": None}]
    assert record.rows["customers.customer"] == 2
    assert record.rows["customers.historicalcustomer"] >= 4
    assert NAME not in str(record.rows) and PHONE not in str(record.rows)


def test_erasing_twice_is_harmless(everywhere):
    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    visits = list(Visit.objects.values_list("pk", "customer", "vehicle", "total_amount"))
    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    assert ErasureRecord.objects.count() == 2  # each act is recorded
    customer = Customer.objects.get(pk=everywhere.customer.pk)
    assert customer.name == f"已删除客户 #{customer.pk}"
    assert list(Visit.objects.values_list("pk", "customer", "vehicle", "total_amount")) == visits
    assert not tables_holding(NAME)


def test_other_customers_are_untouched(everywhere):
    other = CustomerFactory(name="路人甲", phone="+8613500000001", email="other@example.com")
    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    other.refresh_from_db()
    assert (other.name, other.phone, other.email) == (
        "路人甲",
        "+8613500000001",
        "other@example.com",
    )
    assert "路人甲" in "".join(database_text().values())


def test_a_merged_record_is_refused_with_its_target(everywhere):
    with pytest.raises(DomainError) as refused:
        services.customer_erase(customer=everywhere.duplicate, by=everywhere.manager)
    assert f"#{everywhere.customer.pk}" in str(refused.value.message)
    assert not ErasureRecord.objects.exists()
    assert "customers_customer" in tables_holding(NAME)  # nothing was erased


def test_unknown_ids_are_refused_and_nothing_is_written(db):
    with pytest.raises(DomainError, match="没有编号为 999999 的客户"):
        selectors.customer_for_erasure(pk=999999)
    with pytest.raises(DomainError, match="没有 DMS 编号为 NOPE 的客户"):
        selectors.customer_for_erasure(external_id="NOPE")
    assert not ErasureRecord.objects.exists()


def test_an_erased_dms_number_says_when_it_was_erased(everywhere):
    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    with pytest.raises(DomainError, match=f"DMS 编号 {EXTERNAL_ID} 的客户已于 .* 删除"):
        selectors.customer_for_erasure(external_id=EXTERNAL_ID)


def test_the_dms_can_send_the_number_again_as_a_new_customer(everywhere):
    """The erased record no longer holds the DMS number or the phone: a later sync of that
    number (the DMS still has them) makes a new customer, never fills the erased one in."""
    from rest_framework.test import APIClient

    from tests.api.conftest import post
    from tests.factories import UserFactory, api_key

    services.customer_erase(customer=everywhere.customer, by=everywhere.manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(UserFactory(role='dms_client'))}")
    answer = post(api, "customers", [{"external_id": EXTERNAL_ID, "name": NAME, "phone": PHONE}])
    assert answer.json()["created"] == 1
    erased = Customer.objects.get(pk=everywhere.customer.pk)
    assert erased.name == f"已删除客户 #{erased.pk}"
    assert Customer.objects.get(external_id=EXTERNAL_ID).pk != erased.pk


def test_an_erased_customer_is_never_merged_found_or_shown_with_a_phone(everywhere):
    """Merging would bring a duplicate's personal data back onto the erased record."""
    from customers import selectors as customer_selectors
    from customers import services as customer_services

    customer = everywhere.customer
    services.customer_erase(customer=customer, by=everywhere.manager)
    customer.refresh_from_db()
    assert customer.is_erased and customer.masked_phone == "—"
    other = CustomerFactory(name="钱多多")
    for source, target in ((other, customer), (customer, other)):
        with pytest.raises(DomainError, match="个人信息已删除"):
            customer_services.customer_merge(source=source, target=target)
    assert Customer.objects.get(pk=other.pk).merged_into is None
    assert customer_selectors.search(query="已删除客户").customers == []
