from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from bookings import selectors as booking_selectors
from bookings.services import SlotFull
from complaints import selectors as complaint_selectors
from customers import access as customer_access
from customers.views import reveal_phone_answer
from messaging import access as messaging_access
from messaging.selectors import replies_to_read_count, undelivered_count
from shopcalendar import rules as shop_rules
from shopcrm.access import PermissionRequired, has_perm
from shopcrm.refusals import REFUSED, RefusalMixin, errors_of
from surveys import selectors as survey_selectors
from surveys.forms import answers_from_post
from visits import workitems as visit_workitems
from visits.models import ServiceType
from workflows.call_outcome import Booking, call_outcome_record
from workflows.glance import customer_glance

from . import access, rules, selectors, services
from .forms import CancelTaskForm, OutcomeForm, ReassignForm, TeamFilterForm
from .models import FollowUpTask
from .scripts import OPENING, script_for

WORK, VIEW, SUPERVISE = access.WORK, access.VIEW, access.SUPERVISE


class QueueView(PermissionRequired, View):
    permission_required = WORK

    def get(self, request):
        held = selectors.held_call(agent=request.user)
        counts = selectors.queue_counts()
        return render(
            request,
            "followups/queue.html",
            {
                "held": held,
                # In the order "next call" hands them out (followups.rules.PRIORITY).
                "counts": [
                    (FollowUpTask.Kind(kind).label, counts.get(kind, 0))
                    for kind in rules.kinds_in_queue_order()
                ],
                "my_calls": [
                    (task, rules.retry_at(task))
                    for task in selectors.my_calls_today(agent=request.user)
                ],
                "queue_empty": not any(counts.values()),
                "paused": is_paused(request),
            },
        )


class NextCallView(PermissionRequired, RefusalMixin, View):
    permission_required = WORK

    def post(self, request):
        task = self.attempt(services.task_claim_next, level=messages.WARNING, agent=request.user)
        if task is REFUSED:
            return redirect("followups:queue")
        if task is None:
            messages.info(request, _("现在没有要拨打的回访，稍后再来。"))
            return redirect("followups:queue")
        return redirect("followups:call", pk=task.pk)


class RevealPhoneView(PermissionRequired, View):
    """The call page's "show number": recorded with the call it was for (the server knows
    which; the browser says nothing)."""

    permission_required = VIEW

    def post(self, request, pk):
        task = access.call_for(request.user, pk)
        if not customer_access.can_reveal_phone(request.user, task.customer):
            raise PermissionDenied
        return reveal_phone_answer(
            customer=task.customer, user=request.user, context=f"call {task.pk}"
        )


class CallView(PermissionRequired, View):
    permission_required = VIEW

    def get(self, request, pk, form=None, status=200, survey_errors=None):
        task = access.call_for(request.user, pk, queryset=selectors.tasks_for_call_page())
        holds = access.holds(request.user, task)
        form = form or OutcomeForm(initial={"booking_vehicle": task.vehicle_id})
        booking = _booking_context(request, task, form)
        return render(
            request,
            "followups/call.html",
            {
                "task": task,
                "holds": holds,
                "customer": task.customer,
                "glance": customer_glance(customer=task.customer),
                "can_reveal": customer_access.can_reveal_phone(request.user, task.customer),
                "reveal_url": reverse("followups:reveal_phone", args=[task.pk]),
                "opening": OPENING % {"shop": settings.SHOP_NAME},
                "script": script_for(task.kind),
                "form": form,
                "outcomes": _outcomes(task),
                "can_lose": task.kind in FollowUpTask.LOSABLE,
                **booking,
                "complaint": complaint_selectors.complaint_for_callback(task=task),
                "previous": task.attempts_made.select_related("agent")[:10],
                # The three-day call asks the default CSI template's short form; the answers
                # become a survey response with channel "phone".
                "survey_rows": [
                    (q, request.POST.get(f"q_{q.code}", ""), (survey_errors or {}).get(q.code))
                    for q in _phone_questions(task)
                ],
                "survey_errors": survey_errors,
                "nps_values": [str(n) for n in range(11)],
                "alert_response": survey_selectors.response_for_task(task=task),
                "recommendations": visit_workitems.open_recommendations_by_vehicle(
                    [task.vehicle_id] if task.vehicle_id else []
                ).get(task.vehicle_id, []),
                "retry_at": rules.retry_at(task),
                "paused": is_paused(request),
            },
            status=status,
        )


def _booking_context(request, task: FollowUpTask, form: OutcomeForm) -> dict:
    """The customer's next appointment (seen before calling) and, on the calls that may
    book, the free slots from the day asked for (a reminder: its predicted service day)
    for the service type asked for (maintenance by default)."""
    context = {"upcoming": booking_selectors.upcoming_appointment(task.customer)}
    if task.kind not in FollowUpTask.BOOKABLE:
        return context
    asked = request.GET if request.method == "GET" else request.POST
    service_type = asked.get("booking_service_type")
    if service_type not in ServiceType.values:
        service_type = ServiceType.MAINTENANCE
    day = _day_asked(asked.get("booking_day")) or _suggested_day(task)
    after = max(timezone.now(), shop_rules.start_of(day) - timedelta(seconds=1))
    slots = booking_selectors.next_free_slots(service_type=service_type, after=after, limit=12)
    form.offer(vehicles=task.customer.vehicles.order_by("pk"), slots=slots)
    return {
        **context,
        "can_book": True,
        "booking_day": day,
        "booking_service_type": service_type,
        "service_types": ServiceType.choices,
    }


def _day_asked(value) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if shop_rules.FIRST_DAY <= day <= shop_rules.LAST_DAY else None


def _suggested_day(task: FollowUpTask) -> date:
    """A maintenance reminder's predicted service day (in its source key), else today."""
    today = timezone.localdate()
    source = task.source
    if task.kind == FollowUpTask.Kind.MAINTENANCE_REMINDER and source and source.detail:
        predicted = _day_asked(source.detail)
        if predicted and predicted > today:
            return predicted
    return today


def _outcomes(task: FollowUpTask) -> list:
    """A complaint callback asks one thing: does the customer accept the resolution.
    "Booked" is offered only on the calls that may book, "lost" on those that may lose."""
    Outcome = FollowUpTask.Outcome
    hidden = {
        *(() if task.kind in FollowUpTask.BOOKABLE else (Outcome.BOOKED,)),
        *(() if task.kind in FollowUpTask.LOSABLE else (Outcome.LOST,)),
    }
    choices = [c for c in Outcome.choices if c[0] not in hidden]
    if task.kind != FollowUpTask.Kind.COMPLAINT_CALLBACK:
        return choices
    labels = {
        FollowUpTask.Outcome.REACHED_SATISFIED: _("已接通，客户接受处理结果"),
        FollowUpTask.Outcome.REACHED_ISSUE: _("已接通，客户不接受"),
    }
    return [(value, labels.get(value, label)) for value, label in choices]


def _outcome_form(data, task: FollowUpTask) -> OutcomeForm:
    form = OutcomeForm(data)
    form.offer(vehicles=task.customer.vehicles.order_by("pk"), slots=())
    return form


def _booking_of(task: FollowUpTask, data: dict) -> Booking | None:
    if data["outcome"] != FollowUpTask.Outcome.BOOKED:
        return None
    vehicle_id = data.get("booking_vehicle") or task.vehicle_id
    return Booking(
        vehicle=task.customer.vehicles.filter(pk=vehicle_id).first() if vehicle_id else None,
        scheduled_at=data.get("booking_slot"),
        service_type=data.get("booking_service_type") or ServiceType.MAINTENANCE,
    )


def _record_outcome(**kwargs):
    """A full slot is said on the slot's field, where the agent picks another (its message
    names the next free ones), not as a refusal that ends the call page."""
    try:
        return call_outcome_record(**kwargs)
    except SlotFull as full:
        raise ValidationError({"scheduled_at": [full.message]}) from full


def _phone_questions(task: FollowUpTask) -> list:
    if task.kind != FollowUpTask.Kind.POST_SERVICE or task.visit_id is None:
        return []
    return survey_selectors.short_form_questions()


class OutcomeView(PermissionRequired, RefusalMixin, View):
    """Parses the outcome form and shows the result; the workflow records the outcome and
    all that follows from it (workflows.call_outcome)."""

    permission_required = WORK
    field_map = {
        "scheduled_at": "booking_slot",
        "service_type": "booking_service_type",
        "vehicle": "booking_vehicle",
    }

    def post(self, request, pk):
        task = access.task_for(request.user, pk, permission=WORK)
        form = _outcome_form(request.POST, task)
        survey_errors = None
        if form.is_valid():
            result = self.attempt(
                _record_outcome,
                form=form,
                rules_as_messages=True,
                task=task,
                agent=request.user,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                callback_at=form.cleaned_data["callback_at"],
                answers=answers_from_post(request.POST, _phone_questions(task)),
                booking=_booking_of(task, form.cleaned_data),
                lost_reason=form.cleaned_data["lost_reason"],
                lost_note=form.cleaned_data["lost_note"],
            )
            if result is not REFUSED:
                return self._done(request, result)
            if not form.errors:  # a broken rule: the call is not held any more
                return redirect("followups:queue")
            survey_errors = _answer_errors(self.refusal, form, self.field_map)
            if survey_errors:  # shown at their questions; the form says where to look
                form = _outcome_form(request.POST, task)
                form.is_valid()
                form.add_error(None, _("电话问卷的回答有误，请检查标红的题目。"))
        return CallView().get(request, pk, form=form, status=400, survey_errors=survey_errors)

    def _done(self, request, result):
        task = result.task
        messages.success(request, _outcome_message(task))
        if result.complaint_to_complete:
            messages.info(
                request,
                _("客户反映的问题已登记为投诉 %(number)s，请补全类别和严重程度。")
                % {"number": result.complaint.number},
            )
            return redirect("complaints:complete", pk=result.complaint.pk)
        if is_paused(request):
            return redirect("followups:queue")
        return self._next_call(request)

    def _next_call(self, request):
        """Working on: the next call opens at once (as if "下一个" had been pressed)."""
        task = self.attempt(services.task_claim_next, level=messages.WARNING, agent=request.user)
        if task is REFUSED:
            return redirect("followups:queue")
        if task is None:
            messages.info(request, _("队列已空：现在没有要拨打的回访，稍后再来。"))
            return redirect("followups:queue")
        return redirect("followups:call", pk=task.pk)


def _outcome_message(task: FollowUpTask) -> str:
    """What was recorded, and for a call that did not get through, when it is tried again
    (followups.rules set the time) or that it will not be."""
    message = _("已记录：%(customer)s — %(outcome)s。") % {
        "customer": task.customer.name,
        "outcome": task.get_outcome_display(),
    }
    retry = rules.retry_at(task)
    if retry is not None:
        message += " " + _("将于 %(when)s 再拨。") % {"when": _moment(retry)}
    elif task.outcome in rules.NOT_REACHED:
        message += " " + _("已拨 %(n)s 次仍未接通，不再拨打。") % {"n": task.attempts}
    return message


def _moment(at) -> str:
    return formats.date_format(timezone.localtime(at), "m-d H:i")


PAUSED = "followups_paused"


def is_paused(request) -> bool:
    """The agent asked to stop after this call: saving an outcome returns to the queue
    instead of opening the next call (kept in the session)."""
    return bool(request.session.get(PAUSED))


class PauseView(PermissionRequired, View):
    """The "暂停接听" switch: on, saving an outcome returns to the queue page; off, the
    next call opens by itself."""

    permission_required = WORK

    def post(self, request):
        request.session[PAUSED] = request.POST.get("paused") == "1"
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("followups:queue")
        return redirect(back)


def _answer_errors(refusal, form, field_map: dict) -> dict | None:
    """The phone answers' errors (keyed by question code) when those are what was refused."""
    errors = errors_of(refusal, field_map)
    if None in errors or set(errors) & set(form.fields):
        return None
    return errors


class TeamQueueView(PermissionRequired, View):
    """The team's calls, for supervisors (agents work their own call from the queue)."""

    permission_required = SUPERVISE

    def get(self, request):
        form = TeamFilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        page = Paginator(selectors.team_queue(filters=filters), 50).get_page(
            request.GET.get("page")
        )
        return render(
            request,
            "followups/team.html",
            {
                "form": form,
                "page": page,
                "can_supervise": has_perm(request.user, SUPERVISE),
                "undelivered": undelivered_count()
                if has_perm(request.user, messaging_access.RETRY)
                else 0,
                "replies_to_read": replies_to_read_count()
                if has_perm(request.user, messaging_access.HANDLE_REPLY)
                else 0,
                "reassign_form": ReassignForm(),
                "cancel_form": CancelTaskForm(),
            },
        )


class ReassignView(PermissionRequired, RefusalMixin, View):
    permission_required = SUPERVISE

    def post(self, request, pk):
        task = access.task_for(request.user, pk, permission=SUPERVISE)
        form = ReassignForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请选择要改派的回访专员。"))
        elif self.attempt(
            services.task_reassign, task=task, to_agent=form.cleaned_data["agent"], by=request.user
        ):
            messages.success(request, _("已改派。"))
        return redirect("followups:team")


class CancelView(PermissionRequired, RefusalMixin, View):
    permission_required = SUPERVISE

    def post(self, request, pk):
        task = access.task_for(request.user, pk, permission=SUPERVISE)
        form = CancelTaskForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请填写取消原因。"))
        elif self.attempt(
            services.task_cancel, task=task, by=request.user, reason=form.cleaned_data["reason"]
        ):
            messages.success(request, _("任务已取消。"))
        return redirect("followups:team")


class TeamBulkView(PermissionRequired, RefusalMixin, View):
    """The team queue's bulk reassign and cancel of the checked calls; back to the list
    with its filters, saying what was done and what was left as it was."""

    permission_required = SUPERVISE

    def post(self, request):
        back = f"{reverse('followups:team')}?{request.GET.urlencode()}"
        tasks, missing = access.tasks_to_supervise(request.user, request.POST.getlist("task"))
        action = request.POST.get("action")
        if missing:
            messages.error(
                request,
                _("有 %(n)s 个所选回访不存在或您无权查看，未做任何改动。") % {"n": missing},
            )
        elif not tasks:
            messages.error(request, _("请先勾选回访任务。"))
        elif action == "reassign":
            self._reassign(request, tasks)
        elif action == "cancel":
            self._cancel(request, tasks)
        else:
            messages.error(request, _("请选择要做的操作。"))
        return redirect(back)

    def _reassign(self, request, tasks):
        form = ReassignForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请选择可以接听回访的专员，未做任何改动。"))
            return
        result = self.attempt(
            services.task_bulk_reassign,
            tasks=tasks,
            to_agent=form.cleaned_data["agent"],
            by=request.user,
        )
        if result:
            done = ngettext("已改派 %(n)s 个回访", "已改派 %(n)s 个回访", result.changed)
            messages.success(request, _bulk_message(done % {"n": result.changed}, result))

    def _cancel(self, request, tasks):
        form = CancelTaskForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请填写取消原因，未做任何改动。"))
            return
        result = self.attempt(
            services.task_bulk_cancel,
            tasks=tasks,
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        if result:
            done = ngettext("已取消 %(n)s 个回访", "已取消 %(n)s 个回访", result.changed)
            messages.success(request, _bulk_message(done % {"n": result.changed}, result))


def _bulk_message(done: str, result) -> str:
    """ "已改派 12 个回访，2 个已完成、1 个拨打中，未改动。" """
    if not result.skipped:
        return _("%(done)s。") % {"done": done}
    skipped = _("、").join(
        _("%(n)s 个%(status)s") % {"n": n, "status": FollowUpTask.Status(status).label}
        for status, n in sorted(result.skipped.items())
    )
    return _("%(done)s，%(skipped)s，未改动。") % {"done": done, "skipped": skipped}
