"""One way to refuse (shopcrm.refusals) and one way to load an object by id
(shopcrm.access.object_for): a service's refusal lands on the form or in the messages, the
API answers it with a 400 and field errors, and a junk or unknown id is a 404, never a 500."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import RequestFactory
from django.views import View

from customers import access as customer_access
from shopcrm.access import find_for, object_for
from shopcrm.errors import DomainError, DuplicateFound
from shopcrm.refusals import REFUSED, RefusalMixin, api_exception_handler, errors_of
from tests.factories import CustomerFactory, UserFactory


class PhoneForm(forms.Form):
    customer_phone = forms.CharField(required=False)


class Page(RefusalMixin, View):
    field_map = {"phone": "customer_phone"}


def page(user=None):
    request = RequestFactory().post("/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    view = Page()
    view.request = request
    return view


def refuse(error):
    def service(**kwargs):
        raise error

    return service


def test_what_a_refusal_says():
    assert errors_of(DomainError("不行")) == {None: ["不行"]}
    assert errors_of(DomainError("已登记", field="phone"), {"phone": "customer_phone"}) == {
        "customer_phone": ["已登记"]
    }
    assert errors_of(ValidationError({"phone": ["格式错误"], "name": ["必填"]})) == {
        "phone": ["格式错误"],
        "name": ["必填"],
    }
    assert errors_of(ValidationError("整体错误")) == {None: ["整体错误"]}


def test_a_page_puts_the_refusal_on_its_form_or_in_its_messages():
    view, form = page(), PhoneForm({})
    form.is_valid()
    existing = object()
    error = DuplicateFound("手机号已属于客户 王芳。", existing=existing, field="phone")
    assert view.attempt(refuse(error), form=form) is REFUSED
    assert form.errors == {"customer_phone": ["手机号已属于客户 王芳。"]}
    assert view.duplicate is existing and view.refusal is error

    form = PhoneForm({})
    form.is_valid()
    assert view.attempt(refuse(ValidationError({"vin": ["校验位错误"]})), form=form) is REFUSED
    assert form.errors == {"__all__": ["校验位错误"]}  # not a field of this form: on top

    form = PhoneForm({})
    form.is_valid()
    assert not view.attempt(refuse(DomainError("工单已交车。")), form=form, rules_as_messages=True)
    assert not form.errors
    assert [str(m) for m in get_messages(view.request)] == ["工单已交车。"]

    assert view.attempt(lambda **kwargs: kwargs, form=form, x=1) == {"x": 1}
    assert view.attempt(lambda: None) is None  # a result of None is not a refusal


def test_the_api_answers_a_refusal_with_a_400_and_field_errors():
    answer = api_exception_handler(DomainError("已关闭的投诉", field="status"), {})
    assert answer.status_code == 400
    assert answer.data == {"status": ["已关闭的投诉"], "detail": "已关闭的投诉"}
    answer = api_exception_handler(
        ValidationError({"customer_phone": ["没有这个手机号的客户。"]}), {}
    )
    assert (answer.status_code, answer.data) == (
        400,
        {"customer_phone": ["没有这个手机号的客户。"]},
    )
    answer = api_exception_handler(ValidationError("整体错误"), {})
    assert answer.data == {"non_field_errors": ["整体错误"]}
    assert api_exception_handler(Http404(), {}).status_code == 404  # DRF's own cases stay


@pytest.mark.django_db
def test_an_object_is_loaded_by_id_one_way():
    advisor = UserFactory(role="advisor", username="adv-r")
    nobody = UserFactory(username="nobody-r")
    customer = CustomerFactory()
    assert customer_access.customer_for(advisor, str(customer.pk)) == customer
    for junk in ("abc", "", None, "1.5", "99999999"):
        with pytest.raises(Http404):
            customer_access.customer_for(advisor, junk)
        assert find_for(advisor, type(customer), junk) is None
    with pytest.raises(PermissionDenied):
        customer_access.customer_for(nobody, customer.pk)
    with pytest.raises(PermissionDenied):
        object_for(advisor, type(customer), customer.pk, allowed=lambda user, obj: False)
    merged = CustomerFactory(merged_into=customer)
    assert customer_access.customer_for(advisor, merged.pk) == merged
    with pytest.raises(Http404):
        customer_access.customer_for(advisor, merged.pk, live=True)
