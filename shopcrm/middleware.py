from django.conf import settings
from django.utils import translation


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
