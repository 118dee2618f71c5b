"""Reads for erasure and access requests: finding the customer, everything that names them,
and everything held about them."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import Complaint, ComplaintEvent
from customers.models import Customer, PhoneReveal, Vehicle
from followups.models import CallAttempt, FollowUpTask
from messaging.models import Message, SmsReply
from shopcrm.errors import DomainError
from shopcrm.people import person_name
from surveys.models import Answer, SurveyResponse
from visits.models import Appointment, Visit

from .models import ErasureRecord

MIN_NAME_LENGTH = 2  # a one-character "name" would match half the stored answers


def customer_for_erasure(*, pk: int | None = None, external_id: str | None = None) -> Customer:
    """The customer to erase, by id or by DMS number (the command's --id / --external-id);
    a DomainError that says what is wrong when there is none."""
    if pk is not None:
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            raise DomainError(_("没有编号为 %(pk)s 的客户。") % {"pk": pk}, code="no_customer")
        return customer
    external_id = (external_id or "").strip()
    customer = Customer.objects.filter(external_id=external_id).first() if external_id else None
    if customer is not None:
        return customer
    erased = ErasureRecord.objects.filter(external_id=external_id).first() if external_id else None
    if erased is not None:
        raise DomainError(
            _("DMS 编号 %(external_id)s 的客户已于 %(date)s 删除（客户编号 %(pk)s）。")
            % {
                "external_id": external_id,
                "date": timezone.localtime(erased.erased_at).strftime("%Y-%m-%d %H:%M"),
                "pk": erased.customer_id,
            },
            code="already_erased",
        )
    raise DomainError(
        _("没有 DMS 编号为 %(external_id)s 的客户。") % {"external_id": external_id},
        code="no_customer",
    )


def merged_customer_ids(customer: Customer) -> set[int]:
    """The customer and every record merged into them, however many merges deep (the same
    person)."""
    found, frontier = {customer.pk}, {customer.pk}
    while frontier:
        frontier = (
            set(Customer.objects.filter(merged_into__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return found


def _customer_values(customer_ids: set[int], fields: list[str]) -> set[str]:
    """Every value of ``fields`` the customers have or ever had (their history)."""
    history = Customer.history.model
    values = set()
    for rows in (
        Customer.objects.filter(pk__in=customer_ids),
        history.objects.filter(id__in=customer_ids),
    ):
        for row in rows.values_list(*fields):
            values.update(value for value in row if value)
    return values


def _phone_spellings(phones: set[str]) -> set[str]:
    """+8613912345678 as stored, and 13912345678 as a person writes it."""
    spellings = set(phones)
    spellings.update(phone[3:] for phone in phones if phone.startswith("+86"))
    return spellings


def customer_addresses(customer_ids: set[int]) -> set[str]:
    """The phones, e-mail addresses and WeChat OpenIDs the customers have or ever had: the
    outbox's recipients."""
    return _customer_values(customer_ids, ["phone", "phone2", "email", "wechat_openid"])


def customer_mentions(customer_ids: set[int]) -> set[str]:
    """Everything that names the customers in free text: names, phones in both spellings,
    addresses, DMS numbers, and their vehicles' plates and VINs."""
    phones = _customer_values(customer_ids, ["phone", "phone2"])
    names = {
        name.strip()
        for name in _customer_values(customer_ids, ["name"])
        if len(name.strip()) >= MIN_NAME_LENGTH
    }
    terms = names | _phone_spellings(phones)
    terms |= _customer_values(customer_ids, ["email", "wechat_openid", "external_id"])
    vehicle_history = Vehicle.history.model
    for rows in (
        Vehicle.objects.filter(owner__in=customer_ids),
        vehicle_history.objects.filter(owner_id__in=customer_ids),
    ):
        for row in rows.values_list("vin", "plate", "external_id"):
            terms.update(value for value in row if value)
    return terms


def sms_replies_of(customer_ids: set[int]):
    """The customers' SMS replies, and those from their numbers that matched nobody."""
    addresses = customer_addresses(customer_ids)
    return SmsReply.objects.filter(
        Q(customer__in=customer_ids) | Q(customer__isnull=True, phone__in=addresses)
    )


def messages_of(customer_ids: set[int]):
    """The outbox rows of the customers, and those to their addresses that lost their
    customer."""
    addresses = customer_addresses(customer_ids)
    return Message.objects.filter(
        Q(customer__in=customer_ids) | Q(customer__isnull=True, recipient__in=addresses)
    )


# ---------------------------------------------------------------- the access export


@dataclass
class Section:
    """One table of the export: ``key`` names it in the JSON, ``title`` the XLSX sheet;
    ``columns`` are (key, label) pairs and each row a dict by key."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]

    @property
    def header(self) -> list[str]:
        return [label for _key, label in self.columns]

    def table(self) -> list[list]:
        """The rows as lists, in the columns' order (a spreadsheet's rows)."""
        return [[row[key] for key, _label in self.columns] for row in self.rows]


def _plain(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _cell(row, name: str):
    field = row._meta.get_field(name)
    value = getattr(row, name)
    if value is None or not field.is_relation:
        if field.choices and value not in (None, ""):
            return str(getattr(row, f"get_{name}_display")())
        return _plain(value)
    if name == field.attname:  # "task_id": the plain id
        return value
    if isinstance(value, get_user_model()):
        return person_name(value)
    return str(value)


def _section(key: str, queryset, fields: list[str], title=None) -> Section:
    """One table of the export: ``title`` is the model's plural name unless given."""
    model = queryset.model
    title = model._meta.verbose_name_plural if title is None else title
    columns = [(name, str(model._meta.get_field(name).verbose_name)) for name in fields]
    related = [
        name
        for name in fields
        if model._meta.get_field(name).is_relation and name != model._meta.get_field(name).attname
    ]
    rows = [
        {name: _cell(row, name) for name in fields}
        for row in queryset.select_related(*related).order_by("pk")
    ]
    return Section(key=key, title=str(title), columns=columns, rows=rows)


def customer_data(customer: Customer) -> list[Section]:
    """Everything held about ``customer`` (and the records merged into them), table by
    table, as it is stored: phones in full."""
    ids = merged_customer_ids(customer)
    history = Customer.history.model
    return [
        _section("customers", Customer.objects.filter(pk__in=ids), CUSTOMER),
        _section("vehicles", Vehicle.objects.filter(owner__in=ids), VEHICLE),
        _section(
            "appointments",
            Appointment.objects.filter(customer__in=ids),
            APPOINTMENT,
        ),
        _section("visits", Visit.objects.filter(customer__in=ids), VISIT),
        _section(
            "follow_up_tasks",
            FollowUpTask.objects.filter(customer__in=ids),
            FOLLOW_UP_TASK,
        ),
        _section("calls", CallAttempt.objects.filter(task__customer__in=ids), CALL),
        _section(
            "survey_responses",
            SurveyResponse.objects.filter(customer__in=ids),
            SURVEY_RESPONSE,
        ),
        _section(
            "survey_answers",
            Answer.objects.filter(response__customer__in=ids),
            ANSWER,
        ),
        _section("complaints", Complaint.objects.filter(customer__in=ids), COMPLAINT),
        _section(
            "complaint_events",
            ComplaintEvent.objects.filter(complaint__customer__in=ids),
            COMPLAINT_EVENT,
        ),
        _section("messages", messages_of(ids), MESSAGE),
        _section("sms_replies", sms_replies_of(ids), SMS_REPLY),
        _section(
            "phone_reveals",
            PhoneReveal.objects.filter(customer__in=ids),
            PHONE_REVEAL,
        ),
        _section("history", history.objects.filter(id__in=ids), HISTORY, title=_("资料变更记录")),
    ]


CUSTOMER = [
    "id",
    "name",
    "kind",
    "phone",
    "phone2",
    "email",
    "wechat_openid",
    "wechat_bound_at",
    "wechat_bound_source",
    "preferred_channel",
    "contact_window",
    "marketing_consent",
    "marketing_consent_at",
    "marketing_consent_source",
    "do_not_contact",
    "external_id",
    "merged_into_id",
    "created_at",
    "updated_at",
]
VEHICLE = [
    "id",
    "vin",
    "plate",
    "brand",
    "model",
    "model_year",
    "colour",
    "registration_date",
    "purchase_date",
    "odometer_km",
    "is_active",
    "external_id",
]
APPOINTMENT = ["id", "scheduled_at", "vehicle", "service_type", "status", "advisor", "notes"]
VISIT = [
    "id",
    "ro_number",
    "vehicle",
    "advisor",
    "service_type",
    "status",
    "checked_in_at",
    "promised_at",
    "delivered_at",
    "odometer_km",
    "concern",
    "walkaround_notes",
    "labour_amount",
    "parts_amount",
    "total_amount",
    "cancel_reason",
]
FOLLOW_UP_TASK = [
    "id",
    "kind",
    "status",
    "visit",
    "reason",
    "due_at",
    "attempts",
    "outcome",
    "outcome_note",
    "completed_at",
    "assigned_to",
]
CALL = ["task_id", "agent", "started_at", "ended_at", "outcome", "notes"]
SURVEY_RESPONSE = ["id", "visit", "channel", "submitted_at", "csi", "nps_score"]
ANSWER = ["response_id", "question", "value", "text"]
COMPLAINT = [
    "number",
    "visit",
    "received_at",
    "channel",
    "category",
    "severity",
    "status",
    "description",
    "resolution",
    "corrective_action",
    "customer_accepted",
    "closed_at",
]
COMPLAINT_EVENT = ["complaint", "at", "kind", "actor", "text"]
MESSAGE = ["created_at", "channel", "purpose", "recipient", "status", "sent_at", "body"]
SMS_REPLY = ["received_at", "provider", "phone", "text", "interpretation", "action", "handled_at"]
PHONE_REVEAL = ["revealed_at", "user", "context"]
HISTORY = [
    "history_date",
    "history_user",
    "history_type",
    "name",
    "phone",
    "phone2",
    "email",
    "wechat_openid",
    "marketing_consent",
    "do_not_contact",
    "history_change_reason",
]
