from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from .sync import storable


class ChineseFirstLocaleMiddleware:
    """Chinese first: the UI is zh-Hans unless the user picked another language with the
    switch (the language cookie). The browser's Accept-Language is deliberately ignored, so a
    desk PC with an English system still shows the shop's language."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class HealthCheckMiddleware:
    """Answer /healthz before host checks and the HTTPS redirect, so a container's health
    probe on 127.0.0.1 works in production mode. It proves the database answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            from django.db import connection
            from django.http import JsonResponse

            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return JsonResponse({"status": "ok"})
        return self.get_response(request)


class RefuseUnstorableInputMiddleware:
    """A query parameter or form field (name or value) holding NUL or a lone surrogate is
    refused with a 400 before any view sees it. No one types them, and PostgreSQL text
    holds neither: a filter on one raised DataError (a 500). Pages answer the 400 page with
    a short message, the API a JSON ``{"detail": …}``. JSON bodies are checked where they
    are read (DRF's text fields refuse both; the sync declarations use the same
    ``storable``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # request.POST parses only form bodies; a JSON body is left for the API to read.
        if _unstorable(request.GET) or (request.method == "POST" and _unstorable(request.POST)):
            return _refuse_unstorable(request)
        return self.get_response(request)


def _unstorable(params) -> bool:
    return any(
        not storable(name) or not all(storable(value) for value in values)
        for name, values in params.lists()
    )


def _refuse_unstorable(request):
    message = _("请求中含有无法处理的字符（如 NUL 或不成对的代理字符），请检查后重试。")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return render(request, "400.html", {"message": message}, status=400)
