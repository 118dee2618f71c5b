from django.urls import path

from . import views

app_name = "onlinebooking"
urlpatterns = [
    path("book/", views.start, name="start"),
    path("book/v/<str:token>/", views.from_link, name="from_link"),
    path("book/code/", views.code, name="code"),
    path("book/slot/", views.slot, name="slot"),
    path("book/m/<str:token>/", views.manage, name="manage"),
    path("book/m/<str:token>/reschedule/", views.reschedule, name="reschedule"),
    path("book/m/<str:token>/cancel/", views.cancel, name="cancel"),
]
