"""The period's short texts (survey comments, call notes, complaint descriptions), their top
terms and two-word phrases with sentiment, and the texts that contain a term."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from complaints.models import Complaint
from followups.models import CallAttempt, FollowUpTask
from shopcalendar.rules import day_span
from surveys.models import Answer, Question

from . import segment, sentiment

MAX_TEXTS = 20000  # the newest texts of a period that are read (a page, not a batch job)
MAX_TERM_CHARS = 40

SURVEY, CALL, COMPLAINT = "survey", "call", "complaint"


@dataclass(frozen=True)
class Comment:
    kind: str  # SURVEY (pk: the response), CALL (pk: the follow-up task), COMPLAINT
    pk: int
    text: str
    at: datetime
    label: str = ""  # the complaint's number

    @property
    def score(self) -> float:
        return sentiment.score(self.text)


@dataclass(frozen=True)
class TermRow:
    term: str
    count: int  # texts containing it
    sentiment: float  # the mean sentiment of those texts
    by_kind: dict


def _survey_comments(since, until) -> list[Comment]:
    rows = (
        Answer.objects.filter(
            question__kind=Question.Kind.TEXT,
            response__submitted_at__gte=since,
            response__submitted_at__lt=until,
        )
        .exclude(text="")
        .order_by("-response__submitted_at")
        .values_list("response_id", "text", "response__submitted_at")[:MAX_TEXTS]
    )
    return [Comment(SURVEY, pk, text, at) for pk, text, at in rows]


def _call_notes(since, until) -> list[Comment]:
    """Each call's outcome note, and earlier dials' notes that differ from it."""
    tasks = (
        FollowUpTask.objects.filter(completed_at__gte=since, completed_at__lt=until)
        .exclude(outcome_note="")
        .order_by("-completed_at")
        .values_list("pk", "outcome_note", "completed_at")[:MAX_TEXTS]
    )
    found = {(pk, text.strip()): Comment(CALL, pk, text, at) for pk, text, at in tasks}
    attempts = (
        CallAttempt.objects.filter(started_at__gte=since, started_at__lt=until)
        .exclude(notes="")
        .order_by("-started_at")
        .values_list("task_id", "notes", "started_at")[:MAX_TEXTS]
    )
    for pk, text, at in attempts:
        found.setdefault((pk, text.strip()), Comment(CALL, pk, text, at))
    return list(found.values())


def _complaints(since, until) -> list[Comment]:
    rows = (
        Complaint.objects.filter(received_at__gte=since, received_at__lt=until)
        .order_by("-received_at")
        .values_list("pk", "description", "received_at", "number")[:MAX_TEXTS]
    )
    return [Comment(COMPLAINT, pk, text, at, number) for pk, text, at, number in rows]


def comments(start: date, end: date) -> list[Comment]:
    """The texts written from ``start`` to ``end`` (whole days), newest first."""
    since, until = day_span(start, end)
    found = _survey_comments(since, until) + _call_notes(since, until) + _complaints(since, until)
    found.sort(key=lambda c: c.at, reverse=True)
    return found[:MAX_TEXTS]


def _keys(text: str) -> set[str]:
    return set(segment.terms(text)) | set(segment.phrases(text))


def top_terms(texts: list[Comment], *, limit: int = 30) -> dict:
    """The most frequent terms and phrases of ``texts`` (counted once per text), each with
    the mean sentiment of the texts it occurs in."""
    counts, totals, kinds = Counter(), defaultdict(float), defaultdict(Counter)
    for comment in texts:
        score = comment.score
        for key in _keys(comment.text):
            counts[key] += 1
            totals[key] += score
            kinds[key][comment.kind] += 1

    def rows(phrase: bool) -> list[TermRow]:
        chosen = [k for k in counts if (" " in k) == phrase]
        chosen.sort(key=lambda k: (-counts[k], k))
        return [
            TermRow(k, counts[k], round(totals[k] / counts[k], 2), dict(kinds[k]))
            for k in chosen[:limit]
        ]

    return {"terms": rows(False), "phrases": rows(True), "texts": len(texts)}


def clean_term(raw: str | None) -> str:
    """The term asked for, trimmed; ValueError if it is too long to be one."""
    term = " ".join((raw or "").split())
    if len(term) > MAX_TERM_CHARS:
        raise ValueError(term)
    return term


def containing(texts: list[Comment], term: str) -> list[Comment]:
    """The texts in which ``term`` (a term or a two-word phrase) occurs."""
    return [comment for comment in texts if term in _keys(comment.text)]
