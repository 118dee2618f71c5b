"""The DMS sync framework: each kind of synced record is declared once, as a ``Declaration``
of typed fields, and that one declaration gives the request's shape check (a 400 for the
whole request), the per-record validation (an error for that record only), the columns of
the set-based upsert (``shopcrm.bulk``) and the OpenAPI schema of the request body.

Rules, from API.md and the sync issue:
- The body is a JSON array of 1..1000 objects. Anything else, an unknown field or a value of
  the wrong JSON type is a 400 for the whole request, and nothing is written.
- Within a well-formed batch each record stands alone: a record that fails validation is
  reported by index with its reasons; the others are written.
- A record is the DMS's full current state of that record: an optional field left out is
  stored as empty (except where a field's ``on_update`` says otherwise).

Adding a field to a synced record is one line in its declaration (plus the model's
migration); the declarations live with their records (customers/sync.py, visits/sync.py,
surveys/sync.py).
"""

import re
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from shopcrm import bulk

MAX_RECORDS = 1000
CHANGE_REASON = "DMS sync"
RACE_RETRIES = 3

# ``on_update`` rules (SQL; ``t`` is the stored row, ``excluded`` the incoming one).
KEEP_HIGHEST = (
    "CASE WHEN t.{name} IS NULL OR excluded.{name} > t.{name} "
    "THEN excluded.{name} ELSE t.{name} END"
)
STICKY_TRUE = "(t.{name} OR excluded.{name})"

FROM_MODEL = "from the model"  # max_length: the model field's own


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


# ---------------------------------------------------------------- field kinds


def _unstorable(record: Record, name: str) -> None:
    record.error(name, _("含有无法保存的字符（如 NUL 或不成对的代理字符）。"))


@dataclass(frozen=True)
class Field:
    """One field of a synced record. A kind says which JSON values the shape check lets
    through, how a value is checked and converted (``parse``), and how the schema shows it.

    ``written``: the value is a column of the model (a reference or an advisor's code is
    resolved into other columns by the sync service instead). ``on_update`` and ``compare``
    are the upsert's rules for the column (``shopcrm.bulk.Column``). ``required_message``
    replaces the plain "required" where the field needs more words.
    """

    name: str
    _kw: KW_ONLY
    required: bool = False
    help_text: Any = ""
    written: bool = True
    on_update: str | None = "excluded.{name}"
    compare: bool = True
    required_message: Any = None

    json_types: ClassVar[tuple] = (str,)
    type_name: ClassVar = gettext_lazy("字符串")

    def bind(self, model) -> "Field":
        """The field as the declaration of ``model`` uses it (with what it takes from it)."""
        return self

    def parse(self, record: Record):
        raise NotImplementedError

    def schema_field(self) -> serializers.Field:
        raise NotImplementedError

    def column(self) -> bulk.Column:
        return bulk.Column(self.name, on_update=self.on_update, compare=self.compare)

    def missing(self, record: Record) -> None:
        record.error(self.name, self.required_message or _("必填。"))

    def _optional(self) -> dict:
        """An optional field may be null (or left out) in the request."""
        return {} if self.required else {"required": False, "allow_null": True}

    def _model_field(self, model, name: str):
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise ImproperlyConfigured(
                f"sync field {self.name!r}: {model.__name__} has no field {name!r}"
            ) from exc


@dataclass(frozen=True)
class Text(Field):
    """A string, stripped; at most ``max_length`` characters (by default the model's)."""

    _kw: KW_ONLY
    max_length: int | str | None = FROM_MODEL

    serializer_field: ClassVar = serializers.CharField

    def bind(self, model) -> "Text":
        if self.max_length != FROM_MODEL:
            return self
        max_length = self._model_field(model, self.name).max_length
        if max_length is None:
            raise ImproperlyConfigured(f"sync field {self.name!r} needs a max_length")
        return replace(self, max_length=max_length)

    def parse(self, record: Record) -> str:
        value = record.data.get(self.name)
        value = value.strip() if isinstance(value, str) else ""
        if not storable(value):
            _unstorable(record, self.name)
            return ""
        if self.required and not value:
            self.missing(record)
        elif len(value) > self.max_length:
            record.error(self.name, _("最多 %(max)s 个字符。") % {"max": self.max_length})
        return value

    def schema_field(self) -> serializers.Field:
        blank = {} if self.required else {"allow_blank": True}
        return self.serializer_field(
            max_length=self.max_length, help_text=self.help_text, **self._optional(), **blank
        )


@dataclass(frozen=True)
class Reference(Text):
    """Another record by the DMS's id (``customer_external_id``, …), at most as long as
    the target's ``external_id``; the sync service resolves it into a foreign key."""

    target: Any
    _kw: KW_ONLY
    written: bool = False

    def bind(self, model) -> "Reference":
        if self.max_length != FROM_MODEL:
            return self
        return replace(self, max_length=self._model_field(self.target, "external_id").max_length)


@dataclass(frozen=True)
class Email(Text):
    """An e-mail address, judged by Django's validator like the browser's form."""

    serializer_field: ClassVar = serializers.EmailField

    def parse(self, record: Record) -> str:
        value = super().parse(record)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                record.error(self.name, _("不是有效的电子邮件地址。"))
        return value


@dataclass(frozen=True)
class Validated(Text):
    """A value the browser's own validator normalises (phone, VIN, plate), so it is judged
    the same wherever it comes from. An empty value is "required" (or stored as ""), unless
    ``validate_empty``: then the validator's own message says what is missing.
    ``max_length`` only documents the longest spelling; the validator has the last word."""

    validator: Callable
    _kw: KW_ONLY
    validate_empty: bool = False
    max_length: int | str | None = None

    def parse(self, record: Record) -> str | None:
        value = record.data.get(self.name)
        if not value and not self.validate_empty:
            if self.required:
                self.missing(record)
                return None
            return ""
        value = value or ""
        if not storable(value):
            _unstorable(record, self.name)
            return None
        try:
            return self.validator(value)
        except ValidationError as exc:
            for message in exc.messages:
                record.error(self.name, message)
            return None


@dataclass(frozen=True)
class Choice(Field):
    """One of the model field's choices (or the given ones); left out, the ``default``."""

    _kw: KW_ONLY
    default: str | None = None
    choices: tuple = ()

    def bind(self, model) -> "Choice":
        if self.choices:
            return self
        return replace(self, choices=tuple(self._model_field(model, self.name).choices))

    @cached_property
    def values(self) -> tuple:
        return tuple(value for value, _label in self.choices)

    def parse(self, record: Record) -> str | None:
        value = record.data.get(self.name)
        if value is None:
            if self.required:
                self.missing(record)
            return self.default
        if value not in self.values:
            record.error(
                self.name, _("可选值：%(values)s。") % {"values": ", ".join(map(str, self.values))}
            )
        return value

    def schema_field(self) -> serializers.Field:
        default = {} if self.default is None else {"default": self.default}
        return serializers.ChoiceField(
            list(self.choices), help_text=self.help_text, **self._optional(), **default
        )


@dataclass(frozen=True)
class Boolean(Field):
    """``true``/``false``; left out, the ``default``."""

    _kw: KW_ONLY
    default: bool = False

    json_types: ClassVar[tuple] = (bool,)
    type_name: ClassVar = gettext_lazy("true 或 false")

    def parse(self, record: Record) -> bool:
        value = record.data.get(self.name)
        return self.default if value is None else value

    def schema_field(self) -> serializers.Field:
        return serializers.BooleanField(
            default=self.default, help_text=self.help_text, **self._optional()
        )


@dataclass(frozen=True)
class Integer(Field):
    """A JSON integer within ``minimum``..``maximum`` (either may be a callable, for a bound
    that moves with the calendar)."""

    _kw: KW_ONLY
    minimum: int | Callable | None = None
    maximum: int | Callable | None = None

    json_types: ClassVar[tuple] = (int,)
    type_name: ClassVar = gettext_lazy("整数")

    def __post_init__(self):
        object.__setattr__(self, "moving", callable(self.minimum) or callable(self.maximum))

    def parse(self, record: Record) -> int | None:
        value = record.data.get(self.name)
        if value is None:
            return None
        minimum, maximum = self.minimum, self.maximum
        if self.moving:
            minimum = minimum() if callable(minimum) else minimum
            maximum = maximum() if callable(maximum) else maximum
        if minimum is not None and value < minimum:
            record.error(self.name, _("不能小于 %(min)s。") % {"min": minimum})
        elif maximum is not None and value > maximum:
            record.error(self.name, _("不能大于 %(max)s。") % {"max": maximum})
        return value

    def schema_field(self) -> serializers.Field:
        bounds = {
            key: bound
            for key, bound in (("min_value", self.minimum), ("max_value", self.maximum))
            if bound is not None and not callable(bound)
        }
        return serializers.IntegerField(help_text=self.help_text, **self._optional(), **bounds)


@dataclass(frozen=True)
class Money(Field):
    """An amount in CNY, as a JSON number or a numeric string: 0 to 99,999,999.99."""

    json_types: ClassVar[tuple] = (int, float, str)
    type_name: ClassVar = gettext_lazy("数字或数字字符串")

    def parse(self, record: Record) -> Decimal | None:
        value = record.data.get(self.name)
        if value is None or value == "":
            if self.required:
                self.missing(record)
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            record.error(self.name, _("不是有效的金额。"))
            return None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
            record.error(self.name, _("金额必须在 0 到 99,999,999.99 元之间。"))
            return None
        if amount != amount.quantize(Decimal("0.01")):
            record.error(self.name, _("金额最多两位小数。"))
            return None
        return amount.quantize(Decimal("0.01"))

    def schema_field(self) -> serializers.Field:
        return serializers.DecimalField(
            max_digits=10, decimal_places=2, help_text=self.help_text, **self._optional()
        )


@dataclass(frozen=True)
class Moment(Field):
    """ISO 8601 with an offset; a naive time is read as the shop's time (Asia/Shanghai).
    ``check`` refuses a moment the shop's calendar does not hold (declarations pass
    shopcalendar's ``check_day``): stored, a moment of year 1 or 9999 came back as a
    DataError in every report and sweep that read it."""

    _kw: KW_ONLY
    check: Callable | None = None

    def parse(self, record: Record) -> datetime | None:
        value = record.data.get(self.name)
        if value in (None, ""):
            if self.required:
                self.missing(record)
            return None
        try:
            parsed = datetime.fromisoformat(value)  # fast path; parse_datetime for the rest
        except ValueError:
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
        if parsed is None:
            record.error(
                self.name, _("不是有效的时间，请用 ISO 8601 格式，如 2026-11-23T09:30:00+08:00。")
            )
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
        if self.check is not None:
            try:
                self.check(parsed)
            except ValidationError as refused:
                for message in refused.messages:
                    record.error(self.name, message)
                return None
        return parsed

    def schema_field(self) -> serializers.Field:
        return serializers.DateTimeField(help_text=self.help_text, **self._optional())


@dataclass(frozen=True)
class Day(Field):
    """A date as YYYY-MM-DD."""

    def parse(self, record: Record) -> date | None:
        value = record.data.get(self.name)
        if value in (None, ""):
            return None
        try:
            parsed = parse_date(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            parsed = None
        if parsed is None:
            record.error(self.name, _("不是有效的日期，请用 YYYY-MM-DD 格式。"))
        return parsed

    def schema_field(self) -> serializers.Field:
        return serializers.DateField(help_text=self.help_text, **self._optional())


@dataclass(frozen=True)
class JsonObject(Field):
    """A JSON object taken as it is (its content is the sync service's to judge); an
    empty one counts as missing."""

    json_types: ClassVar[tuple] = (dict,)
    type_name: ClassVar = gettext_lazy("JSON 对象")

    def parse(self, record: Record) -> dict:
        value = record.data.get(self.name)
        if not value:
            if self.required:
                self.missing(record)
            return {}
        return value

    def schema_field(self) -> serializers.Field:
        return serializers.DictField(help_text=self.help_text, **self._optional())


# ---------------------------------------------------------------- a record's declaration


class Declaration:
    """Everything about one kind of synced record, declared once.

    ``fields`` are what the DMS sends, in the schema's order; a written field is a column of
    ``model`` of the same name. ``derived`` are the columns the sync service fills from
    other values (resolved references, the consent time), ``insert_only`` the desk's own
    columns with the value a synced record starts with (a sync never changes them).
    ``clean(record, values)`` holds the rules across fields. ``name`` is the schema's.
    """

    def __init__(self, model, *fields, derived=(), insert_only=None, clean=None, name=None):
        self.model = model
        self.fields = tuple(field.bind(model) for field in fields)
        self.derived = tuple(derived)
        self.insert_only = dict(insert_only or {})
        self.clean = clean
        self.name = name or f"{model.__name__}SyncRecord"
        names = [field.name for field in self.fields]
        if "external_id" not in names or len(set(names)) != len(names):
            raise ImproperlyConfigured(f"{self.name}: one external_id, no field twice")
        # What the shape check needs of each field, looked up once per value.
        self.shape = {
            field.name: (field.json_types, bool in field.json_types, field.type_name)
            for field in self.fields
        }
        written = [f for f in self.fields if f.written and f.name != "external_id"]
        self.columns = [
            *(field.column() for field in written),
            *self.derived,
            *(bulk.Column(name, on_update=None) for name in self.insert_only),
        ]
        stored = {f.column for f in model._meta.concrete_fields}
        unknown = [c.name for c in self.columns if c.name not in stored]
        if unknown:
            raise ImproperlyConfigured(f"{self.name}: {model.__name__} has no column {unknown}")

    def check_shape(self, payload) -> list[dict]:
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
        shape = self.shape
        errors = []
        for index, record in enumerate(payload):
            if not isinstance(record, dict):
                errors.append(
                    {
                        "index": index,
                        "errors": {"non_field_errors": [_("每条记录必须是 JSON 对象。")]},
                    }
                )
                continue
            record_errors = {}
            for key, value in record.items():
                known = shape.get(key)
                if known is None:
                    record_errors[printable(key)] = [_("未知字段。")]
                    continue
                json_types, takes_bool, type_name = known
                if value is not None and (
                    not isinstance(value, json_types)
                    or (isinstance(value, bool) and not takes_bool)
                ):
                    record_errors[key] = [
                        _("类型错误：应为%(expected)s。") % {"expected": type_name}
                    ]
            if record_errors:
                errors.append({"index": index, "errors": record_errors})
        if errors:
            raise BatchRejected(_("请求中有未知字段或类型错误的值，整批未写入。"), errors)
        return payload

    def parse(self, payload) -> list[Record]:
        """Check the shape (BatchRejected: a 400), then every record on its own; a
        repeated external_id keeps the last."""
        self.check_shape(payload)
        fields, clean = self.fields, self.clean
        records = []
        last_index: dict[str, int] = {}
        for index, data in enumerate(payload):
            record = Record(index, data)
            record.values = {field.name: field.parse(record) for field in fields}
            if clean:
                clean(record, record.values)
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

    def row(self, values: dict) -> dict:
        """The upsert's row of a parsed record, its derived values filled in (bulk.upsert
        takes the columns it writes and leaves the rest)."""
        return {**values, **self.insert_only}

    @cached_property
    def serializer(self) -> type[serializers.Serializer]:
        """The request body's schema (drf-spectacular names it ``<name>Request``); the sync
        never runs it, the records are checked above, in bulk."""
        fields = {field.name: field.schema_field() for field in self.fields}
        return type(self.name, (serializers.Serializer,), {"__module__": __name__, **fields})


# ---------------------------------------------------------------- a batch's result and write


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = dataclass_field(default_factory=list)
    # Stored rows the answer remarks on (the appointment sync's slots past capacity); None:
    # an endpoint without warnings, whose answer has no such key.
    warnings: list | None = None

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

    def warn(self, index: int, external_id, details: dict, message) -> None:
        self.warnings.append(
            {
                "index": index,
                "external_id": printable(external_id),
                **details,
                "message": str(message),
            }
        )

    def as_dict(self) -> dict:
        answer = {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "errors": sorted(self.errors, key=lambda error: error["index"]),
        }
        if self.warnings is not None:
            answer["warnings"] = sorted(self.warnings, key=lambda warning: warning["index"])
        return answer


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


def write_batch(declaration: Declaration, records, *, now, by, checks, after_write=None):
    """Check uniqueness against the database, upsert the valid records, count the outcome.

    A concurrent batch can take a unique value between the check and the write; the
    database's unique constraint then refuses the statement, and the batch is checked and
    written again (its own rows stay as they were: the transaction rolls back to a
    savepoint)."""
    result = SyncResult()
    for attempt in range(RACE_RETRIES):
        for check in checks:
            check(records)
        valid = [record for record in records if record.ok]
        try:
            with transaction.atomic():
                outcome = bulk.upsert(
                    model=declaration.model,
                    rows=[declaration.row(record.values) for record in valid],
                    columns=declaration.columns,
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
