"""POST /api/v1/sync/survey-responses/ (API.md): results collected elsewhere (the OEM's
survey vendor, a legacy system). Same batch rules as the other sync endpoints; each record
is validated against the default template and written in its own savepoint."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shopcalendar.rules import check_day
from shopcrm import bulk, sync
from shopcrm.sync import SyncResult
from visits.models import Visit

from . import selectors, services
from .models import Channel, SurveyResponse

# Written by services.response_create (scores, alerts, follow-ups), not by an upsert: the
# declaration gives the shape check, the parsing and the schema.
SURVEY_RESPONSE_RECORD = sync.Declaration(
    SurveyResponse,
    sync.Text("external_id", required=True),
    sync.Reference("visit_external_id", Visit, required=True),
    sync.Moment("submitted_at", required=True, check=check_day),
    sync.Choice("channel", default=Channel.IMPORT),
    # Question code -> answer, judged against the template by response_create.
    sync.JsonObject(
        "answers",
        required=True,
        written=False,
        required_message=gettext_lazy("必填：题目代码 → 答案的 JSON 对象。"),
        help_text=gettext_lazy(
            '题目代码 → 答案，如 {"rel_fixed_right": 5, "nps": 9, "comment": "..."}'
        ),
    ),
)


def survey_responses_sync(*, payload, by, now=None) -> SyncResult:
    """Create the responses of a batch. A response already imported (same external_id)
    is left as it was and counted unchanged: a survey answer is a fact, not a state."""
    records = SURVEY_RESPONSE_RECORD.parse(payload)
    result = SyncResult()
    template = selectors.template_default()
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
