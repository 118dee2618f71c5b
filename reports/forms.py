from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shopcalendar.rules import check_day
from shopcrm.forms import StaffChoiceField
from visits.models import ServiceType

from . import dashboard, metrics


class PeriodForm(forms.Form):
    preset = forms.ChoiceField(
        label=_("期间"),
        required=False,
        choices=[
            ("last_12_months", _("近 12 个月")),
            ("this_month", _("本月")),
            ("last_month", _("上月")),
            ("custom", _("自定义")),
        ],
    )
    start = forms.DateField(
        label=_("从"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_day],
    )
    end = forms.DateField(
        label=_("到"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_day],
    )
    advisor = StaffChoiceField(
        label=_("服务顾问"), required=False, queryset=None, empty_label=_("全部")
    )
    service_type = forms.ChoiceField(
        label=_("服务类型"), required=False, choices=[("", _("全部")), *ServiceType.choices]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].queryset = get_user_model().objects.filter(groups__name="advisor")

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("preset") or "last_12_months"
        if preset == "custom":
            if not cleaned.get("start") or not cleaned.get("end"):
                if self.has_error("start") or self.has_error("end"):
                    return cleaned  # the date's own field says what is wrong with it
                raise forms.ValidationError(_("自定义期间需要开始和结束日期。"))
        else:
            cleaned["start"], cleaned["end"] = dashboard.presets(timezone.localdate())[preset]
        if cleaned["end"] < cleaned["start"]:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        cleaned["preset"] = preset
        return cleaned

    def period(self) -> metrics.Period:
        data = self.cleaned_data
        advisor = data.get("advisor")
        return metrics.Period(
            start=data["start"],
            end=data["end"],
            advisor=advisor.pk if advisor else None,
            service_type=data.get("service_type") or None,
        )


def default_period() -> metrics.Period:
    start, end = dashboard.presets(timezone.localdate())["last_12_months"]
    return metrics.Period(start=start, end=end)


class AsOfForm(forms.Form):
    as_of = forms.DateField(
        label=_("截至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_day],
    )
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("at_risk", _("有流失风险")), ("lapsed", _("已流失")), ("", _("全部"))],
    )
    tier = forms.ChoiceField(
        label=_("价值层级"),
        required=False,
        choices=[
            ("", _("全部")),
            ("vip", "VIP"),
            ("core", _("核心")),
            ("regular", _("普通")),
            ("low", _("低价值")),
        ],
    )

    def moment(self) -> date:
        return (self.cleaned_data.get("as_of") if self.is_valid() else None) or timezone.localdate()


class ServiceDueForm(forms.Form):
    """The predicted-next-service list: as of a day, due within so many days, or overdue."""

    as_of = forms.DateField(
        label=_("截至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_day],
    )
    within = forms.IntegerField(
        label=_("未来天数"),
        required=False,
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs={"style": "width:6rem"}),
        error_messages={
            "min_value": _("天数须在 1 到 365 之间。"),
            "max_value": _("天数须在 1 到 365 之间。"),
            "invalid": _("请输入整数天数。"),
        },
    )
    show = forms.ChoiceField(
        label=_("范围"),
        required=False,
        choices=[
            ("", _("逾期和即将到期")),
            ("upcoming", _("即将到期")),
            ("overdue", _("已逾期")),
        ],
    )

    def values(self) -> dict:
        """as_of (default today), within (default 30) and show, once the form is valid."""
        data = self.cleaned_data
        return {
            "as_of": data.get("as_of") or timezone.localdate(),
            "within": data.get("within") or 30,
            "show": data.get("show") or "",
        }
