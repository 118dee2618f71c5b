from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("customers/<int:pk>/erase/", views.CustomerEraseView.as_view(), name="erase"),
    path(
        "customers/<int:pk>/personal-data.<str:fmt>",
        views.CustomerDataExportView.as_view(),
        name="export",
    ),
]
