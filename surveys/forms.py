from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from shopcalendar.rules import check_day
from shopcrm.forms import StaffChoiceField
from visits.models import ServiceType

from .models import Channel


class ResponseFilterForm(forms.Form):
    start = forms.DateField(
        label=_("交车日期从"),
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
    advisor = StaffChoiceField(label=_("服务顾问"), required=False, queryset=None)
    service_type = forms.ChoiceField(
        label=_("服务类型"), required=False, choices=[("", _("全部")), *ServiceType.choices]
    )
    channel = forms.ChoiceField(
        label=_("渠道"), required=False, choices=[("", _("全部")), *Channel.choices]
    )
    alerts_only = forms.BooleanField(label=_("只看预警"), required=False)
    flagged_only = forms.BooleanField(label=_("只看异常标记"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].queryset = get_user_model().objects.filter(groups__name="advisor")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        return cleaned


def answers_from_post(post, questions, prefix: str = "q_") -> dict:
    """The answers of a posted survey form: question code → raw value (validated by the
    service against the template, so the page and the API share one set of rules)."""
    return {q.code: post.get(f"{prefix}{q.code}", "").strip() for q in questions}
