"""GET /api/v1/reports/… (API.md "Reports"): managers and token clients with the reports
permission. Parameters are checked here; every figure comes from reports.metrics."""

import dataclasses
from datetime import date

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import DAY_PATTERN, Day
from shopcrm.access import has_perm
from visits.models import ServiceType

from . import access, metrics, scorecard


class CanReadReports(BasePermission):
    def has_permission(self, request, view) -> bool:
        return access.can_read_reports(request.user)


class PeriodQuery(serializers.Serializer):
    start = Day()
    end = Day()
    advisor = serializers.CharField(required=False, help_text=_("服务顾问的用户名"))
    service_type = serializers.ChoiceField(ServiceType.choices, required=False)

    def validate(self, data):
        if data["end"] < data["start"]:
            raise ValidationError({"end": [_("结束日期不能早于开始日期。")]})
        if (data["end"] - data["start"]).days > 366 * 20:
            raise ValidationError({"start": [_("期间太长（最多 20 年）。")]})
        return data


class AsOfQuery(serializers.Serializer):
    as_of = Day(required=False, help_text=_("默认今天"))


def period_from(query) -> metrics.Period:
    serializer = PeriodQuery(data=query)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    advisor = None
    if data.get("advisor"):
        from django.contrib.auth import get_user_model

        advisor = (
            get_user_model()
            .objects.filter(username=data["advisor"])
            .values_list("pk", flat=True)
            .first()
        )
        if advisor is None:
            raise ValidationError({"advisor": [_("没有这个用户名的服务顾问。")]})
    return metrics.Period(
        start=data["start"], end=data["end"], advisor=advisor, service_type=data.get("service_type")
    )


def as_of_from(query) -> date:
    serializer = AsOfQuery(data=query)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("as_of") or timezone.localdate()


PERIOD_PARAMETERS = [PeriodQuery]
DAY_SCHEMA = {"type": "string", "format": "date", "pattern": DAY_PATTERN}
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description=_("参数错误：参数名 → 错误列表")),
    401: OpenApiResponse(OpenApiTypes.OBJECT),
    403: OpenApiResponse(OpenApiTypes.OBJECT),
}


class ReportView(APIView):
    permission_classes = [CanReadReports]


class SummaryView(ReportView):
    @extend_schema(
        parameters=[PeriodQuery], responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["reports"]
    )
    def get(self, request):
        period = period_from(request.query_params)
        return Response({"start": period.start, "end": period.end, **metrics.summary(period)})


class ChurnView(ReportView):
    @extend_schema(
        parameters=[AsOfQuery], responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["reports"]
    )
    def get(self, request):
        return Response(metrics.churn(as_of_from(request.query_params)))


class SegmentsView(ReportView):
    @extend_schema(
        parameters=[AsOfQuery], responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["reports"]
    )
    def get(self, request):
        return Response(metrics.segments(as_of_from(request.query_params)))


class ComplaintCategoriesView(ReportView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", DAY_SCHEMA, required=True),
            OpenApiParameter("end", DAY_SCHEMA, required=True),
        ],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["reports"],
    )
    def get(self, request):
        return Response(metrics.complaint_categories(period_from(request.query_params)))


class LostReasonsView(ReportView):
    """Why customers leave (issue 19): the Pareto of the period's coded reasons and the
    same per advisor the customers left (reports.metrics.advisor_before_call)."""

    @extend_schema(
        parameters=PERIOD_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        tags=["reports"],
    )
    def get(self, request):
        period = period_from(request.query_params)
        by_advisor = metrics.lost_reasons_by_advisor(period)
        users = get_user_model().objects.in_bulk([r["advisor"] for r in by_advisor if r["advisor"]])
        return Response(
            {
                "reasons": metrics.lost_reasons(period),
                "by_advisor": [
                    {**row, "advisor": users[row["advisor"]].username if row["advisor"] else None}
                    for row in by_advisor
                ],
            }
        )


class CanReadScorecards(BasePermission):
    """Managers and report clients (every advisor), advisors (their own card only)."""

    def has_permission(self, request, view) -> bool:
        return access.can_read_reports(request.user) or has_perm(request.user, access.OWN_SCORECARD)


def scorecard_json(card: dict) -> dict:
    cells = card["cells"]
    return {
        "advisor": card["advisor"].username,
        "name": card["name"],
        "figures": {cell["key"]: cell["value"] for cell in cells},
        "observations": {
            cell["key"]: cell["observations"] for cell in cells if cell["observations"] is not None
        },
        "too_few_to_judge": [cell["key"] for cell in cells if cell["too_few"]],
        "targets": {
            cell["key"]: {
                "direction": cell["target"].direction,
                "value": float(cell["target"].value),
                "verdict": cell["verdict"],
            }
            for cell in cells
            if cell["target"] is not None
        },
    }


class AdvisorScorecardView(APIView):
    """METRICS.md's advisor scorecard per advisor over the visits delivered in the period;
    an advisor gets only their own card (403 for another advisor's)."""

    permission_classes = [CanReadScorecards]

    @extend_schema(
        parameters=[PeriodQuery], responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["reports"]
    )
    def get(self, request):
        period = period_from(request.query_params)
        advisor = access.scorecard_advisor_for(request.user, period.advisor)
        period = dataclasses.replace(period, advisor=advisor)
        return Response(
            {
                "start": period.start,
                "end": period.end,
                "min_observations": scorecard.MIN_OBSERVATIONS,
                "advisors": [scorecard_json(card) for card in scorecard.scorecards(period)],
            }
        )
