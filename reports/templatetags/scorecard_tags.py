"""The advisor's own scorecard on their landing page (the board): this month's figures and
their targets, for a user whose card it is (reports.access.OWN_SCORECARD) and who does not
read every advisor's on the scorecard page (managers)."""

from django import template
from django.utils import timezone

from reports import access, dashboard, metrics, scorecard
from reports.views import scorecard_rows

register = template.Library()


@register.inclusion_tag("reports/_own_scorecard.html", takes_context=True)
def own_scorecard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        user is None
        or access.can_read_reports(user)
        or not access.has_perm(user, access.OWN_SCORECARD)
    ):
        return {"show": False}
    start, end = dashboard.presets(timezone.localdate())["this_month"]
    period = metrics.Period(start=start, end=end, advisor=user.pk)
    rows = scorecard_rows(request, period, trends=False)
    return {
        "show": True,
        "period": period,
        "card": rows[0] if rows else None,
        "min_observations": scorecard.MIN_OBSERVATIONS,
    }
