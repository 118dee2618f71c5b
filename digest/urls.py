from django.urls import path

from . import views

app_name = "digest"
urlpatterns = [
    path("digest/", views.LatestView.as_view(), name="latest"),
    path("digest/<str:day>/", views.DayView.as_view(), name="day"),
]
