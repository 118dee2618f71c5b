from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="list"),
    path("campaigns/new/", views.CampaignCreateView.as_view(), name="create"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="detail"),
    path("campaigns/<int:pk>/vins/", views.CampaignVinsView.as_view(), name="vins"),
    path("campaigns/<int:pk>/schedule/", views.CampaignScheduleView.as_view(), name="schedule"),
    path("campaigns/<int:pk>/close/", views.CampaignCloseView.as_view(), name="close"),
]
