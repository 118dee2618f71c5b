from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from customers import access as customer_access
from customers import selectors as customer_selectors
from followups import access as followup_access
from followups.models import FollowUpTask
from shopcrm.access import PermissionRequired, id_or_none
from shopcrm.exports import table_response
from shopcrm.people import person_name
from shopcrm.refusals import REFUSED, RefusalMixin
from surveys import access as survey_access
from surveys import selectors as survey_selectors
from surveys.models import Question, SurveyResponse
from textinsights.classify import suggest_category
from visits import access as visit_access

from . import access, rules, selectors, services
from .forms import (
    AcknowledgeForm,
    AssignForm,
    ComplaintForm,
    CompleteForm,
    FilterForm,
    NoteForm,
    ReopenForm,
    ResolveForm,
)
from .models import Complaint, Notification


def _source(request):
    """Where the complaint comes from: a follow-up call, a survey alert, a visit, a customer."""
    task = response = visit = customer = None
    initial = {}
    user = request.user
    if task_id := id_or_none(request.GET.get("task")):
        task = followup_access.call_notes_for(
            user,
            task_id,
            queryset=FollowUpTask.objects.select_related("customer", "visit"),
        )
        customer, visit = task.customer, task.visit
        initial = {"channel": Complaint.Channel.FOLLOW_UP, "description": task.outcome_note}
        response = survey_selectors.response_for_task(task=task)
    elif response_id := id_or_none(request.GET.get("response")):
        response = survey_access.response_for(
            user,
            response_id,
            queryset=SurveyResponse.objects.select_related("customer", "visit"),
        )
        customer, visit = response.customer, response.visit
        answers = list(response.answers.select_related("question"))
        low = [f"{a.question.label}：{a.value}" for a in answers if a.is_low]
        # The customer's own words (the comment question) follow the low marks.
        said = [
            a.text.strip()
            for a in answers
            if a.question.kind == Question.Kind.TEXT and a.text.strip()
        ]
        initial = {
            "channel": Complaint.Channel.SURVEY_ALERT,
            "description": "；".join(low + said),
        }
    elif visit_id := id_or_none(request.GET.get("visit")):
        visit = visit_access.visit_for(user, visit_id)
        customer = visit.customer
        initial = {"channel": Complaint.Channel.WALK_IN}
    elif customer_id := id_or_none(request.GET.get("customer")):
        customer = customer_access.customer_for(user, customer_id)
        initial = {"channel": Complaint.Channel.WALK_IN}
    if visit is not None:
        initial["visit"] = visit.pk
    if task is not None or response is not None:
        # Taken from a call note or a survey comment: a category suggested from its words.
        initial["suggested"] = suggest_category(initial.get("description", ""))
    return customer, visit, task, response, initial


class ComplaintCreateView(PermissionRequired, RefusalMixin, View):
    permission_required = access.ADD

    def dispatch(self, request, *args, **kwargs):
        """A call's issue is a complaint already (workflows.call_outcome): its taker
        completes that one rather than registering a second."""
        if request.user.is_authenticated and (task_id := id_or_none(request.GET.get("task"))):
            made = selectors.complaint_from_call(task_id=task_id)
            if made is not None and access.can_work(request.user, made):
                return redirect("complaints:complete", pk=made.pk)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, form=None, status=200):
        customer, _visit, task, response, initial = _source(request)
        if customer is None:
            query = request.GET.get("q", "")
            results = customer_selectors.search(query=query) if query else None
            return render(
                request, "complaints/pick_customer.html", {"query": query, "results": results}
            )
        visits = customer.visits.order_by("-checked_in_at")[:20]
        suggested = initial.pop("suggested", "")
        form = form or ComplaintForm(initial=initial, visits=visits, suggested=suggested)
        return render(
            request,
            "complaints/form.html",
            {"form": form, "customer": customer, "task": task, "response": response},
            status=status,
        )

    def post(self, request):
        customer, _visit, task, response, _initial = _source(request)
        if customer is None:
            raise Http404
        visits = list(customer.visits.order_by("-checked_in_at")[:20])
        form = ComplaintForm(request.POST, visits=visits)
        if form.is_valid():
            data = form.cleaned_data
            visit = next((v for v in visits if v.pk == data["visit"]), None)
            complaint = self.attempt(
                services.complaint_create,
                form=form,
                customer=customer,
                by=request.user,
                category=data["category"],
                severity=data["severity"],
                channel=data["channel"],
                description=data["description"],
                visit=visit,
                follow_up_task=task,
                survey_response=response,
            )
            if complaint is not REFUSED:
                messages.success(
                    request,
                    _("已登记投诉 %(number)s，您是首问负责人。") % {"number": complaint.number},
                )
                return redirect("complaints:detail", pk=complaint.pk)
        return self.get(request, form=form, status=400)


class ComplaintCompleteView(PermissionRequired, RefusalMixin, View):
    """Complete (or correct) an open complaint's registration: category, severity,
    description, visit. For the complaint a call's issue became, the agent's next step."""

    permission_required = access.VIEW

    def get(self, request, pk, form=None, status=200):
        complaint = access.complaint_for(request.user, pk, work=True)
        visits = complaint.customer.visits.order_by("-checked_in_at")[:20]
        # A call's issue is filed as "other" (workflows.call_outcome): suggest from its note.
        taken_from_text = complaint.follow_up_task_id or complaint.survey_response_id
        suggested = (
            suggest_category(complaint.description)
            if taken_from_text and complaint.category == Complaint.Category.OTHER
            else ""
        )
        form = form or CompleteForm(
            initial={
                "category": ""
                if complaint.category == Complaint.Category.OTHER
                else complaint.category,
                "severity": complaint.severity,
                "visit": complaint.visit_id,
                "description": complaint.description,
            },
            visits=visits,
            suggested=suggested,
        )
        task = complaint.follow_up_task
        return render(
            request,
            "complaints/form.html",
            {
                "form": form,
                "customer": complaint.customer,
                "complaint": complaint,
                "task": task,
                "response": complaint.survey_response,
            },
            status=status,
        )

    def post(self, request, pk):
        complaint = access.complaint_for(request.user, pk, work=True)
        visits = list(complaint.customer.visits.order_by("-checked_in_at")[:20])
        form = CompleteForm(request.POST, visits=visits)
        if form.is_valid():
            data = form.cleaned_data
            completed = self.attempt(
                services.complaint_complete,
                form=form,
                complaint=complaint,
                by=request.user,
                category=data["category"],
                severity=data["severity"],
                description=data["description"],
                visit=next((v for v in visits if v.pk == data["visit"]), None),
            )
            if completed is not REFUSED:
                messages.success(
                    request,
                    _("投诉 %(number)s 已补全，您是首问负责人。") % {"number": completed.number},
                )
                return redirect("complaints:detail", pk=completed.pk)
        return self.get(request, pk, form=form, status=400)


class ComplaintListView(PermissionRequired, View):
    permission_required = access.VIEW
    mine = False

    def get(self, request):
        form = FilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {"status": "open"}
        if not request.GET:
            filters = {"status": "open"}
        if self.mine:
            filters = {**filters, "mine": request.user}
        page = Paginator(selectors.complaint_list(filters=filters), 50).get_page(
            request.GET.get("page")
        )
        now = timezone.now()
        return render(
            request,
            "complaints/list.html",
            {
                "form": form,
                "rows": [(c, selectors.sla_state(c, now)) for c in page],
                "page": page,
                "mine": self.mine,
                "filter_query": request.GET.urlencode(),
                "can_export": request.user.has_perm(access.EXPORT),
            },
            status=400 if request.GET and not form.is_valid() else 200,
        )


def _actions(complaint, *, can_work: bool, can_manage: bool) -> set[str]:
    """The buttons the complaint's page offers this user now (none: no actions card)."""
    if not can_work:
        return set()
    next_states, status = rules.allowed_transitions(complaint.status), complaint.status
    offered = {
        "acknowledge": "acknowledged" in next_states,
        "start": "in_progress" in next_states and status == Complaint.Status.ACKNOWLEDGED,
        "close": can_manage and "closed" in next_states,
        "resolve": "resolved" in next_states,
        "reopen": can_manage and status in (Complaint.Status.RESOLVED, Complaint.Status.CLOSED),
        "assign": can_manage and complaint.is_open,
    }
    return {action for action, shown in offered.items() if shown}


class ComplaintDetailView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk, forms=None, status=200):
        complaint = access.complaint_for(request.user, pk)
        try:
            complaint = selectors.complaint_detail(pk=complaint.pk)
        except Complaint.DoesNotExist as exc:  # deleted a moment ago
            raise Http404 from exc
        forms = forms or {}
        can_work = access.can_work(request.user, complaint)
        can_manage = access.can_manage(request.user)
        return render(
            request,
            "complaints/detail.html",
            {
                "complaint": complaint,
                "sla": selectors.sla_state(complaint),
                "can_work": can_work,
                "can_manage": can_manage,
                "actions": _actions(complaint, can_work=can_work, can_manage=can_manage),
                "acknowledge_form": forms.get("acknowledge") or AcknowledgeForm(),
                "note_form": forms.get("note") or NoteForm(),
                "assign_form": forms.get("assign") or AssignForm(),
                "resolve_form": forms.get("resolve") or ResolveForm(),
                "reopen_form": forms.get("reopen") or ReopenForm(),
            },
            status=status,
        )


ACTIONS = {
    "acknowledge": (
        AcknowledgeForm,
        lambda complaint, user, data: services.complaint_acknowledge(
            complaint=complaint, by=user, note=data["note"]
        ),
    ),
    "start": (
        None,
        lambda complaint, user, data: services.complaint_start(complaint=complaint, by=user),
    ),
    "note": (
        NoteForm,
        lambda complaint, user, data: services.complaint_add_note(
            complaint=complaint, by=user, text=data["text"], contact=data["contact"]
        ),
    ),
    "assign": (
        AssignForm,
        lambda complaint, user, data: services.complaint_assign(
            complaint=complaint, to=data["to"], by=user
        ),
    ),
    "resolve": (
        ResolveForm,
        lambda complaint, user, data: services.complaint_resolve(
            complaint=complaint,
            by=user,
            resolution=data["resolution"],
            root_cause=data["root_cause"],
            corrective_action=data["corrective_action"],
        ),
    ),
    "close": (
        None,
        lambda complaint, user, data: services.complaint_close(complaint=complaint, by=user),
    ),
    "reopen": (
        ReopenForm,
        lambda complaint, user, data: services.complaint_reopen(
            complaint=complaint, by=user, reason=data["reason"]
        ),
    ),
}
MANAGER_ONLY = {"assign", "close", "reopen"}


class ComplaintActionView(PermissionRequired, RefusalMixin, View):
    permission_required = access.VIEW

    def post(self, request, pk, action):
        if action not in ACTIONS:
            raise Http404
        manager_only = action in MANAGER_ONLY
        complaint = access.complaint_for(
            request.user, pk, manage=manager_only, work=not manager_only
        )
        form_class, run = ACTIONS[action]
        form = form_class(request.POST) if form_class else None
        if form is not None and not form.is_valid():
            return ComplaintDetailView().get(request, pk, forms={action: form}, status=400)
        done = self.attempt(
            run,
            form=form,
            rules_as_messages=True,
            complaint=complaint,
            user=request.user,
            data=form.cleaned_data if form else {},
        )
        if done is not REFUSED:
            messages.success(request, _("已保存。"))
        elif form is not None and form.errors:
            return ComplaintDetailView().get(request, pk, forms={action: form}, status=400)
        return redirect("complaints:detail", pk=pk)


EXPORT_COLUMNS = [
    gettext_lazy("投诉编号"),
    gettext_lazy("受理时间"),
    gettext_lazy("客户"),
    gettext_lazy("来源渠道"),
    gettext_lazy("投诉类别"),
    gettext_lazy("严重程度"),
    gettext_lazy("状态"),
    gettext_lazy("首问负责人"),
    gettext_lazy("首次响应时限"),
    gettext_lazy("解决时限"),
    gettext_lazy("根本原因"),
    gettext_lazy("客户接受处理结果"),
]


class ComplaintExportView(PermissionRequired, View):
    permission_required = access.EXPORT

    def get(self, request, fmt):
        form = FilterForm(request.GET or None)
        if request.GET and not form.is_valid():
            messages.error(request, _("筛选条件有误，未导出。"))
            return redirect("complaints:list")
        filters = form.cleaned_data if form.is_valid() else {}
        rows = [_row(c) for c in selectors.complaint_list(filters=filters)]
        return table_response(
            name="complaints", header=EXPORT_COLUMNS, rows=rows, fmt=fmt, sheet=_("投诉")
        )


def _when(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _row(c: Complaint) -> list:
    accepted = {True: _("是"), False: _("否"), None: ""}[c.customer_accepted]
    return [
        c.number,
        _when(c.received_at),
        c.customer.name,
        c.get_channel_display(),
        c.get_category_display(),
        c.get_severity_display(),
        c.get_status_display(),
        person_name(c.owner),
        _when(c.first_response_due_at),
        _when(c.resolution_due_at),
        c.get_root_cause_display(),
        accepted,
    ]


class NotificationsView(View):
    def get(self, request):
        if not request.user.is_authenticated:
            return redirect("login")
        notifications = Notification.objects.filter(user=request.user)[:100]
        return render(request, "complaints/notifications.html", {"notifications": notifications})

    def post(self, request):
        if not request.user.is_authenticated:
            return redirect("login")
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        return redirect("complaints:notifications")
