from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from shopcalendar.rules import check_day
from shopcrm.forms import StaffChoiceField

from .models import Complaint, Severity


class ComplaintForm(forms.Form):
    channel = forms.ChoiceField(label=_("来源渠道"), choices=Complaint.Channel.choices)
    category = forms.ChoiceField(
        label=_("投诉类别"), choices=[("", "—"), *Complaint.Category.choices]
    )
    severity = forms.ChoiceField(label=_("严重程度"), choices=Severity.choices, initial="medium")
    visit = forms.TypedChoiceField(
        label=_("相关工单"), required=False, coerce=int, empty_value=None
    )
    description = forms.CharField(
        label=_("投诉内容"), widget=forms.Textarea(attrs={"rows": 5}), max_length=4000
    )

    def __init__(self, *args, visits=(), suggested="", **kwargs):
        """``suggested``: the category suggested from the text of the call note or survey
        comment the complaint is taken from (textinsights), prefilled for the taker to
        confirm or change."""
        if suggested:
            kwargs["initial"] = {**kwargs.get("initial", {}), "category": suggested}
        super().__init__(*args, **kwargs)
        if suggested:
            self.fields["category"].help_text = _("根据文字建议的类别，请确认或修改。")
        self.fields["visit"].choices = [("", _("不关联工单"))] + [
            (v.pk, f"{v.ro_number} · {v.get_service_type_display()}") for v in visits
        ]
        self.fields["category"].error_messages["required"] = _("请选择投诉类别。")
        self.fields["description"].error_messages["required"] = _("请填写投诉内容。")


class CompleteForm(ComplaintForm):
    """Completing a complaint taken from a call: its channel is the call's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["channel"]


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("内容"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )
    contact = forms.BooleanField(label=_("这是一次与客户的联系"), required=False)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=_("首次响应说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(forms.Form):
    to = StaffChoiceField(label=_("分派给"), queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=["advisor", "agent", "manager"])
            .distinct()
        )


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("处理结果"), widget=forms.Textarea(attrs={"rows": 3}))
    root_cause = forms.ChoiceField(
        label=_("根本原因"), choices=[("", "—"), *Complaint.RootCause.choices]
    )
    corrective_action = forms.CharField(
        label=_("纠正措施"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("重新打开原因"), max_length=4000)


class FilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("open", _("未结案")), ("", _("全部")), *Complaint.Status.choices],
    )
    category = forms.ChoiceField(
        label=_("类别"), required=False, choices=[("", _("全部")), *Complaint.Category.choices]
    )
    severity = forms.ChoiceField(
        label=_("严重程度"), required=False, choices=[("", _("全部")), *Severity.choices]
    )
    owner = StaffChoiceField(label=_("负责人"), required=False, queryset=None)
    overdue = forms.BooleanField(label=_("只看超时"), required=False)
    start = forms.DateField(
        label=_("受理日期从"),
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(owned_complaints__isnull=False).distinct()
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        return cleaned
