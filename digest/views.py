from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from shopcrm.people import person_name

from . import access, services
from .models import Digest

RECENT_DAYS = 14


def _page(request, digest: Digest | None):
    services.remember_language(request.user, request.LANGUAGE_CODE)
    recent = Digest.objects.filter(recipient=request.user).order_by("-day")[:RECENT_DAYS]
    return render(
        request,
        "digest/page.html",
        {
            "digest": digest,
            "c": services.content_of(digest) if digest else None,
            "recent": recent,
            "recipient": person_name(request.user),
        },
    )


class LatestView(LoginRequiredMixin, View):
    """The recipient's latest digest."""

    def get(self, request):
        return _page(request, Digest.objects.filter(recipient=request.user).first())


class DayView(LoginRequiredMixin, View):
    def get(self, request, day: str):
        parsed = access.parse_day(day)
        if parsed is None:
            message = _("日期无效：%(value)s（应为 YYYY-MM-DD）。") % {"value": day[:20]}
            return render(request, "digest/bad_day.html", {"message": message}, status=404)
        return _page(request, access.own_digest_or_404(request.user, parsed))
