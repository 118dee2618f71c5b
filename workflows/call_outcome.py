"""A call's outcome and everything that follows from it, in one transaction.

- The dial is recorded on the task (followups: done, retried, called back, failed); a
  refusal marks the customer do-not-contact and cancels their other calls.
- Answers the customer gave on a reached three-day call become a survey response with
  channel "phone" (surveys), which is scored and may raise an alert.
- On a complaint callback, "reached, satisfied" means the customer accepts the resolution
  and closes the complaint; "reached with an issue" means they do not, and reopens it
  (complaints).
- "Booked" on a reminder, win-back or missed-appointment call books the slot the agent
  picked (bookings: the shop's capacity, source phone) and links it to the task.
- "Lost" on a reminder, win-back or missed-appointment call records why the customer
  leaves (a coded reason; followups.rules), as a win-back reached without a booking may.
- "Reached with an issue" on any other call is a complaint at once (in this transaction:
  owned by the agent, holding the call's note and the phone answers); the agent goes on to
  complete it (category and severity are the agent's to judge). An agent who leaves that
  form still leaves the complaint.

A bad answer, a lost lease or any other refusal leaves nothing written."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from bookings import services as booking_services
from complaints import services as complaint_services
from complaints.models import Complaint
from followups import services as followup_services
from followups.models import FollowUpTask
from surveys import services as survey_services
from surveys.models import SurveyResponse
from visits.models import Appointment

Kind, Outcome = FollowUpTask.Kind, FollowUpTask.Outcome


@dataclass
class CallOutcome:
    task: FollowUpTask
    response: SurveyResponse | None = None  # the phone answers, scored
    # A complaint callback's complaint (closed or reopened), or the complaint an issue raised
    # on any other call became (to be completed by the agent).
    complaint: Complaint | None = None
    complaint_to_complete: bool = False


@dataclass(frozen=True)
class Booking:
    """The slot the agent picked for outcome "booked"."""

    vehicle: object  # a customers.Vehicle of the task's customer, or None
    scheduled_at: datetime | None
    service_type: str


def call_outcome_record(
    *,
    task: FollowUpTask,
    agent,
    outcome: str,
    note: str = "",
    callback_at: datetime | None = None,
    answers: dict | None = None,
    now: datetime | None = None,
    booking: Booking | None = None,
    lost_reason: str = "",
    lost_note: str = "",
) -> CallOutcome:
    """Record the outcome of the call ``agent`` holds with all that follows from it.
    ``answers``: question code → value of the phone short form (kept only when the
    customer was reached). Raises ValidationError (keyed by form field or question code)
    or DomainError, and then nothing is written."""
    reached = outcome in FollowUpTask.REACHED
    answers = {
        code: value
        for code, value in (answers or {}).items()
        if reached and value not in ("", None)
    }
    with transaction.atomic():
        appointment = None
        if outcome == Outcome.BOOKED and task.kind in FollowUpTask.BOOKABLE and booking:
            appointment = _book(task, agent, booking)
        task = followup_services.task_record_outcome(
            task=task,
            agent=agent,
            outcome=outcome,
            note=note,
            callback_at=callback_at,
            now=now,
            appointment=appointment,
            lost_reason=lost_reason,
            lost_note=lost_note,
        )
        result = CallOutcome(task=task)
        if answers:
            result.response = survey_services.response_record_phone(
                task=task, agent=agent, answers=answers, now=now
            )
        if reached and task.kind == Kind.COMPLAINT_CALLBACK:
            result.complaint = complaint_services.complaint_record_callback(
                task=task, by=agent, accepted=outcome == Outcome.REACHED_SATISFIED, note=note
            )
        elif outcome == Outcome.REACHED_ISSUE:
            result.complaint = complaint_services.complaint_create_from_call(
                task=task, by=agent, note=note, survey_response=result.response
            )
            result.complaint_to_complete = True
    return result


def _book(task: FollowUpTask, agent, booking: Booking):
    """The appointment the call books (None without a slot: the outcome is then refused)."""
    if booking.scheduled_at is None:
        return None
    vehicle = booking.vehicle
    if vehicle is None or vehicle.owner_id != task.customer_id:
        raise ValidationError({"vehicle": [_("请选择客户的车辆。")]})
    return booking_services.appointment_book(
        customer=task.customer,
        vehicle=vehicle,
        scheduled_at=booking.scheduled_at,
        service_type=booking.service_type,
        source=Appointment.Source.PHONE,
        notes=_("电话预约（%(kind)s）") % {"kind": task.get_kind_display()},
        by=agent,
    )
