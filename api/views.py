"""The REST API of API.md: DMS sync (bulk upserts) and read-back. Views are thin: they check
access, hand the body or the query to a service or a selector, and answer."""

from functools import partial

from django.conf import settings
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.capacity_report import over_capacity
from complaints import access as complaint_access
from complaints import hotline as complaint_hotline
from complaints import selectors as complaint_selectors
from customers import access as customer_access
from customers import selectors as customer_selectors
from customers.sync import CUSTOMER_RECORD, VEHICLE_RECORD, customers_sync, vehicles_sync
from followups import access as followup_access
from followups import selectors as followup_selectors
from messaging import access as message_access
from messaging import selectors as message_selectors
from shopcrm.access import object_for
from shopcrm.sync import MAX_RECORDS, storable
from surveys import access as survey_access
from surveys import selectors as survey_selectors
from surveys.sync import SURVEY_RESPONSE_RECORD, survey_responses_sync
from visits import access as visit_access
from visits import selectors as visit_selectors
from visits.sync import (
    APPOINTMENT_RECORD,
    VISIT_RECORD,
    WORK_ITEM_RECORD,
    appointments_sync,
    visits_sync,
    work_items_sync,
)

from . import serializers, services
from .access import (
    CanCreateComplaint,
    CanReadBack,
    CanReadComplaints,
    CanSync,
    hotline_only,
    sees_full_phones,
)

ERROR_RESPONSES = {
    400: OpenApiResponse(serializers.BatchError, description=_("请求格式错误，整批未写入")),
    401: OpenApiResponse(serializers.Detail, description=_("未提供或无效的令牌")),
    403: OpenApiResponse(serializers.Detail, description=_("没有同步权限")),
    413: OpenApiResponse(serializers.Detail, description=_("请求体过大")),
    422: OpenApiResponse(serializers.Detail, description=_("幂等键已用于不同的请求体")),
    429: OpenApiResponse(serializers.Detail, description=_("请求过于频繁")),
}
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=_("重试时带上同一个键，返回第一次的应答"),
)


class SyncView(APIView):
    """POST a JSON array of 1..1000 records; each is applied on its own."""

    permission_classes = [CanSync]
    # Declared for the schema; the body is read here and checked by the service
    # (request.data is never used), for exact 400/413 answers and one JSON parse per batch.
    parser_classes = [JSONParser]
    sync = None  # the service, set by each endpoint
    endpoint = ""

    def post(self, request):
        too_big = self._too_big(request)
        if too_big:
            return too_big
        try:
            body = request.body
        except RawPostDataException:  # pragma: no cover  (nothing reads the stream first)
            body = b""
        answer = services.sync_batch_submit(
            client=request.user,
            endpoint=self.endpoint,
            body=body,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            sync=type(self).sync,
        )
        response = Response(answer.body, status=answer.status_code)
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @staticmethod
    def _too_big(request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            return Response(
                {
                    "detail": _("请求体过大（最多 %(mb)s MB），请分批发送，每批最多 %(max)s 条。")
                    % {"mb": settings.API_MAX_BODY_BYTES // (1024 * 1024), "max": MAX_RECORDS}
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return None


def _sync_schema(declaration, summary, result=serializers.SyncResult):
    """The request body's schema comes from the record's declaration (shopcrm.sync)."""
    return extend_schema(
        summary=summary,
        request=declaration.serializer(many=True),
        responses={200: result, **ERROR_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["sync"],
    )


class CustomerSyncView(SyncView):
    sync = staticmethod(customers_sync)
    endpoint = "customers"

    @_sync_schema(CUSTOMER_RECORD, _("批量同步客户"))
    def post(self, request):
        return super().post(request)


class VehicleSyncView(SyncView):
    sync = staticmethod(vehicles_sync)
    endpoint = "vehicles"

    @_sync_schema(VEHICLE_RECORD, _("批量同步车辆"))
    def post(self, request):
        return super().post(request)


class VisitSyncView(SyncView):
    sync = staticmethod(visits_sync)
    endpoint = "visits"

    @_sync_schema(VISIT_RECORD, _("批量同步工单"))
    def post(self, request):
        return super().post(request)


class WorkItemSyncView(SyncView):
    """Extra work (增项) the DMS recorded on its repair orders, and the customers' answers."""

    sync = staticmethod(work_items_sync)
    endpoint = "work-items"

    @_sync_schema(WORK_ITEM_RECORD, _("批量同步增项"))
    def post(self, request):
        return super().post(request)


class SurveyResponseSyncView(SyncView):
    sync = staticmethod(survey_responses_sync)
    endpoint = "survey-responses"

    @_sync_schema(SURVEY_RESPONSE_RECORD, _("导入调查答卷"))
    def post(self, request):
        return super().post(request)


class AppointmentSyncView(SyncView):
    """The DMS's own appointments (issue 18): the DMS is the source of truth, so a slot's
    capacity is not enforced here."""

    sync = staticmethod(partial(appointments_sync, capacity_report=over_capacity))
    endpoint = "appointments"

    @_sync_schema(APPOINTMENT_RECORD, _("批量同步预约"), serializers.AppointmentSyncResult)
    def post(self, request):
        return super().post(request)


# ---------------------------------------------------------------- read-back


class StableCursor(CursorPagination):
    """Cursor pages in (updated_at, id) order: stable while a DMS pages through millions
    of rows, and a natural "what changed since" feed."""

    ordering = ("updated_at", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


READ_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description=_("查询参数错误：参数名 → 错误列表")),
    401: OpenApiResponse(serializers.Detail),
    403: OpenApiResponse(serializers.Detail),
    404: OpenApiResponse(serializers.Detail),
    429: OpenApiResponse(serializers.Detail),
}


class ReadBackMixin:
    permission_classes = [CanReadBack]
    pagination_class = StableCursor
    filter_serializer = None
    selector = None

    def filters(self) -> dict:
        query = self.request.query_params.dict()
        query.pop("cursor", None)
        query.pop("page_size", None)
        serializer = self.filter_serializer(data=query)
        if not serializer.is_valid():
            raise ValidationError(serializer.errors)
        return serializer.validated_data

    def get_queryset(self):
        if self.kwargs.get("pk") is not None:
            return type(self).selector(filters={})
        filters = self.filters()
        if any(isinstance(value, str) and not storable(value) for value in filters.values()):
            return type(self).selector(filters={}).none()  # no record holds such a value
        return type(self).selector(filters=filters)

    def get_object(self):
        """A record by id, loaded as pages load theirs (shopcrm.access.object_for: 404 for
        an id that names nothing); the permission class has said who may read."""
        found = object_for(self.request.user, self.get_queryset(), self.kwargs["pk"])
        self.check_object_permissions(self.request, found)
        return found

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "full_phones": sees_full_phones(self.request),
        }


def _list_schema(filters, output):
    return extend_schema(
        parameters=[filters], responses={200: output(many=True), **READ_ERRORS}, tags=["read-back"]
    )


def _detail_schema(output):
    return extend_schema(responses={200: output, **READ_ERRORS}, tags=["read-back"])


class CustomerList(ReadBackMixin, generics.ListAPIView):
    serializer_class = serializers.CustomerOut
    filter_serializer = serializers.CustomerFilters
    selector = staticmethod(customer_selectors.customer_list_for_api)
    model_permission = customer_access.VIEW

    @_list_schema(serializers.CustomerFilters, serializers.CustomerOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CustomerDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.CustomerOut
    selector = staticmethod(customer_selectors.customer_list_for_api)
    model_permission = customer_access.VIEW

    @_detail_schema(serializers.CustomerOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VehicleList(ReadBackMixin, generics.ListAPIView):
    serializer_class = serializers.VehicleOut
    filter_serializer = serializers.VehicleFilters
    selector = staticmethod(customer_selectors.vehicle_list_for_api)
    model_permission = customer_access.VIEW_VEHICLE

    @_list_schema(serializers.VehicleFilters, serializers.VehicleOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VehicleDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.VehicleOut
    selector = staticmethod(customer_selectors.vehicle_list_for_api)
    model_permission = customer_access.VIEW_VEHICLE

    @_detail_schema(serializers.VehicleOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VisitList(ReadBackMixin, generics.ListAPIView):
    serializer_class = serializers.VisitOut
    filter_serializer = serializers.VisitFilters
    selector = staticmethod(visit_selectors.visit_list_for_api)
    model_permission = visit_access.VIEW

    @_list_schema(serializers.VisitFilters, serializers.VisitOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VisitDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.VisitOut
    selector = staticmethod(visit_selectors.visit_list_for_api)
    model_permission = visit_access.VIEW

    @_detail_schema(serializers.VisitOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AppointmentList(ReadBackMixin, generics.ListAPIView):
    """Appointments of every source (online, phone, desk, DMS)."""

    serializer_class = serializers.AppointmentOut
    filter_serializer = serializers.AppointmentFilters
    selector = staticmethod(visit_selectors.appointment_list_for_api)
    model_permission = visit_access.VIEW_APPOINTMENT

    @_list_schema(serializers.AppointmentFilters, serializers.AppointmentOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class AppointmentDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.AppointmentOut
    selector = staticmethod(visit_selectors.appointment_list_for_api)
    model_permission = visit_access.VIEW_APPOINTMENT

    @_detail_schema(serializers.AppointmentOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class FollowUpTaskList(ReadBackMixin, generics.ListAPIView):
    """DMS clients and managers (who supervise the queue); not the agents themselves."""

    serializer_class = serializers.FollowUpTaskOut
    filter_serializer = serializers.FollowUpTaskFilters
    selector = staticmethod(followup_selectors.task_list_for_api)
    model_permission = followup_access.SUPERVISE

    @_list_schema(serializers.FollowUpTaskFilters, serializers.FollowUpTaskOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class FollowUpTaskDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.FollowUpTaskOut
    selector = staticmethod(followup_selectors.task_list_for_api)
    model_permission = followup_access.SUPERVISE

    @_detail_schema(serializers.FollowUpTaskOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MessageList(ReadBackMixin, generics.ListAPIView):
    """What was sent to customers (the outbox): DMS clients and managers."""

    serializer_class = serializers.MessageOut
    filter_serializer = serializers.MessageFilters
    selector = staticmethod(message_selectors.message_list_for_api)
    model_permission = message_access.VIEW

    @_list_schema(serializers.MessageFilters, serializers.MessageOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MessageDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.MessageOut
    selector = staticmethod(message_selectors.message_list_for_api)
    model_permission = message_access.VIEW

    @_detail_schema(serializers.MessageOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SurveyResponseList(ReadBackMixin, generics.ListAPIView):
    serializer_class = serializers.SurveyResponseOut
    filter_serializer = serializers.SurveyResponseFilters
    selector = staticmethod(survey_selectors.response_list_for_api)
    model_permission = survey_access.VIEW

    @_list_schema(serializers.SurveyResponseFilters, serializers.SurveyResponseOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SurveyResponseDetail(ReadBackMixin, generics.RetrieveAPIView):
    serializer_class = serializers.SurveyResponseOut
    selector = staticmethod(survey_selectors.response_list_for_api)
    model_permission = survey_access.VIEW

    @_detail_schema(serializers.SurveyResponseOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class HotlineScope:
    """The OEM hotline reads back only the complaints it created, without customer ids."""

    def get_queryset(self):
        complaints = super().get_queryset()
        if hotline_only(self.request.user):
            return complaints & complaint_selectors.complaint_list_for_api(
                filters={}, created_by=self.request.user
            )
        return complaints

    def get_serializer_class(self):
        if hotline_only(self.request.user):
            return serializers.HotlineComplaintOut
        return super().get_serializer_class()


class ComplaintList(HotlineScope, ReadBackMixin, generics.ListAPIView):
    """GET: read-back. POST: create one complaint (the OEM hotline integration); a repeated
    external_id answers 200 with the complaint made the first time."""

    serializer_class = serializers.ComplaintOut
    filter_serializer = serializers.ComplaintFilters
    selector = staticmethod(complaint_selectors.complaint_list_for_api)
    model_permission = complaint_access.VIEW
    permission_classes = [CanReadComplaints]

    def get_permissions(self):
        if self.request.method == "POST":
            return [CanCreateComplaint()]
        return super().get_permissions()

    @_list_schema(serializers.ComplaintFilters, serializers.ComplaintOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=serializers.ComplaintIn,
        responses={
            201: serializers.ComplaintOut,
            200: serializers.ComplaintOut,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description=_("字段错误")),
            401: OpenApiResponse(serializers.Detail),
            403: OpenApiResponse(serializers.Detail),
        },
        tags=["complaints"],
        summary=_("创建投诉（厂家热线）"),
    )
    def post(self, request):
        body = serializers.ComplaintIn(data=request.data)
        body.is_valid(raise_exception=True)
        # A refusal is a 400 with field errors (shopcrm.refusals.api_exception_handler).
        complaint, created = complaint_hotline.complaint_create_from_api(
            data=body.validated_data, by=request.user
        )
        return Response(
            self.get_serializer_class()(complaint).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ComplaintDetail(HotlineScope, ReadBackMixin, generics.RetrieveAPIView):
    permission_classes = [CanReadComplaints]
    serializer_class = serializers.ComplaintOut
    selector = staticmethod(complaint_selectors.complaint_list_for_api)
    model_permission = complaint_access.VIEW

    @_detail_schema(serializers.ComplaintOut)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
