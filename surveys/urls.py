from django.urls import path

from . import views

app_name = "surveys"
urlpatterns = [
    path("s/<str:token>/", views.survey_page, name="survey"),
    path("s/<str:token>/thanks/", views.thanks, name="thanks"),
    path("surveys/", views.ResponseListView.as_view(), name="list"),
    path("surveys/<int:pk>/", views.ResponseDetailView.as_view(), name="detail"),
    path(
        "surveys/export.csv", views.ResponseExportView.as_view(), {"fmt": "csv"}, name="export_csv"
    ),
    path(
        "surveys/export.xlsx",
        views.ResponseExportView.as_view(),
        {"fmt": "xlsx"},
        name="export_xlsx",
    ),
]
