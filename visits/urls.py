from django.urls import path

from . import views

app_name = "visits"
urlpatterns = [
    path("board/", views.BoardView.as_view(), name="board"),
    path("r/<str:token>/", views.status_page, name="status"),
    path("r/<str:token>/items/<int:item_pk>/", views.status_answer, name="status_answer"),
    path("r/<str:token>/photos/<int:photo_pk>/", views.status_photo, name="status_photo"),
    path("visits/<int:pk>/extra-work/", views.ExtraWorkView.as_view(), name="extra_work"),
    path(
        "visits/<int:pk>/extra-work/<int:item_pk>/answer/",
        views.ExtraWorkPhoneAnswerView.as_view(),
        name="extra_work_answer",
    ),
    path("visits/<int:pk>/photos/<int:photo_pk>/", views.VisitPhotoView.as_view(), name="photo"),
    path("board/undo/", views.BoardUndoView.as_view(), name="board_undo"),
    path("visits/check-in/", views.CheckInView.as_view(), name="check_in"),
    path("visits/<int:pk>/", views.VisitDetailView.as_view(), name="detail"),
    path("visits/<int:pk>/transition/", views.VisitTransitionView.as_view(), name="transition"),
    path("visits/<int:pk>/deliver/", views.VisitDeliverView.as_view(), name="deliver"),
    path("visits/<int:pk>/promise/", views.VisitPromiseReviseView.as_view(), name="promise_revise"),
    path("visits/<int:pk>/cancel/", views.VisitCancelView.as_view(), name="cancel"),
    path("visits/<int:pk>/print/", views.VisitPrintView.as_view(), name="print"),
    path(
        "vehicles/<int:vehicle_pk>/appointments/new/",
        views.AppointmentCreateView.as_view(),
        name="appointment_create",
    ),
    path(
        "appointments/<int:pk>/cancel/",
        views.AppointmentCancelView.as_view(),
        name="appointment_cancel",
    ),
]
