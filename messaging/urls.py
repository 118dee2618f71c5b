from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("messages/undelivered/", views.UndeliveredView.as_view(), name="undelivered"),
    path("messages/<int:pk>/retry/", views.RetryView.as_view(), name="retry"),
]
