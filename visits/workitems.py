"""The repair order's work items and extra work (增项): the advisor (or the DMS) puts a found
item to the customer with its estimate, urgency and photos; the customer approves, declines
or defers it on the status page, or the advisor records the answer given by phone. An answer
is recorded once, with its time and channel, and only while the car is in the workshop;
approved items join the estimate, declined and deferred ones become recommendations."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shopcrm.errors import DomainError

from . import events, photos
from .models import Recommendation, Visit, WorkItem, WorkItemPhoto

Item = WorkItem
MAX_AMOUNT = Decimal("1000000")
# Which answers each urgency offers: a safety item is done or not, never "next time".
ANSWERS = {
    Item.Urgency.SAFETY: (Item.Status.APPROVED, Item.Status.DECLINED),
    Item.Urgency.RECOMMENDED: (Item.Status.APPROVED, Item.Status.DECLINED, Item.Status.DEFERRED),
    Item.Urgency.CAN_WAIT: (Item.Status.APPROVED, Item.Status.DECLINED, Item.Status.DEFERRED),
}


def _amount(value, field: str, errors: dict) -> Decimal | None:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        errors[field] = [_("请填写金额（元）。")]
        return None
    if amount < 0 or amount >= MAX_AMOUNT or not amount.is_finite():
        errors[field] = [_("金额须在 0 到 1,000,000 元之间。")]
        return None
    return amount


def extra_work_request(
    *,
    visit: Visit,
    description: str,
    labour_estimate,
    parts_estimate,
    urgency: str,
    photos_in=(),
    by=None,
    requested_at=None,
    external_id=None,
    source_updated_at=None,
) -> WorkItem:
    """Put a found item to the customer. Every photo is checked and prepared before anything
    is written; the photos and the item are written together (a failure removes the files
    already stored). The DMS's items (visits.sync.work_items_sync) come with their DMS id,
    change time and the time the DMS recorded them."""
    errors: dict = {}
    description = (description or "").strip()
    if not description:
        errors["description"] = [_("请填写发现的问题和建议的项目。")]
    elif len(description) > 200 or "\x00" in description:
        errors["description"] = [_("最多 200 个字。")]
    labour = _amount(labour_estimate, "labour_estimate", errors)
    parts = _amount(parts_estimate, "parts_estimate", errors)
    if urgency not in Item.Urgency.values:
        errors["urgency"] = [_("请选择紧急程度。")]
    try:
        prepared = photos.prepared_all(photos_in)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        prepared = []
    if errors:
        raise ValidationError(errors)
    stored: list[WorkItemPhoto] = []
    try:
        with transaction.atomic():
            visit = Visit.objects.select_for_update().get(pk=visit.pk)
            if visit.status not in Visit.IN_WORKSHOP:
                raise DomainError(
                    _("工单 %(ro)s 已“%(status)s”，不能再提出增项。")
                    % {"ro": visit.ro_number, "status": visit.get_status_display()},
                    code="visit_not_in_workshop",
                )
            item = WorkItem.objects.create(
                visit=visit,
                kind=Item.Kind.EXTRA,
                description=description,
                labour_estimate=labour,
                parts_estimate=parts,
                urgency=urgency,
                status=Item.Status.AWAITING,
                requested_at=requested_at or timezone.now(),
                requested_by=by,
                external_id=external_id,
                source_updated_at=source_updated_at,
            )
            _visit_changed(visit.pk)
            for content in prepared:
                photo = WorkItemPhoto(item=item)
                photo.image.save(content.name, content, save=False)
                stored.append(photo)
                photo.save()
            transaction.on_commit(
                lambda: events.extra_work_requested.send(sender=WorkItem, item=item), robust=True
            )
    except Exception:
        for photo in stored:
            photo.image.storage.delete(photo.image.name)
        raise
    return item


def extra_work_answer(
    *, item: WorkItem, decision: str, channel: str, by=None, now=None
) -> WorkItem:
    """The customer's answer to one item, once: a second answer, an answer after the car
    left the workshop, or an answer the item does not offer is refused and writes nothing."""
    now = now or timezone.now()
    if channel not in Item.Channel.values:
        raise ValidationError({"channel": [_("请选择答复方式。")]})
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().select_related("visit").get(pk=item.pk)
        if item.status != Item.Status.AWAITING:
            raise DomainError(
                _("“%(item)s”已经答复过了（%(status)s），如需更改请重新提出。")
                % {"item": item.description, "status": item.get_status_display()},
                code="already_answered",
            )
        if item.visit.status not in Visit.IN_WORKSHOP:
            raise DomainError(
                _("车辆已“%(status)s”，不能再答复这个项目。")
                % {"status": item.visit.get_status_display()},
                code="visit_not_in_workshop",
            )
        if decision not in ANSWERS.get(item.urgency, ()):
            raise ValidationError({"decision": [_("这个项目不能这样答复。")]})
        item.status, item.answered_at, item.answer_channel = decision, now, channel
        item.answered_by = by if channel == Item.Channel.PHONE else None
        item.save(
            update_fields=["status", "answered_at", "answer_channel", "answered_by", "updated_at"]
        )
        _visit_changed(item.visit_id)
        if decision in (Item.Status.DECLINED, Item.Status.DEFERRED):
            Recommendation.objects.create(
                vehicle_id=item.visit.vehicle_id, item=item, created_at=now
            )
        transaction.on_commit(
            lambda: events.extra_work_answered.send(sender=WorkItem, item=item), robust=True
        )
    return item


def _visit_changed(visit_id: int) -> None:
    """The visit's read-back (GET /api/v1/visits/, in updated_at order) includes its work
    items: a DMS reading "what changed since" sees a new item or an answer."""
    Visit.objects.filter(pk=visit_id).update(updated_at=timezone.now())


def approved_extra_total(visit: Visit) -> Decimal:
    total = visit.work_items.filter(kind=Item.Kind.EXTRA, status=Item.Status.APPROVED).aggregate(
        labour=Sum("labour_estimate"), parts=Sum("parts_estimate")
    )
    return (total["labour"] or Decimal(0)) + (total["parts"] or Decimal(0))


def current_estimate(visit: Visit) -> Decimal | None:
    """The check-in estimate plus the approved extra work (what the customer agreed to)."""
    extra = approved_extra_total(visit)
    if visit.estimated_amount is None and not extra:
        return None
    return (visit.estimated_amount or Decimal(0)) + extra


def awaiting_by_visit(visit_ids) -> dict:
    """visit id → its oldest item still waiting for the customer (for the board)."""
    waiting = {}
    for item in WorkItem.objects.filter(
        visit_id__in=list(visit_ids), status=Item.Status.AWAITING
    ).order_by("requested_at"):
        waiting.setdefault(item.visit_id, item)
    return waiting


def open_recommendations(vehicle) -> list[Recommendation]:
    if vehicle is None:
        return []
    return list(
        Recommendation.objects.filter(vehicle=vehicle, status=Recommendation.Status.OPEN)
        .select_related("item__visit")
        .order_by("-created_at")
    )


def recommendations_add(*, visit: Visit, recommendation_ids, by=None) -> list[WorkItem]:
    """One tap at check-in (or on the visit page): the vehicle's open recommendations join
    this visit as planned work, and are done (this visit includes them). Ids that are not
    this vehicle's open recommendations are ignored."""
    ids = [int(pk) for pk in recommendation_ids if str(pk).isdigit()]
    if not ids:
        return []
    now = timezone.now()
    added = []
    with transaction.atomic():
        for recommendation in (
            Recommendation.objects.select_for_update()
            .select_related("item")
            .filter(pk__in=ids, vehicle_id=visit.vehicle_id, status=Recommendation.Status.OPEN)
        ):
            added.append(
                WorkItem.objects.create(
                    visit=visit,
                    kind=Item.Kind.PLANNED,
                    status=Item.Status.PLANNED,
                    description=recommendation.item.description,
                    labour_estimate=recommendation.item.labour_estimate,
                    parts_estimate=recommendation.item.parts_estimate,
                    from_recommendation=recommendation,
                    requested_by=by,
                )
            )
            recommendation.status = Recommendation.Status.DONE
            recommendation.done_visit, recommendation.done_at = visit, now
            recommendation.save(update_fields=["status", "done_visit", "done_at"])
    return added


def open_recommendations_by_vehicle(vehicle_ids) -> dict:
    """vehicle id → its open recommendations, newest first (the customer page, the call)."""
    found: dict = {}
    for recommendation in (
        Recommendation.objects.filter(
            vehicle_id__in=list(vehicle_ids), status=Recommendation.Status.OPEN
        )
        .select_related("item")
        .order_by("-created_at")
    ):
        found.setdefault(recommendation.vehicle_id, []).append(recommendation)
    return found
