from django.urls import path

from . import views

app_name = "followups"
urlpatterns = [
    path("calls/", views.QueueView.as_view(), name="queue"),
    path("calls/next/", views.NextCallView.as_view(), name="next"),
    path("calls/pause/", views.PauseView.as_view(), name="pause"),
    path("calls/team/bulk/", views.TeamBulkView.as_view(), name="team_bulk"),
    path("calls/team/", views.TeamQueueView.as_view(), name="team"),
    path("calls/<int:pk>/", views.CallView.as_view(), name="call"),
    path("calls/<int:pk>/outcome/", views.OutcomeView.as_view(), name="outcome"),
    path("calls/<int:pk>/reveal-phone/", views.RevealPhoneView.as_view(), name="reveal_phone"),
    path("calls/<int:pk>/reassign/", views.ReassignView.as_view(), name="reassign"),
    path("calls/<int:pk>/cancel/", views.CancelView.as_view(), name="cancel"),
]
