"""Where a phone was revealed is the server's word (issue 15, part 4): the customer page,
the call (by its route, with the call's id), the admin — a context the browser posts is
ignored. The admin shows phones masked, each reveal recorded."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import PhoneReveal
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_customer_page_records_its_own_context_not_the_browsers(client):
    customer = CustomerFactory(phone="+8613812345678")
    client.force_login(UserFactory(role="advisor"))
    answer = client.post(
        reverse("customers:reveal_phone", args=[customer.pk]), {"context": "call 999"}
    )
    assert answer.json()["e164"] == "+8613812345678"
    assert PhoneReveal.objects.get().context == "customer page"


def test_the_call_page_records_the_call(client):
    from tests.followups.test_services import due_task

    task = due_task()
    agent = UserFactory(role="agent")
    task.status, task.assigned_to = "claimed", agent
    task.lease_expires_at = timezone.now() + timedelta(minutes=10)
    task.save()
    client.force_login(agent)
    page = client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert reverse("followups:reveal_phone", args=[task.pk]) in page
    answer = client.post(reverse("followups:reveal_phone", args=[task.pk]), {"context": "x"})
    assert answer.status_code == 200
    assert PhoneReveal.objects.get().context == f"call {task.pk}"
    other = UserFactory(role="agent", username="agent-other")
    client.force_login(other)  # not their call
    assert client.post(reverse("followups:reveal_phone", args=[task.pk])).status_code == 403
    assert PhoneReveal.objects.count() == 1


def test_the_admin_masks_phones_and_records_a_reveal(client):
    customer = CustomerFactory(phone="+8613812345678", phone2="+8613900001111")
    client.force_login(UserFactory(role="admin", username="root-phones"))
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    assert "13812345678" not in page and "13900001111" not in page
    assert "138****5678" in page
    url = reverse("customers:reveal_phone_admin", args=[customer.pk])
    assert url in page
    assert client.post(url).json()["e164"] == "+8613812345678"
    assert PhoneReveal.objects.get().context == "admin"
    listing = client.get("/admin/customers/customer/").content.decode()
    assert "13812345678" not in listing
    client.force_login(UserFactory(role="advisor", username="desk-admin-url"))
    assert client.post(url).status_code == 403  # the admin's route is for administrators
