from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("search/", views.SearchView.as_view(), name="search"),
    path("customers/new/", views.CustomerCreateView.as_view(), name="create"),
    path("customers/advisors/", views.AdvisorCustomersView.as_view(), name="advisors"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("customers/<int:pk>/edit/", views.CustomerEditView.as_view(), name="edit"),
    path("customers/<int:pk>/advisor/", views.CustomerAdvisorView.as_view(), name="advisor"),
    path("customers/<int:pk>/reveal-phone/", views.RevealPhoneView.as_view(), name="reveal_phone"),
    path(
        "customers/<int:pk>/reveal-phone/admin/",
        views.RevealPhoneView.as_view(where="admin"),
        name="reveal_phone_admin",
    ),
    path(
        "customers/<int:pk>/vehicles/new/", views.VehicleCreateView.as_view(), name="vehicle_create"
    ),
    path("customers/<int:pk>/merge/", views.CustomerMergeView.as_view(), name="merge"),
    path(
        "vehicles/<int:pk>/complete/", views.VehicleCompleteView.as_view(), name="vehicle_complete"
    ),
]
