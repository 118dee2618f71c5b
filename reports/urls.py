from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.DashboardView.as_view(), name="dashboard"),
    path("reports/visits/", views.VisitsView.as_view(), name="visits"),
    path("reports/visits.csv", views.VisitsView.as_view(), {"fmt": "csv"}, name="visits_csv"),
    path("reports/visits.xlsx", views.VisitsView.as_view(), {"fmt": "xlsx"}, name="visits_xlsx"),
    path("reports/advisors/", views.ScorecardView.as_view(), name="advisors"),
    path(
        "reports/advisors.csv", views.ScorecardView.as_view(), {"fmt": "csv"}, name="advisors_csv"
    ),
    path(
        "reports/advisors.xlsx",
        views.ScorecardView.as_view(),
        {"fmt": "xlsx"},
        name="advisors_xlsx",
    ),
    path("reports/reminders/", views.RemindersView.as_view(), name="reminders"),
    path(
        "reports/reminders.csv", views.RemindersView.as_view(), {"fmt": "csv"}, name="reminders_csv"
    ),
    path("reports/lost-calls/", views.LostCallsView.as_view(), name="lost_calls"),
    path(
        "reports/lost-calls.csv",
        views.LostCallsView.as_view(),
        {"fmt": "csv"},
        name="lost_calls_csv",
    ),
    path("reports/customers/", views.CustomersView.as_view(), name="customers"),
    path(
        "reports/customers.csv", views.CustomersView.as_view(), {"fmt": "csv"}, name="customers_csv"
    ),
    path(
        "reports/customers.xlsx",
        views.CustomersView.as_view(),
        {"fmt": "xlsx"},
        name="customers_xlsx",
    ),
    path("reports/vehicles/", views.VehiclesView.as_view(), name="vehicles"),
    path("reports/vehicles.csv", views.VehiclesView.as_view(), {"fmt": "csv"}, name="vehicles_csv"),
    path("reports/service-due/", views.ServiceDueView.as_view(), name="service_due"),
    path(
        "reports/service-due.csv",
        views.ServiceDueView.as_view(),
        {"fmt": "csv"},
        name="service_due_csv",
    ),
    path(
        "reports/service-due.xlsx",
        views.ServiceDueView.as_view(),
        {"fmt": "xlsx"},
        name="service_due_xlsx",
    ),
    path(
        "reports/export/<slug:table>.csv",
        views.TableExportView.as_view(),
        {"fmt": "csv"},
        name="export_csv",
    ),
    path(
        "reports/export/<slug:table>.xlsx",
        views.TableExportView.as_view(),
        {"fmt": "xlsx"},
        name="export_xlsx",
    ),
]
