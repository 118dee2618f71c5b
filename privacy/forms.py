from django import forms
from django.utils.translation import gettext_lazy as _


class EraseForm(forms.Form):
    """Typing the customer's name, as the page shows it, confirms the erasure."""

    confirm_name = forms.CharField(label=_("请输入客户姓名以确认"), max_length=100)

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.customer.name.strip():
            raise forms.ValidationError(_("输入的姓名与客户姓名不一致，未删除任何内容。"))
        return typed
