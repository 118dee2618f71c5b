from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("messages/undelivered/", views.UndeliveredView.as_view(), name="undelivered"),
    path("messages/<int:pk>/retry/", views.RetryView.as_view(), name="retry"),
    path("messages/replies/", views.RepliesView.as_view(), name="replies"),
    path(
        "messages/replies/<int:pk>/handled/", views.ReplyHandleView.as_view(), name="reply_handle"
    ),
    # The SMS providers' reply pushes (public; the token is the shared secret: README).
    path("sms/replies/aliyun/<str:token>/", views.AliyunReplyView.as_view(), name="aliyun_reply"),
    path(
        "sms/replies/tencent/<str:token>/", views.TencentReplyView.as_view(), name="tencent_reply"
    ),
    # Public (the customer's WeChat browser, no login): the binding's start and callback.
    path("wechat/bind/", views.wechat_bind, name="wechat_bind"),
    path("wechat/callback/", views.wechat_callback, name="wechat_callback"),
]
