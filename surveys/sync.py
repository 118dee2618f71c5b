"""POST /api/v1/sync/survey-responses/ (API.md): results collected elsewhere (the OEM's
survey vendor, a legacy system). Same batch rules as the other sync endpoints; each record
is validated against the default template and written in its own savepoint."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from shopcrm import bulk
from shopcrm.sync import STRING, FieldSpec, Record, SyncResult, check_shape, parse_records
from visits.models import Visit

from . import services
from .models import Channel, SurveyResponse

OBJECT = "object"
RESPONSE_FIELDS = [
    FieldSpec("external_id", STRING, required=True),
    FieldSpec("visit_external_id", STRING, required=True),
    FieldSpec("submitted_at", STRING, required=True),
    FieldSpec("channel", STRING),
]
CHANNELS = tuple(Channel.values)


def _parse(record: Record) -> dict:
    answers = record.data.get("answers")
    if not isinstance(answers, dict) or not answers:
        record.error("answers", _("必填：题目代码 → 答案的 JSON 对象。"))
        answers = {}
    return {
        "external_id": record.string("external_id", max_length=64, required=True),
        "visit_external_id": record.string("visit_external_id", max_length=64, required=True),
        "submitted_at": record.moment("submitted_at", required=True),
        "channel": record.choice("channel", CHANNELS, default=Channel.IMPORT),
        "answers": answers,
    }


def survey_responses_sync(*, payload, by, now=None) -> SyncResult:
    """Create the responses of a batch. A response already imported (same external_id)
    is left as it was and counted unchanged: a survey answer is a fact, not a state."""
    # "answers" is an object: the shared shape check knows strings, numbers and booleans.
    check_shape(
        [
            {key: value for key, value in record.items() if key != "answers"}
            if isinstance(record, dict)
            else record
            for record in payload
        ]
        if isinstance(payload, list)
        else payload,
        RESPONSE_FIELDS,
    )
    result = SyncResult()
    records = parse_records(payload, _parse)
    template = services.default_template()
    live = [r for r in records if r.ok]
    visits = dict(
        bulk.lookup(Visit, "external_id", [r.values["visit_external_id"] for r in live], ["id"])
    )
    existing = {
        external_id
        for (external_id,) in bulk.lookup(
            SurveyResponse, "external_id", [r.values["external_id"] for r in live], []
        )
    }
    visit_objects = Visit.objects.select_related("customer", "vehicle").in_bulk(visits.values())
    for record in live:
        values = record.values
        if template is None:
            record.error("answers", _("还没有默认问卷，无法导入。"))
            continue
        visit_id = visits.get(values["visit_external_id"])
        if visit_id is None:
            record.error("visit_external_id", _("没有这个 external_id 的工单。"))
            continue
        if values["external_id"] in existing:
            result.unchanged += 1
            continue
        try:
            with transaction.atomic():
                services.response_create(
                    template=template,
                    visit=visit_objects[visit_id],
                    channel=values["channel"],
                    answers=values["answers"],
                    submitted_at=values["submitted_at"],
                    require_required=False,
                    external_id=values["external_id"],
                    recorded_by=by,
                )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    record.error(f"answers.{name}" if name != "answers" else name, message)
            continue
        except IntegrityError:  # imported by a concurrent batch meanwhile
            result.unchanged += 1
            continue
        result.created += 1
    for record in records:
        if not record.ok:
            result.fail(record.index, record.external_id, record.errors)
    return result
