from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View

from reports import access as report_access
from shopcrm.access import PermissionRequired

from . import selectors
from .forms import CommentsPeriodForm

MAX_LISTED = 200


class CommentsView(PermissionRequired, View):
    """What the comments say: the period's top terms and phrases with their sentiment; a
    term's link lists the texts containing it, each linked to its record."""

    permission_required = report_access.VIEW

    def get(self, request):
        form = CommentsPeriodForm(request.GET or {"preset": "last_month"})
        context = {"form": form}
        try:
            term = selectors.clean_term(request.GET.get("term"))
        except ValueError:
            form.is_valid()
            limit = {"n": selectors.MAX_TERM_CHARS}
            form.add_error(None, _("词语过长（最多 %(n)s 个字）。") % limit)
            return render(request, "textinsights/comments.html", context, status=400)
        if not form.is_valid():
            return render(request, "textinsights/comments.html", context, status=400)
        data = form.cleaned_data
        texts = selectors.comments(data["start"], data["end"])
        query = {"preset": "custom", "start": data["start"], "end": data["end"]}
        context.update(
            start=data["start"],
            end=data["end"],
            period_query=urlencode(query),
            top=selectors.top_terms(texts),
            term=term,
        )
        if term:
            found = selectors.containing(texts, term)
            context.update(found=found[:MAX_LISTED], found_count=len(found))
        return render(request, "textinsights/comments.html", context)
