"""Reads for the manager: responses by filter, the filter's CSI and NPS (METRICS.md), the
integrity flags, and the rows of an export."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from followups import sources
from followups.models import FollowUpTask
from shopcalendar.rules import end_of, start_of
from shopcrm.people import person_name

from . import scoring, tokens
from .models import Question, SurveyInvitation, SurveyPolicy, SurveyResponse, SurveyTemplate

Status = SurveyInvitation.Status


def response_list(*, filters: dict) -> QuerySet:
    """Responses whose visit was delivered in the period (METRICS.md: the visit's delivery
    date, not the answer's), by advisor, service type, channel, alerts only."""
    responses = SurveyResponse.objects.select_related(
        "visit", "visit__advisor", "customer", "template"
    ).order_by("-submitted_at", "-pk")
    if filters.get("start"):
        responses = responses.filter(visit__delivered_at__gte=start_of(filters["start"]))
    if filters.get("end"):
        responses = responses.filter(visit__delivered_at__lt=end_of(filters["end"]))
    if filters.get("advisor"):
        responses = responses.filter(visit__advisor=filters["advisor"])
    if filters.get("service_type"):
        responses = responses.filter(visit__service_type=filters["service_type"])
    if filters.get("channel"):
        responses = responses.filter(channel=filters["channel"])
    if filters.get("alerts_only"):
        responses = responses.filter(is_alert=True)
    if filters.get("flagged_only"):
        flagged = advisors_with_suspicious_top_marks(responses=responses)
        responses = responses.filter(
            Q(completed_quickly=True) | Q(visit__advisor__in=[row["advisor_id"] for row in flagged])
        )
    return responses


def summary(*, responses: QuerySet) -> dict:
    """CSI (mean of response CSIs, nulls left out), NPS over responses with an nps answer,
    the count and the alerts — one aggregate query, no joins that multiply rows."""
    figures = responses.order_by().aggregate(
        count=Count("pk"),
        csi=Avg("csi"),
        promoters=Count("pk", filter=Q(nps_class="promoter")),
        detractors=Count("pk", filter=Q(nps_class="detractor")),
        nps_answered=Count("pk", filter=~Q(nps_class="")),
        alerts=Count("pk", filter=Q(is_alert=True)),
    )
    figures["nps"] = scoring.nps_of(
        figures["promoters"], figures["detractors"], figures["nps_answered"]
    )
    return figures


def advisors_with_suspicious_top_marks(*, responses: QuerySet) -> list[dict]:
    """Advisors whose share of all-top-marks responses is far above the shop's (policy:
    margin and minimum count) — shown to the manager, never hidden or dropped."""
    policy = SurveyPolicy.current()
    scored = responses.order_by().exclude(csi__isnull=True)
    shop = scored.aggregate(n=Count("pk"), top=Count("pk", filter=Q(all_top_marks=True)))
    if not shop["n"]:
        return []
    shop_rate = shop["top"] / shop["n"]
    rows = (
        scored.filter(visit__advisor__isnull=False)
        .values("visit__advisor")
        .annotate(n=Count("pk"), top=Count("pk", filter=Q(all_top_marks=True)))
        .filter(n__gte=policy.top_marks_min_responses)
    )
    flagged = []
    for row in rows:
        rate = row["top"] / row["n"]
        if rate >= shop_rate + float(policy.top_marks_margin):
            flagged.append(
                {
                    "advisor_id": row["visit__advisor"],
                    "responses": row["n"],
                    "top_rate": rate,
                    "shop_rate": shop_rate,
                }
            )
    advisors = get_user_model().objects.in_bulk([row["advisor_id"] for row in flagged])
    for row in flagged:
        advisor = advisors[row["advisor_id"]]
        row.update(username=advisor.username, name=person_name(advisor))
    return flagged


def responses_in_detail() -> QuerySet:
    """Responses with what their page shows (surveys.access.response_for loads one)."""
    return SurveyResponse.objects.select_related(
        "visit", "visit__advisor", "visit__vehicle", "customer", "template", "recorded_by"
    ).prefetch_related("answers__question")


def response_for_task(*, task: FollowUpTask) -> SurveyResponse | None:
    """The response behind a service-recovery call (its answers on the agent's screen)."""
    source = task.source
    if source is None or not source.is_a(sources.SURVEY_RESPONSE):
        return None
    return SurveyResponse.objects.prefetch_related("answers__question").filter(pk=source.pk).first()


def short_form_questions() -> list[Question]:
    """The default template's short form: what the agent asks on the three-day call."""
    template = SurveyTemplate.objects.filter(is_default=True).first()
    if template is None:
        return []
    return list(template.questions.filter(in_short_form=True).order_by("order", "pk"))


def response_list_for_api(*, filters: dict) -> QuerySet:
    """Survey responses for the read-back API (API.md "Reading back")."""
    queryset = SurveyResponse.objects.select_related("visit").prefetch_related("answers__question")
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    for name in ("external_id", "channel"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("is_alert") is not None:
        queryset = queryset.filter(is_alert=filters["is_alert"])
    if filters.get("visit_external_id"):
        queryset = queryset.filter(visit__external_id=filters["visit_external_id"])
    if filters.get("advisor"):
        queryset = queryset.filter(
            Q(visit__advisor__username=filters["advisor"])
            | Q(visit__advisor_code=filters["advisor"])
        )
    if filters.get("submitted_from"):
        queryset = queryset.filter(submitted_at__gte=start_of(filters["submitted_from"]))
    if filters.get("submitted_to"):
        queryset = queryset.filter(submitted_at__lt=end_of(filters["submitted_to"]))
    return queryset


def template_default() -> SurveyTemplate | None:
    """The default template: the one invitations, phone calls and imports use."""
    return SurveyTemplate.objects.filter(is_default=True).first()


def template_in_use(template: SurveyTemplate) -> bool:
    return (
        SurveyResponse.objects.filter(template=template).exists()
        or SurveyInvitation.objects.filter(template=template).exists()
    )


def invitation_get_by_token(token: str) -> SurveyInvitation | None:
    """The invitation a link's token opens (the first link or the reminder's), if any."""
    if not token or len(token) > 100:
        return None
    token_hash = tokens.hash_token(token)
    return (
        SurveyInvitation.objects.select_related("template", "visit", "customer")
        .filter(Q(token_hash=token_hash) | Q(reminder_token_hash=token_hash))
        .first()
    )


def invitation_state(invitation: SurveyInvitation | None, now: datetime | None = None) -> str:
    """ "open", "answered", "expired" or "invalid" — what the public page shows."""
    now = now or timezone.now()
    if invitation is None or invitation.status == Status.SKIPPED:
        return "invalid"
    if invitation.status == Status.COMPLETED:
        return "answered"
    if invitation.status == Status.EXPIRED or (
        invitation.expires_at and invitation.expires_at <= now
    ):
        return "expired"
    return "open" if invitation.status == Status.SENT else "invalid"
