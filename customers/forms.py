"""Forms for customers and vehicles: field checks only; the services make the records."""

import calendar

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shopcrm import roles
from shopcrm.forms import StaffChoiceField, StaffMultipleChoiceField

from .models import Customer, ValueTier
from .reassignment import REASON_MAX, Filters, Spread
from .validators import (
    MODEL_YEAR_FIRST,
    VinCheckDigitError,
    normalize_phone,
    normalize_plate,
    normalize_vin,
)


class CustomerFields(forms.Form):
    """The customer part of a form; the check-in form reuses it with a prefix-free layout."""

    customer_name = forms.CharField(label=_("客户姓名/单位"), max_length=100, required=False)
    customer_phone = forms.CharField(
        label=_("手机号"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    customer_kind = forms.ChoiceField(
        label=_("客户类型"),
        choices=Customer.Kind.choices,
        initial=Customer.Kind.INDIVIDUAL,
        required=False,
    )
    marketing_consent = forms.BooleanField(label=_("同意接收保养提醒和营销信息"), required=False)

    def clean_customer_phone(self):
        value = self.cleaned_data.get("customer_phone", "")
        return normalize_phone(value) if value else ""

    def require_customer(self):
        for name in ("customer_name", "customer_phone"):
            if not self.cleaned_data.get(name) and name not in self.errors:
                self.add_error(name, _("新客户必须填写此项。"))


class VehicleFields(forms.Form):
    vin = forms.CharField(
        label=_("车架号（VIN）"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "style": "text-transform:uppercase"}),
    )
    vin_check_override = forms.BooleanField(
        label=_("确认校验位例外（进口车等，将被记录）"), required=False
    )
    plate = forms.CharField(
        label=_("车牌号"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "京A12345"}),
    )
    brand = forms.CharField(label=_("品牌"), max_length=40, required=False)
    model = forms.CharField(label=_("车型"), max_length=60, required=False)
    # The bounds are the service's (customers.validators); the browser gets the first year.
    model_year = forms.IntegerField(label=_("年款"), min_value=MODEL_YEAR_FIRST, required=False)
    colour = forms.CharField(label=_("颜色"), max_length=20, required=False)
    registration_date = forms.DateField(
        label=_("上牌日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_vin(self):
        value = self.cleaned_data.get("vin", "")
        if not value:
            return ""
        try:
            return normalize_vin(value)
        except VinCheckDigitError:
            if self.data.get(self.add_prefix("vin_check_override")):
                return normalize_vin(value, allow_bad_check_digit=True)
            raise

    def clean_plate(self):
        value = self.cleaned_data.get("plate", "")
        return normalize_plate(value) if value else ""

    def require_vehicle(self):
        if not self.cleaned_data.get("vin") and "vin" not in self.errors:
            self.add_error("vin", _("新车辆必须填写车架号。"))


class CustomerForm(CustomerFields):
    email = forms.EmailField(label=_("电子邮件"), required=False)
    preferred_channel = forms.ChoiceField(
        label=_("首选联系方式"), choices=Customer.Channel.choices, initial=Customer.Channel.SMS
    )
    contact_window = forms.ChoiceField(
        label=_("方便联系时间"),
        choices=Customer.ContactWindow.choices,
        initial=Customer.ContactWindow.ANY,
    )
    do_not_contact = forms.BooleanField(label=_("请勿联系（客户明确拒绝回访）"), required=False)
    service_messages = forms.BooleanField(
        label=_("接收维修进度通知（接车确认、可取车、电子结算单）"), required=False, initial=True
    )
    preferred_language = forms.ChoiceField(
        label=_("通知语言"),
        choices=Customer.Language.choices,
        initial=Customer.Language.ZH_HANS,
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        self.require_customer()
        return cleaned


class CustomerEditForm(CustomerForm):
    """The same fields as creating one. The phone is left empty (unchanged) so that
    opening the form does not reveal the number; typing a new one replaces it."""

    def __init__(self, *args, masked_phone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_phone"].label = _("新手机号（不改请留空）")
        self.fields["customer_phone"].widget.attrs["placeholder"] = masked_phone

    def clean(self):
        cleaned = forms.Form.clean(self)
        if not cleaned.get("customer_name") and "customer_name" not in self.errors:
            self.add_error("customer_name", _("请填写客户姓名。"))
        return cleaned

    @classmethod
    def initial_for(cls, customer) -> dict:
        return {
            "customer_name": customer.name,
            "customer_kind": customer.kind,
            "marketing_consent": customer.marketing_consent,
            "email": customer.email,
            "preferred_channel": customer.preferred_channel,
            "contact_window": customer.contact_window,
            "do_not_contact": customer.do_not_contact,
            "service_messages": customer.service_messages,
            "preferred_language": customer.preferred_language,
        }


class VehicleForm(VehicleFields):
    def clean(self):
        cleaned = super().clean()
        self.require_vehicle()
        return cleaned


class MergeForm(forms.Form):
    target_id = forms.IntegerField(label=_("保留的客户编号"), min_value=1)
    confirm = forms.BooleanField(label=_("我已核对，两条记录是同一位客户"), required=True)


class ReassignCustomersForm(forms.Form):
    """A manager moves an advisor's customers (customers.reassignment): from whom, to
    whom, how they are spread, which ones, and why."""

    source = StaffChoiceField(
        label=_("移交客户的顾问"),
        queryset=None,
        empty_label="—",
        error_messages={
            "required": _("请选择要移交客户的顾问。"),
            "invalid_choice": _("请从列表中选择移交客户的顾问。"),
        },
    )
    targets = StaffMultipleChoiceField(
        label=_("接手的顾问"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("请选择至少一位接手的顾问。"),
            "invalid_choice": _("接手的顾问须是在职的服务顾问。"),
            "invalid_pk_value": _("接手的顾问须是在职的服务顾问。"),
        },
    )
    spread = forms.ChoiceField(
        label=_("分配方式"),
        choices=Spread.choices,
        initial=Spread.BALANCED,
        widget=forms.RadioSelect,
        help_text=_("只选一位接手顾问时，全部客户都转给这位顾问。"),
    )
    tier = forms.ChoiceField(
        label=_("只改派此价值等级的客户"),
        required=False,
        choices=[("", _("全部客户")), *ValueTier.choices],
    )
    visited_months = forms.IntegerField(
        label=_("只改派近几个月内到过店的客户"),
        required=False,
        min_value=1,
        max_value=120,
        help_text=_("留空则不限"),
    )
    reason = forms.CharField(label=_("改派原因"), max_length=REASON_MAX, initial=_("顾问离职"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects
        # Whoever holds customers may hand them over (a disabled account above all).
        self.fields["source"].queryset = users.filter(
            Q(groups__name=roles.ADVISOR) | Q(assigned_customers__isnull=False)
        ).distinct()
        self.fields["targets"].queryset = users.filter(groups__name=roles.ADVISOR, is_active=True)

    def filters(self, today) -> Filters:
        months = self.cleaned_data.get("visited_months")
        since = None
        if months:  # the same day ``months`` months back (the month's last day if shorter)
            year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
            last = calendar.monthrange(year, month + 1)[1]
            since = today.replace(year=year, month=month + 1, day=min(today.day, last))
        return Filters(tier=self.cleaned_data.get("tier") or "", visited_since=since)
