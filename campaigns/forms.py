from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import rules
from .models import Campaign


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            return (
                timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
                if timezone.is_aware(value)
                else value.strftime("%Y-%m-%dT%H:%M")
            )
        return value


class VinFileField(forms.FileField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("VIN 清单（召回）"),
            required=False,
            help_text=_(
                "CSV 或 TXT，每行一个 VIN（第一列；其余列忽略；可有标题行），UTF-8 或 GBK 编码，"
                "最大 1 MB。有误的行逐行列出，正确的行照常导入。"
            ),
            **kwargs,
        )

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload and upload.size > rules.MAX_VIN_FILE_BYTES:
            raise forms.ValidationError(
                _("VIN 文件太大（最大 %(size)s KB）。") % {"size": rules.MAX_VIN_FILE_BYTES // 1024}
            )
        return upload


BLANK_LABELS = {
    "audience": _("请选择"),
    "channel": _("请选择"),
    "value_tier": _("全部"),
    "mileage_band": _("全部"),
}


class CampaignForm(forms.ModelForm):
    """The campaign's fields; the rules (which audience needs which field, the template's
    placeholders, the dates) are the service's (campaigns.services.campaign_check)."""

    vin_file = VinFileField()
    save_as_draft = forms.BooleanField(label=_("先存为草稿（不排期）"), required=False)

    class Meta:
        model = Campaign
        fields = [
            "name",
            "kind",
            "audience",
            "due_within_days",
            "value_tier",
            "mileage_band",
            "vehicle_model",
            "last_visit_from",
            "last_visit_to",
            "channel",
            "message_template",
            "starts_at",
            "ends_on",
        ]
        widgets = {
            "last_visit_from": DateInput(),
            "last_visit_to": DateInput(),
            "ends_on": DateInput(),
            "starts_at": DateTimeInput(),
            "message_template": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "message_template": rules.PLACEHOLDER_HELP,
            "starts_at": _("到时后台开始联系（名单在开始时确定）"),
            "ends_on": _("此后未拨的电话和未发的消息取消；结果统计到结束日期后 14 天"),
            "due_within_days": _("目标客户为“N 天内到期保养”时填写"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        # The empty choice says what it means, not Django's "---------".
        for name, label in BLANK_LABELS.items():
            choices = list(self.fields[name].choices)
            if choices and choices[0][0] in ("", None):
                self.fields[name].choices = [("", label), *choices[1:]]
        if not self.is_bound:
            self.initial.setdefault(
                "starts_at", timezone.localtime().replace(second=0, microsecond=0)
            )


class VinImportForm(forms.Form):
    vin_file = VinFileField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vin_file"].required = True
