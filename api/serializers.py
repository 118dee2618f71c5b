"""API serializers: the read-back output, the query filters, and the documented shape of the
sync answers (a sync request's records are declared once, with shopcrm.sync, and the schema
of the request body comes from that declaration)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from complaints.models import Complaint, Severity
from customers.models import Customer, Vehicle
from followups.models import FollowUpTask
from messaging.models import Message
from shopcalendar.rules import check_day
from shopcrm.people import person_name
from surveys.models import Channel as SurveyChannel
from surveys.models import SurveyResponse
from visits.models import Appointment, PromiseRevision, ServiceType, Visit, WorkItem

# ---------------------------------------------------------------- sync: the answers


class RecordError(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True, required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class SyncResult(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = RecordError(many=True)


class CapacityWarning(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField()
    over_capacity = serializers.BooleanField()
    slot_starts_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    booked = serializers.IntegerField()
    message = serializers.CharField()


class AppointmentSyncResult(SyncResult):
    """The DMS is the source of truth: an appointment that takes a slot past its capacity is
    stored, and named here."""

    warnings = CapacityWarning(many=True)


class BatchError(serializers.Serializer):
    detail = serializers.CharField()
    errors = RecordError(many=True, required=False)


class Detail(serializers.Serializer):
    detail = serializers.CharField()


# ---------------------------------------------------------------- read-back


class Text(serializers.CharField):
    """A text filter taken as given: any string is a valid query; one that no record can
    hold (too long, NUL, a lone surrogate) simply finds nothing."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)
        self.validators = []


# The years of shopcalendar's FIRST_DAY..LAST_DAY, for the schema: clients (and Schemathesis)
# learn the range there; check_day is what refuses a day outside it.
DAY_PATTERN = r"^(20[0-9]{2}|2100)-"


@extend_schema_field({"type": "string", "format": "date", "pattern": DAY_PATTERN})
class Day(serializers.DateField):
    """A date a filter or a report may name: outside shopcalendar's range, a 400."""

    def __init__(self, **kwargs):
        super().__init__(validators=[*kwargs.pop("validators", []), check_day], **kwargs)


@extend_schema_field({"type": "string", "format": "date-time", "pattern": DAY_PATTERN})
class Moment(serializers.DateTimeField):
    """A moment whose own calendar day is in shopcalendar's range (else a 400)."""

    def enforce_timezone(self, value):
        # Checked before DRF's time-zone arithmetic, which overflows at year 1 or 9999.
        check_day(value)
        return super().enforce_timezone(value)


class ReadBackFilters(serializers.Serializer):
    updated_since = Moment(required=False, help_text=_("只返回此时间之后更新的记录"))
    external_id = Text()


class CustomerFilters(ReadBackFilters):
    kind = serializers.ChoiceField(Customer.Kind.choices, required=False)
    do_not_contact = serializers.BooleanField(required=False, allow_null=True, default=None)


class VehicleFilters(ReadBackFilters):
    vin = Text()
    plate = Text()
    customer_external_id = Text()


class VisitFilters(ReadBackFilters):
    ro_number = Text()
    status = serializers.ChoiceField(Visit.Status.choices, required=False)
    service_type = serializers.ChoiceField(ServiceType.choices, required=False)
    advisor = Text(help_text=_("用户名或顾问代码"))
    vehicle_external_id = Text()
    customer_external_id = Text()
    checked_in_from = Day(required=False)
    checked_in_to = Day(required=False)
    delivered_from = Day(required=False)
    delivered_to = Day(required=False)


class AppointmentFilters(ReadBackFilters):
    status = serializers.ChoiceField(Appointment.Status.choices, required=False)
    source = serializers.ChoiceField(Appointment.Source.choices, required=False)
    service_type = serializers.ChoiceField(ServiceType.choices, required=False)
    vehicle_external_id = Text()
    customer_external_id = Text()
    scheduled_from = Day(required=False, help_text=_("预约时间从这一天起（含）"))
    scheduled_to = Day(required=False, help_text=_("预约时间到这一天止（含）"))


class AppointmentOut(serializers.ModelSerializer):
    vehicle_external_id = serializers.CharField(source="vehicle.external_id", allow_null=True)
    customer_external_id = serializers.CharField(source="customer.external_id", allow_null=True)
    note = serializers.CharField(source="notes")
    advisor = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "external_id",
            "source",
            "vehicle_id",
            "vehicle_external_id",
            "customer_id",
            "customer_external_id",
            "advisor",
            "scheduled_at",
            "service_type",
            "status",
            "note",
            "cancel_reason",
            "source_updated_at",
            "created_at",
            "updated_at",
        ]

    def get_advisor(self, appointment) -> str:
        return appointment.advisor.username if appointment.advisor_id else ""


class FollowUpTaskFilters(serializers.Serializer):
    updated_since = Moment(required=False, help_text=_("只返回此时间之后更新的记录"))
    visit_external_id = Text()
    customer_external_id = Text()
    kind = serializers.ChoiceField(FollowUpTask.Kind.choices, required=False)
    status = serializers.ChoiceField(FollowUpTask.Status.choices, required=False)


class FollowUpTaskOut(serializers.ModelSerializer):
    customer_external_id = serializers.CharField(source="customer.external_id", allow_null=True)
    visit_external_id = serializers.CharField(
        source="visit.external_id", allow_null=True, default=None
    )

    class Meta:
        model = FollowUpTask
        fields = [
            "id",
            "kind",
            "status",
            "outcome",
            "attempts",
            "due_at",
            "customer_external_id",
            "visit_external_id",
            "updated_at",
        ]


class MessageFilters(serializers.Serializer):
    updated_since = Moment(required=False, help_text=_("只返回此时间之后更新的记录"))
    visit_external_id = Text()
    customer_external_id = Text()
    purpose = serializers.ChoiceField(Message.Purpose.choices, required=False)
    status = serializers.ChoiceField(Message.Status.choices, required=False)


class MessageOut(serializers.ModelSerializer):
    """What was sent, when, on which channel: the recipient masked, and never a secret
    parameter's value (a survey link), sent or not."""

    customer_external_id = serializers.CharField(source="customer.external_id", allow_null=True)
    visit_external_id = serializers.CharField(
        source="visit.external_id", allow_null=True, default=None
    )
    recipient = serializers.CharField(source="masked_recipient")
    body = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "purpose",
            "channel",
            "delivered_channel",
            "recipient",
            "status",
            "body",
            "params",
            "template_code",
            "attempts",
            "sent_at",
            "customer_external_id",
            "visit_external_id",
            "created_at",
            "updated_at",
        ]

    def get_body(self, message) -> str:
        return message.without_secrets()[0]

    def get_params(self, message) -> dict:
        return message.without_secrets()[1]


class CustomerOut(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField(help_text=_("DMS 客户端看到完整号码，其他人看到掩码"))

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "name",
            "kind",
            "phone",
            "email",
            "marketing_consent",
            "do_not_contact",
            "merged_into",
            "source_updated_at",
            "created_at",
            "updated_at",
        ]

    def get_phone(self, customer) -> str:
        if self.context.get("full_phones"):
            return customer.phone
        return customer.masked_phone


class VehicleOut(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(source="owner_id")
    customer_external_id = serializers.CharField(source="owner.external_id", allow_null=True)

    class Meta:
        model = Vehicle
        fields = [
            "id",
            "external_id",
            "customer_id",
            "customer_external_id",
            "vin",
            "plate",
            "brand",
            "model",
            "model_year",
            "registration_date",
            "odometer_km",
            "is_active",
            "source_updated_at",
            "created_at",
            "updated_at",
        ]


class PromiseRevisionOut(serializers.ModelSerializer):
    class Meta:
        model = PromiseRevision
        fields = ["at", "from_promised_at", "to_promised_at", "reason", "note"]


class WorkItemOut(serializers.ModelSerializer):
    class Meta:
        model = WorkItem
        fields = [
            "external_id",
            "kind",
            "description",
            "labour_estimate",
            "parts_estimate",
            "urgency",
            "status",
            "requested_at",
            "answered_at",
            "answer_channel",
        ]


class VisitOut(serializers.ModelSerializer):
    vehicle_external_id = serializers.CharField(source="vehicle.external_id", allow_null=True)
    customer_external_id = serializers.CharField(source="customer.external_id", allow_null=True)
    advisor = serializers.SerializerMethodField()
    advisor_name = serializers.SerializerMethodField(help_text=_("服务顾问的姓名（如 李娜）"))
    promise_revisions = PromiseRevisionOut(
        many=True, source="promise_changes", help_text=_("承诺交车时间的修改，按时间先后")
    )
    work_items = WorkItemOut(many=True, help_text=_("维修项目和增项，含客户的答复"))

    class Meta:
        model = Visit
        fields = [
            "id",
            "external_id",
            "ro_number",
            "vehicle_id",
            "vehicle_external_id",
            "customer_id",
            "customer_external_id",
            "advisor",
            "advisor_name",
            "service_type",
            "status",
            "checked_in_at",
            "promised_at",
            "delivered_at",
            "odometer_km",
            "by_appointment",
            "concern",
            "labour_amount",
            "parts_amount",
            "total_amount",
            "source_updated_at",
            "created_at",
            "updated_at",
            # Issue 17: the first promise and its revisions, the delivery checklist, the
            # work items and extra work with the customer's answers.
            "first_promised_at",
            "promise_revisions",
            "checklist_charges_explained",
            "checklist_old_parts_offered",
            "checklist_car_cleaned",
            "checklist_next_service_advised",
            "next_service_advised_on",
            "next_service_advised_km",
            "checklist_at",
            "work_items",
        ]

    def get_advisor(self, visit) -> str:
        return visit.advisor.username if visit.advisor_id else visit.advisor_code

    def get_advisor_name(self, visit) -> str:
        return person_name(visit.advisor) if visit.advisor_id else ""


class SurveyResponseFilters(ReadBackFilters):
    channel = serializers.ChoiceField(SurveyChannel.choices, required=False)
    is_alert = serializers.BooleanField(required=False, allow_null=True, default=None)
    visit_external_id = Text()
    advisor = Text(help_text=_("用户名或顾问代码"))
    submitted_from = Day(required=False)
    submitted_to = Day(required=False)


class SurveyResponseOut(serializers.ModelSerializer):
    visit_external_id = serializers.CharField(source="visit.external_id", allow_null=True)
    csi_dimensions = serializers.JSONField(source="dimension_scores")
    answers = serializers.SerializerMethodField(help_text=_("题目代码 → 答案"))

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "external_id",
            "visit_id",
            "visit_external_id",
            "channel",
            "submitted_at",
            "csi",
            "csi_dimensions",
            "nps_score",
            "nps_class",
            "is_alert",
            "completed_quickly",
            "answers",
            "created_at",
            "updated_at",
        ]

    def get_answers(self, response) -> dict:
        return {
            answer.question.code: answer.value if answer.value is not None else answer.text
            for answer in response.answers.all()
        }


class ComplaintFilters(ReadBackFilters):
    status = serializers.ChoiceField(Complaint.Status.choices, required=False)
    category = serializers.ChoiceField(Complaint.Category.choices, required=False)
    severity = serializers.ChoiceField(Severity.choices, required=False)
    received_from = Day(required=False)
    received_to = Day(required=False)


class ComplaintOut(serializers.ModelSerializer):
    customer_external_id = serializers.CharField(source="customer.external_id", allow_null=True)
    visit_external_id = serializers.CharField(
        source="visit.external_id", allow_null=True, default=None
    )
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    owner_name = serializers.SerializerMethodField(help_text=_("首问负责人的姓名（如 李娜）"))

    class Meta:
        model = Complaint
        fields = [
            "id",
            "number",
            "external_id",
            "customer_id",
            "customer_external_id",
            "visit_id",
            "visit_external_id",
            "channel",
            "category",
            "severity",
            "status",
            "description",
            "owner",
            "owner_name",
            "received_at",
            "first_response_due_at",
            "resolution_due_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "root_cause",
            "customer_accepted",
            "escalation_level",
            "created_at",
            "updated_at",
        ]

    def get_owner_name(self, complaint) -> str:
        return person_name(complaint.owner) if complaint.owner_id else ""


class HotlineComplaintOut(ComplaintOut):
    """What the OEM hotline reads back: its complaint, without the shop's customer ids."""

    class Meta(ComplaintOut.Meta):
        fields = [
            name
            for name in ComplaintOut.Meta.fields
            if name not in ("customer_id", "customer_external_id")
        ]


class ComplaintIn(serializers.Serializer):
    """A complaint from the OEM hotline (or another system): the customer by the DMS's
    external_id, or by mobile phone."""

    external_id = serializers.CharField(max_length=64)
    customer_external_id = serializers.CharField(max_length=64, required=False)
    customer_phone = serializers.CharField(max_length=30, required=False)
    customer_name = serializers.CharField(
        max_length=100,
        required=False,
        help_text=_("来电人姓名：手机号不是本店客户时，用它建立新客户"),
    )
    visit_external_id = serializers.CharField(max_length=64, required=False)
    channel = serializers.ChoiceField(Complaint.Channel.choices, default="oem_hotline")
    category = serializers.ChoiceField(Complaint.Category.choices)
    severity = serializers.ChoiceField(Severity.choices, default="medium")
    description = serializers.CharField(max_length=4000)
    received_at = Moment(required=False)
