"""A customer whose personal data is everywhere it can be: created by the DMS (history rows
written in SQL), edited on the desk, merged with a duplicate, with a vehicle, an
appointment, a delivered visit, a three-day call with answers and notes, a resolved
complaint with its timeline, messages, a phone reveal, an admin log entry and a stored API
answer that quotes them."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from api.models import IdempotencyRecord
from complaints import services as complaint_services
from customers import services as customer_services
from customers.contact import Purpose
from customers.models import Customer, Vehicle
from followups import services as followup_services
from messaging import services as messaging_services
from messaging.models import Message, SmsReply
from tests.api.conftest import post
from tests.factories import (
    AppointmentFactory,
    UserFactory,
    VisitFactory,
    contact_all_day,
    valid_vin,
)
from visits.models import Visit
from workflows.call_outcome import call_outcome_record

NAME = "欧阳测试者"
OLD_NAME = "欧阳旧名字"
PHONE = "+8613912345678"
PHONE2 = "+8613712345670"
DUPLICATE_PHONE = "+8613612345671"
EMAIL = "ouyang.erase@example.com"
OPENID = "oWX-erase-me-0001"
PLATE = "粤B9Z123"
VIN = valid_vin(424242)
EXTERNAL_ID = "DMS-ERASE-1"

# How each can be spelled in what is stored.
SECRETS = [
    NAME,
    OLD_NAME,
    PHONE,
    PHONE[3:],
    PHONE2,
    PHONE2[3:],
    DUPLICATE_PHONE,
    DUPLICATE_PHONE[3:],
    EMAIL,
    OPENID,
    PLATE,
    VIN,
    EXTERNAL_ID,
]


@dataclass
class Everywhere:
    customer: Customer
    duplicate: Customer
    vehicle: Vehicle
    visit: Visit
    advisor: object
    manager: object


@pytest.fixture
def everywhere(db) -> Everywhere:
    contact_all_day()
    advisor = UserFactory(role="advisor", username="privacy-advisor")
    manager = UserFactory(role="manager", username="privacy-manager")
    agent = UserFactory(role="agent", username="privacy-agent")
    dms = UserFactory(role="dms_client", username="privacy-dms")

    # Created by the DMS: the history row is written by INSERT … SELECT.
    from rest_framework.test import APIClient

    from tests.factories import api_key

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(dms)}")
    answer = post(
        api,
        "customers",
        [{"external_id": EXTERNAL_ID, "name": OLD_NAME, "phone": PHONE[3:]}],
        HTTP_IDEMPOTENCY_KEY="erase-key-1",
    )
    assert answer.status_code == 200, answer.content
    customer = Customer.objects.get(external_id=EXTERNAL_ID)
    customer = customer_services.customer_update(
        customer=customer,
        by=advisor,
        name=NAME,
        phone2=PHONE2,
        email=EMAIL,
        wechat_openid=OPENID,
        marketing_consent=True,
        consent_source="desk",
    )
    duplicate = customer_services.customer_create(
        name=NAME, phone=DUPLICATE_PHONE, by=advisor, email=EMAIL
    )
    customer_services.customer_merge(source=duplicate, target=customer, by=manager)
    vehicle = customer_services.vehicle_create(owner=customer, vin=VIN, plate=PLATE, by=advisor)
    AppointmentFactory(vehicle=vehicle, customer=customer, notes=f"{NAME} 约了周六，{PHONE[3:]}")
    delivered = timezone.now() - timedelta(hours=30)
    visit = VisitFactory(
        vehicle=vehicle,
        customer=customer,
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=3),
        promised_at=delivered,
        delivered_at=delivered,
        total_amount=880,
        concern=f"{NAME}说刹车异响，回电 {PHONE[3:]}",
        walkaround_notes=f"左前门划痕（{NAME}确认）",
    )

    # The three-day call: notes and a written answer.
    followup_services.post_service_task_create(visit_id=visit.pk)
    task = followup_services.task_claim_next(agent=agent)
    assert task is not None and task.customer_id == customer.pk
    call_outcome_record(
        task=task,
        agent=agent,
        outcome="reached_issue",
        note=f"{NAME}很不满意，让打 {PHONE2[3:]}",
        answers={"rel_fixed_right": "2", "nps": "3", "comment": f"我是{NAME}，电话{PHONE[3:]}"},
    )

    complaint = complaint_services.complaint_create(
        customer=customer,
        by=advisor,
        category="attitude",
        severity="low",
        channel="walk_in",
        description=f"{NAME}投诉前台态度，电话 {PHONE[3:]}，邮箱 {EMAIL}",
        visit=visit,
        vehicle=vehicle,
    )
    complaint_services.complaint_acknowledge(
        complaint=complaint, by=advisor, note=f"已致电{NAME}（{PHONE[3:]}）"
    )
    complaint_services.complaint_start(complaint=complaint, by=advisor)
    complaint_services.complaint_add_note(
        complaint=complaint, by=advisor, text=f"{NAME}要求书面答复", contact=True
    )
    complaint_services.complaint_resolve(
        complaint=complaint,
        by=advisor,
        resolution=f"向{NAME}道歉并赠送保养",
        root_cause="people",
        corrective_action=f"前台培训（{NAME}事件）",
    )

    # The outbox: queued, sent, and one that lost its customer.
    messaging_services.message_enqueue(
        purpose="service_notice",
        contact_purpose=Purpose.SERVICE,
        customer=customer,
        object_key=f"visit:{visit.pk}",
        body=f"{NAME}您好，您的爱车 {PLATE} 已修好",
        params={"name": NAME, "plate": PLATE},
    )
    Message.objects.create(
        purpose="maintenance_reminder",
        channel=Message.Channel.WECHAT,
        recipient=OPENID,
        object_key="vehicle:1:2026-01-01",
        customer=customer,
        body=f"{NAME}，{PLATE} 该保养了",
        status=Message.Status.SENT,
        sent_at=timezone.now(),
        next_attempt_at=timezone.now(),
        last_error=f"retry for {PHONE}",
    )
    Message.objects.create(
        purpose="old_notice",
        channel=Message.Channel.SMS,
        recipient=PHONE2,
        object_key="legacy:1",
        customer=None,
        body=f"{NAME}您好",
        status=Message.Status.SENT,
        next_attempt_at=timezone.now(),
    )

    # SMS replies: the customer's, and one from their second number that matched nobody.
    SmsReply.objects.create(
        provider="tencent",
        dedupe_key="reply-1",
        phone=PHONE,
        text=f"我是{NAME}，周六来",
        received_at=timezone.now(),
        customer=customer,
        interpretation="other",
    )
    SmsReply.objects.create(
        provider="aliyun",
        dedupe_key="reply-2",
        phone=PHONE2,
        text=f"{NAME}：TD",
        received_at=timezone.now(),
        interpretation="unsubscribe",
    )

    customer_services.customer_reveal_phone(customer=customer, user=advisor, context=f"打给 {NAME}")
    IdempotencyRecord.objects.create(
        client=dms,
        key="b" * 64,
        endpoint="customers",
        request_sha256="c" * 64,
        status_code=200,
        response={"errors": [{"errors": {"phone": [f"手机号已属于客户 {NAME}"]}}]},
    )
    LogEntry.objects.create(
        user=manager,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk),
        object_repr=NAME,
        action_flag=CHANGE,
        change_message=f'[{{"changed": {{"fields": ["name"]}}, "note": "{NAME}"}}]',
    )
    customer.refresh_from_db()
    return Everywhere(
        customer=customer,
        duplicate=duplicate,
        vehicle=vehicle,
        visit=visit,
        advisor=advisor,
        manager=manager,
    )
