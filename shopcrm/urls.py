from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .login import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("customers.urls")),
    path("", include("visits.urls")),
    path("", include("followups.urls")),
    path("", include("surveys.urls")),
    path("", include("complaints.urls")),
    path("", include("textinsights.urls")),
    path("", include("reports.urls")),
    path("", include("campaigns.urls")),
    path("", include("digest.urls")),
    path("", include("privacy.urls")),
    path("", include("messaging.urls")),
    path("", include("onlinebooking.urls")),
]

handler404 = "shopcrm.views.not_found"
handler500 = "shopcrm.views.server_error"
