from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reports import api as reports_api

from . import views

app_name = "api"
urlpatterns = [
    path("v1/sync/customers/", views.CustomerSyncView.as_view(), name="sync_customers"),
    path("v1/sync/vehicles/", views.VehicleSyncView.as_view(), name="sync_vehicles"),
    path("v1/sync/visits/", views.VisitSyncView.as_view(), name="sync_visits"),
    path("v1/sync/work-items/", views.WorkItemSyncView.as_view(), name="sync_work_items"),
    path(
        "v1/sync/survey-responses/",
        views.SurveyResponseSyncView.as_view(),
        name="sync_survey_responses",
    ),
    path("v1/sync/appointments/", views.AppointmentSyncView.as_view(), name="sync_appointments"),
    path("v1/customers/", views.CustomerList.as_view(), name="customers"),
    path("v1/customers/<int:pk>/", views.CustomerDetail.as_view(), name="customer"),
    path("v1/vehicles/", views.VehicleList.as_view(), name="vehicles"),
    path("v1/vehicles/<int:pk>/", views.VehicleDetail.as_view(), name="vehicle"),
    path("v1/visits/", views.VisitList.as_view(), name="visits"),
    path("v1/visits/<int:pk>/", views.VisitDetail.as_view(), name="visit"),
    path("v1/appointments/", views.AppointmentList.as_view(), name="appointments"),
    path("v1/appointments/<int:pk>/", views.AppointmentDetail.as_view(), name="appointment"),
    path("v1/follow-up-tasks/", views.FollowUpTaskList.as_view(), name="follow_up_tasks"),
    path(
        "v1/follow-up-tasks/<int:pk>/",
        views.FollowUpTaskDetail.as_view(),
        name="follow_up_task",
    ),
    path("v1/messages/", views.MessageList.as_view(), name="messages"),
    path("v1/messages/<int:pk>/", views.MessageDetail.as_view(), name="message"),
    path("v1/survey-responses/", views.SurveyResponseList.as_view(), name="survey_responses"),
    path(
        "v1/survey-responses/<int:pk>/",
        views.SurveyResponseDetail.as_view(),
        name="survey_response",
    ),
    path("v1/complaints/", views.ComplaintList.as_view(), name="complaints"),
    path("v1/complaints/<int:pk>/", views.ComplaintDetail.as_view(), name="complaint"),
    path("v1/reports/summary/", reports_api.SummaryView.as_view(), name="report_summary"),
    path(
        "v1/reports/advisors/",
        reports_api.AdvisorScorecardView.as_view(),
        name="report_advisors",
    ),
    path("v1/reports/churn/", reports_api.ChurnView.as_view(), name="report_churn"),
    path("v1/reports/segments/", reports_api.SegmentsView.as_view(), name="report_segments"),
    path(
        "v1/reports/complaint-categories/",
        reports_api.ComplaintCategoriesView.as_view(),
        name="report_complaint_categories",
    ),
    path(
        "v1/reports/lost-reasons/",
        reports_api.LostReasonsView.as_view(),
        name="report_lost_reasons",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the page keeps the CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
