from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("messages/undelivered/", views.UndeliveredView.as_view(), name="undelivered"),
    path("messages/<int:pk>/retry/", views.RetryView.as_view(), name="retry"),
    # Public (the customer's WeChat browser, no login): the binding's start and callback.
    path("wechat/bind/", views.wechat_bind, name="wechat_bind"),
    path("wechat/callback/", views.wechat_callback, name="wechat_callback"),
]
