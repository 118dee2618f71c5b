from django.urls import path

from . import views

app_name = "textinsights"
urlpatterns = [
    path("reports/comments/", views.CommentsView.as_view(), name="comments"),
]
