"""Issue 16, bug 9: an administrator who breaks a policy's rule in the admin reads a clear
message on the field, not 约束 "policy_calling_hours_order" 是无效的."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from followups.models import FollowUpPolicy
from shopcalendar.models import ShopCalendar
from surveys.models import Question
from surveys.selectors import template_default
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_shows_the_calendars_rule_on_its_field(client):
    calendar = ShopCalendar.current()
    client.force_login(UserFactory(role="admin", username="root-constraints"))
    url = f"/admin/shopcalendar/shopcalendar/{calendar.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(contact_start="20:00", contact_end="09:00")
    answer = client.post(url, {k: v for k, v in data.items() if v is not None})
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert errors["contact_end"] == ["停止联系时间须晚于开始联系时间。"]
    assert "约束" not in answer.content.decode()


def test_each_policy_constraint_speaks_on_its_field():
    for instance, field in (
        (FollowUpPolicy(max_attempts=0), "max_attempts"),
        (ShopCalendar(business_start="18:00", business_end="09:00"), "business_end"),
        (Question(template=template_default(), code="x", kind="nps", dimension="rel"), "dimension"),
    ):
        with pytest.raises(ValidationError) as refused:
            instance.validate_constraints()
        errors = refused.value.message_dict
        assert field in errors and NON_FIELD_ERRORS not in errors, errors
        assert all(
            "约束" not in message and "Constraint" not in message for message in errors[field]
        )
