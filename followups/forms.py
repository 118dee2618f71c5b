from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from shopcalendar.rules import check_day
from shopcrm import roles
from shopcrm.forms import StaffChoiceField
from visits.forms import SLOT_FORMAT, DateTimeLocalInput, slot_choices
from visits.models import ServiceType

from .models import FollowUpTask


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("通话结果"),
        choices=FollowUpTask.Outcome.choices,
        error_messages={"required": _("请选择通话结果。")},
    )
    note = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    callback_at = forms.DateTimeField(
        label=_("约定回拨时间"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[check_day],
    )
    # Outcome "booked" (reminder, win-back and missed-appointment calls): the slot and car.
    booking_slot = forms.DateTimeField(
        label=_("预约时段"),
        required=False,
        widget=forms.Select,
        input_formats=[SLOT_FORMAT],
        validators=[check_day],
    )
    booking_service_type = forms.ChoiceField(
        label=_("服务类型"), required=False, choices=ServiceType.choices
    )
    booking_vehicle = forms.TypedChoiceField(
        label=_("预约车辆"), required=False, coerce=int, empty_value=None
    )
    # Why the customer leaves: outcome "lost", or a win-back reached without a booking.
    lost_reason = forms.ChoiceField(
        label=_("流失原因"),
        required=False,
        choices=[("", "—"), *FollowUpTask.LostReason.choices],
        error_messages={"invalid_choice": _("请从列表中选择流失原因。")},
    )
    lost_note = forms.CharField(
        label=_("流失原因说明"),
        required=False,
        max_length=FollowUpTask._meta.get_field("lost_note").max_length,
        help_text=_("原因为“其他”时必填"),
    )

    def offer(self, *, vehicles, slots) -> None:
        """The customer's vehicles and the free slots to choose from."""
        self.fields["booking_vehicle"].choices = [
            (vehicle.pk, vehicle.plate or vehicle.vin) for vehicle in vehicles
        ]
        self.fields["booking_slot"].widget.choices = [("", "—"), *slot_choices(slots)]


class TeamFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部")), *FollowUpTask.Kind.choices]
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("open", _("未结束")), ("", _("全部")), *FollowUpTask.Status.choices],
    )
    due = forms.ChoiceField(
        label=_("应拨"),
        required=False,
        choices=[
            ("", _("不限")),
            ("now", _("现在可拨")),
            ("today", _("今天")),
            ("overdue", _("逾期超过一天")),
        ],
    )
    agent = StaffChoiceField(
        label=_("回访专员"), queryset=None, required=False, empty_label=_("全部")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = _agents()


class ReassignForm(forms.Form):
    agent = StaffChoiceField(label=_("改派给"), queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = _agents()


def _agents():
    return get_user_model().objects.filter(groups__name=roles.AGENT, is_active=True)


class CancelTaskForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=200)
