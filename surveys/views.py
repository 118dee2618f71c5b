from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from shopcrm.access import PermissionRequired
from shopcrm.cache import public_page_too_busy
from shopcrm.exports import table_response
from shopcrm.people import person_name
from shopcrm.refusals import errors_of

from . import access, selectors, services
from .forms import ResponseFilterForm, answers_from_post
from .models import SurveyResponse

VIEW, EXPORT = access.VIEW, access.EXPORT


# ---------------------------------------------------------------- the customer's page


def _too_many(request) -> bool:
    return public_page_too_busy(request, "survey")


def _questions(invitation):
    return list(invitation.template.questions.order_by("order", "pk"))


@never_cache
@csrf_protect
def survey_page(request, token):
    """No login: the token is the key. A guessed, used or expired link gets a friendly page
    that shows nothing about the visit or the customer."""
    if _too_many(request):
        return _closed(request, "busy")
    invitation = selectors.invitation_get_by_token(token)
    state = selectors.invitation_state(invitation)
    if state != "open":
        return _closed(request, state)
    questions = _questions(invitation)
    errors, answers = {}, {}
    if request.method == "POST":
        answers = answers_from_post(request.POST, questions)
        try:
            response = services.response_submit_public(invitation=invitation, answers=answers)
        except ValidationError as exc:
            errors = errors_of(exc)
        else:
            if response is None:  # a double-click or a resubmission: nothing new written
                return _closed(
                    request, selectors.invitation_state(selectors.invitation_get_by_token(token))
                )
            return redirect("surveys:thanks", token=token)
    else:
        services.invitation_mark_opened(invitation=invitation)
    return render(
        request,
        "surveys/public.html",
        {
            "invitation": invitation,
            "rows": [(q, answers.get(q.code, ""), errors.get(q.code, [])) for q in questions],
            "errors": errors,
            "general_errors": errors.get(None, []),
            "scale": [
                (1, _("非常不满意")),
                (2, _("不满意")),
                (3, _("一般")),
                (4, _("满意")),
                (5, _("非常满意")),
            ],
            "nps_range": range(11),
            "shop": _shop(),
        },
        status=400 if errors else 200,
    )


def _shop():
    return settings.SHOP_NAME


@never_cache
def thanks(request, token):
    if _too_many(request):
        return _closed(request, "busy")
    invitation = selectors.invitation_get_by_token(token)
    if selectors.invitation_state(invitation) != "answered":
        return _closed(request, selectors.invitation_state(invitation))
    return render(request, "surveys/public_message.html", {"state": "thanks", "shop": _shop()})


def _closed(request, state):
    status = {"answered": 200, "expired": 410, "invalid": 404, "busy": 429}[state]
    return render(
        request, "surveys/public_message.html", {"state": state, "shop": _shop()}, status=status
    )


# ---------------------------------------------------------------- the manager's pages


class ResponseListView(PermissionRequired, View):
    permission_required = VIEW

    def get(self, request):
        form = ResponseFilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        responses = selectors.response_list(filters=filters)
        base = selectors.response_list(filters={**filters, "flagged_only": False})
        page = Paginator(responses, 50).get_page(request.GET.get("page"))
        return render(
            request,
            "surveys/list.html",
            {
                "form": form,
                "page": page,
                "summary": selectors.summary(responses=responses),
                "flagged_advisors": selectors.advisors_with_suspicious_top_marks(responses=base),
                "filter_query": request.GET.urlencode(),
                "can_export": access.can_export(request.user),
            },
            status=200 if form.is_valid() or not request.GET else 400,
        )


class ResponseDetailView(PermissionRequired, View):
    permission_required = VIEW

    def get(self, request, pk):
        response = access.response_for(request.user, pk, queryset=selectors.responses_in_detail())
        return render(request, "surveys/detail.html", {"response": response})


EXPORT_COLUMNS = [
    ("submitted_at", gettext_lazy("作答时间")),
    ("ro_number", gettext_lazy("工单号")),
    ("delivered_at", gettext_lazy("交车时间")),
    ("advisor", gettext_lazy("服务顾问")),
    ("service_type", gettext_lazy("服务类型")),
    ("channel", gettext_lazy("渠道")),
    ("csi", gettext_lazy("CSI")),
    ("nps", gettext_lazy("NPS")),
    ("nps_class", gettext_lazy("NPS 分类")),
    ("alert", gettext_lazy("预警")),
    ("completed_quickly", gettext_lazy("作答过快")),
]


class ResponseExportView(PermissionRequired, View):
    permission_required = EXPORT

    def get(self, request, fmt):
        form = ResponseFilterForm(request.GET or None)
        if request.GET and not form.is_valid():
            messages.error(request, _("筛选条件有误，未导出。"))
            return redirect("surveys:list")
        filters = form.cleaned_data if form.is_valid() else {}
        rows = [_export_row(r) for r in selectors.response_list(filters=filters).iterator()]
        return table_response(
            name="survey-responses",
            header=[label for _key, label in EXPORT_COLUMNS],
            rows=rows,
            fmt=fmt,
            sheet=_("调查答卷"),
        )


def _export_row(response: SurveyResponse) -> list:
    visit = response.visit
    advisor = person_name(visit.advisor) if visit.advisor else visit.advisor_code
    return [
        timezone.localtime(response.submitted_at).strftime("%Y-%m-%d %H:%M"),
        visit.ro_number,
        timezone.localtime(visit.delivered_at).strftime("%Y-%m-%d %H:%M")
        if visit.delivered_at
        else "",
        advisor,
        visit.get_service_type_display(),
        response.get_channel_display(),
        None if response.csi is None else round(response.csi, 2),
        response.nps_score,
        response.get_nps_class_display(),
        _("是") if response.is_alert else "",
        _("是") if response.completed_quickly else "",
    ]
