from django import forms
from django.utils.translation import gettext_lazy as _

from customers.forms import CustomerFields, VehicleFields
from customers.validators import ODOMETER_MAX_KM
from shopcalendar.rules import check_day
from shopcrm.forms import StaffChoiceField

from .models import Appointment, PromiseRevision, ServiceType, WorkItem


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class CheckInForm(CustomerFields, VehicleFields):
    """Check-in at the desk: pick or create the customer and vehicle in the same form."""

    customer_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    vehicle_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    appointment_id = forms.IntegerField(widget=forms.HiddenInput, required=False)

    service_type = forms.ChoiceField(
        label=_("服务类型"), choices=ServiceType.choices, initial=ServiceType.MAINTENANCE
    )
    concern = forms.CharField(
        label=_("客户描述（故障/需求）"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("如：做 2 万公里保养；刹车有异响")}
        ),
    )
    walkaround_notes = forms.CharField(
        label=_("环车检查"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("外观划痕、油量、贵重物品等")}),
    )
    odometer_km = forms.IntegerField(
        label=_("进厂里程（公里）"),
        min_value=0,
        max_value=ODOMETER_MAX_KM,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    confirm_lower_odometer = forms.BooleanField(
        label=_("确认里程低于上次记录（如更换仪表）"), required=False
    )
    estimated_amount = forms.DecimalField(
        label=_("预估金额（元）"), min_value=0, max_digits=10, decimal_places=2, required=False
    )
    promised_at = forms.DateTimeField(
        label=_("承诺交车时间"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"required": _("请填写承诺交车时间。")},
        validators=[check_day],
    )
    by_appointment = forms.TypedChoiceField(
        label=_("到店方式"),
        choices=[("0", _("直接到店")), ("1", _("预约到店"))],
        coerce=lambda value: value == "1",
        initial="0",
        widget=forms.RadioSelect,
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("vehicle_id"):
            self.require_vehicle()
            if not cleaned.get("customer_id"):
                self.require_customer()
        return cleaned


class DeliverForm(forms.Form):
    labour_amount = forms.DecimalField(
        label=_("工时费（元）"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "js-sum", "data-sum-into": "id_total_amount"}),
    )
    parts_amount = forms.DecimalField(
        label=_("材料费（元）"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "js-sum", "data-sum-into": "id_total_amount"}),
    )
    total_amount = forms.DecimalField(
        label=_("结算金额（元，留空为两者之和）"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
    )


class DeliveryChecklistForm(DeliverForm):
    """Delivery with its checklist: every item may stay unticked (the car is still handed
    over), but then the checklist counts as not complete."""

    checklist_charges_explained = forms.BooleanField(
        label=_("已向客户解释维修项目和费用"), required=False
    )
    checklist_old_parts_offered = forms.BooleanField(
        label=_("已请客户查看旧件（可带走）"), required=False
    )
    checklist_car_cleaned = forms.BooleanField(label=_("车辆已清洁"), required=False)
    checklist_next_service_advised = forms.BooleanField(
        label=_("已告知下次保养建议"), required=False
    )
    next_service_advised_on = forms.DateField(
        label=_("建议下次保养日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[check_day],
    )
    next_service_advised_km = forms.IntegerField(
        label=_("建议下次保养里程（公里）"),
        min_value=0,
        max_value=ODOMETER_MAX_KM,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    AMOUNTS = ("labour_amount", "parts_amount", "total_amount")

    def service_arguments(self) -> dict:
        """visit_deliver's keyword arguments: the amounts, and the checklist apart."""
        data = self.cleaned_data
        return {
            **{name: data[name] for name in self.AMOUNTS},
            "checklist": {name: data[name] for name in data if name not in self.AMOUNTS},
        }


class PromiseReviseForm(forms.Form):
    promised_at = forms.DateTimeField(
        label=_("新的承诺交车时间"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"required": _("请填写新的承诺交车时间。")},
        validators=[check_day],
    )
    reason = forms.ChoiceField(
        label=_("修改原因"),
        choices=[("", "—"), *PromiseRevision.Reason.choices],
        error_messages={"required": _("请选择修改原因。")},
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class CancelForm(forms.Form):
    cancel_reason = forms.CharField(label=_("取消原因"), max_length=200)


class AppointmentCancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("取消原因"),
        choices=[("", "—"), *Appointment.CancelReason.choices],
        error_messages={"required": _("请选择取消原因。")},
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


SLOT_FORMAT = "%Y-%m-%dT%H:%M"


class SlotDayForm(forms.Form):
    """The desk's "which day, which service": the slots of that day are offered below it."""

    day = forms.DateField(
        label=_("预约日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[check_day],
    )
    service_type = forms.ChoiceField(
        label=_("服务类型"), choices=ServiceType.choices, initial=ServiceType.MAINTENANCE
    )


class AppointmentForm(forms.Form):
    """Booking at the desk: one of the day's free slots (bookings.selectors), checked and
    counted again when saved (bookings.services.appointment_book)."""

    scheduled_at = forms.DateTimeField(
        label=_("预约时段"),
        widget=forms.Select,
        input_formats=[SLOT_FORMAT, "%Y-%m-%d %H:%M"],
        error_messages={"required": _("请选择预约时段。")},
        validators=[check_day],
    )
    service_type = forms.ChoiceField(
        label=_("服务类型"), choices=ServiceType.choices, initial=ServiceType.MAINTENANCE
    )
    advisor = StaffChoiceField(label=_("服务顾问"), queryset=None, required=False)
    notes = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["advisor"].queryset = get_user_model().objects.filter(
            groups__name="advisor", is_active=True
        )
        self.fields["scheduled_at"].widget.choices = [("", "—"), *slot_choices(slots)]


def slot_choices(slots) -> list[tuple[str, str]]:
    """A select's options for free slots: "12-14 09:00–10:00（剩 2 个）"."""
    from django.utils import timezone

    choices = []
    for slot in slots:
        starts, ends = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        label = _("%(day)s %(start)s–%(end)s（剩 %(free)s 个）") % {
            "day": starts.strftime("%m-%d"),
            "start": starts.strftime("%H:%M"),
            "end": ends.strftime("%H:%M"),
            "free": slot.free,
        }
        choices.append((starts.strftime(SLOT_FORMAT), label))
    return choices


class ExtraWorkForm(forms.Form):
    description = forms.CharField(
        label=_("发现的问题和建议的项目"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：前刹车片剩余 2 mm，建议更换")}),
        error_messages={"required": _("请填写发现的问题和建议的项目。")},
    )
    labour_estimate = forms.DecimalField(
        label=_("工时费预估（元）"), min_value=0, max_digits=10, decimal_places=2
    )
    parts_estimate = forms.DecimalField(
        label=_("材料费预估（元）"), min_value=0, max_digits=10, decimal_places=2
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"),
        choices=WorkItem.Urgency.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择紧急程度。")},
    )
    photos = forms.Field(required=False)  # the files come from request.FILES (several)
