"""The project's URLs and the sync benchmark's naive ModelViewSets at /bench-naive/."""

from django.urls import include, path

from shopcrm.urls import handler404, handler500
from shopcrm.urls import urlpatterns as project_urls

urlpatterns = [*project_urls, path("bench-naive/", include("benchmarks.naive"))]
__all__ = ["handler404", "handler500", "urlpatterns"]
