"""Readable change history (who changed what, and when) from django-simple-history."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shopcrm.people import person_name

from .validators import mask_phone

KINDS = {"+": _("创建"), "~": _("修改"), "-": _("删除")}
MASKED_FIELDS = {"phone", "phone2"}  # history must not become a way around the masking


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    at: datetime
    user: object
    kind: str
    reason: str
    changes: list[Change] = field(default_factory=list)


def _display(record, field_name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if field_name in MASKED_FIELDS:
        return mask_phone(value)
    model_field = record.instance_type._meta.get_field(field_name)
    if model_field.many_to_one and model_field.related_model is get_user_model():
        # A member of staff (the customer's own advisor) by name, not by id.
        return person_name(get_user_model().objects.filter(pk=value).first()) or str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, datetime):  # in the shop's time, as every page shows times
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def history_entries(instance, *, limit: int = 20) -> list[HistoryEntry]:
    """The latest changes of a record, newest first, each with the fields it changed."""
    records = list(
        instance.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None and record.history_type == "~":
            for change in record.diff_against(previous).changes:
                label = record.instance_type._meta.get_field(change.field).verbose_name
                changes.append(
                    Change(
                        label=str(label),
                        old=_display(record, change.field, change.old),
                        new=_display(record, change.field, change.new),
                    )
                )
        entries.append(
            HistoryEntry(
                at=record.history_date,
                user=record.history_user,
                kind=str(KINDS.get(record.history_type, record.history_type)),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
    return entries
