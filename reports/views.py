import dataclasses

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from complaints.models import Complaint
from customers import access as customer_access
from customers.models import ValueTier
from followups import access as followup_access
from followups import services as followup_services
from followups.models import FollowUpTask
from shopcrm.access import PermissionRequired, has_perm
from shopcrm.exports import table_response
from shopcrm.people import person_name
from surveys.models import Dimension
from visits.models import Appointment

from . import access, daily, dashboard, metrics, scorecard, selectors
from .forms import AsOfForm, PeriodForm, ServiceDueForm
from .models import SCORECARD_FIGURES

PERMISSION = access.VIEW


def _period_form(request):
    form = PeriodForm(request.GET or {"preset": "last_12_months"})
    return form, (form.period() if form.is_valid() else None)


def _period_query(period: metrics.Period) -> dict:
    # "custom": without it the period form falls back to its preset (the last 12 months)
    # and every drill-down and export of a chosen period showed another one.
    query = {"preset": "custom", "start": period.start.isoformat(), "end": period.end.isoformat()}
    if period.advisor:
        query["advisor"] = period.advisor
    if period.service_type:
        query["service_type"] = period.service_type
    return query


class DashboardView(PermissionRequired, View):
    permission_required = PERMISSION

    def get(self, request):
        form, period = _period_form(request)
        if period is None:
            return render(request, "reports/dashboard.html", {"form": form}, status=400)
        totals = daily.totals(period)
        summary = metrics.summary(period, totals=totals)
        churn = dashboard.churn_of(period.end)
        links = _links(period)
        return render(
            request,
            "reports/dashboard.html",
            {
                "form": form,
                "period": period,
                "summary": summary,
                "churn": churn,
                "tiles": _tiles(period, summary, churn, links),
                "repair_tiles": _repair_tiles(summary, links),
                "return_tiles": _return_tiles(summary),
                "reminder_funnel": reminder_funnel(period, summary),
                "key_drivers": dashboard.key_drivers(period, totals),
                "advisors_delivery": [
                    {**row, "rates": [row[key] for key, _label in DELIVERY_RATES]}
                    for row in dashboard.advisors_delivery(period)
                ],
                "advisors_repair": [
                    {**row, "shown": [shown(row[key], unit) for key, _l, unit in REPAIR_COLUMNS]}
                    for row in dashboard.advisors_repair(period)
                ],
                "advisor_repair_labels": [label for _key, label, _unit in REPAIR_COLUMNS],
                "charts": _charts(period, totals, summary, churn, links),
                "lost_reasons": lost_reason_rows(period),
                "lost_by_advisor": lost_by_advisor_rows(period),
                "filter_query": links["query"],
            },
        )


LOST_REASON_LABELS = dict(FollowUpTask.LostReason.choices)


def lost_reason_rows(period: metrics.Period) -> list[dict]:
    """The Pareto of why customers leave (reports.metrics.lost_reasons) with each reason's
    label and the page of its calls."""
    query = urlencode(_period_query(period))
    return [
        {
            **row,
            "label": str(LOST_REASON_LABELS.get(row["reason"], row["reason"])),
            "link": f"{reverse('reports:lost_calls')}?{query}&reason={row['reason']}",
        }
        for row in metrics.lost_reasons(period)
    ]


def _links(period: metrics.Period) -> dict:
    """Where each figure's rows are, for the period's filters."""
    query = urlencode(_period_query(period))
    complaints = urlencode(
        {"start": period.start.isoformat(), "end": period.end.isoformat(), "status": ""}
    )
    return {
        "query": query,
        "surveys": f"{reverse('surveys:list')}?{query}",
        "complaints": f"{reverse('complaints:list')}?{complaints}",
        "visits": f"{reverse('reports:visits')}?{query}",
        "customers": f"{reverse('reports:customers')}?as_of={period.end}",
        "vehicles": f"{reverse('reports:vehicles')}?as_of={period.end}",
        "service_due": f"{reverse('reports:service_due')}?as_of={period.end}",
        "calls": reverse("followups:team"),
    }


def _tiles(period, summary: dict, churn: dict, links: dict) -> list[tuple]:
    """(key, label, value, kind of value, the rows behind it) per tile."""
    return [
        ("csi", "CSI", summary["csi"], "number", links["surveys"]),
        ("nps", "NPS", summary["nps"], "number", links["surveys"]),
        (
            "complaint_rate",
            _("投诉率（每百台次）"),
            summary["complaint_rate_per_100_visits"],
            "number",
            links["complaints"],
        ),
        (
            "followup_72h",
            _("三日回访率"),
            summary["followup_contact_rate_72h"],
            "rate",
            f"{links['visits']}&not_contacted=1",
        ),
        (
            "on_time",
            _("按时交车率"),
            summary["on_time_delivery_rate"],
            "rate",
            f"{links['visits']}&late=1",
        ),
        (
            "on_time_revised",
            _("按修改后承诺交车率"),
            summary["on_time_revised_rate"],
            "rate",
            f"{links['visits']}&late_revised=1",
        ),
        (
            "promise_revision",
            _("承诺修改率"),
            summary["promise_revision_rate"],
            "rate",
            f"{links['visits']}&revised=1",
        ),
        (
            "delivery_checklist",
            _("交车检查完整率"),
            summary["delivery_checklist_rate"],
            "rate",
            f"{links['visits']}&checklist_incomplete=1",
        ),
        (
            "fixed_first",
            _("一次修复率"),
            summary["fixed_first_visit_rate"],
            "rate",
            f"{links['visits']}&comeback=1",
        ),
        ("churn", _("流失率"), churn["churn_rate"], "rate", f"{links['customers']}&state=lapsed"),
        (
            "service_due",
            _("30 天内预计保养（辆）"),
            metrics.service_due_count(period.end, within=30, show="upcoming"),
            "count",
            f"{links['service_due']}&within=30&show=upcoming",
        ),
    ]


def _repair_tiles(summary: dict, links: dict) -> list[tuple]:
    """The second row: how the shop keeps the customer in the loop during the repair."""
    return [
        (
            "extra_work_approval",
            _("增项同意率"),
            summary["extra_work_approval_rate"],
            "rate",
            f"{links['visits']}&extra_work_not_approved=1",
        ),
        (
            "approval_turnaround",
            _("增项答复用时（分钟）"),
            summary["approval_turnaround_minutes"],
            "number",
            f"{links['visits']}&extra_work_answered=1",
        ),
        (
            "estimate_accuracy",
            _("估价准确率"),
            summary["estimate_accuracy_rate"],
            "rate",
            f"{links['visits']}&estimate_missed=1",
        ),
        (
            "progress_update",
            _("维修进度告知率"),
            summary["progress_update_rate"],
            "rate",
            f"{links['visits']}&no_progress_update=1",
        ),
        (
            "recommended_work",
            _("建议项目回厂完成率"),
            summary["recommended_work_conversion_rate"],
            "rate",
            links["visits"],
        ),
    ]


def _return_tiles(summary: dict) -> list[tuple]:
    """The third row: bringing the car back (METRICS.md); the funnel beside it has the rows."""
    by_channel = summary["reminder_conversion_rate_by_channel"]
    return [
        ("booking_show", _("预约到店率"), summary["booking_show_rate"], "rate"),
        ("online_booking", _("在线预约占比"), summary["online_booking_share"], "rate"),
        ("reminder_conversion", _("保养提醒转化率"), summary["reminder_conversion_rate"], "rate"),
        *(
            (f"reminder_conversion_{channel}", label, by_channel[channel], "rate")
            for channel, label in REMINDER_CHANNEL_LABELS
        ),
        ("win_back_conversion", _("流失召回转化率"), summary["win_back_conversion_rate"], "rate"),
    ]


REMINDER_CHANNEL_LABELS = [
    ("call", gettext_lazy("保养提醒转化率（电话）")),
    ("sms", gettext_lazy("保养提醒转化率（短信）")),
    ("wechat", gettext_lazy("保养提醒转化率（微信）")),
]
REMINDER_STEP_LABELS = {
    "reminded": gettext_lazy("已提醒"),
    "booked": gettext_lazy("已预约"),
    "arrived": gettext_lazy("已到店"),
    "delivered": gettext_lazy("已交车"),
}


def reminder_funnel(period: metrics.Period, summary: dict) -> list[dict]:
    """reminded → booked → arrived → delivered: each step's count (the summary's), its
    share of the step before, and the page of its reminders."""
    counts = summary["reminder_funnel"]
    query = urlencode(_period_query(period))
    steps, before = [], None
    for step in metrics.REMINDER_STEPS:
        steps.append(
            {
                "step": step,
                "label": str(REMINDER_STEP_LABELS[step]),
                "count": counts[step],
                "share": None if before is None else metrics.rate(counts[step], before),
                "share_shown": ""
                if before is None
                else shown(metrics.rate(counts[step], before), "rate"),
                "link": f"{reverse('reports:reminders')}?{query}&step={step}",
            }
        )
        before = counts[step]
    return steps


def _charts(period, totals: dict, summary: dict, churn: dict, links: dict) -> dict:
    """The data of each chart (ECharts reads it as JSON)."""
    return {
        "byMonth": dashboard.by_month(period),
        "dimensions": [
            {"dimension": name, "label": str(label), "mean": summary["csi_dimensions"][name]}
            for name, label in Dimension.choices
        ],
        "advisors": dashboard.advisors_ranked(period),
        "categories": [
            {**row, "label": str(Complaint.Category(row["category"]).label)}
            for row in metrics.complaint_categories(period)
        ],
        "lostReasons": lost_reason_rows(period),
        "sla": [
            {"label": _("首次响应"), "rate": summary["complaint_first_response_sla_rate"]},
            {"label": _("解决"), "rate": summary["complaint_resolution_sla_rate"]},
        ],
        "funnel": [
            {**row, "label": str(FUNNEL_LABELS[row["step"]])}
            for row in dashboard.follow_up_funnel(period, totals)
        ],
        "churn": dashboard.churn_over_time(period.end, latest=churn),
        "bands": dashboard.segments_of(period.end)["bands"],
        "tiers": [
            {**row, "label": str(TIER_LABELS[row["tier"]])}
            for row in dashboard.value_tier_counts(period.end)
        ],
        "links": {
            name: links[name]
            for name in ("surveys", "complaints", "customers", "vehicles", "calls")
        },
    }


# The promise and delivery figures per advisor (the dashboard's table and its export).
DELIVERY_RATES = [
    ("on_time_delivery_rate", gettext_lazy("按时交车率")),
    ("on_time_revised_rate", gettext_lazy("按修改后承诺交车率")),
    ("promise_revision_rate", gettext_lazy("承诺修改率")),
    ("delivery_checklist_rate", gettext_lazy("交车检查完整率")),
]

FUNNEL_LABELS = {
    "visits": gettext_lazy("已交车"),
    "tasks": gettext_lazy("生成回访"),
    "dialled": gettext_lazy("已拨打"),
    "reached": gettext_lazy("已接通"),
}
TIER_LABELS = dict(ValueTier.choices)


class VisitsView(PermissionRequired, View):
    """The visits behind a tile: late, came back within 30 days, not reached in 72 h."""

    permission_required = PERMISSION

    def get(self, request, fmt=None):
        form, period = _period_form(request)
        if period is None:
            return render(request, "reports/visits.html", {"form": form, "rows": []}, status=400)
        flags = {
            name: request.GET.get(name) == "1"
            for name in ("comeback", "not_contacted", *selectors.VISIT_FLAGS)
        }
        visits = selectors.visits_behind(period, **flags)
        if fmt:
            return table_response(
                name="visits",
                header=VISIT_HEADER,
                rows=[selectors.visit_row(v) for v in visits],
                fmt=fmt,
            )
        return render(
            request,
            "reports/visits.html",
            {
                "form": form,
                "rows": visits[:500],
                "count": visits.count(),
                "filter_query": request.GET.urlencode(),
            },
        )


def lost_tables(period: metrics.Period) -> dict:
    """The exports of why customers leave: the Pareto, and the reasons per advisor."""
    return {
        "lost_reasons": lambda: (
            [_("流失原因"), _("数量"), _("占比"), _("累计占比")],
            [
                [r["label"], r["count"], r["share"], r["cumulative_share"]]
                for r in lost_reason_rows(period)
            ],
        ),
        "lost_by_advisor": lambda: lost_by_advisor_table(period),
    }


def lost_by_advisor_rows(period: metrics.Period) -> list[dict]:
    """Per advisor the customer left (reports.metrics.advisor_before_call): the name (by the
    one helper; "（无到店记录）" without a visit before the call), the total, the count of
    each reason in LostReason's order, and the page of that advisor's calls."""
    rows = metrics.lost_reasons_by_advisor(period)
    users = get_user_model().objects.in_bulk([r["advisor"] for r in rows if r["advisor"]])
    query = _period_query(dataclasses.replace(period, advisor=None))
    calls = reverse("reports:lost_calls")
    return [
        {
            "name": person_name(users[r["advisor"]])
            if r["advisor"] in users
            else _("（无到店记录）"),
            "total": r["total"],
            "counts": [r["reasons"].get(code, 0) for code in FollowUpTask.LostReason.values],
            "top": [
                (str(LOST_REASON_LABELS[code]), n) for code, n in list(r["reasons"].items())[:3]
            ],
            "link": f"{calls}?{urlencode({**query, 'advisor': r['advisor']})}"
            if r["advisor"]
            else None,
        }
        for r in rows
    ]


def lost_by_advisor_table(period: metrics.Period) -> tuple[list, list]:
    """The per-advisor export: the name, the total and each reason's count."""
    header = [
        _("服务顾问"),
        _("合计"),
        *(str(label) for label in FollowUpTask.LostReason.labels),
    ]
    rows = lost_by_advisor_rows(period)
    return header, [[r["name"], r["total"], *r["counts"]] for r in rows]


class LostCallsView(PermissionRequired, View):
    """The calls behind a bar of the "why customers leave" Pareto."""

    permission_required = PERMISSION

    def get(self, request, fmt=None):
        form, period = _period_form(request)
        reason = request.GET.get("reason") or None
        if reason is not None and reason not in FollowUpTask.LostReason.values:
            form.add_error(None, _("未知的流失原因。"))
            period = None
        if period is None:
            return render(
                request, "reports/lost_calls.html", {"form": form, "rows": []}, status=400
            )
        calls = selectors.lost_calls(period, reason)
        if fmt:
            return table_response(
                name="lost_calls",
                header=LOST_CALL_HEADER,
                rows=[
                    selectors.lost_call_row(task) for task in selectors.with_advisor_names(calls)
                ],
                fmt=fmt,
            )
        return render(
            request,
            "reports/lost_calls.html",
            {
                "form": form,
                "reason_label": LOST_REASON_LABELS.get(reason, _("全部原因")),
                "rows": selectors.with_advisor_names(calls[:500]),
                "count": calls.count(),
                "filter_query": request.GET.urlencode(),
            },
        )


LOST_CALL_HEADER = [
    gettext_lazy("通话时间"),
    gettext_lazy("客户"),
    gettext_lazy("类型"),
    gettext_lazy("结果"),
    gettext_lazy("流失原因"),
    gettext_lazy("流失原因说明"),
    gettext_lazy("服务顾问"),
]


class RemindersView(PermissionRequired, View):
    """The maintenance reminders behind a step of the dashboard's funnel."""

    permission_required = PERMISSION

    def get(self, request, fmt=None):
        form, period = _period_form(request)
        step = request.GET.get("step") or "reminded"
        if step not in metrics.REMINDER_STEPS:
            form.add_error(None, _("未知的漏斗步骤。"))
            period = None
        if period is None:
            return render(request, "reports/reminders.html", {"form": form, "rows": []}, status=400)
        reminders = selectors.reminders_behind(period, step)
        if fmt:
            return table_response(
                name="reminders",
                header=REMINDER_HEADER,
                rows=[selectors.reminder_row(task) for task in reminders],
                fmt=fmt,
            )
        return render(
            request,
            "reports/reminders.html",
            {
                "form": form,
                "step_label": REMINDER_STEP_LABELS[step],
                "appointment_statuses": Appointment.Status.choices,
                "rows": reminders[:500],
                "count": reminders.count(),
                "filter_query": request.GET.urlencode(),
            },
        )


REMINDER_HEADER = [
    gettext_lazy("提醒时间"),
    gettext_lazy("车牌/VIN"),
    gettext_lazy("客户"),
    gettext_lazy("提醒电话"),
    gettext_lazy("预约时间"),
    gettext_lazy("预约状态"),
]


VISIT_HEADER = [
    gettext_lazy("工单号"),
    gettext_lazy("交车时间"),
    gettext_lazy("首次承诺"),
    gettext_lazy("最终承诺"),
    gettext_lazy("承诺修改次数"),
    gettext_lazy("交车检查完整"),
    gettext_lazy("服务类型"),
    gettext_lazy("服务顾问"),
    gettext_lazy("客户"),
]


class CustomersView(PermissionRequired, View):
    """At-risk and lapsed customers as of a date, with their value tier; export; and one
    click to put win-back calls in the queue for the ones selected."""

    permission_required = PERMISSION

    def get(self, request, fmt=None):
        form = AsOfForm(request.GET or None)
        if request.GET and not form.is_valid():
            return render(request, "reports/customers.html", {"form": form, "rows": []}, status=400)
        as_of = form.moment()
        state = form.cleaned_data.get("state", "at_risk") if form.is_valid() else "at_risk"
        tier = form.cleaned_data.get("tier", "") if form.is_valid() else ""
        rows = selectors.customers_behind(as_of=as_of, state=state, tier=tier)
        if fmt:
            return table_response(
                name="customers",
                header=CUSTOMER_HEADER,
                rows=[
                    [r["name"], r["last_day"], r["days_since"], r["state_label"], r["tier_label"]]
                    for r in rows
                ],
                fmt=fmt,
            )
        return render(
            request,
            "reports/customers.html",
            {
                "form": form,
                "rows": rows[:500],
                "count": len(rows),
                "as_of": as_of,
                "filter_query": request.GET.urlencode(),
            },
        )

    def post(self, request):
        if not has_perm(request.user, followup_access.SUPERVISE):
            messages.error(request, _("只有主管可以批量创建召回任务。"))
            return redirect(f"{reverse('reports:customers')}?{request.GET.urlencode()}")
        picked = list(customer_access.customers_for(request.user, request.POST.getlist("customer")))
        if not picked:
            messages.error(request, _("请先勾选客户。"))
        else:
            created = followup_services.win_back_create_for(customers=picked)
            messages.success(
                request,
                _("已为 %(created)s 位客户创建召回任务（%(skipped)s 位已有或不可联系）。")
                % {"created": created, "skipped": len(picked) - created},
            )
        return redirect(f"{reverse('reports:customers')}?{request.GET.urlencode()}")


CUSTOMER_HEADER = [
    gettext_lazy("客户"),
    gettext_lazy("上次回厂"),
    gettext_lazy("距今天数"),
    gettext_lazy("状态"),
    gettext_lazy("价值层级"),
]


class VehiclesView(PermissionRequired, View):
    """The vehicles of the mileage analysis, by daily-mileage band."""

    permission_required = PERMISSION

    def get(self, request, fmt=None):
        form = AsOfForm(request.GET or None)
        if request.GET and not form.is_valid():
            return render(request, "reports/vehicles.html", {"form": form, "rows": []}, status=400)
        as_of = form.moment()
        band = request.GET.get("band", "")
        if band and band not in {"0", "1", "2", "3"}:
            raise Http404
        rows = selectors.vehicles_behind(as_of=as_of, band=int(band) if band else None)
        if fmt:
            return table_response(
                name="vehicles",
                header=[
                    gettext_lazy("车牌/VIN"),
                    gettext_lazy("回厂次数"),
                    gettext_lazy("日均里程"),
                ],
                rows=[[r["vehicle"], r["visit_count"], r["avg_daily_km"]] for r in rows],
                fmt=fmt,
            )
        return render(
            request,
            "reports/vehicles.html",
            {
                "rows": rows[:500],
                "count": len(rows),
                "as_of": as_of,
                "band": band,
                "filter_query": request.GET.urlencode(),
            },
        )


class ServiceDueView(PermissionRequired, View):
    """Predicted next service dates: the vehicles due soon or overdue, for reminder calls."""

    permission_required = PERMISSION

    def get(self, request, fmt=None):
        form = ServiceDueForm(request.GET)
        if not form.is_valid():
            # Bad filters never export a file: the page says what is wrong.
            return render(request, "reports/service_due.html", {"form": form}, status=400)
        values = form.values()
        rows = selectors.service_due_rows(**values)
        if fmt:
            return table_response(
                name="service-due",
                header=SERVICE_DUE_HEADER,
                rows=[
                    [
                        r["vehicle"],
                        r["model"],
                        r["customer"],
                        r["last_day"],
                        r["visit_count"],
                        r["odometer_km"],
                        r["avg_daily_km"],
                        r["due_day"],
                        r["days_to_due"],
                        r["reminder"],
                    ]
                    for r in rows
                ],
                fmt=fmt,
            )
        return render(
            request,
            "reports/service_due.html",
            {
                "form": form,
                "rows": rows[:500],
                "count": len(rows),
                **values,
                "filter_query": request.GET.urlencode(),
            },
        )


SERVICE_DUE_HEADER = [
    gettext_lazy("车牌/VIN"),
    gettext_lazy("车型"),
    gettext_lazy("客户"),
    gettext_lazy("上次回厂"),
    gettext_lazy("回厂次数"),
    gettext_lazy("上次里程"),
    gettext_lazy("日均里程"),
    gettext_lazy("预计保养日期"),
    gettext_lazy("距预计日期天数"),
    gettext_lazy("保养提醒"),
]


class TableExportView(PermissionRequired, View):
    """CSV/XLSX of each dashboard table, for the same filters."""

    permission_required = PERMISSION

    def get(self, request, table, fmt):
        _form, period = _period_form(request)
        if period is None:
            messages.error(request, _("筛选条件有误，未导出。"))
            return redirect("reports:dashboard")
        tables = {
            "summary": lambda: ([_("指标"), _("数值")], summary_rows(period)),
            "months": lambda: (
                [_("月份"), "CSI", "NPS", _("答卷")],
                [
                    [r["month"], r["csi"], r["nps"], r["responses"]]
                    for r in dashboard.by_month(period)
                ],
            ),
            "advisors": lambda: (
                [_("服务顾问"), "CSI", _("答卷")],
                [[r["name"], r["csi"], r["responses"]] for r in dashboard.advisors_ranked(period)],
            ),
            "advisor_delivery": lambda: (
                [_("服务顾问"), _("交车台次"), *(str(label) for _key, label in DELIVERY_RATES)],
                [
                    [r["name"], r["visits"], *(shown(r[key], "rate") for key, _l in DELIVERY_RATES)]
                    for r in dashboard.advisors_delivery(period)
                ],
            ),
            "advisor_repair": lambda: (
                [_("服务顾问"), _("交车台次"), *(str(label) for _k, label, _u in REPAIR_COLUMNS)],
                [
                    [
                        r["name"],
                        r["visits"],
                        *(shown(r[key], unit) for key, _l, unit in REPAIR_COLUMNS),
                    ]
                    for r in dashboard.advisors_repair(period)
                ],
            ),
            "categories": lambda: (
                [_("投诉类别"), _("数量"), _("累计占比")],
                [
                    [
                        str(Complaint.Category(r["category"]).label),
                        r["count"],
                        r["cumulative_share"],
                    ]
                    for r in metrics.complaint_categories(period)
                ],
            ),
            **lost_tables(period),
            "drivers": lambda: (
                [_("维度"), _("平均得分"), _("与 NPS 的相关系数")],
                [[r["label"], r["mean"], r["correlation"]] for r in dashboard.key_drivers(period)],
            ),
            "bands": lambda: (
                [_("日均里程（公里/日）"), _("车辆"), _("占比")],
                [
                    [f"{b['min_km']}–{b['max_km']}", b["vehicles"], b["share"]]
                    for b in dashboard.segments_of(period.end)["bands"]
                ],
            ),
            "reminder_funnel": lambda: (
                [_("漏斗步骤"), _("数量"), _("占上一步")],
                [
                    [step["label"], step["count"], step["share_shown"]]
                    for step in reminder_funnel(period, metrics.return_figures(period))
                ],
            ),
            "tiers": lambda: (
                [_("价值层级"), _("客户")],
                [
                    [str(TIER_LABELS[t["tier"]]), t["customers"]]
                    for t in dashboard.value_tier_counts(period.end)
                ],
            ),
        }
        if table not in tables:
            raise Http404
        header, rows = tables[table]()
        return table_response(name=table, header=header, rows=rows, fmt=fmt)


# The summary export: every figure of the summary and of the dashboard's other tiles, under
# its name in the user's language and shown as the dashboard shows it (rates as percentages
# with one decimal; CSI, NPS and the like with one decimal), each from its one definition.
SUMMARY_FIGURES = [
    ("visits", gettext_lazy("交车台次"), "count"),
    ("csi", "CSI", "number"),
    ("nps", "NPS", "number"),
    ("survey_responses", gettext_lazy("调查答卷数"), "count"),
    ("survey_response_rate", gettext_lazy("问卷回收率"), "rate"),
    ("alerts", gettext_lazy("调查预警数"), "count"),
    ("on_time_delivery_rate", gettext_lazy("按时交车率"), "rate"),
    ("on_time_revised_rate", gettext_lazy("按修改后承诺交车率"), "rate"),
    ("promise_revision_rate", gettext_lazy("承诺修改率"), "rate"),
    ("delivery_checklist_rate", gettext_lazy("交车检查完整率"), "rate"),
    ("fixed_first_visit_rate", gettext_lazy("一次修复率"), "rate"),
    ("appointment_rate", gettext_lazy("预约率"), "rate"),
    ("followup_contact_rate_72h", gettext_lazy("三日回访率"), "rate"),
    ("followup_completion_rate", gettext_lazy("回访完成率"), "rate"),
    ("complaints", gettext_lazy("投诉数"), "count"),
    ("complaint_rate_per_100_visits", gettext_lazy("投诉率（每百台次）"), "number"),
    ("complaint_first_response_sla_rate", gettext_lazy("投诉首次响应及时率"), "rate"),
    ("complaint_resolution_sla_rate", gettext_lazy("投诉解决及时率"), "rate"),
    ("complaint_mean_hours_to_resolve", gettext_lazy("投诉平均解决时长（小时）"), "number"),
    ("churn_rate", gettext_lazy("流失率"), "rate"),
    ("at_risk_rate", gettext_lazy("流失风险率"), "rate"),
    ("service_due_30", gettext_lazy("30 天内预计保养（辆）"), "count"),
    ("extra_work_approval_rate", gettext_lazy("增项同意率"), "rate"),
    ("approval_turnaround_minutes", gettext_lazy("增项答复用时（分钟，中位数）"), "number"),
    ("estimate_accuracy_rate", gettext_lazy("估价准确率（±10%）"), "rate"),
    ("progress_update_rate", gettext_lazy("维修进度告知率"), "rate"),
    ("recommended_work_conversion_rate", gettext_lazy("建议项目回厂完成率"), "rate"),
    # Bringing the car back (issue 18).
    ("booking_show_rate", gettext_lazy("预约到店率"), "rate"),
    ("online_booking_share", gettext_lazy("在线预约占比"), "rate"),
    ("reminder_conversion_rate", gettext_lazy("保养提醒转化率"), "rate"),
    *(
        (f"reminder_conversion_{channel}", label, "rate")
        for channel, label in REMINDER_CHANNEL_LABELS
    ),
    ("win_back_conversion_rate", gettext_lazy("流失召回转化率（60 天）"), "rate"),
    ("reminded", gettext_lazy("已提醒（辆次）"), "count"),
    ("reminded_booked", gettext_lazy("提醒后预约"), "count"),
    ("reminded_arrived", gettext_lazy("提醒后到店"), "count"),
    ("reminded_delivered", gettext_lazy("提醒后交车"), "count"),
]


# The repair figures per advisor (the dashboard's second advisor table and its export),
# labelled as in the summary.
REPAIR_COLUMNS = [row for row in SUMMARY_FIGURES if row[0] in metrics.REPAIR_FIGURES]


def summary_rows(period: metrics.Period) -> list[list]:
    """[label, value as shown] per figure of the dashboard's summary, then the mean points of
    each SERVQUAL dimension."""
    summary = metrics.summary(period)
    churn = dashboard.churn_of(period.end)
    values = {
        **summary,
        "churn_rate": churn["churn_rate"],
        "at_risk_rate": churn["at_risk_rate"],
        "service_due_30": metrics.service_due_count(period.end, within=30, show="upcoming"),
        **{
            f"reminder_conversion_{channel}": rate
            for channel, rate in summary["reminder_conversion_rate_by_channel"].items()
        },
        **{
            ("reminded" if step == "reminded" else f"reminded_{step}"): count
            for step, count in summary["reminder_funnel"].items()
        },
    }
    rows = [[str(label), shown(values[key], kind)] for key, label, kind in SUMMARY_FIGURES]
    rows += [
        [_("CSI：%(dimension)s") % {"dimension": label}, shown(summary["csi_dimensions"][name])]
        for name, label in Dimension.choices
    ]
    return rows


def shown(value, kind: str = "number"):
    """A figure as the dashboard shows it: a rate as a percentage with one decimal
    ("56.9%"), a count as it is, any other number to one decimal; empty when undefined."""
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "count":
        return value
    return round(value, 1)


# ---------------------------------------------------------------- the advisor scorecard

# The rows behind each figure of the scorecard: the visits page's flag (the complement or
# the numerator of the figure's condition), or the responses for the survey figures.
SCORECARD_DRILL = {
    "visits": ("visits", ""),
    "csi": ("surveys", ""),
    "nps": ("surveys", ""),
    "on_time_delivery_rate": ("visits", "late"),
    "fixed_first_visit_rate": ("visits", "comeback"),
    "followup_contact_rate_72h": ("visits", "not_contacted"),
    "complaint_rate_per_100_visits": ("visits", "complained"),
    "estimate_accuracy_rate": ("visits", "estimate_missed"),
    "extra_work_approval_rate": ("visits", "extra_work_not_approved"),
    "delivery_checklist_rate": ("visits", "checklist_incomplete"),
    "survey_responses": ("surveys", ""),
}
SCORECARD_KINDS = {key: kind for key, _label, kind in SCORECARD_FIGURES}
SCORECARD_LABEL = {key: label for key, label, _kind in SCORECARD_FIGURES}


def scorecard_period(request):
    """The period form of the scorecard and the period it names, narrowed to the advisors
    the user may see (reports.access.scorecard_advisor_for: 403 for another advisor's)."""
    form, period = _period_form(request)
    if period is not None:
        advisor = access.scorecard_advisor_for(request.user, period.advisor)
        period = dataclasses.replace(period, advisor=advisor)
    elif not access.can_read_reports(request.user):
        access.scorecard_advisor_for(request.user, None)  # 403 for those with no card
    return form, period


def scorecard_rows(request, period: metrics.Period, *, trends: bool) -> list[dict]:
    """The cards with each cell's value as shown, its target as shown, its drill-down link
    (managers) and its sparkline."""
    may_drill = access.can_read_reports(request.user)
    base = _period_query(period)
    rows = []
    for card in scorecard.scorecards(period, trends=trends):
        query = {**base, "advisor": card["advisor_id"]}
        cells = []
        for cell in card["cells"]:
            key = cell["key"]
            kind = SCORECARD_KINDS[key]
            target = cell["target"]
            page, flag = SCORECARD_DRILL[key]
            link = ""
            if may_drill:
                url = reverse("reports:visits" if page == "visits" else "surveys:list")
                params = query if page == "visits" else _survey_query(period, card["advisor_id"])
                link = f"{url}?{urlencode({**params, **({flag: 1} if flag else {})})}"
            cells.append(
                {
                    **cell,
                    "label": SCORECARD_LABEL[key],
                    "shown": shown(cell["value"], kind),
                    "target_shown": ""
                    if target is None
                    else f"{target.get_direction_display()} {target.value.normalize():f}"
                    + ("%" if kind == "rate" else ""),
                    "link": link,
                    "sparkline": sparkline(cell["trend"], kind) if trends else "",
                }
            )
        rows.append({**card, "cells": cells})
    return rows


def _survey_query(period: metrics.Period, advisor_id: int) -> dict:
    query = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    query["advisor"] = advisor_id
    if period.service_type:
        query["service_type"] = period.service_type
    return query


def sparkline(values: list, kind: str, width: int = 60, height: int = 16) -> str:
    """The points of an SVG polyline through the monthly values (months without a value
    are left out), scaled to the box; empty below two values."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    low = min(v for _i, v in known)
    high = max(v for _i, v in known)
    step = width / max(1, len(values) - 1)

    def y(value):  # a flat series runs through the middle
        if high == low:
            return height / 2
        return height - 1 - (value - low) / (high - low) * (height - 2)

    return " ".join(f"{i * step:.1f},{y(v):.1f}" for i, v in known)


SCORECARD_LABELS = [label for _key, label, _kind in SCORECARD_FIGURES]


class ScorecardView(LoginRequiredMixin, View):
    """The advisor scorecard: every advisor for a manager; an advisor sees only their own
    row (and gets 403 asking for another's)."""

    def get(self, request, fmt=None):
        form, period = scorecard_period(request)
        if period is None:
            return render(request, "reports/advisors.html", {"form": form, "rows": []}, status=400)
        rows = scorecard_rows(request, period, trends=not fmt)
        if fmt:
            header = [_("服务顾问")]
            for key, label, _kind in SCORECARD_FIGURES:
                header.append(str(label))
                if key in scorecard.DENOMINATORS:
                    header.append(_("%(figure)s：样本数") % {"figure": label})
            lines = []
            for row in rows:
                line = [row["name"]]
                for cell in row["cells"]:
                    line.append(cell["shown"])
                    if cell["key"] in scorecard.DENOMINATORS:
                        line.append(cell["observations"])
                lines.append(line)
            return table_response(name="advisors", header=header, rows=lines, fmt=fmt)
        return render(
            request,
            "reports/advisors.html",
            {
                "form": form,
                "period": period,
                "rows": rows,
                "labels": SCORECARD_LABELS,
                "manager": access.can_read_reports(request.user),
                "min_observations": scorecard.MIN_OBSERVATIONS,
                "filter_query": urlencode(_period_query(period)),
            },
        )
