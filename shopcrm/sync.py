"""The frame every DMS sync batch shares: the shape check (a 400 for the whole request),
per-record field parsing (an error for that record only), and the batch result.

Rules, from API.md and the sync issue:
- The body is a JSON array of 1..1000 objects. Anything else, an unknown field or a value of
  the wrong JSON type is a 400 for the whole request, and nothing is written.
- Within a well-formed batch each record stands alone: a record that fails validation is
  reported by index with its reasons; the others are written.
- A record is the DMS's full current state of that record: an optional field left out is
  stored as empty (except where a sync says otherwise).
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shopcrm import bulk

MAX_RECORDS = 1000
CHANGE_REASON = "DMS sync"
RACE_RETRIES = 3

# JSON types a field accepts; None (null) is accepted for every optional field.
STRING, INTEGER, BOOLEAN, NUMBER_OR_STRING = "string", "integer", "boolean", "number_or_string"
_JSON_TYPES = {
    STRING: (str,),
    INTEGER: (int,),
    BOOLEAN: (bool,),
    NUMBER_OR_STRING: (int, float, str),
}
_TYPE_NAMES = {
    STRING: gettext_lazy("字符串"),
    INTEGER: gettext_lazy("整数"),
    BOOLEAN: gettext_lazy("true 或 false"),
    NUMBER_OR_STRING: gettext_lazy("数字或数字字符串"),
}


def storable(text: str) -> bool:
    """PostgreSQL text holds no NUL, and UTF-8 has no lone surrogates (which JSON allows)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text) -> str:
    """A value echoed back in an answer (and kept in jsonb for an idempotent replay), made
    safe to encode: lone surrogates and NUL become visible escapes."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class BatchRejected(Exception):
    """The request as a whole is malformed: answer 400 and write nothing."""

    def __init__(self, detail, errors: list | None = None):
        super().__init__(str(detail))
        self.detail = str(detail)
        self.errors = errors or []


@dataclass(frozen=True)
class FieldSpec:
    name: str
    json_type: str
    required: bool = False


def check_shape(payload, specs: list[FieldSpec]) -> list[dict]:
    """The 400 rules: an array of 1..1000 objects with known fields of the right types."""
    if not isinstance(payload, list):
        raise BatchRejected(
            _("请求体必须是 JSON 数组（1 到 %(max)s 条记录）。") % {"max": MAX_RECORDS}
        )
    if not payload:
        raise BatchRejected(_("请求体是空数组：至少要有 1 条记录。"))
    if len(payload) > MAX_RECORDS:
        raise BatchRejected(
            _("一次最多 %(max)s 条记录，本次有 %(count)s 条，请分批发送。")
            % {"max": MAX_RECORDS, "count": len(payload)}
        )
    known = {spec.name: spec for spec in specs}
    errors = []
    for index, record in enumerate(payload):
        if not isinstance(record, dict):
            errors.append(
                {"index": index, "errors": {"non_field_errors": [_("每条记录必须是 JSON 对象。")]}}
            )
            continue
        record_errors = {}
        for key, value in record.items():
            spec = known.get(key)
            if spec is None:
                record_errors[printable(key)] = [_("未知字段。")]
            elif value is not None and (
                not isinstance(value, _JSON_TYPES[spec.json_type])
                or (spec.json_type != BOOLEAN and isinstance(value, bool))
            ):
                record_errors[key] = [
                    _("类型错误：应为%(expected)s。") % {"expected": _TYPE_NAMES[spec.json_type]}
                ]
        if record_errors:
            errors.append({"index": index, "errors": record_errors})
    if errors:
        raise BatchRejected(_("请求中有未知字段或类型错误的值，整批未写入。"), errors)
    return payload


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def fail(self, index: int, external_id, errors: dict) -> None:
        self.errors.append(
            {
                "index": index,
                "external_id": printable(external_id) if isinstance(external_id, str) else None,
                "errors": {
                    printable(name): [printable(m) for m in messages]
                    for name, messages in errors.items()
                },
            }
        )

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": sorted(self.errors, key=lambda error: error["index"]),
        }


class Record:
    """One incoming record being parsed: collects field errors instead of raising."""

    def __init__(self, index: int, data: dict):
        self.index = index
        self.data = data
        self.errors: dict[str, list[str]] = {}
        self.external_id = data.get("external_id")
        self.values: dict = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message) -> None:
        self.errors.setdefault(name, []).append(str(message))

    def string(self, name: str, *, max_length: int, required: bool = False) -> str:
        value = self.data.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if not storable(value):
            self.error(name, _("含有无法保存的字符（如 NUL 或不成对的代理字符）。"))
            return ""
        if required and not value:
            self.error(name, _("必填。"))
        elif len(value) > max_length:
            self.error(name, _("最多 %(max)s 个字符。") % {"max": max_length})
        return value

    def choice(self, name: str, choices, *, default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            if default is None:
                self.error(name, _("必填。"))
            return default
        if value not in choices:
            self.error(name, _("可选值：%(values)s。") % {"values": ", ".join(map(str, choices))})
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name)
        return default if value is None else value

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None):
        value = self.data.get(name)
        if value is None:
            return None
        if minimum is not None and value < minimum:
            self.error(name, _("不能小于 %(min)s。") % {"min": minimum})
        elif maximum is not None and value > maximum:
            self.error(name, _("不能大于 %(max)s。") % {"max": maximum})
        return value

    def money(self, name: str) -> Decimal | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.error(name, _("不是有效的金额。"))
            return None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
            self.error(name, _("金额必须在 0 到 99,999,999.99 元之间。"))
            return None
        if amount != amount.quantize(Decimal("0.01")):
            self.error(name, _("金额最多两位小数。"))
            return None
        return amount.quantize(Decimal("0.01"))

    def moment(self, name: str, *, required: bool = False) -> datetime | None:
        """ISO 8601 with an offset; a naive time is read as the shop's time (Asia/Shanghai)."""
        value = self.data.get(name)
        if value in (None, ""):
            if required:
                self.error(name, _("必填。"))
            return None
        try:
            parsed = datetime.fromisoformat(value)  # fast path; parse_datetime for the rest
        except ValueError:
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.error(
                name, _("不是有效的时间，请用 ISO 8601 格式，如 2026-11-23T09:30:00+08:00。")
            )
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
        return parsed

    def day(self, name: str) -> date | None:
        value = self.data.get(name)
        if value in (None, ""):
            return None
        try:
            parsed = parse_date(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.error(name, _("不是有效的日期，请用 YYYY-MM-DD 格式。"))
        return parsed

    def validated(self, name: str, validator, *args, **kwargs):
        """Run one of the browser's validators (phone, VIN, plate) on a field."""
        value = self.data.get(name) or ""
        if not storable(value):
            self.error(name, _("含有无法保存的字符（如 NUL 或不成对的代理字符）。"))
            return None
        try:
            return validator(value, *args, **kwargs)
        except ValidationError as exc:
            for message in exc.messages:
                self.error(name, message)
            return None


def parse_records(payload: list[dict], parse) -> list[Record]:
    """Parse every record with ``parse(record)``; a repeated external_id keeps the last."""
    records = []
    last_index: dict[str, int] = {}
    for index, data in enumerate(payload):
        record = Record(index, data)
        record.values = parse(record)
        records.append(record)
        if isinstance(record.external_id, str) and record.external_id.strip():
            last_index[record.external_id] = index
    for record in records:
        if record.ok and last_index.get(record.external_id, record.index) != record.index:
            record.error(
                "external_id",
                _("该 external_id 在本批中重复，以第 %(index)s 条为准。")
                % {"index": last_index[record.external_id]},
            )
    return records


def refuse_duplicates_in_batch(records: list[Record], name: str, message) -> None:
    """A unique value (phone, VIN, plate, RO number) used by two records of one batch: the
    first keeps it, the others fail."""
    seen: dict = {}
    for record in records:
        value = record.values.get(name) if record.ok else None
        if not value:
            continue
        if value in seen:
            record.error(name, message % {"index": seen[value]})
        else:
            seen[value] = record.index


def write_batch(model, records, result, *, now, by, columns, checks, row, after_write=None):
    """Check uniqueness against the database, upsert the valid records, count the outcome.

    A concurrent batch can take a unique value between the check and the write; the
    database's unique constraint then refuses the statement, and the batch is checked and
    written again (its own rows stay as they were: the transaction rolls back to a
    savepoint)."""
    for attempt in range(RACE_RETRIES):
        for check in checks:
            check(records)
        valid = [record for record in records if record.ok]
        try:
            with transaction.atomic():
                outcome = bulk.upsert(
                    model=model,
                    rows=[row(record.values) for record in valid],
                    columns=columns,
                    now=now,
                    history_user_id=getattr(by, "pk", None),
                    change_reason=CHANGE_REASON,
                )
                if after_write:
                    after_write(valid, outcome)
        except IntegrityError:
            if attempt == RACE_RETRIES - 1:
                raise
            continue
        break
    for record in records:
        if not record.ok:
            result.fail(record.index, record.external_id, record.errors)
    result.created = len(outcome.created)
    result.updated = len(outcome.updated)
    result.unchanged = len(valid) - result.created - result.updated
    return result
