from django.urls import path

from . import views

app_name = "complaints"
urlpatterns = [
    path("complaints/", views.ComplaintListView.as_view(), name="list"),
    path("complaints/mine/", views.ComplaintListView.as_view(mine=True), name="mine"),
    path("complaints/new/", views.ComplaintCreateView.as_view(), name="create"),
    path("complaints/<int:pk>/", views.ComplaintDetailView.as_view(), name="detail"),
    path(
        "complaints/<int:pk>/complete/",
        views.ComplaintCompleteView.as_view(),
        name="complete",
    ),
    path("complaints/<int:pk>/<slug:action>/", views.ComplaintActionView.as_view(), name="action"),
    path(
        "complaints/export.csv",
        views.ComplaintExportView.as_view(),
        {"fmt": "csv"},
        name="export_csv",
    ),
    path(
        "complaints/export.xlsx",
        views.ComplaintExportView.as_view(),
        {"fmt": "xlsx"},
        name="export_xlsx",
    ),
    path("notifications/", views.NotificationsView.as_view(), name="notifications"),
]
