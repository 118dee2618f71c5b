"""Complaints created through the API (the OEM hotline integration)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.selectors import customer_find_by_phone
from customers.services import customer_create
from customers.validators import normalize_phone
from visits.models import Visit

from . import services
from .models import Complaint


def complaint_create_from_api(*, data: dict, by) -> tuple[Complaint, bool]:
    """(complaint, created). The customer by external_id or phone (a phone the shop does
    not know becomes a new customer); the visit by external_id.
    A repeated external_id returns the first complaint (a retried request creates nothing).
    The complaint has no owner until someone at the shop responds first."""
    existing = Complaint.objects.filter(external_id=data["external_id"]).first()
    if existing:
        return existing, False
    visit = None
    if data.get("visit_external_id"):
        visit = Visit.objects.filter(external_id=data["visit_external_id"]).first()
        if visit is None:
            raise ValidationError({"visit_external_id": [_("没有这个 external_id 的工单。")]})
    try:
        with transaction.atomic():  # a new customer and their complaint, or neither
            customer = _customer(data, by)
            complaint = services.complaint_create(
                customer=customer,
                by=by,
                owner=None,
                category=data["category"],
                severity=data["severity"],
                channel=data["channel"],
                description=data["description"],
                visit=visit,
                received_at=data.get("received_at"),
                external_id=data["external_id"],
            )
    except IntegrityError:  # the same external_id from a concurrent request
        return Complaint.objects.get(external_id=data["external_id"]), False
    return complaint, True


def _customer(data: dict, by) -> Customer:
    if data.get("customer_external_id"):
        customer = Customer.objects.filter(external_id=data["customer_external_id"]).first()
        if customer is None:
            raise ValidationError({"customer_external_id": [_("没有这个 external_id 的客户。")]})
        return customer
    if data.get("customer_phone"):
        try:
            phone = normalize_phone(data["customer_phone"])
        except ValidationError as exc:
            raise ValidationError({"customer_phone": exc.messages}) from exc
        customer = customer_find_by_phone(phone)
        if customer is None:
            # A caller the shop does not know yet is a new customer, and the answer is the
            # same either way: the hotline cannot probe who is a customer.
            customer = customer_create(
                name=(data.get("customer_name") or "").strip() or _("热线来电客户"),
                phone=phone,
                by=by,
            )
        return customer
    raise ValidationError(
        {"customer_external_id": [_("请提供 customer_external_id 或 customer_phone。")]}
    )
