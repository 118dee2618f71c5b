"""Where a customer's personal data lives — the one list that erasure works from.

``SCRUBS`` says, per table, which rows belong to the customer and what each personal column
becomes (the table's history too, where it has one). ``NOT_PERSONAL`` lists every other text
column of the project's tables and why it is not personal. A test checks that every text
column of every table is in one of the two, so a new column has to be classified before it
ships. Ids, dates, scores, amounts and statuses are never touched: the visits, answers and
complaints stay as anonymous statistics and every report figure stays the same."""

from dataclasses import dataclass, field

from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Cast, Concat, LPad

from complaints.models import Complaint, ComplaintEvent
from customers.models import Customer, PhoneReveal, Vehicle
from followups.models import CallAttempt, FollowUpTask
from messaging.models import Message, SmsReply
from onlinebooking.models import BookingCode
from surveys.models import Answer
from visits.models import Appointment, PromiseRevision, Visit, WorkItem

# Stored data, in the shop's language like every name and note (not translated on display).
ERASED_NAME_PREFIX = "已删除客户 #"
ERASED_TEXT = "（已删除）"


def _id_text():
    return Cast(F("id"), output_field=CharField())


def erased_name():
    """已删除客户 #<id>."""
    return Concat(Value(ERASED_NAME_PREFIX), _id_text(), output_field=CharField())


def erased_phone():
    """#<id>-erased: unique (the live-phone constraint), no phone, and never matched by a
    search for a number's last four digits."""
    return Concat(Value("#"), _id_text(), Value("-erased"), output_field=CharField())


def erased_vin():
    """ERASED + the vehicle id in 11 digits: 17 characters, unique."""
    return Concat(Value("ERASED"), LPad(_id_text(), 11, Value("0")), output_field=CharField())


def erased_recipient():
    return Concat(Value("erased:"), _id_text(), output_field=CharField())


def erased_if_written(column: str):
    """A text that was written becomes "（已删除）" (a resolved complaint must keep a
    resolution); an empty one stays empty."""
    return Case(When(**{column: ""}, then=Value("")), default=Value(ERASED_TEXT))


@dataclass(frozen=True)
class Scrub:
    """The rows of ``model`` that are the customer's, and their personal columns' new
    values. ``owner``: the lookup from a row to its customer. ``history_owner``: the
    customer's column in the model's history table (rows of the current rows' ids are
    scrubbed too), None when the model keeps no history. ``by_address``: also the rows with
    no customer sent to one of the customer's addresses (the outbox)."""

    model: type
    owner: str
    values: dict = field(default_factory=dict)
    history_owner: str | None = None
    by_address: str | None = None

    def rows(self, customer_ids: set[int], addresses: set[str]):
        where = Q(**{f"{self.owner}__in": customer_ids})
        if self.by_address and addresses:
            where |= Q(customer__isnull=True, **{f"{self.by_address}__in": addresses})
        return self.model._base_manager.filter(where)

    def history_rows(self, customer_ids: set[int], row_ids: list[int]):
        history = self.model.history.model
        where = Q(id__in=row_ids)
        if self.history_owner:
            where |= Q(**{f"{self.history_owner}__in": customer_ids})
        return history._base_manager.filter(where)

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def _customer_values() -> dict:
    return {
        "name": erased_name(),
        "phone": erased_phone(),
        "phone2": "",
        "email": "",
        "wechat_openid": "",
        "wechat_bound_at": None,
        "wechat_bound_source": "",
        "external_id": None,
        "marketing_consent": False,
        "marketing_consent_at": None,
        "marketing_consent_source": "",
        "do_not_contact": True,
    }


SCRUBS = [
    Scrub(Customer, "pk", _customer_values(), history_owner="id"),
    # The plate and VIN tie the car to its owner; the make, model and mileage stay (segments).
    Scrub(
        Vehicle,
        "owner",
        {
            "plate": "",
            "vin": erased_vin(),
            "external_id": None,
        },
        history_owner="owner_id",
    ),
    Scrub(Appointment, "customer", {"notes": "", "cancel_note": ""}, history_owner="customer_id"),
    Scrub(
        Visit,
        "customer",
        {"concern": "", "walkaround_notes": "", "cancel_reason": ""},
        history_owner="customer_id",
    ),
    # A revised promise's note is free text written about the customer's car.
    Scrub(PromiseRevision, "visit__customer", {"note": ""}),
    Scrub(
        FollowUpTask,
        "customer",
        {"reason": "", "outcome_note": "", "lost_note": ""},
        history_owner="customer_id",
    ),
    Scrub(CallAttempt, "task__customer", {"notes": ""}),
    # What the advisor found on the car (its photos are deleted: privacy.services).
    Scrub(WorkItem, "visit__customer", {"description": ""}),
    Scrub(Answer, "response__customer", {"text": ""}),
    Scrub(
        Complaint,
        "customer",
        {
            "description": ERASED_TEXT,
            "resolution": erased_if_written("resolution"),
            "corrective_action": erased_if_written("corrective_action"),
        },
    ),
    Scrub(ComplaintEvent, "complaint__customer", {"text": ""}),
    # The recipient stays unique per message (the outbox's once-per-key constraint).
    Scrub(
        Message,
        "customer",
        {
            "recipient": erased_recipient(),
            "body": "",
            "params": {},
            "last_error": "",
        },
        by_address="recipient",
    ),
    # Who saw the phone and when stays (the access log, pruned by the retention policy).
    Scrub(PhoneReveal, "customer", {"context": ""}),
    # The customer's SMS replies, and replies from their number that matched nobody: the
    # number and the text go; when and what it meant stay. The delivery key (a hash of the
    # phone and text for Tencent) becomes unique junk.
    Scrub(
        SmsReply,
        "customer",
        {"phone": "", "text": "", "dedupe_key": erased_recipient()},
        by_address="phone",
    ),
    # The booking page's one-time codes (deleted after a day anyway): the number's
    # customer's rows, and those asked for the number before it was anyone's.
    Scrub(
        BookingCode,
        "customer",
        {"phone": erased_recipient(), "plate": ""},
        by_address="phone",
    ),
]

# Deleted, not scrubbed, when their stored answer mentions the customer (a sync error quotes
# a name): a DMS retry of that request is then applied again, which changes nothing.
DELETED_WHEN_MENTIONED = {"api.idempotencyrecord": {"response"}}

# Every other text column, and why it is not personal data.
NOT_PERSONAL = {
    # A campaign's name, message template and model filter are the manager's; its VIN
    # import's bad lines keep no VIN of a car the shop holds (campaigns.services).
    "campaigns.campaign": {"name", "message_template", "vehicle_model", "vin_import_errors"},
    "shopcalendar.shopcalendar": {"work_days"},
    "shopcalendar.holiday": {"name"},  # 春节 …
    "bookings.bookingcapacity": {"days"},  # 123456
    # Written by the server ("merged into customer 12", "refused on a follow-up call").
    # verification_note: "在线预约 2026-11-29", where an unverified record came from.
    "customers.customer": {"verification_note"},
    "customers.historicalcustomer": {"history_change_reason", "verification_note"},
    "customers.historicalvehicle": {
        "brand",
        "model",
        "colour",
        "history_change_reason",
        "verification_note",
    },
    "customers.vehicle": {"brand", "model", "colour", "verification_note"},  # the make: statistics
    "customers.customermerge": {"moved"},  # counts per table
    # The shop's and the DMS's numbers of the repair orders that stay as statistics.
    "visits.appointment": {"external_id"},
    "visits.historicalappointment": {"external_id", "history_change_reason"},
    "visits.visit": {"ro_number", "advisor_code", "external_id"},
    "visits.historicalvisit": {"ro_number", "advisor_code", "external_id", "history_change_reason"},
    "visits.statuslink": {"token_hash"},  # a hash of the status link's token
    "visits.workitem": {"external_id"},  # the DMS's number of an extra-work item
    "onlinebooking.managelink": {"token_hash"},  # a hash of the manage link's token
    "onlinebooking.bookingcode": {"code_hash", "address_hash"},  # keyed hashes
    "followups.followuptask": {"source_key"},  # visit:123
    "followups.historicalfollowuptask": {"source_key", "history_change_reason"},
    "messaging.message": {
        "object_key",
        "template_code",
        "provider_message_id",
        "secret_params",  # parameter names
    },
    # The shop's service-message texts; a staff member's work line, which the shop hands
    # to customers (not a customer's data, and not the staff member's private number).
    "servicemessages.messagetemplate": {"body", "sms_template_code"},
    "servicemessages.workphone": {"phone"},
    "surveys.surveytemplate": {"code", "name", "name_en", "point_map"},
    "surveys.question": {"code", "text", "text_en", "choices"},
    "surveys.surveyinvitation": {"token_hash", "reminder_token_hash", "skip_reason"},
    "surveys.surveyresponse": {"external_id", "dimension_scores"},  # the vendor's id, scores
    "complaints.complaint": {"number", "external_id"},  # the OEM hotline's case number
    "complaints.complaintevent": {"from_status", "to_status"},
    # Written by the server with complaint numbers only.
    "complaints.notification": {"text", "url", "key"},
    "reports.dailyfigures": {"service_type"},
    "api.idempotencyrecord": {"key", "endpoint", "request_sha256"},  # hashes
    "api.apitoken": {"digest", "prefix"},  # an API client's token (its hash)
    # The DMS number, so the shop can ask the DMS to erase its copy; the system account.
    "privacy.erasurerecord": {"external_id", "operator", "merged_customers", "rows"},
}
